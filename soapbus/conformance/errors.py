"""The harness's own errors: each carries a message a person can act on, never a traceback."""
from __future__ import annotations


class ConformanceError(Exception):
    """Base of everything the harness refuses to do (bad suite, unreachable target, bad certificates)."""


class SuiteError(ConformanceError):
    """A suite file that cannot be used: not YAML, an unknown step or check kind, a missing field."""


class TargetError(ConformanceError):
    """A target that cannot be used: its WSDL cannot be fetched or read, or it offers no 61968 operation."""


class KeyMaterialError(ConformanceError):
    """Certificates or keys that cannot be loaded, or that do not belong together."""


class TemplateError(ConformanceError):
    """A ${...} expression that cannot be evaluated: an unknown name, function or step."""


class Skip(Exception):
    """Raised while evaluating: the step or suite is not judged; the text says why, `verdict` how
    (not applicable by default; blocked, skipped or error where the runner knows better)."""

    def __init__(self, reason: str, verdict: str = "not applicable"):
        super().__init__(reason)
        self.verdict = verdict


__all__ = ["ConformanceError", "SuiteError", "TargetError", "KeyMaterialError", "TemplateError", "Skip"]
