"""Loading suites: YAML files shipped in soapbus/conformance/suites/, or any path a user gives.

Everything a suite may say is checked here, when it is loaded, so that a typo is reported
with the file and the place (`steps[3].expect[1]: unknown check kind 'resutl'`) before any
message is sent.
"""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import yaml

from .checks import KINDS
from .errors import SuiteError
from .model import Assertion, CheckSpec, Step, Suite

SHIPPED = Path(__file__).resolve().parent / "suites"
TEMPLATES = SHIPPED / "templates"
ACTIONS = ("send", "raw", "replay", "wait_event", "wait_replies")
ROLES = ("server", "client")
NEEDS = ("operations", "signing", "trust", "callback", "subscribed", "signing_required", "accepted")
_SUITE_KEYS = {"name", "title", "description", "role", "needs", "vars", "checks", "every_reply", "every_event",
               "steps", "mock"}
_STEP_KEYS = {"id", "title", "needs", "vars", "foreach", "expect", "requires", *ACTIONS}
_ACTION_FIELDS = {
    "send": {"verb", "noun", "header", "remove", "request", "payload", "async", "sign", "to", "tamper"},
    "raw": {"to", "body", "template", "vars"},
    "replay": {"step", "tamper", "sign"},
    "wait_event": {"verb", "noun", "correlation", "contains", "timeout", "min", "after"},
    "wait_replies": {"step", "timeout"},
}
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CHECK_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


# The order a full run takes: the envelope first, the public sequences last.
ORDER = ("envelope", "verbs", "robustness", "security", "async-events", "ondemand-read", "scheduled-read", "outage",
         "disconnect-reconnect", "work-requests")


def shipped_names() -> list[str]:
    names = [p.stem for p in SHIPPED.glob("*.yaml")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def resolve(name_or_path: str) -> Path:
    """A shipped suite by name, or a YAML file by path."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise SuiteError(f"no suite file at {name_or_path}")
        return candidate
    path = SHIPPED / f"{name_or_path}.yaml"
    if not path.is_file():
        raise SuiteError(f"unknown suite {name_or_path!r}; shipped suites: {', '.join(shipped_names())} "
                         "(or give the path of a .yaml file)")
    return path


def load(name_or_path: str) -> Suite:
    path = resolve(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SuiteError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{path}: cannot read it: {exc}") from None
    return parse(data, str(path))


def load_all(names: list[str] | None = None) -> list[Suite]:
    return [load(n) for n in (names or shipped_names())]


def parse(data, path: str = "<suite>") -> Suite:
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: a suite is a YAML mapping (name, checks, steps ...), not {type(data).__name__}")
    _unknown_keys(data, _SUITE_KEYS, path)
    name = _required(data, "name", path)
    role = data.get("role", "server")
    if role not in ROLES:
        raise SuiteError(f"{path}: role must be one of {', '.join(ROLES)}, not {role!r}")
    checks = {}
    for index, raw in enumerate(_list(data, "checks", path)):
        where = f"{path}: checks[{index}]"
        if not isinstance(raw, dict):
            raise SuiteError(f"{where}: a check is a mapping with id, rule and source")
        _unknown_keys(raw, {"id", "rule", "source"}, where)
        spec = CheckSpec(str(_required(raw, "id", where)), str(_required(raw, "rule", where)),
                         str(_required(raw, "source", where)))
        if not _CHECK_ID.match(spec.id):
            raise SuiteError(f"{where}: check id {spec.id!r} must be lower case letters, digits, '.', '-' or '_'")
        if spec.id in checks:
            raise SuiteError(f"{where}: check {spec.id} is declared twice")
        checks[spec.id] = spec
    needs = _needs(data.get("needs") or {}, path)
    steps = []
    for index, raw in enumerate(_list(data, "steps", path)):
        steps.extend(_steps(raw, f"{path}: steps[{index}]", checks))
    seen = set()
    for step in steps:
        if step.foreach is not None:
            continue  # expanded at run time; the runner checks its ids
        if step.id in seen:
            raise SuiteError(f"{step.where}: step id {step.id!r} is used twice")
        seen.add(step.id)
    mock = data.get("mock") or {}
    if role == "client":
        mock = _mock(mock, f"{path}: mock", checks)
    elif mock:
        raise SuiteError(f"{path}: only a suite with role client has a mock section")
    suite = Suite(
        name=str(name), title=str(data.get("title") or name), description=str(data.get("description") or "").strip(),
        role=role, checks=checks, steps=steps, needs=needs, vars=_mapping(data, "vars", path),
        every_reply=[_assertion(a, f"{path}: every_reply[{i}]", checks) for i, a in
                     enumerate(_list(data, "every_reply", path))],
        every_event=[_assertion(a, f"{path}: every_event[{i}]", checks) for i, a in
                     enumerate(_list(data, "every_event", path))],
        path=path, mock=mock)
    _all_checks_used(suite)
    return suite


def _steps(raw, where: str, checks) -> list[Step]:
    if not isinstance(raw, dict):
        raise SuiteError(f"{where}: a step is a mapping with an id and one action ({', '.join(ACTIONS)})")
    _unknown_keys(raw, _STEP_KEYS, where)
    actions = [a for a in ACTIONS if a in raw]
    if len(actions) != 1:
        raise SuiteError(f"{where}: a step takes exactly one action of {', '.join(ACTIONS)}; "
                         f"found {', '.join(actions) or 'none'}")
    action = actions[0]
    spec = raw[action]
    if not isinstance(spec, dict):
        raise SuiteError(f"{where}: {action} takes a mapping of fields ({', '.join(sorted(_ACTION_FIELDS[action]))})")
    _unknown_keys(spec, _ACTION_FIELDS[action], f"{where}.{action}")
    step_id = str(_required(raw, "id", where))
    requires = raw.get("requires") or []
    if isinstance(requires, str):
        requires = [requires]
    if not isinstance(requires, list):
        raise SuiteError(f"{where}: requires is a step id or a list of them")
    pattern = Step(id=step_id, title=str(raw.get("title") or step_id), action=action, spec=spec,
                   expect=[_assertion(a, f"{where}.expect[{i}]", checks) for i, a in enumerate(raw.get("expect") or [])],
                   needs=_needs(raw.get("needs") or {}, where), vars=dict(raw.get("vars") or {}), where=where,
                   requires=[str(r) for r in requires])
    foreach = raw.get("foreach")
    if _deferred(foreach):
        pattern.foreach = foreach
        return [pattern]
    return [instantiate(pattern, item) for item in _foreach(foreach, where)]


def instantiate(pattern: Step, item: dict) -> Step:
    """One concrete step of a foreach: the item's values in the id, the title and the step's variables."""
    concrete_id = pattern.id
    for key, value in item.items():
        concrete_id = concrete_id.replace("${" + key + "}", str(value))
    if not _ID.match(concrete_id):
        raise SuiteError(f"{pattern.where}: step id {concrete_id!r} must be letters, digits and '_' "
                         "(it is used as steps.<id> in expressions)")
    step_where = f"{pattern.where} ({concrete_id})" if item else pattern.where
    return Step(id=concrete_id, title=pattern.title, action=pattern.action, spec=pattern.spec, expect=pattern.expect,
                needs=pattern.needs, vars={**item, **pattern.vars}, where=step_where, requires=pattern.requires)


def _deferred(foreach) -> bool:
    """A foreach with a `${...}` where its values should be: evaluated when the suite runs."""
    if isinstance(foreach, str):
        return "${" in foreach
    return isinstance(foreach, dict) and any(isinstance(v, str) and "${" in v for v in foreach.values())


def expand_foreach(value, where: str) -> list[dict]:
    """A foreach's items once its expressions are evaluated (the runner calls this)."""
    return _foreach(value, where)


def _foreach(value, where: str) -> list[dict]:
    if value is None:
        return [{}]
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return value
    if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
        keys = list(value)
        return [dict(zip(keys, combo)) for combo in itertools.product(*(value[k] for k in keys))]
    raise SuiteError(f"{where}: foreach is a list of variable mappings, or a mapping of variable -> list of values")


def _assertion(raw, where: str, checks) -> Assertion:
    if not isinstance(raw, dict):
        raise SuiteError(f"{where}: an assertion is a mapping: check: <id>, then one kind ({', '.join(KINDS)})")
    check = raw.get("check")
    if check is None:
        raise SuiteError(f"{where}: names no check (check: <id>)")
    if check not in checks:
        raise SuiteError(f"{where}: check {check!r} is not declared in the suite's checks")
    kinds = [k for k in raw if k in KINDS]
    if len(kinds) != 1:
        unknown = [k for k in raw if k != "check" and k not in KINDS]
        hint = f"; unknown key(s) {', '.join(unknown)}" if unknown else ""
        raise SuiteError(f"{where}: an assertion takes exactly one check kind of {', '.join(KINDS)}; "
                         f"found {', '.join(kinds) or 'none'}{hint}")
    kind = kinds[0]
    extra = set(raw) - {"check", kind} - KINDS[kind].fields
    if extra:
        allowed = ", ".join(sorted(KINDS[kind].fields)) or "no other field"
        raise SuiteError(f"{where}: {kind} does not take {', '.join(sorted(extra))} (it takes {allowed})")
    return Assertion(check=str(check), kind=kind, params=dict(raw), where=where)


def _needs(raw, where: str) -> dict:
    if not isinstance(raw, dict):
        raise SuiteError(f"{where}: needs is a mapping ({', '.join(NEEDS)})")
    _unknown_keys(raw, set(NEEDS), f"{where}.needs")
    return dict(raw)


def _mock(raw, where: str, checks) -> dict:
    if not isinstance(raw, dict):
        raise SuiteError(f"{where}: mock is a mapping (answers, expect, requests)")
    _unknown_keys(raw, {"answers", "expect", "requests", "timeout"}, where)
    answers = raw.get("answers") or []
    if not isinstance(answers, list) or not answers:
        raise SuiteError(f"{where}.answers: list the canned answers (verb, noun, result, payload)")
    for i, answer in enumerate(answers):
        if not isinstance(answer, dict):
            raise SuiteError(f"{where}.answers[{i}]: an answer is a mapping")
        _unknown_keys(answer, {"verb", "noun", "result", "code", "payload", "vars"}, f"{where}.answers[{i}]")
        _required(answer, "verb", f"{where}.answers[{i}]")
        _required(answer, "noun", f"{where}.answers[{i}]")
    expect = [_assertion(a, f"{where}.expect[{i}]", checks) for i, a in enumerate(raw.get("expect") or [])]
    requests = raw.get("requests") or []
    if not isinstance(requests, list) or not all(isinstance(r, str) for r in requests):
        raise SuiteError(f"{where}.requests: a list of 'verb Noun' the client is asked to send")
    return {"answers": answers, "expect": expect, "requests": requests, "timeout": float(raw.get("timeout", 60))}


def _all_checks_used(suite: Suite) -> None:
    used = {a.check for a in [*suite.every_reply, *suite.every_event, *suite.mock.get("expect", [])]}
    used |= {a.check for s in suite.steps for a in s.expect}
    unused = [c for c in suite.checks if c not in used]
    if unused:
        raise SuiteError(f"{suite.path}: check(s) {', '.join(unused)} are declared but no step asserts them")


def _required(data: dict, key: str, where: str):
    if data.get(key) in (None, ""):
        raise SuiteError(f"{where}: {key} is missing")
    return data[key]


def _list(data: dict, key: str, where: str) -> list:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise SuiteError(f"{where}: {key} is a list")
    return value


def _mapping(data: dict, key: str, where: str) -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise SuiteError(f"{where}: {key} is a mapping")
    return dict(value)


def _unknown_keys(data: dict, allowed: set, where: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise SuiteError(f"{where}: unknown key(s) {', '.join(map(str, unknown))} "
                         f"(allowed: {', '.join(sorted(allowed))})")


def template_text(name: str, suite_path: str | None = None) -> str:
    """A payload template by file name: beside the suite first, then the shipped templates."""
    candidates = []
    if suite_path:
        base = Path(suite_path).parent
        candidates += [base / name, base / "templates" / name]
    candidates.append(TEMPLATES / name)
    for path in candidates:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise SuiteError(f"no template {name!r} (looked in {', '.join(str(c.parent) for c in candidates)})")


__all__ = ["SHIPPED", "TEMPLATES", "shipped_names", "resolve", "load", "load_all", "parse", "template_text",
           "instantiate", "expand_foreach"]
