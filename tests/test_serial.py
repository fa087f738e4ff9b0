"""``@pytest.mark.serial`` under xdist: serial tests never overlap any other test.

Inner runs record when each test's protocol started and ended (``pytest_runtest_logstart``
to ``logfinish``, so setup and teardown count) and on which worker; the checks below
compare those intervals.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import pytest

from conftest import Inner, usual_only
from pytest_green_light.serial.scheduler import Phase, PhaseError, SerialScheduling

TIMING_CONFTEST = """
import json
import os
import time

import pytest

_started = {}
_xdist_controller = False


def pytest_configure(config):
    # The xdist controller replays the workers' log hooks: record in workers only.
    global _xdist_controller
    _xdist_controller = config.getoption("dist", "no") != "no" and not hasattr(
        config, "workerinput"
    )


def pytest_collection_modifyitems(items):
    for item in items:
        if item.name.startswith("test_marked_late"):
            item.add_marker(pytest.mark.serial)


def pytest_runtest_logstart(nodeid):
    _started[nodeid] = time.time()


def pytest_runtest_logfinish(nodeid):
    if _xdist_controller:
        return
    with open(os.environ["GREEN_LIGHT_FACTS"], "a") as facts:
        facts.write(json.dumps({
            "test": nodeid.split("@")[0],  # loadgroup may add "@group"
            "start": _started.pop(nodeid),
            "end": time.time(),
            "worker": os.environ.get("PYTEST_XDIST_WORKER", "master"),
        }) + "\\n")
"""

PARALLEL = """
import time
import pytest


@pytest.mark.parametrize("n", range(12))
def test_parallel(n):
    time.sleep(0.02)
"""

SERIAL = """
import time
import pytest

pytestmark = pytest.mark.xdist_group("one")


@pytest.mark.serial
def test_function_marked():
    time.sleep(0.02)


@pytest.mark.serial
class TestClassMarked:
    def test_a(self):
        time.sleep(0.02)

    def test_b(self):
        time.sleep(0.02)


def test_marked_late_in_modifyitems():
    time.sleep(0.02)


def test_in_between():
    time.sleep(0.02)
"""

MODULE_MARKED = """
import time
import pytest

pytestmark = pytest.mark.serial


def test_module_marked():
    time.sleep(0.02)
"""

SERIAL_TESTS = {
    "test_serial.py::test_function_marked",
    "test_serial.py::TestClassMarked::test_a",
    "test_serial.py::TestClassMarked::test_b",
    "test_serial.py::test_marked_late_in_modifyitems",
    "test_module.py::test_module_marked",
}


@dataclass
class Interval:
    test: str
    start: float
    end: float
    worker: str

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


def intervals(inner: Inner) -> list[Interval]:
    return [Interval(**fact) for fact in inner.facts()]


def assert_serial_tests_ran_alone(runs: list[Interval], serial: set[str]) -> None:
    for run in runs:
        if run.test in serial:
            overlapping = [o.test for o in runs if o is not run and o.overlaps(run)]
            assert not overlapping, f"{run.test} overlapped {overlapping}"


def make_project(inner: Inner) -> None:
    inner.pytester.makeconftest(TIMING_CONFTEST)
    inner.pytester.makepyfile(
        test_a=PARALLEL, test_b=PARALLEL, test_serial=SERIAL, test_module=MODULE_MARKED
    )


@pytest.mark.compat
@pytest.mark.parametrize(
    "dist", ["load", "loadscope", "loadfile", "loadgroup", "worksteal"]
)
def test_serial_tests_run_alone_after_the_others_once_each(
    inner: Inner, dist: str
) -> None:
    inner.distribution = "n2"
    make_project(inner)

    result = inner.run("--dist", dist)

    result.assert_outcomes(passed=30)
    runs = intervals(inner)
    assert len(runs) == len({r.test for r in runs}) == 30
    assert_serial_tests_ran_alone(runs, SERIAL_TESTS)
    assert len({r.worker for r in runs if r.test in SERIAL_TESTS}) == 1
    last_parallel_end = max(r.end for r in runs if r.test not in SERIAL_TESTS)
    assert all(r.start >= last_parallel_end for r in runs if r.test in SERIAL_TESTS)
    result.stdout.fnmatch_lines(
        [
            "green-light: 5 serial test(s) ran one at a time after the parallel "
            "tests, in *s"
        ]
    )


ONE_SCOPE = """
import time
import pytest


@pytest.mark.parametrize("n", range(4))
def test_parallel(n):
    time.sleep(0.02)
"""

ONLY_SERIAL = """
import time
import pytest

pytestmark = pytest.mark.serial


@pytest.mark.parametrize("n", range(3))
def test_serial_only(n):
    time.sleep(0.02)
"""

DIST_MODES = ["load", "loadscope", "loadfile", "loadgroup", "worksteal"]


@pytest.mark.compat
@pytest.mark.parametrize("dist", usual_only(DIST_MODES, "loadscope"))
@pytest.mark.parametrize(
    ("shape", "workers", "parallel", "serial"),
    [
        # Fewer parallel scopes than workers: the scope schedulers let spare workers go.
        ("one parallel module and one serial test", "2", 4, 1),
        pytest.param(
            "three parallel modules and one serial test",
            *("4", 12, 1),
            marks=pytest.mark.every_combination,
        ),
        ("no parallel test at all", "2", 0, 3),
    ],
)
def test_serial_tests_run_whatever_the_number_of_scopes(
    inner: Inner, dist: str, shape: str, workers: str, parallel: int, serial: int
) -> None:
    inner.pytester.makeconftest(TIMING_CONFTEST)
    modules = {f"test_p{i}": ONE_SCOPE for i in range(parallel // 4)}
    if serial == 1:
        modules["test_s"] = MODULE_MARKED
    else:
        modules["test_s"] = ONLY_SERIAL
    inner.pytester.makepyfile(**modules)

    result = inner.run("-n", workers, "--dist", dist)

    result.assert_outcomes(passed=parallel + serial)
    runs = intervals(inner)
    serial_ids = {r.test for r in runs if r.test.startswith("test_s.py")}
    assert len(serial_ids) == serial
    assert_serial_tests_ran_alone(runs, serial_ids)
    result.stdout.fnmatch_lines(
        [f"green-light: {serial} serial test(s) ran one at a time after the parallel*"]
    )


@pytest.mark.compat
@pytest.mark.parametrize(
    "marker",
    [
        pytest.param("@pytest.mark.serial", id="serial"),
        pytest.param("", id="parallel", marks=pytest.mark.every_combination),
    ],
)
def test_a_worker_crash_is_reported_and_the_rest_still_run(
    inner: Inner, marker: str
) -> None:
    inner.distribution = "n2"
    # pytest-rerunfailures reads the scheduler when a worker crashes, --reruns or not.
    inner.plugins = ("rerunfailures",)
    make_project(inner)
    inner.pytester.makepyfile(
        test_0_crash=f"""
        import os
        import pytest

        {marker}
        def test_crashes_its_worker():
            os._exit(3)
        """
    )

    result = inner.run("--max-worker-restart=1")

    result.stdout.fnmatch_lines(["plugins: *rerunfailures*"])
    result.assert_outcomes(passed=30, failed=1)
    serial_count = 6 if marker else 5
    result.stdout.fnmatch_lines(
        [
            "*worker 'gw*' crashed while running "
            "'test_0_crash.py::test_crashes_its_worker'*",
            f"green-light: {serial_count} serial test(s) ran one at a time after the "
            "parallel tests, in *s",
        ]
    )
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    runs = intervals(inner)  # the crashed test never reached logfinish
    assert len(runs) == len({r.test for r in runs}) == 30
    assert_serial_tests_ran_alone(runs, SERIAL_TESTS)


RERUN_CRASHING_SERIAL = """
import os
import time
import pytest

FLAG = os.path.join(os.path.dirname(__file__), "crashed_once")


@pytest.mark.serial
def test_a_crashes_once():
    if {always} or not os.path.exists(FLAG):
        open(FLAG, "w").close()
        # pytest-rerunfailures' worker sends the test's rerun count to the controller
        # without waiting for an answer: crashing at once races it (no rerun at all).
        time.sleep(0.5)
        os._exit(3)


@pytest.mark.serial
def test_b_after_it():
    pass


def test_parallel():
    pass
"""


@pytest.mark.parametrize(
    ("always", "expected"),
    [
        (False, "green-light: 2 serial test(s) ran one at a time after the parallel*"),
        (
            True,
            "green-light: 1 of 2 serial test(s) ran; the run stopped before "
            "test_rerun.py::test_b_after_it could start",
        ),
    ],
    ids=["crash-then-pass", "crash-every-time"],
)
def test_a_crashed_serial_test_rerun_is_counted_once(
    inner: Inner, always: bool, expected: str
) -> None:
    """pytest-rerunfailures runs a crashed test again: still one serial test, and the
    summary names the one that never ran."""
    inner.distribution = "n2"
    inner.plugins = ("rerunfailures",)
    inner.pytester.makepyfile(
        test_rerun=RERUN_CRASHING_SERIAL.replace("{always}", str(always))
    )

    result = inner.run("--reruns", "2", "--max-worker-restart", "1")

    result.stdout.fnmatch_lines([expected])
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_a_run_stopped_before_the_serial_phase_does_not_start_it(
    inner: Inner,
) -> None:
    inner.distribution = "n2"
    make_project(inner)
    inner.pytester.makepyfile(test_0_fails="def test_fails():\n    assert False\n")

    result = inner.run("-x")

    assert not any(r.test in SERIAL_TESTS for r in intervals(inner))
    result.stdout.fnmatch_lines(
        [
            "green-light: 0 of 5 serial test(s) ran; the run stopped before "
            "test_module.py::test_module_marked, * could start",
            "*stopping after 1 failures*",
        ]
    )
    result.stdout.no_fnmatch_line("*warning*")


def test_collection_errors_count_toward_maxfail_as_xdist_counts_them(
    inner: Inner,
) -> None:
    """xdist stops after ``--maxfail`` failures, a collection error among them; the
    serial phase must not start once it has decided to."""
    inner.distribution = "n2"
    make_project(inner)
    inner.pytester.makepyfile(
        test_0_broken="raise ImportError('cannot collect')\n",
        test_0_fails="def test_fails():\n    assert False\n",
    )

    result = inner.run("--continue-on-collection-errors", "--maxfail=2")

    assert not any(r.test in SERIAL_TESTS for r in intervals(inner))
    result.stdout.fnmatch_lines(
        [
            "green-light: 0 of 5 serial test(s) ran; the run stopped before "
            "test_module.py::test_module_marked, * could start",
            "*stopping after 2 failures*",
        ]
    )


def test_selection_and_last_failed_keep_serial_tests_alone(inner: Inner) -> None:
    inner.distribution = "n2"
    make_project(inner)
    inner.pytester.makepyfile(
        test_flaky="""
        import os
        import pytest

        FIRST_RUN = not os.path.exists("second-run")

        def test_parallel_fails_once():
            assert not FIRST_RUN

        @pytest.mark.serial
        def test_serial_fails_once():
            assert not FIRST_RUN
        """
    )
    first = inner.run(cache=True)
    first.assert_outcomes(passed=30, failed=2)
    (inner.pytester.path / "second-run").touch()
    inner.facts_path.unlink()
    last_failed = inner.run("--lf", cache=True)
    last_failed.assert_outcomes(passed=2)
    last_failed.stdout.fnmatch_lines(["green-light: 1 serial test(s) ran*"])
    runs = intervals(inner)
    assert {r.test for r in runs} == {
        "test_flaky.py::test_parallel_fails_once",
        "test_flaky.py::test_serial_fails_once",
    }
    assert_serial_tests_ran_alone(runs, {"test_flaky.py::test_serial_fails_once"})

    inner.facts_path.unlink()
    only_serial = inner.run("-m", "serial")
    only_serial.assert_outcomes(passed=6)
    assert {r.test for r in intervals(inner)} == SERIAL_TESTS | {
        "test_flaky.py::test_serial_fails_once"
    }

    inner.facts_path.unlink()
    by_keyword = inner.run("-k", "module_marked or test_parallel")
    by_keyword.assert_outcomes(passed=26)
    assert_serial_tests_ran_alone(intervals(inner), SERIAL_TESTS)
    by_keyword.stdout.fnmatch_lines(["green-light: 1 serial test(s) ran*"])


@pytest.mark.parametrize("args", [("-n", "0"), ("-n", "2", "--green-light-serial=off")])
def test_serial_is_an_ordinary_marker_without_xdist_or_when_off(
    inner: Inner, args: tuple[str, ...]
) -> None:
    make_project(inner)

    result = inner.run(*args)

    result.assert_outcomes(passed=30)
    result.stdout.no_fnmatch_line("green-light: *serial*")


# -- the scheduler's bookkeeping, with stand-in nodes (real runs are above) ----------


class StandInNode:
    """Records what a scheduler sends to a worker node."""

    def __init__(self, name: str) -> None:
        self.gateway = type("Gateway", (), {"id": name})()
        self.sent: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent += indices

    def shutdown(self) -> None:
        self.shutting_down = True


class StandInInner:
    """The least an inner scheduler does: send every test to the first node."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.collection: list[str] = []
        self.completed: list[int] = []
        self.collection_is_completed = False

    @property
    def tests_finished(self) -> bool:
        return len(self.completed) == len(self.collection)

    @property
    def has_pending(self) -> bool:
        return not self.tests_finished

    def add_node(self, node: Any) -> None:
        self.nodes.append(node)

    def add_node_collection(self, node: Any, collection: list[str]) -> None:
        self.collection = collection
        self.collection_is_completed = True

    def schedule(self) -> None:
        self.nodes[0].send_runtest_some(range(len(self.collection)))
        self.nodes[0].shutdown()

    def mark_test_complete(self, node: Any, index: int, duration: float = 0) -> None:
        self.completed.append(index)

    def remove_node(self, node: Any) -> None:
        self.nodes.remove(node)


def test_inner_scheduler_indices_skip_serial_tests_and_a_placeholder_holds_them() -> (
    None
):
    inner = StandInInner()
    serial = SerialScheduling(inner, read_serial_ids=lambda node: {"t::s1", "t::s2"})
    node = StandInNode("gw0")
    serial.add_node(node)
    assert serial.phase is Phase.COLLECTING
    serial.add_node_collection(node, ["t::p0", "t::s1", "t::p1", "t::s2"])
    serial.schedule()
    assert serial.phase is Phase.PARALLEL

    assert inner.collection == ["t::p0", "t::p1"]
    # Parallel tests by the worker's own indices, then the first serial test as the
    # placeholder that lets the last parallel one finish.
    assert node.sent == [0, 2, 1]
    assert not node.shutting_down
    serial.mark_test_complete(node, 0)
    assert node.sent == [0, 2, 1]
    serial.mark_test_complete(node, 2)
    # The phase opens: the placeholder's test again, the others, then the shutdown.
    assert serial.phase is Phase.SERIAL
    assert node.sent == [0, 2, 1, 1, 3]
    assert node.shutting_down
    serial.mark_test_complete(node, 1)  # the placeholder, skipped by the worker
    assert not serial.serial_ran
    assert not serial.tests_finished
    serial.mark_test_complete(node, 1)
    serial.mark_test_complete(node, 3)
    assert serial.tests_finished
    assert serial.serial_ran == {"t::s1", "t::s2"}


def test_a_phase_change_the_transition_table_does_not_allow_is_refused() -> None:
    serial = SerialScheduling(StandInInner(), read_serial_ids=lambda node: set())
    node = StandInNode("gw0")
    serial.add_node(node)
    serial.add_node_collection(node, ["t::p0"])
    assert serial.phase is Phase.NO_SERIAL_TESTS

    with pytest.raises(
        PhaseError,
        match=r"from phase 'no serial tests' to 'serial' \(from there: none\); "
        "this is a bug in pytest-green-light",
    ):
        serial._enter(Phase.SERIAL)
    assert serial.phase is Phase.NO_SERIAL_TESTS


class SpareDroppingInner(StandInInner):
    """Like xdist's scope schedulers: a node with no scope to run is dropped from the
    scheduler's own list before it is shut down."""

    def schedule(self) -> None:
        spare = self.nodes.pop()
        spare.shutdown()
        super().schedule()


def test_a_spare_node_the_inner_scheduler_dropped_still_gets_its_shutdown() -> None:
    inner = SpareDroppingInner()
    serial = SerialScheduling(inner, read_serial_ids=lambda node: {"t::s1"})
    busy, spare = StandInNode("gw0"), StandInNode("gw1")
    for node in (busy, spare):
        serial.add_node(node)
        serial.add_node_collection(node, ["t::p0", "t::s1"])
    serial.schedule()

    assert spare.sent == []  # kept for the serial phase
    assert not spare.shutting_down
    assert busy.shutting_down
    serial.mark_test_complete(busy, 0)
    assert spare.sent == [1, 1]  # the placeholder, then the test
    assert spare.shutting_down


def test_a_controller_terminated_before_the_serial_phase_leaves_nothing_behind(
    inner: Inner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker kept for the serial phase waits for xdist's next message, so when the
    controller dies its connection closes and the worker ends, as the others do; and
    nothing of the plugin's is left in the temporary directory."""
    temporary = inner.pytester.mkdir("tmp")
    monkeypatch.setenv("TMPDIR", str(temporary))
    inner.pytester.makepyfile(
        test_wait="""
        import os
        import time
        import pytest
        from facts import record

        @pytest.mark.parametrize("n", range(4))
        def test_quick(n):
            record("quick")

        def test_slow():
            record("slow")
            time.sleep(2)

        @pytest.mark.serial
        def test_serial():
            record("serial")
        """
    )
    inner.distribution = "n2"
    controller = subprocess.Popen(
        [sys.executable, "-m", "pytest", *inner.args()],
        cwd=inner.pytester.path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(f["test"] == "slow" for f in inner.facts()):
            assert controller.poll() is None, "the run ended before test_slow started"
            assert time.monotonic() < deadline, inner.facts()
            time.sleep(0.05)
        workers = {f["pid"] for f in inner.facts()}
        assert len(workers) == 2, inner.facts()
    finally:
        controller.terminate()
        controller.wait()

    deadline = time.monotonic() + 30
    while alive := [pid for pid in workers if _running(pid)]:
        # test_slow's worker ends when its test does; the serial node at once.
        if time.monotonic() > deadline:
            for pid in alive:
                os.kill(pid, signal.SIGKILL)
            pytest.fail(f"workers {alive} outlived their controller by 30 s")
        time.sleep(0.1)
    assert not any(f["test"] == "serial" for f in inner.facts())
    assert not list(temporary.glob("green-light-*"))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is done: its parent (the killed controller) is gone, init reaps it.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


class NoShutdownInner(StandInInner):
    """Like xdist's load scheduler after a crash: it hands a node its last test and
    never shuts it down, leaving that to xdist once ``tests_finished``."""

    def schedule(self) -> None:
        self.nodes[0].send_runtest_some(range(len(self.collection)))

    @property
    def tests_finished(self) -> bool:
        return len(self.completed) >= len(self.collection) - 1


def test_a_node_the_inner_scheduler_never_lets_go_is_let_go_once_all_is_handed_out() -> (
    None
):
    inner = NoShutdownInner()
    serial = SerialScheduling(inner, read_serial_ids=lambda node: {"t::s1"})
    node = StandInNode("gw0")
    serial.add_node(node)
    serial.add_node_collection(node, ["t::p0", "t::p1", "t::s1"])
    serial.schedule()
    assert node.sent == [0, 1]

    serial.mark_test_complete(node, 0)  # p1, the last, waits for what follows it

    assert node.sent == [0, 1, 2]  # the placeholder
    serial.mark_test_complete(node, 1)
    assert node.sent == [0, 1, 2, 2]
    assert node.shutting_down
