"""One self-contained HTML file per run: inline CSS, no scripts or assets from anywhere else.

It opens with the counts and "what the vendor must fix" (the failures grouped by rule), then
every suite's checks with their verdicts; each check unfolds to its outcomes and their
evidence: the failing XPath, the value found and the one expected, the timings, and the
request and response envelopes, pretty-printed and escaped.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

from ..exchange import Exchange, pretty
from ..model import ERROR, FAIL, PASS, SKIP, CheckResult, RunResult

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;color:#1d232a;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:2px solid #dde3ea;padding-bottom:.2em}
.meta{color:#5a6570}.counts span{display:inline-block;margin-right:1em;font-weight:600}
.v{display:inline-block;min-width:3.6em;text-align:center;border-radius:3px;padding:0 .4em;font-weight:700;font-size:.85em;color:#fff}
.pass{background:#2e7d32}.fail{background:#c62828}.skip{background:#9e7c00}.error{background:#6a1b9a}
table{border-collapse:collapse;width:100%}td,th{text-align:left;vertical-align:top;padding:.3em .5em;border-bottom:1px solid #eef1f4}
details{margin:.3em 0 .3em 0}summary{cursor:pointer}
pre{background:#f6f8fa;border:1px solid #e1e6eb;padding:.6em;overflow:auto;max-height:32em;font-size:12px;white-space:pre}
.fix{border-left:4px solid #c62828;background:#fff5f5;padding:.5em 1em;margin:.6em 0}
.rule{font-weight:600}.src{color:#5a6570;font-size:.9em}.ev{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.outcome{border-top:1px dashed #e1e6eb;padding:.4em 0}.note{color:#5a6570;font-size:.9em}
"""


def _badge(verdict: str) -> str:
    return f'<span class="v {verdict}">{verdict.upper()}</span>'


def _exchange(ex: Exchange, anchor: str) -> str:
    parts = [f'<div class="ev" id="{anchor}">']
    if ex.request:
        parts.append(f"<div>{escape(ex.label.capitalize() if ex.label != 'response' else 'Request')} to "
                     f"{escape(ex.url)} (SOAPAction {escape(ex.soap_action)})</div>" if ex.label == "response" else "")
        for note in ex.notes:
            parts.append(f'<div class="note">{escape(note)}</div>')
        parts.append(f"<details><summary>request ({len(ex.request)} bytes)</summary><pre>"
                     f"{escape(pretty(ex.request))}</pre></details>")
    if ex.error:
        parts.append(f"<div>no answer: {escape(ex.error)} after {ex.elapsed * 1000:.0f} ms</div>")
    elif ex.response is not None:
        what = {"response": f"response: HTTP {ex.status}, {ex.elapsed * 1000:.0f} ms",
                "callback": "asynchronous reply received at the callback listener",
                "event": "event received at the callback listener",
                "received": "message received at the callback listener"}.get(ex.label, ex.label)
        parts.append(f"<details open><summary>{escape(what)} — {escape(ex.summary())}</summary><pre>"
                     f"{escape(pretty(ex.response))}</pre></details>")
    parts.append("</div>")
    return "".join(parts)


def _evidence(evidence: dict) -> str:
    rows = []
    for key in ("xpath", "expected", "found", "problems", "messages"):
        if key in evidence and evidence[key] not in (None, [], ""):
            value = evidence[key]
            text = "\n".join(map(str, value)) if isinstance(value, list) else str(value)
            rows.append(f"<tr><th>{escape(key)}</th><td class='ev'>{escape(text)}</td></tr>")
    return f"<table>{''.join(rows)}</table>" if rows else ""


def _check(check: CheckResult, index: int) -> str:
    verdict = check.verdict
    out = [f'<tr id="{escape(check.id)}"><td>{_badge(verdict)}</td><td><details'
           f'{" open" if verdict in (FAIL, ERROR) else ""}><summary><b>{escape(check.id)}</b> — '
           f'{escape(check.reason)}</summary>',
           f'<div class="rule">{escape(check.spec.rule)}</div><div class="src">Source: {escape(check.spec.source)}</div>']
    # A failing outcome shows its exchange in full; passing ones list their step and answer only.
    shown = 0
    for n, outcome in enumerate(check.outcomes):
        out.append(f'<div class="outcome">{_badge(outcome.verdict)} {escape(outcome.message)}')
        out.append(_evidence(outcome.evidence))
        if outcome.exchange is not None and (outcome.verdict in (FAIL, ERROR) or shown < 1):
            out.append(_exchange(outcome.exchange, f"{check.id}-{n}"))
            shown += 1
        elif outcome.exchange is not None:
            ex = outcome.exchange
            out.append(f'<div class="note">{escape(ex.step)}: {escape(ex.summary())}'
                       f'{f", {ex.elapsed * 1000:.0f} ms" if ex.label == "response" else ""}</div>')
        out.append("</div>")
    out.append("</details></td></tr>")
    return "".join(out)


def _fixes(result: RunResult) -> str:
    failing = [c for c in result.checks if c.verdict in (FAIL, ERROR)]
    if not failing:
        return "<p>Nothing: no check failed.</p>"
    harness = [c for c in failing if c.verdict == ERROR]
    vendor = [c for c in failing if c.verdict == FAIL]
    out = []
    for check in vendor:
        fails = [o for o in check.outcomes if o.verdict == FAIL]
        items = "".join(f"<li>{escape(o.message)}</li>" for o in fails[:8])
        more = f"<li>… and {len(fails) - 8} more</li>" if len(fails) > 8 else ""
        out.append(f'<div class="fix"><div class="rule">{escape(check.spec.rule)}</div>'
                   f'<div class="src">{escape(check.spec.source)} — check <a href="#{escape(check.id)}">'
                   f'{escape(check.id)}</a>, {len(fails)} failure(s)</div><ul>{items}{more}</ul></div>')
    if harness:
        out.append("<p>Harness errors (not the vendor's fault; fix the suite or the run):</p><ul>" + "".join(
            f'<li><a href="#{escape(c.id)}">{escape(c.id)}</a>: {escape(c.reason)}</li>' for c in harness) + "</ul>")
    return "".join(out)


def render_html(result: RunResult) -> str:
    counts = result.counts()
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             "<title>soapbus conformance report</title>", f"<style>{CSS}</style></head><body>",
             "<h1>soapbus conformance report</h1>",
             f"<div class='meta'>{escape(result.started.strftime('%Y-%m-%d %H:%M:%S %Z'))}, "
             f"{result.seconds:.1f} s, role: {escape(result.role)}</div>",
             "<div class='meta'>Targets: " + ", ".join(escape(t) for t in result.targets) + "</div>",
             "<div class='meta'>Suites: " + ", ".join(escape(s) for s in result.suites) + "</div>",
             "<p class='counts'>" + "".join(f"<span>{_badge(v)} {counts[v]}</span>" for v in (PASS, FAIL, SKIP, ERROR))
             + f"<span>{len(result.checks)} checks</span></p>",
             "<h2>What the vendor must fix</h2>", _fixes(result)]
    for suite in result.suites:
        checks = [c for c in result.checks if c.suite == suite]
        parts.append(f"<h2>Suite {escape(suite)}</h2><table>")
        parts.extend(_check(c, i) for i, c in enumerate(checks))
        parts.append("</table>")
    if result.notes:
        parts.append("<h2>Run notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in result.notes) + "</ul>")
    parts.append("</body></html>")
    return "".join(parts)


def write_html(result: RunResult, path: Path) -> Path:
    Path(path).write_text(render_html(result), encoding="utf-8")
    return Path(path)


__all__ = ["render_html", "write_html"]
