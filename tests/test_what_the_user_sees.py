"""What a user reads when their code fails or warns: their frames, their locations.

The plugin's wrappers stand between pytest and the user's fixtures and tests, and its
greenlet steps their tasks; neither may show in a traceback nor take the place of the
code a warning is attributed to.
"""

from __future__ import annotations

import re

import pytest

from conftest import DRIVERS, HAS_PYTEST_ASYNCIO, USUAL_DRIVER, Inner, usual_only

pytestmark = pytest.mark.compat

# A plugin of the kind projects install (pytest-databases' docker_client, say).
INSTALLED_PLUGIN = """
import pytest
from facts import async_fixture


@pytest.fixture
def docker_client():
    raise RuntimeError("docker is not running")


@async_fixture
async def async_client():
    raise RuntimeError("the async client cannot connect")


@async_fixture
async def closing_client():
    yield "client"
    raise RuntimeError("the client did not close")


@async_fixture(scope="session")
async def session_client():
    raise RuntimeError("no session client")
"""

USING_IT = """
import pytest


def test_sync(docker_client):
    pass


@pytest.mark.asyncio
async def test_async_with_a_sync_fixture(docker_client):
    pass


@pytest.mark.asyncio
async def test_async_fixture(async_client):
    pass


@pytest.mark.asyncio
async def test_async_fixture_teardown(closing_client):
    pass


@pytest.mark.asyncio
async def test_session_fixture(session_client):
    pass


@pytest.mark.asyncio
async def test_async_body():
    raise ValueError("the test's own error")
"""


# scripts/test runs the usual driver; the nox cells all three.
EVERY_DRIVER = usual_only(sorted(DRIVERS), USUAL_DRIVER)
ASYNCIO_DRIVERS = usual_only(sorted(set(DRIVERS) - {"green-light"}), "auto")


@pytest.mark.parametrize("driver", EVERY_DRIVER)
def test_an_installed_plugins_failing_fixture_shows_no_plugin_frame(
    inner: Inner, driver: str, distribution: str
) -> None:
    inner.driver, inner.distribution = driver, distribution
    inner.pytester.makepyfile(databases_plugin=INSTALLED_PLUGIN, test_it=USING_IT)

    result = inner.run("-p", "databases_plugin")

    result.assert_outcomes(passed=1, failed=1, errors=5)
    output = result.stdout.str()
    for error in (
        "docker is not running",
        "the async client cannot connect",
        "the client did not close",
        "no session client",
        "the test's own error",
    ):
        assert f"Error: {error}" in output
    shown = re.findall(r"^(\S*pytest_green_light\S*):\d+", output, re.MULTILINE)
    assert not shown, f"the plugin's frames in the user's tracebacks: {shown}"


TASK_TOP_WARNINGS = """
import asyncio
import warnings

import pytest


@pytest.mark.asyncio
async def test_warns_at_the_top_of_its_task():
    warnings.warn("top of the test's task", DeprecationWarning, stacklevel=2)


@pytest.mark.asyncio
async def test_starts_a_task_that_warns_at_its_top():
    async def background():
        warnings.warn("top of a task", DeprecationWarning, stacklevel=2)

    await asyncio.create_task(background())


@pytest.mark.asyncio
async def test_warns_in_its_own_code():
    def deprecated():
        warnings.warn("from a library", DeprecationWarning, stacklevel=2)

    deprecated()
"""


def _warning_locations(result: pytest.RunResult) -> list[str]:
    return re.findall(r"^\s*(\S+:\d+): DeprecationWarning", result.stdout.str(), re.M)


@pytest.mark.parametrize("driver", EVERY_DRIVER)
@pytest.mark.parametrize(
    ("warning_filter", "failed"),
    [
        pytest.param(None, 0, id="reported"),
        # The two task-top warnings are asyncio's; the third the test module's.
        pytest.param(
            "error::DeprecationWarning:asyncio.events", 2, id="library-filter"
        ),
        pytest.param("error::DeprecationWarning:test_warnings", 1, id="user-filter"),
    ],
)
def test_a_warning_at_the_top_of_a_task_is_where_it_is_without_the_plugin(
    inner: Inner, driver: str, warning_filter: str | None, failed: int
) -> None:
    """Starlette's deprecations warn with stacklevel=2: at the top of a task that is
    the frame that steps it, asyncio's."""
    inner.driver = driver
    inner.pytester.makeini("[pytest]\n")  # the warnings are the point here
    inner.pytester.makepyfile(test_warnings=TASK_TOP_WARNINGS)
    args = () if warning_filter is None else ("-W", warning_filter)

    with_plugin = inner.run(*args)
    at = _warning_locations(with_plugin)

    with_plugin.assert_outcomes(passed=3 - failed, failed=failed)
    if warning_filter is None:
        assert len(at) == 3, with_plugin.stdout.str()
        assert all(re.search(r"asyncio.events\.py:\d+$", p) for p in at[:2]), at
    if driver == "green-light":  # the plugin's runner: compared with pytest-asyncio's
        if not HAS_PYTEST_ASYNCIO:
            return
        inner.driver = "strict"
    without = inner.run("-p", "no:green_light", *args)
    assert with_plugin.parseoutcomes() == without.parseoutcomes()
    assert at == _warning_locations(without)


@pytest.mark.parametrize("asyncio_driver", ASYNCIO_DRIVERS)
def test_an_error_raised_in_another_task_keeps_the_frame_it_was_raised_in(
    inner: Inner, asyncio_driver: str
) -> None:
    """The task that awaits it gets the error with its traceback, as from asyncio."""
    inner.driver = asyncio_driver
    inner.pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    inner.pytester.makepyfile(
        test_tasks="""
        import asyncio
        import pytest

        async def fetch():
            raise LookupError("raised in the other task")

        @pytest.mark.asyncio
        async def test_awaits_a_task():
            await asyncio.create_task(fetch())
        """
    )

    with_plugin = inner.run()
    without = inner.run("-p", "no:green_light")

    with_plugin.assert_outcomes(failed=1)
    with_plugin.stdout.fnmatch_lines(["test_tasks.py:5: LookupError"])
    shown = re.compile(r"^(\S+\.py:\d+):", re.M)
    assert shown.findall(with_plugin.stdout.str()) == shown.findall(
        without.stdout.str()
    )
