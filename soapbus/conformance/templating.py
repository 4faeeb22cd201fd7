"""`${...}` expressions in suites and payload templates.

An expression is a name (`noun`), a dotted path into earlier steps (`steps.create.request.MessageID`),
an index (`steps.get.ids[0]`), or a call of a harness function (`uuid()`, `now(-3600)`,
`first_offered('create', 'MeterReadings', 'EndDeviceControls')`). Python's own parser reads it;
only those node kinds are evaluated, nothing else (no attribute access on objects, no builtins).

A string that is exactly one `${...}` evaluates to the value itself (a list stays a list); a
string with text around expressions becomes text. In XML templates every substituted value is
escaped, so a value can never add markup.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from xml.sax.saxutils import escape

from .errors import Skip, TemplateError

_EXPR = re.compile(r"\$\{([^}]*)\}")


class Scope:
    """Names and functions an expression may use; `steps` maps step ids to their recorded values."""

    def __init__(self, values: Mapping | None = None, functions: Mapping[str, Callable] | None = None):
        self.values = dict(values or {})
        self.functions = dict(functions or {})

    def child(self, **values) -> "Scope":
        return Scope({**self.values, **values}, self.functions)


def evaluate(expression: str, scope: Scope):
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise TemplateError(f"${{{expression}}} is not a valid expression") from None
    return _eval(tree.body, scope, expression)


def _eval(node, scope: Scope, text: str):
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _eval(node.operand, scope, text)
        if isinstance(value, (int, float)):
            return -value
    if isinstance(node, ast.Name):
        if node.id not in scope.values:
            known = ", ".join(sorted(k for k in scope.values if k != "steps")) or "none"
            raise TemplateError(f"${{{text}}}: no variable {node.id!r} (variables: {known})")
        return scope.values[node.id]
    if isinstance(node, ast.Attribute):
        return _member(_eval(node.value, scope, text), node.attr, text)
    if isinstance(node, ast.Subscript):
        base = _eval(node.value, scope, text)
        key = _eval(node.slice, scope, text)
        try:
            return base[key]
        except (IndexError, KeyError, TypeError):
            raise Skip(f"${{{text}}}: there is no [{key!r}] in {_short(base)}") from None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        function = scope.functions.get(node.func.id)
        if function is None:
            raise TemplateError(f"${{{text}}}: no function {node.func.id}() (functions: "
                                f"{', '.join(sorted(scope.functions))})")
        return function(*[_eval(arg, scope, text) for arg in node.args])
    raise TemplateError(f"${{{text}}}: only names, dotted paths, [index] and function calls are allowed")


def _member(base, name: str, text: str):
    if isinstance(base, Mapping):
        if name in base:
            return base[name]
        raise TemplateError(f"${{{text}}}: {name!r} is not one of {sorted(base)}")
    raise TemplateError(f"${{{text}}}: cannot take .{name} of {_short(base)}")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def render(value, scope: Scope, xml: bool = False):
    """Substitute every `${...}` in a string, recursively in lists and dicts; other values as they are."""
    if isinstance(value, str):
        whole = _EXPR.fullmatch(value)
        if whole and not xml:
            return evaluate(whole.group(1), scope)

        def one(match):
            result = evaluate(match.group(1), scope)
            text = "" if result is None else str(result)
            return escape(text, {'"': "&quot;"}) if xml else text

        return _EXPR.sub(one, value)
    if isinstance(value, list):
        return [render(v, scope, xml) for v in value]
    if isinstance(value, dict):
        return {k: render(v, scope, xml) for k, v in value.items()}
    return value


def steps_referenced(value) -> set[str]:
    """Ids of the steps a value's expressions read (`steps.<id>...`)."""
    found: set[str] = set()
    texts = []
    if isinstance(value, str):
        texts = [m.group(1) for m in _EXPR.finditer(value)]
    elif isinstance(value, list):
        return set().union(*[steps_referenced(v) for v in value]) if value else set()
    elif isinstance(value, dict):
        return set().union(*[steps_referenced(v) for v in value.values()]) if value else set()
    for text in texts:
        found.update(re.findall(r"\bsteps\.([A-Za-z0-9_]+)", text))
        found.update(re.findall(r"\bsteps\[['\"]([^'\"]+)['\"]\]", text))
    return found


__all__ = ["Scope", "evaluate", "render", "steps_referenced"]
