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
        """The check ids with this verdict; `family.*` where every check of a family has it."""
        mine = [c.id for c in by_verdict.get(verdict, [])]
        families = {cid.split(".")[0] for cid in mine}
        whole = {f for f in families if all(c.verdict == verdict for c in result.checks if c.id.split(".")[0] == f)}
        shown = [f"`{f}.*`" for f in sorted(whole)] + [f"`{cid}`" for cid in mine if cid.split(".")[0] not in whole]
        return ", ".join(shown) or "none"

    judged = sum(len(by_verdict.get(v, [])) for v in JUDGED)
    line = f"| {label} | {judged} | " + " | ".join(ids(v) for v in ("fail", "blocked", "not applicable", "skipped",
                                                                     "error")) + " |"
    reasons = [f"- {label}, `{c.id}` ({c.verdict}): {c.reason}"
               for verdict in ("fail", "blocked", "error") for c in by_verdict.get(verdict, [])]
    return line, reasons


def main() -> int:
    if not PUBLIC.is_dir():
        print(f"the public reference copies are not at {PUBLIC}", file=sys.stderr)
        return 2
    started = Started(PUBLIC)
    lines = ["| endpoint | judged | failed | blocked | not applicable | skipped | harness errors |",
             "|---|---|---|---|---|---|---|"]
    notes: list[str] = []
    try:
        for kind in KINDS:
            for defective in (True, False):
                vendor = started(kind, defective)
                line, reasons = row(vendor.label, run_harness(vendor, SUITES[kind]))
                lines.append(line)
                notes += reasons
    finally:
        started.stop_all()
    print("Suites: " + "; ".join(f"{kind}: {', '.join(SUITES[kind])}" for kind in KINDS) + ".\n")
    print("\n".join(lines))
    if notes:
        print("\n" + "\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
