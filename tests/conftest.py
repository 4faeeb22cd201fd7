import contextlib
import fcntl
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


# ---------------------------------------------------------------- the suite on two workers (pytest-xdist)
#
# setup.cfg runs the suite on 2 workers (`-n 0` runs it in one process, and shows what `-s` lets
# through). What runs where is decided by groups of test files: a group's tests all run on one
# worker, in order. Each file is a group of its own (its module-scoped servers start once), except
# these, whose files run one after another on one worker:
SHARED_GROUPS = {
    # The broker and its topic exchange soapbus.events: a test counting the events it caused must see
    # no other test's (every node started with --broker publishes there, amqps:// in test_tls too).
    "rabbitmq": ("test_broker.py", "test_broker_requests.py", "test_multinode.py", "test_tls.py"),
    # The files of most tests marked `alone`, whose turns then follow one another (see Turns).
    "alone": ("test_delivery.py", "test_bus_forwarding.py", "test_server_edge.py", "test_server_plugins.py"),
}
# The longest groups go first, so that neither worker is left with one of them at the end while the
# other has nothing to do (the groups are handed out in collection order: --no-loadscope-reorder).
FIRST = ("rabbitmq", "alone", "test_crash.py", "test_upgrade_0_1_0.py", "test_docs_commands.py", "test_cli_bus.py",
         "test_cli.py", "test_migrations.py", "test_workers.py", "test_routing.py", "test_db_outage.py")
ALONE = "alone"  # the marker of the tests that run while no other test runs
_turns = None  # a Turns, in a pytest-xdist worker (see pytest_runtest_protocol)


def group_of(test_file: str) -> str:
    """The group of a test file, named by its path as in node ids (tests/test_x.py)."""
    name = test_file.rsplit("/", 1)[-1]
    return next((group for group, files in SHARED_GROUPS.items() if name in files), test_file)


def pytest_configure(config):
    global _turns
    config.addinivalue_line("markers", f"{ALONE}: runs while no other test runs, on any worker (its assertions "
                                       "bound a time, which a test beside it on the same two cores would stretch)")
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: its basetemp is in the run's own folder
        _turns = Turns(Path(config.option.basetemp).parent)


def pytest_xdist_make_scheduler(config, log):
    """--dist loadfile by the groups above: pytest-xdist's scheduling by scope, a test's scope being its
    file's group. (xdist's own --dist loadgroup does not work with pytest 9: it renames the items
    through an attribute pytest 9 no longer reads.)"""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid.split("::", 1)[0])

    return ByGroup(config, log)


def pytest_collection_modifyitems(config, items):
    """The groups of FIRST first, in that order; in a group, the tests marked `alone` first (one wait
    for the turn); the rest in the order collected."""
    rank = {group: i for i, group in enumerate(FIRST)}

    def place(item) -> tuple[int, bool]:
        group = group_of(item.nodeid.split("::", 1)[0]).removeprefix("tests/")
        return rank.get(group, len(FIRST)), item.get_closest_marker(ALONE) is None

    items.sort(key=place)  # a stable sort: in order otherwise


class Turns:
    """Across the workers of one run, who may run a test: the tests marked `alone` one at a time and
    nothing beside them, the others side by side. A readers-writer lock of two flock()ed files: the
    gate is taken by a test that waits to run alone, so no new test starts beside it meanwhile."""

    def __init__(self, folder: Path):
        self._gate = open(folder / "turns.gate", "a")  # noqa: SIM115 - held for the worker's life
        self._turn = open(folder / "turns.lock", "a")  # noqa: SIM115
        self.alone = False  # this worker holds the turn alone

    @contextlib.contextmanager
    def shared(self):
        fcntl.flock(self._gate, fcntl.LOCK_EX)
        fcntl.flock(self._turn, fcntl.LOCK_SH)
        fcntl.flock(self._gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(self._turn, fcntl.LOCK_UN)

    def take_alone(self) -> None:
        fcntl.flock(self._gate, fcntl.LOCK_EX)
        fcntl.flock(self._turn, fcntl.LOCK_EX)  # once the tests running elsewhere have ended
        self.alone = True

    def give_back(self) -> None:
        fcntl.flock(self._turn, fcntl.LOCK_UN)
        fcntl.flock(self._gate, fcntl.LOCK_UN)
        self.alone = False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """A test marked `alone` waits for the other worker's test to end and keeps it waiting; the turn is
    kept across the `alone` tests that follow one another on this worker."""
    if _turns is None:
        yield
        return
    if not item.get_closest_marker(ALONE):
        with _turns.shared():
            yield
        return
    if not _turns.alone:
        _turns.take_alone()
    try:
        yield
    finally:
        if nextitem is None or not nextitem.get_closest_marker(ALONE):
            _turns.give_back()
