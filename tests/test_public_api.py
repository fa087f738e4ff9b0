"""The helpers importable from pytest_green_light, and the 0.2.0 surface."""

from __future__ import annotations

import sys

import pytest

from conftest import AS_GIVEN, DRIVERS, Inner

HELPERS = """
import asyncio
import threading
import pytest
from pytest_green_light import (
    get_or_create_event_loop, is_parallel_execution, is_worker_main_thread,
)
from facts import loop_name, record


def test_sync_helpers():
    record(
        "sync",
        parallel=is_parallel_execution(),
        main_thread=is_worker_main_thread(),
        helper_loop=loop_name(get_or_create_event_loop()),
    )


@pytest.mark.asyncio
async def test_async_helpers():
    record("async", helper_loop=loop_name(get_or_create_event_loop()))


def test_from_another_thread():
    seen = {}

    def work():
        seen["main_thread"] = is_worker_main_thread()
        loop = get_or_create_event_loop()  # a thread of its own: never raises
        seen["usable"] = loop.run_until_complete(asyncio.sleep(0, result=True))
        loop.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    record("thread", **seen)
"""


@pytest.mark.compat
def test_helpers_know_the_worker_its_thread_and_its_loop(
    inner: Inner, driver: str, distribution: str
) -> None:
    inner.driver, inner.distribution = driver, distribution
    inner.pytester.makepyfile(test_helpers=HELPERS)

    inner.run("--dist", "loadfile" if distribution != "n0" else "no").assert_outcomes(
        passed=3
    )

    facts = {fact["test"]: fact for fact in inner.facts()}
    assert facts["sync"]["parallel"] is (distribution != "n0")
    assert facts["sync"]["main_thread"] is True
    assert facts["sync"]["helper_loop"] == facts["sync"]["loop"]
    assert (
        facts["async"]["helper_loop"] == facts["async"]["loop"] == facts["sync"]["loop"]
    )
    assert facts["thread"] == {**facts["thread"], "main_thread": False, "usable": True}


THREAD_TESTS = """
import asyncio
import pytest
from pytest_green_light import is_worker_main_thread
from facts import record

@pytest.mark.parametrize("n", range(4))
def test_sync(n):
    assert is_worker_main_thread()
    record("sync", closed=asyncio.get_event_loop().is_closed())

@pytest.mark.parametrize("n", range(4))
@pytest.mark.asyncio
async def test_async(n):
    record("async")
"""


def _one_loop_and_thread_per_worker(facts: list[dict[str, object]]) -> None:
    for worker in {f["worker"] for f in facts}:
        on_worker = [f for f in facts if f["worker"] == worker]
        assert len({f["loop"] for f in on_worker}) == 1
        assert len({f["thread"] for f in on_worker}) == 1
    assert not any(f.get("closed") for f in facts)


@pytest.mark.compat
def test_worker_loop_lives_on_the_thread_that_runs_the_tests(
    inner: Inner, driver: str
) -> None:
    """pytest-xdist 3.5 with execnet < 2.1 sometimes runs a worker's tests in a thread
    such as ``Dummy-1`` (a race in execnet); here pytest runs in such a thread for sure.
    """
    inner.pytester.makepyfile(test_thread=THREAD_TESTS)
    script = inner.pytester.makepyfile(
        run_in_thread=f"""
        import sys, threading, pytest

        args = {["-p", "no:cacheprovider", *DRIVERS[driver], "test_thread.py"]!r}
        outcome = []
        runner = threading.Thread(target=lambda: outcome.append(pytest.main(args)))
        runner.start()
        runner.join()
        sys.exit(outcome[0])
        """
    )

    result = inner.pytester.run(sys.executable, str(script))

    result.assert_outcomes(passed=8)
    facts = inner.facts()
    assert all(f["thread"] != "MainThread" for f in facts)
    _one_loop_and_thread_per_worker(facts)


@pytest.mark.compat
def test_xdist_popen_env_specs_run_on_one_loop_per_worker(inner: Inner) -> None:
    """The spec that, on xdist 3.5, may put a worker's tests in a non-main thread."""
    inner.pytester.makepyfile(test_thread=THREAD_TESTS)
    inner.distribution = AS_GIVEN

    result = inner.run("--tx", "4*popen//env:GREEN_LIGHT_TX=1")

    result.assert_outcomes(passed=8)
    _one_loop_and_thread_per_worker(inner.facts())


def test_no_autouse_makes_the_plugin_inert(inner: Inner) -> None:
    inner.pytester.makepyfile("async def test_nobody_runs_async_tests(): pass")

    result = inner.run("--green-light-no-autouse")

    result.stdout.fnmatch_lines(
        ["green-light 1.0.0: inert (--green-light-no-autouse)", "*async def functions*"]
    )
    result.assert_outcomes(failed=1)


def test_debug_logs_lifecycle_events_and_the_controller_has_no_loop(
    inner: Inner, distribution: str
) -> None:
    inner.distribution = distribution
    inner.pytester.makepyfile("import asyncio\n\ndef test_x(): pass")

    result = inner.run(
        "--green-light-debug", "-o", "log_cli=true", "--log-cli-level=DEBUG"
    )

    result.assert_outcomes(passed=1)
    if distribution == "n0":
        result.stdout.fnmatch_lines(
            [
                "*worker loop 0x* started in thread MainThread*",
                "*worker loop 0x* closed*",
            ]
        )
    else:  # live logs come from the controller, which must have made no loop
        result.stdout.no_fnmatch_line("*worker loop*")


@pytest.mark.compat
@pytest.mark.parametrize("loop_scope", ["session", "function"])
def test_green_light_loop_is_the_loop_the_test_runs_on(
    inner: Inner, driver: str, loop_scope: str
) -> None:
    inner.driver = driver
    inner.pytester.makepyfile(
        """
        import asyncio
        import pytest

        def test_sync(green_light_loop):
            assert asyncio.get_event_loop() is green_light_loop

        @pytest.mark.asyncio
        async def test_async(green_light_loop):
            assert asyncio.get_running_loop() is green_light_loop

        @pytest.mark.green_light(loop_scope="function")
        def test_own_loop(green_light_loop):
            assert asyncio.get_event_loop() is green_light_loop

        @pytest.mark.green_light(loop_scope="function")
        @pytest.mark.asyncio
        async def test_async_own_loop(green_light_loop):
            assert asyncio.get_running_loop() is green_light_loop
        """
    )

    inner.run(f"--green-light-loop-scope={loop_scope}").assert_outcomes(passed=4)


def test_markers_are_registered_for_strict_markers(inner: Inner) -> None:
    """``async_sqlalchemy`` (kept from 0.2.0) always; ``asyncio`` when pytest-asyncio,
    which would register it, is absent."""
    inner.pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.async_sqlalchemy
        def test_marked():
            pass

        @pytest.mark.asyncio
        async def test_asyncio_marked():
            await asyncio.sleep(0)
        """
    )

    inner.run("--strict-markers").assert_outcomes(passed=2)


def test_tests_of_another_async_plugin_are_left_to_it(inner: Inner) -> None:
    """An anyio test is not ours to run: without anyio, pytest says nobody ran it."""
    inner.pytester.makeini("[pytest]\nmarkers = anyio: anyio test\n")
    inner.pytester.makepyfile(
        """
        import pytest

        @pytest.mark.anyio
        async def test_anyio_owned():
            pass
        """
    )

    result = inner.run("-p", "no:anyio")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*async def functions are not natively supported*"])


@pytest.mark.parametrize("plugin_args", [(), ("--green-light-no-autouse",)])
def test_a_pytest_run_started_from_an_xdist_worker_is_not_parallel(
    inner: Inner, monkeypatch: pytest.MonkeyPatch, plugin_args: tuple[str, ...]
) -> None:
    """Tests that run pytest themselves inherit xdist's $PYTEST_XDIST_WORKER; the run
    they start is still not a worker, inert plugin or not."""
    inner.pytester.makepyfile(
        test_nested="""
        from pytest_green_light import is_parallel_execution

        def test_not_parallel():
            assert not is_parallel_execution()
        """
    )
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")

    inner.run(*plugin_args).assert_outcomes(passed=1)
