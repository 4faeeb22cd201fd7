"""Every shell command README.md and docs/quickstart.md show, run as written, in order, against the
server the document starts (its `scripts/serve` line).

Each document gets a fresh server and a folder of its own: the commands run there through
`bash -c`, with the checkout's scripts, docs, certs and .venv linked in and SOAPBUS_DATA pointing at
the folder's var/. What is changed, and only that: the port 8061 (and any --port) becomes a free
one, a --data folder one inside the test's folder. `scripts/test` and `scripts/bench` lines are the
suite and the benchmarks themselves and are not run from inside the suite.
"""
from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from .conftest import ROOT

DOCUMENTS = ("README.md", "docs/quickstart.md")
LINKED = ("scripts", "docs", "certs", ".venv", "setup.cfg", "setup.py", "constraints.txt", "pyproject.toml",
          "soapbus", "xsd", "wsdl")
NOT_RUN = re.compile(r"(^|\s)scripts/(test|bench)(\s|$)")  # the suite and the benchmarks themselves


def shell_commands(document: Path) -> list[str]:
    """The lines of the document's ```sh blocks, comments removed, in order."""
    commands, inside = [], False
    for line in document.read_text().splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```sh" if not inside else False
            continue
        if inside:
            command = _without_comment(line).strip()
            if command:
                commands.append(command)
    return commands


def _without_comment(line: str) -> str:
    out, quote = [], None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            break
        out.append(char)
    return "".join(out)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Workspace:
    def __init__(self, folder: Path):
        self.folder = folder
        for name in LINKED:
            (folder / name).symlink_to(ROOT / name)
        self.env = {**os.environ, "SOAPBUS_DATA": str(folder / "var")}
        self.port = _free_port()
        self.servers: list[subprocess.Popen] = []

    def rewrite(self, command: str) -> str:
        command = command.replace("127.0.0.1:8061", f"127.0.0.1:{self.port}")
        command = re.sub(r"--data \S+", lambda _: f"--data {self.folder / 'other-data'}", command)
        if re.search(r"--port \d+", command):
            command = re.sub(r"--port \d+", f"--port {_free_port()}", command)
        elif command.split()[0] == "scripts/serve":
            command += f" --port {self.port}"
        return command

    def serve(self, command: str) -> str:
        proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=self.folder, env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.servers.append(proc)
        seen, deadline = [], time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen.append(line)
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                threading.Thread(target=lambda: proc.stdout.read(), daemon=True).start()
                return found.group(1)
        raise AssertionError(f"`{command}` did not start:\n{''.join(seen)}")

    def run(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", command], cwd=self.folder, env=self.env, text=True, capture_output=True,
                              timeout=180)

    def stop(self) -> None:
        for proc in self.servers:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_shell_command_of_the_document_runs(document, tmp_path):
    commands = shell_commands(ROOT / document)
    assert any(c.startswith("scripts/serve") for c in commands), "the document starts no server"
    workspace = Workspace(tmp_path)
    ran = []
    try:
        for written in commands:
            if NOT_RUN.search(written):
                continue
            command = workspace.rewrite(written)
            if shlex.split(command)[0] == "scripts/serve":
                url = workspace.serve(command)
                assert url.endswith(re.search(r"--port (\d+)", command).group(1))
                ran.append(written)
                continue
            done = workspace.run(command)
            assert done.returncode == 0, (f"`{written}` (run as `{command}`) exited {done.returncode}:\n"
                                          f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
            assert "Traceback" not in done.stderr
            ran.append(written)
    finally:
        workspace.stop()
    assert len(ran) >= 4  # the serve line and the calls after it
