"""Reports of a run: live progress in the terminal, JUnit XML for CI systems, one self-contained HTML file."""
from __future__ import annotations

from pathlib import Path

from ..errors import ConformanceError
from ..model import RunResult
from .html import write_html
from .junit import write_junit
from .terminal import TerminalProgress, print_summary

JUNIT_NAME = "junit.xml"
HTML_NAME = "report.html"


def write_reports(result: RunResult, directory) -> dict[str, Path]:
    """Write junit.xml and report.html into `directory` (made if missing); return their paths."""
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        junit = write_junit(result, folder / JUNIT_NAME)
        html = write_html(result, folder / HTML_NAME)
    except OSError as exc:
        raise ConformanceError(f"cannot write the reports into {folder}: {exc.strerror or exc}") from None
    return {"junit": junit, "html": html}


__all__ = ["write_reports", "write_junit", "write_html", "TerminalProgress", "print_summary", "JUNIT_NAME",
           "HTML_NAME"]
