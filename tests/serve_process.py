"""`soapbus serve` run as an operator runs it: the installed console script, from a folder of their
choosing (tests.helpers.start_server runs `python -m soapbus` from the repository instead)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from .conftest import skip_or_fail
from .helpers import ServerProcess


def console_script() -> Path:
    script = Path(sys.executable).parent / "soapbus"
    if not script.exists():
        skip_or_fail(f"the `soapbus` console script is not installed beside {sys.executable}: "
                     "run `pip install -e .` in the repository")
    return script


def launch(args: list[str], cwd: Path, data_dir: Path, env: dict | None = None) -> ServerProcess:
    """Start `soapbus <args>` in `cwd`; returns once it says where it listens (RuntimeError with its output if not)."""
    proc = subprocess.Popen([str(console_script()), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, **(env or {})})
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            server = ServerProcess(found.group(1), data_dir, f"sqlite:///{(data_dir / 'soapbus.db').resolve()}",
                                   proc, seen)
            threading.Thread(target=lambda: seen.extend(proc.stdout), daemon=True).start()
            return server
    proc.kill()
    raise RuntimeError("soapbus serve did not start:\n" + "".join(seen))


def run_to_exit(args: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `python -m soapbus <args>` in `cwd` to its end (for a server that must refuse to start)."""
    return subprocess.run([sys.executable, "-m", "soapbus", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def log_after(server: ServerProcess, needle: str, until: str = "", timeout: float = 10) -> str:
    """The server's output after `needle`, once it holds a match of the regular expression `until`
    (its log is read by another thread, which may not yet have the lines the server wrote before
    answering); AssertionError naming what never came."""
    deadline = time.monotonic() + timeout
    while True:
        text = server.log_text()
        after = text.split(needle, 1)[1] if needle in text else None
        if after is not None and re.search(until, after, re.S):
            return after
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} followed by {until!r} never appeared in the server's output:\n"
                                 f"{text[-3000:]}")
        time.sleep(0.05)
