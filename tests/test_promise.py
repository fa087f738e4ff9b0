"""The promise checked at run time: a changed upstream is named once, a supported one
never.

Each change is simulated in the inner project's conftest the way a new release would
make it (pytest-asyncio's runner making its loops without the policy, its ini keys
read at another time, asyncio's current loop), never by touching the plugin.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest

from conftest import HAS_PYTEST_ASYNCIO, PYTEST_ASYNCIO, Inner

pytestmark = pytest.mark.compat

SUITE = """
import asyncio
import pytest
from facts import async_fixture


@async_fixture(scope="session")
async def shared_loop():
    return asyncio.get_running_loop()


@pytest.mark.asyncio
async def test_one(shared_loop):
    assert asyncio.get_running_loop() is shared_loop


@pytest.mark.asyncio
async def test_two(shared_loop):
    assert asyncio.get_running_loop() is shared_loop


def test_sync(shared_loop):
    assert asyncio.get_event_loop() is shared_loop
"""

FUNCTION_FIXTURE = """
import asyncio
import pytest
from facts import async_fixture


@async_fixture
async def resource():
    yield asyncio.get_running_loop()


@pytest.mark.asyncio
async def test_one(resource):
    assert asyncio.get_running_loop() is resource
"""

# As a pytest-asyncio release whose runners got a default loop factory would make them.
RUNNER_WITHOUT_POLICY = """
import asyncio
import pytest_asyncio.plugin


class NoPolicyRunner(asyncio.Runner):
    def __init__(self, *, debug=None, loop_factory=None):
        super().__init__(debug=debug, loop_factory=loop_factory or asyncio.SelectorEventLoop)


pytest_asyncio.plugin.Runner = NoPolicyRunner
"""

# As a pytest-asyncio release that read its loop-scope defaults after every plugin's
# pytest_configure would see them: as the user's ini file gives them.
DEFAULT_READ_LATE = """
import pytest


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    config._inicache["{name}"] = "function"
"""

WARNING = (
    "*GreenLightWarning: pytest-green-light 1.0.0 could not keep its promise: {what}."
)


def _summary(driver: str, what: str) -> str:
    return f"green-light: promise not kept with {driver}: {what}, where async tests*"


def _pytest_asyncio(mode: str) -> str:
    return f"pytest-asyncio {version('pytest-asyncio')} ({mode} mode)"


def _said_once(result: pytest.RunResult, what: str, driver: str) -> None:
    output = result.stdout.str()
    result.stdout.fnmatch_lines([WARNING.format(what=what)])
    result.stdout.fnmatch_lines([_summary(driver, what)])
    assert output.count("green-light: promise not kept") == 1, output
    # -n 2: each worker may see it; the warnings summary shows one entry.
    assert output.count("could not keep its promise") == 1, output


needs_runner = pytest.mark.skipif(
    not HAS_PYTEST_ASYNCIO or PYTEST_ASYNCIO < (1, 3),
    reason="pytest-asyncio makes its loops with asyncio.Runner from 1.3",
)
needs_test_default = pytest.mark.skipif(
    not HAS_PYTEST_ASYNCIO or PYTEST_ASYNCIO < (1, 0),
    reason="before 1.0 the plugin gives tests the session loop by marker",
)


@needs_runner
def test_a_runner_that_makes_its_loop_without_the_policy_is_named_once(
    inner: Inner, asyncio_driver: str, distribution: str
) -> None:
    inner.driver, inner.distribution = asyncio_driver, distribution
    inner.pytester.makeini("[pytest]\n")
    inner.pytester.makeconftest(RUNNER_WITHOUT_POLICY)
    inner.pytester.makepyfile(test_suite=SUITE)

    result = inner.run()

    result.assert_outcomes(passed=2, failed=1)  # the sync test: not the same loop
    _said_once(
        result,
        "pytest-asyncio's session loop is not the worker loop",
        _pytest_asyncio(asyncio_driver),
    )
    result.stdout.fnmatch_lines(
        ["*this release was tested with that version, so something else*"]
    )


@needs_test_default
def test_tests_that_leave_the_session_runner_are_named(
    inner: Inner, asyncio_driver: str
) -> None:
    inner.driver = asyncio_driver
    inner.pytester.makeini("[pytest]\n")
    inner.pytester.makeconftest(
        DEFAULT_READ_LATE.format(name="asyncio_default_test_loop_scope")
    )
    inner.pytester.makepyfile(test_suite=SUITE)

    result = inner.run()

    result.assert_outcomes(passed=1, failed=2)
    _said_once(
        result,
        "an async test ran on a loop that is not the worker loop",
        _pytest_asyncio(asyncio_driver),
    )


@needs_runner  # before 1.3 pytest-asyncio resolves fixtures' loop scopes at collection
def test_async_fixtures_that_leave_the_session_loop_are_named(
    inner: Inner, asyncio_driver: str
) -> None:
    inner.driver = asyncio_driver
    inner.pytester.makeini("[pytest]\n")
    inner.pytester.makeconftest(
        DEFAULT_READ_LATE.format(name="asyncio_default_fixture_loop_scope")
    )
    inner.pytester.makepyfile(test_suite=FUNCTION_FIXTURE)

    result = inner.run()

    result.assert_outcomes(failed=1)
    _said_once(
        result,
        "the async fixture 'resource' ran on a loop that is not the worker loop",
        _pytest_asyncio(asyncio_driver),
    )


def test_sync_code_that_no_longer_gets_the_worker_loop_is_named(
    inner: Inner, driver: str
) -> None:
    inner.driver = driver
    inner.pytester.makeini("[pytest]\n")
    # As an asyncio whose get_event_loop() ignored set_event_loop() would behave.
    inner.pytester.makeconftest(
        """
        import asyncio

        other_loop = asyncio.new_event_loop()
        asyncio.get_event_loop = lambda: other_loop
        """
    )
    inner.pytester.makepyfile(
        test_sync="""
        def test_sync():
            pass
        """
    )

    result = inner.run()

    result.assert_outcomes(passed=1)
    _said_once(
        result,
        "sync code between tests does not get the worker loop from "
        "asyncio.get_event_loop()",
        "pytest-green-light's runner on Python *"
        if driver == "green-light"
        else _pytest_asyncio(driver),
    )


SUPPORTED = """
import asyncio
import pytest
from facts import async_fixture, record


@async_fixture(scope="session")
async def shared_loop():
    return asyncio.get_running_loop()


@async_fixture(scope="module")
async def module_resource():
    yield asyncio.get_running_loop()


@async_fixture
async def resource(shared_loop):
    yield asyncio.get_running_loop()


@pytest.mark.green_light(loop_scope="function")
@pytest.mark.asyncio
async def test_own_loop_first(shared_loop):
    assert asyncio.get_running_loop() is not shared_loop


@pytest.mark.asyncio
async def test_on_the_worker_loop(shared_loop, module_resource, resource):
    assert asyncio.get_running_loop() is shared_loop is module_resource is resource


def plain_decorator(test):
    async def wrapper(*args, **kwargs):  # no functools.wraps: another name
        return await test(*args, **kwargs)

    return wrapper


@pytest.mark.asyncio
@plain_decorator
async def test_decorated_without_wraps():
    await asyncio.sleep(0)


class TestInAClass:
    @pytest.mark.asyncio
    async def test_method(self, shared_loop):
        assert asyncio.get_running_loop() is shared_loop


@pytest.mark.asyncio
async def test_that_fails(shared_loop):
    raise AssertionError("fails on the worker loop")


@pytest.mark.skip(reason="never runs")
@pytest.mark.asyncio
async def test_skipped():
    pass


def test_sync(shared_loop):
    assert asyncio.get_event_loop() is shared_loop
"""


def test_a_supported_run_says_nothing_of_a_broken_promise(
    inner: Inner, driver: str, distribution: str
) -> None:
    inner.driver, inner.distribution = driver, distribution
    inner.pytester.makepyfile(test_supported=SUPPORTED)

    result = inner.run("--setup-show")

    result.assert_outcomes(passed=5, failed=1, skipped=1)
    output = result.stdout.str()
    assert "could not keep its promise" not in output, output
    assert "promise not kept" not in output, output


def test_setup_only_runs_no_test_body_and_says_nothing(
    inner: Inner, driver: str
) -> None:
    inner.driver = driver
    inner.pytester.makepyfile(test_supported=SUPPORTED)

    result = inner.run("--setup-only")

    assert "could not keep its promise" not in result.stdout.str()
