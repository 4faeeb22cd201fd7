"""JUnit XML: one testsuite per suite, one testcase per check, the rule and its source as properties."""
from __future__ import annotations

from pathlib import Path

from lxml import etree

from ..exchange import pretty
from ..model import BLOCKED, ERROR, FAIL, NOT_APPLICABLE, PASS, SKIPPED, RunResult

# JUnit knows failures, errors and skips; blocked, not applicable and skipped checks are all "skipped"
# there, their message starting with the verdict, and each testcase carries its verdict as a property.
NOT_JUDGED = (BLOCKED, NOT_APPLICABLE, SKIPPED)


def junit_tree(result: RunResult) -> etree._Element:
    root = etree.Element("testsuites", name="soapbus conformance", tests=str(len(result.checks)),
                         time=f"{result.seconds:.3f}")
    counts = result.counts()
    root.set("failures", str(counts[FAIL]))
    root.set("errors", str(counts[ERROR]))
    root.set("skipped", str(sum(counts[v] for v in NOT_JUDGED)))
    for suite in result.suites:
        checks = [c for c in result.checks if c.suite == suite]
        node = etree.SubElement(root, "testsuite", name=suite, tests=str(len(checks)),
                                failures=str(sum(c.verdict == FAIL for c in checks)),
                                errors=str(sum(c.verdict == ERROR for c in checks)),
                                skipped=str(sum(c.verdict in NOT_JUDGED for c in checks)),
                                time=f"{sum(c.elapsed for c in checks):.3f}",
                                timestamp=result.started.strftime("%Y-%m-%dT%H:%M:%S"))
        props = etree.SubElement(node, "properties")
        for target in result.targets:
            etree.SubElement(props, "property", name="target", value=target)
        for verdict in (PASS, FAIL, BLOCKED, NOT_APPLICABLE, ERROR, SKIPPED):
            etree.SubElement(props, "property", name=f"count {verdict}",
                             value=str(sum(c.verdict == verdict for c in checks)))
        etree.SubElement(props, "property", name="conclusion", value=result.conclusion())
        for check in checks:
            case = etree.SubElement(node, "testcase", classname=f"soapbus.conformance.{suite}", name=check.id,
                                    time=f"{check.elapsed:.3f}")
            cprops = etree.SubElement(case, "properties")
            etree.SubElement(cprops, "property", name="rule", value=check.spec.rule)
            etree.SubElement(cprops, "property", name="source", value=check.spec.source)
            verdict = check.verdict
            etree.SubElement(cprops, "property", name="verdict", value=verdict)
            if verdict in NOT_JUDGED:
                etree.SubElement(case, "skipped", message=f"{verdict}: {check.reason}")
            elif verdict in (FAIL, ERROR):
                tag = "failure" if verdict == FAIL else "error"
                el = etree.SubElement(case, tag, message=check.reason, type=check.id)
                el.text = _details(check, verdict)
            out = etree.SubElement(case, "system-out")
            out.text = "\n".join(f"{o.verdict}: {o.message}" for o in check.outcomes)
    return root


def _details(check, verdict: str) -> str:
    lines = [f"rule: {check.spec.rule}", f"source: {check.spec.source}", ""]
    for finding in check.findings(verdict)[:5]:
        outcome = finding.outcomes[0]
        lines.append(f"{outcome.verdict}: {finding.text()}")
        for key in ("xpath", "expected", "found"):
            if key in outcome.evidence:
                lines.append(f"  {key}: {outcome.evidence[key]!r}")
        ex = outcome.exchange
        if ex is not None:
            if ex.request:
                lines += ["  request:", _indent(pretty(ex.request))]
            if ex.response:
                lines += [f"  {ex.label} (HTTP {ex.status}, {ex.elapsed * 1000:.0f} ms):", _indent(pretty(ex.response))]
            elif ex.error:
                lines.append(f"  no answer: {ex.error}")
        lines.append("")
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def write_junit(result: RunResult, path: Path) -> Path:
    Path(path).write_bytes(etree.tostring(junit_tree(result), pretty_print=True, xml_declaration=True,
                                          encoding="utf-8"))
    return Path(path)


__all__ = ["junit_tree", "write_junit"]
