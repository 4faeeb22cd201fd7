"""Live progress in the terminal (rich): the step in flight with its elapsed time (a spinner, on a
terminal), one line per step as it ends, the time spent per target after each suite, then the
verdict of every check."""
from __future__ import annotations

from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress as LiveProgress
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..model import BLOCKED, ERROR, FAIL, NOT_APPLICABLE, PASS, SKIPPED, VERDICTS, CheckResult, RunResult, rank
from ..runner import Progress

STYLE = {PASS: "green", FAIL: "bold red", BLOCKED: "red", NOT_APPLICABLE: "cyan", ERROR: "bold magenta",
         SKIPPED: "yellow"}
MARK = {PASS: "PASS", FAIL: "FAIL", BLOCKED: "BLCK", NOT_APPLICABLE: "N/A ", ERROR: "ERR ", SKIPPED: "SKIP"}


class TerminalProgress(Progress):
    def __init__(self, console: Console | None = None, verbose: bool = False):
        self.console = console or Console(highlight=False)
        self.verbose = verbose
        self._live: LiveProgress | None = None
        self._task = None
        self._per_target: dict[str, list[float]] = {}  # target -> seconds of each answer, this suite

    def run_start(self, targets, suites):
        self.console.print(f"[bold]soapbus conformance[/bold]: {len(suites)} suite(s) against "
                           f"{len(targets.locations)} target location(s)")
        for line in targets.offered() if self.verbose else []:
            self.console.print(f"  offered: {escape(line)}", style="dim")

    def suite_start(self, suite):
        self.console.rule(f"[bold]{escape(suite.name)}[/bold] — {escape(suite.title)}")
        self._per_target = {}
        self._live = LiveProgress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                  console=self.console, transient=True)
        self._live.start()

    def step_start(self, suite, step):
        if self._live is not None:
            if self._task is not None:
                self._live.remove_task(self._task)
            self._task = self._live.add_task(f"{escape(suite.name)} › {escape(step.id)}: {escape(_short(step.title, 70))}")

    def step_done(self, suite, step, exchanges, outcomes):
        if self._live is not None and self._task is not None:
            self._live.remove_task(self._task)
            self._task = None
        for ex in exchanges:
            if ex.label == "response" and ex.url:
                parts = urlsplit(ex.url)
                self._per_target.setdefault(f"{parts.scheme}://{parts.netloc}" if parts.netloc else ex.url,
                                            []).append(ex.elapsed)
        verdicts = [o.verdict for _, o in outcomes]
        worst = max(verdicts, key=rank) if verdicts else None
        if exchanges:
            answer = exchanges[-1].summary() if len(exchanges) == 1 else f"{len(exchanges)} message(s)"
            took = sum(ex.elapsed for ex in exchanges if ex.label == "response")
            timing = f" [dim]{took * 1000:.0f} ms[/dim]" if took else ""
        else:
            answer = next((o.message for _, o in outcomes), "nothing arrived") if outcomes else "skipped"
            timing = ""
        mark = f"[{STYLE[worst]}]{MARK[worst]}[/]" if worst else "[dim] ·  [/dim]"
        self.console.print(f"  {mark} {escape(step.id)}: {escape(_short(answer))}{timing}")
        for check_id, outcome in outcomes:
            if outcome.verdict in (FAIL, ERROR):
                self.console.print(f"         [{STYLE[outcome.verdict]}]{escape(check_id)}[/]: "
                                   f"{escape(_short(outcome.message, 200))}")

    def suite_end(self, suite, results: list[CheckResult]):
        if self._live is not None:
            self._live.stop()
            self._live, self._task = None, None
        counts = {v: sum(1 for r in results if r.verdict == v) for v in VERDICTS}
        self.console.print("  " + ", ".join(f"[{STYLE[v]}]{n} {v}[/]" for v, n in counts.items() if n))
        for target, seconds in sorted(self._per_target.items()):
            self.console.print(f"  [dim]{escape(target)}: {len(seconds)} answer(s) in {sum(seconds):.2f} s, "
                               f"slowest {max(seconds) * 1000:.0f} ms[/dim]")


def print_summary(result: RunResult, console: Console | None = None, reports: dict | None = None) -> None:
    console = console or Console(highlight=False)
    table = Table(title="Verdicts", show_lines=False)
    table.add_column("check")
    table.add_column("verdict")
    table.add_column("why")
    for check in result.checks:
        table.add_row(escape(check.id), f"[{STYLE[check.verdict]}]{check.verdict}[/]",
                      escape(_short(check.reason, 110)))
    console.print(table)
    counts = result.counts()
    console.print(f"[bold]{len(result.checks)} checks[/bold]: " + ", ".join(
        f"[{STYLE[v]}]{counts[v]} {v}[/]" for v in VERDICTS) + f" in {result.seconds:.1f} s")
    style = "bold green" if result.ok else "bold red"
    console.print(f"[{style}]{escape(result.conclusion())}[/] (exit code {result.exit_code})")
    for name, path in (reports or {}).items():
        console.print(f"{name}: {path}")


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["TerminalProgress", "print_summary"]
