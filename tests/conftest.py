import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT.parent / "shared" / "reference" / "public"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The tests start a few hundred Python processes (servers, the CLI). Where the environment asks
# Python to write no bytecode beside the sources (PYTHONDONTWRITEBYTECODE), each of them compiled
# soapbus anew, 0.3 s of CPU a process: they keep their bytecode in a folder outside the tree instead.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
    os.environ.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "soapbus-tests-pycache"))


def skip_or_fail(reason: str):
    """Skip on a laptop; under CI a missing prerequisite is a failure, never a silent skip."""
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def public_dir() -> Path:
    if not PUBLIC.is_dir():
        skip_or_fail(f"public 61968 reference copies not found at {PUBLIC} (they live in ../shared/reference/public)")
    return PUBLIC
