"""The Python and pytest-plugin examples of docs/conformance.md, run as written against soapbus:
each must judge a real number of checks, not pass while judging almost nothing."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"
pytest_plugins = ["pytester"]


def _block(language: str, containing: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)
    return next(b for b in blocks if containing in b)


def test_the_python_example_judges_what_it_asserts(server, tmp_path, monkeypatch):
    code = _block("python", "from soapbus.conformance import run").replace("http://dms:8061", server.url)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, str(DOC), "exec"), scope)  # the example's own asserts are the test
    result = scope["result"]
    assert result.counts()["pass"] >= 20 and (tmp_path / "out" / "report.html").is_file()


def test_the_plugin_example_judges_at_least_its_minimum(pytester, server):
    line = _block("sh", "--soapbus-target").replace("\\\n", " ").strip()
    args = shlex.split(line.replace("http://dms:8061", server.url))
    assert args[0] == "pytest"
    result = pytester.runpytest("-p", "soapbus.conformance.pytest_plugin", *args[1:])
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert outcomes.get("passed", 0) >= 20, outcomes
