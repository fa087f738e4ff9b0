"""``caplog_xdist_compatible``: caplog's API, with only the test's own records."""

from __future__ import annotations

import pytest

from conftest import Inner

PARITY = """
import logging
import pytest

log = logging.getLogger("app")


@pytest.fixture(params=["caplog", "caplog_xdist_compatible"])
def capture(request):
    return request.getfixturevalue(request.param)


def test_same_answers(capture):
    capture.set_level(logging.INFO)
    log.debug("hidden")
    log.info("one %s", 1)
    log.warning("two")
    assert capture.messages == ["one 1", "two"]
    assert capture.record_tuples == [("app", logging.INFO, "one 1"), ("app", logging.WARNING, "two")]
    assert [r.levelname for r in capture.records] == ["INFO", "WARNING"]
    assert "one 1" in capture.text and "two" in capture.text
    assert capture.get_records("call") == capture.records
    assert capture.get_records("setup") == []
    with capture.at_level(logging.DEBUG, logger="app"):
        log.debug("shown")
    assert capture.messages[-1] == "shown"
    capture.clear()
    assert capture.records == []
    assert capture.handler is not None
"""


def test_the_api_answers_as_caplog_does(inner: Inner) -> None:
    inner.distribution = "n2"
    inner.pytester.makepyfile(test_parity=PARITY)

    inner.run().assert_outcomes(passed=2)


LEAKED = """
import asyncio
import logging
import pytest

log = logging.getLogger("app")
pytestmark = pytest.mark.asyncio


async def test_a_leaves_a_logging_task():
    async def chatter():
        while True:
            log.warning("from the task test_a left")
            await asyncio.sleep(0.005)

    asyncio.ensure_future(chatter())
    await asyncio.sleep(0)


async def test_b_counts_its_own(caplog_xdist_compatible):
    async def helper():
        log.warning("from test_b's task")

    log.warning("from test_b")
    await asyncio.ensure_future(helper())
    await asyncio.sleep(0.05)
    assert caplog_xdist_compatible.messages == ["from test_b", "from test_b's task"]
    foreign = {r.getMessage() for r in caplog_xdist_compatible.foreign_records}
    assert foreign == {"from the task test_a left"}
"""


@pytest.mark.compat
def test_records_of_a_task_another_test_left_are_kept_apart(
    inner: Inner, driver: str
) -> None:
    inner.driver, inner.distribution = driver, "n2"
    inner.pytester.makeini("[pytest]\ngreen_light_leaked_tasks = warn\n")
    inner.pytester.makepyfile(test_leaked=LEAKED)

    result = inner.run("--dist", "loadfile")  # both tests on one worker

    result.assert_outcomes(passed=2, warnings=3)
    result.stdout.fnmatch_lines(
        [
            "*log record(s) emitted during test_leaked.py::test_b_counts_its_own came "
            "from work started by test_leaked.py::test_a_leaves_a_logging_task*"
        ]
    )


def test_levels_and_handlers_are_restored_after_a_failing_test(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_restore="""
        import logging

        def test_fails(caplog_xdist_compatible):
            caplog_xdist_compatible.set_level(logging.DEBUG, logger="app")
            caplog_xdist_compatible.set_level(logging.DEBUG)
            assert False

        def test_after():
            assert logging.getLogger("app").level == logging.NOTSET
            assert logging.getLogger().level == logging.WARNING
            assert not [
                h for h in logging.getLogger().handlers
                if type(h).__name__ == "AttributingHandler"
            ]
        """
    )

    inner.run("-p", "no:randomly").assert_outcomes(passed=1, failed=1)


def test_works_without_the_logging_plugin_and_with_non_propagating_loggers(
    inner: Inner,
) -> None:
    inner.pytester.makepyfile(
        test_noprop="""
        import logging
        import pytest

        quiet = logging.getLogger("quiet")
        quiet.propagate = False

        def test_named_logger(caplog_xdist_compatible):
            caplog_xdist_compatible.set_level(logging.INFO, logger="quiet")
            quiet.info("kept to itself")
            assert caplog_xdist_compatible.messages == ["kept to itself"]

        @pytest.fixture
        def logs_in_setup(caplog_xdist_compatible):
            logging.getLogger().warning("in the setup")

        def test_phases(logs_in_setup, caplog_xdist_compatible):
            logging.getLogger().warning("in the call")
            setup = caplog_xdist_compatible.get_records("setup")
            call = caplog_xdist_compatible.get_records("call")
            assert [r.getMessage() for r in setup] == ["in the setup"]
            assert [r.getMessage() for r in call] == ["in the call"]
            assert caplog_xdist_compatible.records == call
        """
    )

    inner.run("-p", "no:logging").assert_outcomes(passed=2)


@pytest.mark.compat
def test_thread_records_count_when_the_thread_carries_the_test_context(
    inner: Inner, driver: str
) -> None:
    inner.driver = driver
    inner.pytester.makepyfile(
        test_threads="""
        import asyncio
        import contextvars
        import logging
        import threading
        import pytest

        log = logging.getLogger("app")

        def run_in_thread(target):
            thread = threading.Thread(target=target)
            thread.start()
            thread.join()

        def test_plain_thread_is_foreign(caplog_xdist_compatible):
            run_in_thread(lambda: log.warning("plain thread"))
            assert caplog_xdist_compatible.messages == []
            assert [r.getMessage() for r in caplog_xdist_compatible.foreign_records] == [
                "plain thread"
            ]

        def test_thread_with_the_context_counts(caplog_xdist_compatible):
            context = contextvars.copy_context()
            run_in_thread(lambda: context.run(log.warning, "carried"))
            assert caplog_xdist_compatible.messages == ["carried"]

        @pytest.mark.asyncio
        async def test_to_thread_counts(caplog_xdist_compatible):
            await asyncio.to_thread(log.warning, "to_thread")
            assert caplog_xdist_compatible.messages == ["to_thread"]
        """
    )

    inner.run().assert_outcomes(passed=3)
