"""`run()`: the harness as a Python call, the same one the CLI and the pytest plugin make."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import requests

from ..client.tls import ClientTls, transport_for
from . import suites as suite_files
from .errors import ConformanceError
from .keys import KeyMaterial
from .listener import Listener, parse_host_port
from .model import RunResult, Suite
from .runner import DEFAULT_SOURCE, Progress, RunContext, SuiteRunner
from .payloads import Payloads, wsdl_location
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
        listener: Listener | None = None, schema_dirs=(), endpoints=(), payloads: dict | None = None,
        min_checks: int = 1, tls: ClientTls | None = None) -> RunResult:
    """Run suites (names or paths; default: every shipped server suite) against the targets.

    targets: endpoint URLs or WSDL URLs/files (typed per noun or generic). schema_dirs: folders
    of XSDs the WSDLs' imports are resolved from first. endpoints: where the targets run when
    that is not their soap:address (one for all, or one per target). payloads: noun -> file of a
    document of that noun, used instead of a shipped template or one generated from the schema.
    min_checks: a run that judged fewer checks ends with exit code 3 (`RunResult.exit_code`).
    tls: how https targets are reached (CA, client certificate for mutual TLS, or insecure), for the
    WSDLs, their schemas and every request; None: the system's trust store, no client certificate.
    Raises ConformanceError (with a message for a person) for a bad suite, target or key material.
    """
    if isinstance(targets, str):
        targets = [targets]
    progress = progress or Progress()
    loaded = load_suites(list(suites) if suites else None)
    keys = KeyMaterial.load(client_cert, client_key, trust, key_password)
    session = tls.session() if tls is not None else requests.Session()
    found = Targets(list(targets), timeout=timeout, schema_dirs=schema_dirs, endpoints=endpoints,
                    transport=transport_for(tls, timeout) if tls is not None else None)
    sources = Payloads({str(k): Path(v) for k, v in (payloads or {}).items()},
                       [wsdl_location(t) for t in found.locations], timeout, schema_dirs=[str(d) for d in schema_dirs],
                       session=session)
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
        ctx = RunContext(found, keys, listener, subscribed, source, timeout, dict(variables or {}), sources,
                         session=session)
        progress.run_start(found, loaded)
        checks = []
        for suite in loaded:
            checks.extend(SuiteRunner(suite, ctx, progress).run())
        if ctx.prerequisite.outcomes:  # the root every noun's steps hang on, reported first
            checks.insert(0, ctx.prerequisite)
    finally:
        if own_listener:
            listener.stop()
    ran = (["prerequisites"] if ctx.prerequisite.outcomes else []) + [s.name for s in loaded]
    return RunResult(targets=list(targets), suites=ran, checks=checks, started=started,
                     finished=datetime.now(timezone.utc),
                     notes=[f"callback listener: {listener.url}", *(f"offered: {line}" for line in found.offered()),
                            *ctx.payloads.notes], min_checks=min_checks,
                     discovery=found.discovery)


__all__ = ["run", "load_suites"]
