"""The "Foreign endpoints" table of docs/conformance.md, from a real run against every foreign endpoint.

    .venv/bin/python -m tests.foreign.report    (from the repository root; reads ../shared/reference/public)

One row per endpoint and variant: the checks judged, those failed, blocked and not applicable,
each with the harness's own reason one line below the table.
"""
from __future__ import annotations

import sys

from ..conftest import PUBLIC
from .fixtures import JUDGED, KINDS, SUITES, Started, run_harness


def row(label: str, result) -> tuple[str, list[str]]:
    by_verdict: dict[str, list] = {}
    for check in result.checks:
        by_verdict.setdefault(check.verdict, []).append(check)

    def ids(verdict):
        return ", ".join(f"`{c.id}`" for c in by_verdict.get(verdict, [])) or "none"

    judged = sum(len(by_verdict.get(v, [])) for v in JUDGED)
    line = (f"| {label} | {judged} | {ids('fail')} | {ids('blocked')} | {ids('not applicable')} |"
            + (f" {ids('error')} |" if by_verdict.get("error") else " none |"))
    reasons = [f"- {label}, `{c.id}` ({c.verdict}): {c.reason}"
               for verdict in ("fail", "blocked", "error") for c in by_verdict.get(verdict, [])]
    return line, reasons


def main() -> int:
    if not PUBLIC.is_dir():
        print(f"the public reference copies are not at {PUBLIC}", file=sys.stderr)
        return 2
    started = Started(PUBLIC)
    lines = ["| endpoint (suites) | judged | failed | blocked | not applicable | harness errors |",
             "|---|---|---|---|---|---|"]
    notes: list[str] = []
    try:
        for kind in KINDS:
            for defective in (True, False):
                vendor = started(kind, defective)
                line, reasons = row(f"{vendor.label} ({', '.join(SUITES[kind])})", run_harness(vendor, SUITES[kind]))
                lines.append(line)
                notes += reasons
    finally:
        started.stop_all()
    print("\n".join(lines))
    if notes:
        print("\n" + "\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
