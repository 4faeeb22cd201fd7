"""`run()`: the harness as a Python call, the same one the CLI and the pytest plugin make."""
from __future__ import annotations

from datetime import datetime, timezone

from . import suites as suite_files
from .errors import ConformanceError
from .keys import KeyMaterial
from .listener import Listener, parse_host_port
from .model import RunResult, Suite
from .runner import DEFAULT_SOURCE, Progress, RunContext, SuiteRunner
from .targets import Targets



def load_suites(names=None, role: str = "server") -> list[Suite]:
    loaded = [s if isinstance(s, Suite) else suite_files.load(s)
              for s in (names or [n for n in suite_files.shipped_names()])]
    if not names:
        loaded = [s for s in loaded if s.role == role]
    wrong = [s.name for s in loaded if s.role != role]
    if wrong:
        other = "serve-mock" if role == "server" else "run"
        raise ConformanceError(f"suite(s) {', '.join(wrong)} test a {'client' if role == 'server' else 'server'}: "
                               f"use `soapbus conformance {other}` for them")
    return loaded


def run(targets, suites=None, *, client_cert=None, client_key=None, trust=None, key_password: str | None = None,
        source: str = DEFAULT_SOURCE, callback_host: str | None = None, subscribed: bool = False,
        variables: dict | None = None, timeout: float = 30, progress: Progress | None = None,
        listener: Listener | None = None) -> RunResult:
    """Run suites (names or paths; default: every shipped server suite) against the targets.

    targets: endpoint URLs or WSDL URLs/files (typed per noun or generic). Raises
    ConformanceError (with a message for a person) for a bad suite, target or key material.
    """
    if isinstance(targets, str):
        targets = [targets]
    progress = progress or Progress()
    loaded = load_suites(list(suites) if suites else None)
    keys = KeyMaterial.load(client_cert, client_key, trust, key_password)
    found = Targets(list(targets), timeout=timeout)
    own_listener = listener is None
    if own_listener:
        if callback_host:
            host, port = parse_host_port(callback_host)
            try:
                listener = Listener(host, port).start()
            except ConformanceError:
                listener = Listener("0.0.0.0", port, advertised_host=host).start()
        else:
            listener = Listener().start()
    started = datetime.now(timezone.utc)
    try:
        ctx = RunContext(found, keys, listener, subscribed, source, timeout, dict(variables or {}))
        progress.run_start(found, loaded)
        checks = []
        for suite in loaded:
            checks.extend(SuiteRunner(suite, ctx, progress).run())
    finally:
        if own_listener:
            listener.stop()
    return RunResult(targets=list(targets), suites=[s.name for s in loaded], checks=checks, started=started,
                     finished=datetime.now(timezone.utc),
                     notes=[f"callback listener: {listener.url}", *(f"offered: {line}" for line in found.offered())])


__all__ = ["run", "load_suites"]
