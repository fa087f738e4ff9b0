"""The worker loop: one per worker session, current for sync code, shared by async tests."""

from __future__ import annotations

from collections import defaultdict

import pytest

from conftest import AS_GIVEN, DRIVERS, USUAL_DRIVER, Inner, compare, usual_only

LOOP_FACTS = """
import asyncio
import pytest
from facts import async_fixture, record

@async_fixture(scope="session")
async def session_loop():
    record("session_fixture")
    return asyncio.get_running_loop()

def test_sync_a():
    record("sync_a")

@pytest.mark.asyncio
async def test_async_a(session_loop):
    record("async_a", same_as_session_fixture=asyncio.get_running_loop() is session_loop)

def test_sync_b():
    record("sync_b")

@pytest.mark.asyncio
async def test_async_b(session_loop):
    record("async_b", same_as_session_fixture=asyncio.get_running_loop() is session_loop)
"""


@pytest.mark.compat
@pytest.mark.parametrize("distribution", ["n0", "n2", "loadscope"])
def test_one_loop_per_worker_shared_by_sync_code_async_tests_and_fixtures(
    inner: Inner, driver: str, distribution: str
) -> None:
    inner.driver, inner.distribution = driver, distribution
    inner.pytester.makepyfile(test_one=LOOP_FACTS, test_two=LOOP_FACTS)

    inner.run().assert_outcomes(passed=8)

    facts = inner.facts()
    loops_by_worker: dict[str, set[str]] = defaultdict(set)
    for fact in facts:
        loops_by_worker[fact["worker"]].add(fact["loop"])
    assert all(len(loops) == 1 for loops in loops_by_worker.values()), loops_by_worker
    worker_loops = [loops.pop() for loops in loops_by_worker.values()]
    assert len(set(worker_loops)) == len(worker_loops)
    assert all(
        f["same_as_session_fixture"] for f in facts if "same_as_session_fixture" in f
    )
    if distribution != "n0":
        assert {f["worker"] for f in facts} <= {"gw0", "gw1"}
    else:
        assert {f["worker"] for f in facts} == {"master"}


SYNC_ONLY = """
def test_{n}_adds():
    assert 1 + 1 == 2
"""


@pytest.mark.compat
def test_sync_only_suite_runs_unchanged(inner: Inner, distribution: str) -> None:
    inner.distribution = distribution
    inner.pytester.makepyfile(
        **{f"test_sync_{i}": SYNC_ONLY.format(n=i) for i in range(6)}
    )

    result = inner.run()

    result.assert_outcomes(passed=6)
    result.stdout.no_fnmatch_line("*RuntimeError*")


CONTROLLER_MODULES = """
import sys

def pytest_sessionfinish(session):
    if not hasattr(session.config, "workerinput"):  # the xdist controller
        with open("controller_modules.txt", "w") as out:
            out.write("\\n".join(sorted(sys.modules)))
"""


@pytest.mark.compat
def test_the_xdist_controller_imports_neither_asyncio_nor_the_worker_loop(
    inner: Inner,
) -> None:
    """The controller runs no tests: importing asyncio there would only slow down the
    start of every run (pytest-asyncio, where installed, imports it anyway)."""
    inner.distribution = "n2"
    inner.pytester.makeconftest(CONTROLLER_MODULES)
    inner.pytester.makepyfile("async def test_async(): pass\ndef test_sync(): pass")

    inner.run().assert_outcomes(passed=2)

    modules = (inner.pytester.path / "controller_modules.txt").read_text().split()
    assert "pytest_green_light.plugin" in modules
    assert "asyncio" not in modules
    assert not [name for name in modules if ".worker_loop." in name]


# Each process says, at its very end, whether asyncio was imported in it.
ASYNCIO_IMPORTED_BY_WHOM = """
import os
import sys
import pytest

@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    who = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(f"asyncio_in_{who}.txt", "w") as out:
        out.write(str("asyncio" in sys.modules))
"""


@pytest.mark.parametrize("distribution", ["n0", "n2"])
def test_a_worker_whose_code_never_uses_asyncio_never_imports_it(
    inner: Inner, distribution: str
) -> None:
    """No loop, no asyncio (some 13 ms per process): nothing in it asked for one."""
    inner.distribution = distribution  # the plugin's runner: no pytest-asyncio
    inner.pytester.makeconftest(ASYNCIO_IMPORTED_BY_WHOM)
    inner.pytester.makepyfile(
        "import pytest\n\n@pytest.mark.parametrize('n', range(4))\n"
        "def test_sync(n): pass\n"
    )

    inner.run().assert_outcomes(passed=4)

    said = {
        path.name: path.read_text()
        for path in inner.pytester.path.glob("asyncio_in_*.txt")
    }
    workers = {"main"} | ({"gw0", "gw1"} if distribution == "n2" else set())
    assert said == {f"asyncio_in_{who}.txt": "False" for who in workers}


@pytest.mark.parametrize("distribution", ["n0", "n2"])
def test_the_test_that_first_imports_asyncio_gets_the_worker_loop_and_so_do_the_next(
    inner: Inner, distribution: str
) -> None:
    """Woken up by the import, the worker has its loop as if from the start (an
    async test, collected, would have woken it before any test ran)."""
    inner.distribution = distribution
    inner.pytester.makeconftest(ASYNCIO_IMPORTED_BY_WHOM)
    inner.pytester.makepyfile(
        """
        import sys

        def test_before():
            assert "asyncio" not in sys.modules

        def test_imports_asyncio():
            import asyncio
            from facts import record
            record("first", running=asyncio.get_event_loop().is_running())

        def test_sync_after():
            from facts import record
            record("sync")

        def test_sync_code_after():
            import asyncio
            from facts import record
            asyncio.get_event_loop().run_until_complete(asyncio.sleep(0))
            record("sync")
        """
    )

    inner.run("--dist", "loadfile").assert_outcomes(passed=4)

    facts = inner.facts()
    assert [f["test"] for f in facts] == ["first", "sync", "sync"]
    assert len({f["loop"] for f in facts}) == 1, facts
    assert not facts[0]["running"]


def test_an_async_test_wakes_the_worker_whose_code_imports_no_asyncio(
    inner: Inner,
) -> None:
    inner.pytester.makepyfile(
        "import sys\n\nasync def test_async():\n    assert 'asyncio' in sys.modules\n"
    )

    inner.run().assert_outcomes(passed=1)


@pytest.mark.compat
def test_dist_without_workers_runs_the_tests_here_on_the_worker_loop(
    inner: Inner, driver: str
) -> None:
    """``--dist`` naming no workers (no ``-n``, no ``--tx``): xdist runs the tests in
    this process, which is then a worker, not the controller."""
    inner.driver, inner.distribution = driver, AS_GIVEN
    # Set as pytest-asyncio's warning asks (without pytest-asyncio it is no ini key).
    asked = (
        ""
        if driver == "green-light"
        else "asyncio_default_fixture_loop_scope = function\n"
    )
    inner.pytester.makeini(
        f"[pytest]\naddopts = --dist loadscope\nfilterwarnings = error\n{asked}"
    )
    inner.pytester.makepyfile(
        test_in_process="""
        import asyncio
        import pytest
        from facts import async_fixture

        @async_fixture(scope="session")
        async def session_loop():
            return asyncio.get_running_loop()

        @pytest.mark.asyncio
        async def test_async(session_loop):
            assert asyncio.get_running_loop() is session_loop

        def test_sync(session_loop):
            assert asyncio.get_event_loop() is session_loop
        """
    )

    with_plugin = compare(inner)

    assert set(with_plugin.values()) == {"passed"}, with_plugin


@pytest.mark.compat
def test_sync_code_gets_the_worker_loop_even_after_asyncio_run(
    inner: Inner, driver: str, distribution: str
) -> None:
    """asyncio.run() leaves no current loop; the next test must still get one."""
    inner.driver, inner.distribution = driver, distribution
    inner.pytester.makepyfile(
        test_run="""
        import asyncio
        import pytest
        from facts import record

        @pytest.mark.asyncio
        async def test_async_before():
            record("async_before")

        def test_sync_calls_asyncio_run():
            assert asyncio.run(asyncio.sleep(0, result=42)) == 42

        def test_sync_get_event_loop_after_run():
            loop = asyncio.get_event_loop()
            assert not loop.is_closed()
            record("sync_after")

        @pytest.mark.asyncio
        async def test_async_after():
            record("async_after")
        """
    )

    inner.run().assert_outcomes(passed=4)

    by_worker: dict[str, set[str]] = defaultdict(set)
    for fact in inner.facts():
        by_worker[fact["worker"]].add(fact["loop"])
    assert all(len(loops) == 1 for loops in by_worker.values()), by_worker


@pytest.mark.compat
def test_function_loop_scope_gives_every_test_a_fresh_loop(
    inner: Inner, driver: str, distribution: str
) -> None:
    inner.driver, inner.distribution = driver, distribution
    inner.pytester.makepyfile(
        test_fresh="""
        import asyncio
        import pytest
        from facts import record

        @pytest.mark.parametrize("n", range(4))
        @pytest.mark.asyncio
        async def test_async(n):
            record(f"async_{n}")

        @pytest.mark.parametrize("n", range(4))
        def test_sync(n, request):
            record(
                f"sync_{n}",
                closed=asyncio.get_event_loop().is_closed(),
                own_loop_fixtures=request.fixturenames.count("_green_light_own_loop"),
            )
        """
    )

    inner.run("--green-light-loop-scope=function").assert_outcomes(passed=8)

    facts = inner.facts()
    async_loops = [f["loop"] for f in facts if f["test"].startswith("async")]
    assert len(set(async_loops)) == 4
    assert not any(f.get("closed") for f in facts)
    # Each case its own fixture list: cases of one function share pytest's.
    assert [f["own_loop_fixtures"] for f in facts if "own_loop_fixtures" in f] == [
        1
    ] * 4


@pytest.mark.compat
def test_marker_gives_one_test_its_own_loop_in_a_session_scoped_run(
    inner: Inner, driver: str, distribution: str
) -> None:
    inner.driver, inner.distribution = driver, distribution
    inner.pytester.makepyfile(
        test_marker="""
        import asyncio
        import pytest
        from facts import record

        @pytest.mark.green_light(loop_scope="function")
        @pytest.mark.asyncio
        async def test_own_loop_first():
            record("own", own=True)

        @pytest.mark.asyncio
        async def test_shared_1():
            record("shared")

        @pytest.mark.asyncio
        async def test_shared_2():
            record("shared")

        def test_sync():
            record("shared")
        """
    )

    inner.run().assert_outcomes(passed=4)

    facts = inner.facts()
    own = {(f["worker"], f["loop"]) for f in facts if f.get("own")}
    shared = {(f["worker"], f["loop"]) for f in facts if not f.get("own")}
    assert not own & shared
    per_worker: dict[str, set[str]] = defaultdict(set)
    for worker, loop in shared:
        per_worker[worker].add(loop)
    assert all(len(loops) == 1 for loops in per_worker.values())


@pytest.mark.compat
def test_a_marker_on_one_parameter_gives_only_that_case_its_own_loop(
    inner: Inner, driver: str
) -> None:
    inner.driver = driver
    inner.pytester.makepyfile(
        test_cases="""
        import pytest
        from facts import record

        OWN = pytest.mark.green_light(loop_scope="function")

        @pytest.mark.parametrize("own", [pytest.param(True, marks=OWN), False, False])
        @pytest.mark.asyncio
        async def test_case(own):
            record("case", own=own)
        """
    )

    inner.run().assert_outcomes(passed=3)

    facts = inner.facts()
    shared = {f["loop"] for f in facts if not f["own"]}
    own = {f["loop"] for f in facts if f["own"]}
    assert len(shared) == 1, facts
    assert len(own) == 1, facts
    assert not shared & own, facts


@pytest.mark.compat
def test_report_header_names_version_settings_and_driver(
    inner: Inner, driver: str
) -> None:
    inner.driver = driver
    inner.pytester.makepyfile("def test_nothing(): pass")

    result = inner.run("--green-light-loop-scope=function", "--green-light-sync-io=all")

    expected = {
        "green-light": "green-light",
        "strict": "pytest-asyncio * (strict mode)",
        "auto": "pytest-asyncio * (auto mode)",
    }[driver]
    result.stdout.fnmatch_lines(
        [
            "green-light 1.0.0: loop scope function (command line), "
            f"sync IO all (command line), async tests driven by {expected}*"
        ]
    )


@pytest.mark.compat
def test_user_override_of_ensure_greenlet_context_keeps_working(
    inner: Inner, driver: str
) -> None:
    """The conftest workaround people copied for 0.2.0 (under xdist) must not break 1.0."""
    inner.driver, inner.distribution = driver, "n2"
    inner.pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(autouse=True)
        def ensure_greenlet_context():
            yield
        """
    )
    inner.pytester.makepyfile(
        test_override="""
        import asyncio
        import pytest

        def test_sync():
            assert not asyncio.get_event_loop().is_closed()

        @pytest.mark.asyncio
        async def test_async():
            await asyncio.sleep(0)
        """
    )

    inner.run().assert_outcomes(passed=2)


@pytest.mark.compat
def test_session_end_finalizes_async_generators_left_suspended(
    inner: Inner, driver: str
) -> None:
    inner.driver = driver
    inner.pytester.makepyfile(
        test_agen="""
        import pytest
        from facts import record

        kept = []

        async def stream():
            try:
                yield 1
                yield 2
            finally:
                record("finalized")

        @pytest.mark.asyncio
        async def test_leaves_a_generator_suspended():
            agen = stream()
            assert await agen.__anext__() == 1
            kept.append(agen)  # still referenced when the session ends
        """
    )

    result = inner.run()

    result.assert_outcomes(passed=1)
    assert [f["test"] for f in inner.facts()] == ["finalized"]


@pytest.mark.compat
@pytest.mark.parametrize("driver", usual_only(sorted(DRIVERS), USUAL_DRIVER))
@pytest.mark.parametrize("distribution", usual_only(["n0", "n2"], "n2"))
def test_a_sync_test_that_closes_the_current_loop_breaks_no_later_test(
    inner: Inner, driver: str, distribution: str
) -> None:
    inner.driver, inner.distribution = driver, distribution
    inner.pytester.makeini("[pytest]\n")  # warnings as they come, as most suites have
    inner.pytester.makepyfile(
        test_closing="""
        import asyncio
        import pytest
        from facts import async_fixture


        @async_fixture(scope="session")
        async def session_queue():
            queue = asyncio.Queue()
            yield queue
            await asyncio.wait_for(queue.put("bye"), 1)  # on the loop it was made on


        @pytest.mark.asyncio
        async def test_before(session_queue):
            await session_queue.put(1)
            assert await session_queue.get() == 1


        def test_old_style_sync_code():
            loop = asyncio.get_event_loop()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()


        @pytest.mark.asyncio
        async def test_after(session_queue):
            await session_queue.put(2)
            assert await session_queue.get() == 2


        def test_sync_after():
            assert not asyncio.get_event_loop().is_closed()
        """
    )

    with_plugin = compare(inner)

    assert set(with_plugin.values()) == {"passed"}, with_plugin
    result = inner.run()
    result.assert_outcomes(passed=4, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*GreenLightWarning: The worker loop was closed by "
            "test_closing.py::test_old_style_sync_code: *kept it open*"
        ]
    )
    result.stdout.no_fnmatch_line("*Event loop is closed*")
