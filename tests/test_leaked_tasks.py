"""Tasks a test leaves running on the shared worker loop."""

from __future__ import annotations

from collections import defaultdict

import pytest

from conftest import DRIVERS, USUAL_DRIVER, Inner, usual_only

LEAKS_A_LOGGER = """
import asyncio
import logging
import pytest
from facts import record

log = logging.getLogger("app")

@pytest.mark.parametrize("n", range({pairs}))
class TestPair:
    @pytest.mark.asyncio
    async def test_1_leaks_a_logging_task(self, n):
        async def chatter():
            while True:
                log.warning("tick from a leaked task")
                await asyncio.sleep(0)

        asyncio.create_task(chatter(), name=f"chatter-{{n}}")
        await asyncio.sleep(0)
        record("leak", n=n)

    @pytest.mark.asyncio
    async def test_2_sees_only_its_own_records(self, n, caplog):
        caplog.set_level(logging.WARNING)
        log.warning("mine")
        await asyncio.sleep(0.005)
        record("caplog", n=n, messages=caplog.messages)
        assert caplog.messages == ["mine"]
"""


@pytest.mark.compat
def test_leaked_task_is_cancelled_after_the_test_with_a_warning_naming_it(
    inner: Inner, driver: str
) -> None:
    inner.driver = driver
    inner.pytester.makeini("[pytest]\n")  # the warning is the point here
    inner.pytester.makepyfile(test_leak=LEAKS_A_LOGGER.format(pairs=6))

    result = inner.run("-W", "always::pytest.PytestWarning")

    result.assert_outcomes(passed=12, warnings=6)
    result.stdout.fnmatch_lines(
        [
            "*GreenLightWarning: test_leak.py::TestPair::test_1_leaks_a_logging_task[[]0[]] "
            "left 1 task(s) running on the shared worker loop; pytest-green-light "
            "cancelled them: chatter-0 (*chatter)*"
        ]
    )
    # The isolation check above is only worth something where a caplog test ran right
    # after a leaking test on the same worker.
    order: dict[str, list[str]] = defaultdict(list)
    for fact in inner.facts():
        order[fact["worker"]].append(fact["test"])
    assert any(
        tests[i : i + 2] == ["leak", "caplog"]
        for tests in order.values()
        for i in range(len(tests) - 1)
    ), order


@pytest.mark.compat
# Under xdist both tests must share a worker: loadscope keeps a module together, plain
# load may not.
@pytest.mark.parametrize(
    ("policy", "distribution"), [("warn", "n0"), ("ignore", "loadscope")]
)
def test_kept_tasks_run_on_and_are_cancelled_and_named_at_session_end(
    inner: Inner, driver: str, distribution: str, policy: str
) -> None:
    inner.driver, inner.distribution = driver, distribution
    inner.pytester.makeini(f"[pytest]\ngreen_light_leaked_tasks = {policy}\n")
    inner.pytester.makeconftest(
        """
        import logging, os
        # asyncio reports tasks garbage-collected while pending on its logger; keep
        # whatever it says where the outer test can read it, xdist worker or not.
        handler = logging.FileHandler(os.environ["GREEN_LIGHT_FACTS"] + ".asyncio.log")
        logging.getLogger("asyncio").addHandler(handler)
        """
    )
    inner.pytester.makepyfile(
        test_keep="""
        import asyncio
        import pytest
        from facts import record

        ticks = []

        @pytest.mark.asyncio
        async def test_starts_a_ticker():
            async def ticker():
                while True:
                    ticks.append(1)
                    await asyncio.sleep(0)
            asyncio.create_task(ticker(), name="ticker")
            await asyncio.sleep(0)

        @pytest.mark.asyncio
        async def test_ticker_still_runs():
            before = len(ticks)
            await asyncio.sleep(0.01)
            record("after", ran_on=len(ticks) > before)
        """
    )

    result = inner.run()

    result.assert_outcomes(passed=2)
    assert inner.facts()[0]["ran_on"] is True
    result.stdout.fnmatch_lines(
        [
            "*GreenLightWarning: pytest-green-light cancelled 1 task(s) still pending "
            "when the session of worker * ended:*",
            "*ticker (*ticker), left running by test_keep.py::test_starts_a_ticker",
        ]
    )
    asyncio_log = inner.facts_path.with_name("facts.jsonl.asyncio.log")
    assert "destroyed" not in (asyncio_log.read_text() if asyncio_log.exists() else "")
    assert "destroyed" not in result.stdout.str() + result.stderr.str()


WIDER_FIXTURE_TASK = """
import asyncio
import logging
import pytest
from facts import async_fixture

log = logging.getLogger("app")


@async_fixture(scope="module")
async def ticker():
    ticks = []

    async def tick():
        while True:
            ticks.append(1)
            log.warning("tick")
            await asyncio.sleep(0.001)

    task = asyncio.ensure_future(tick())
    yield ticks
    task.cancel()


@pytest.mark.parametrize("n", range(3))
@pytest.mark.asyncio
async def test_the_ticker_still_ticks(ticker, caplog_xdist_compatible, n):
    before = len(ticker)
    await asyncio.sleep(0.02)
    assert len(ticker) > before
    assert "tick" not in caplog_xdist_compatible.messages
"""


@pytest.mark.compat
def test_a_wider_fixture_set_up_inside_a_test_keeps_its_tasks_and_their_records(
    inner: Inner, driver: str
) -> None:
    """The module fixture is set up lazily in the first test; its task is the
    fixture's, not that test's: never cancelled or reported after it, and what it logs
    is not in any test's records (warnings are errors in this inner run)."""
    inner.driver = driver
    inner.pytester.makepyfile(test_ticker=WIDER_FIXTURE_TASK)

    inner.run().assert_outcomes(passed=3)


@pytest.mark.compat
@pytest.mark.parametrize("driver", usual_only(sorted(DRIVERS), USUAL_DRIVER))
def test_a_test_interrupted_by_pytest_timeout_is_not_reported_as_a_leak(
    inner: Inner, driver: str
) -> None:
    inner.driver = driver
    inner.pytester.makepyfile(
        test_timeout="""
        import asyncio
        import pytest

        @pytest.mark.asyncio
        @pytest.mark.timeout(0.5)
        async def test_too_slow():
            await asyncio.sleep(30)

        @pytest.mark.asyncio
        async def test_after():
            await asyncio.sleep(0)
        """
    )

    result = inner.run()

    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*Failed: Timeout (>0.5s) from pytest-timeout*"])
    result.stdout.no_fnmatch_line("*left 1 task(s) running*")
