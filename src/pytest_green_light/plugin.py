"""pytest-green-light's hook implementations and fixtures; each one delegates."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator

import pytest

from pytest_green_light import __version__, coordination, lifecycle, settings
from pytest_green_light.greenlet import (
    is_missing_greenlet,
    missing_greenlet_report,
    require_greenlet_installed,
)
from pytest_green_light.lifecycle import WorkerLifecycle
from pytest_green_light.markers import read_item_markers, register_markers
from pytest_green_light.runner import GreenLightRunner
from pytest_green_light.worker import is_xdist_controller, worker_id

LIFECYCLE_KEY = pytest.StashKey[WorkerLifecycle]()


def pytest_addoption(parser: pytest.Parser) -> None:
    settings.add_options(parser)


# tryfirst: pytest-asyncio's pytest_configure must see the loop scopes lined up.
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    plugin_settings = settings.read_settings(config)
    config.stash[settings.SETTINGS_KEY] = plugin_settings
    with_pytest_asyncio = coordination.has_pytest_asyncio(config)
    register_markers(config, asyncio_marker=not with_pytest_asyncio)
    if plugin_settings.debug:
        logging.getLogger("pytest_green_light").setLevel(logging.DEBUG)
    if not plugin_settings.autouse:
        return
    if with_pytest_asyncio:
        coordination.line_up_loop_scopes(config, plugin_settings.loop_scope)
    if is_xdist_controller(config):
        require_greenlet_installed()
        return
    worker_lifecycle = WorkerLifecycle(plugin_settings, worker_id=worker_id(config))
    config.stash[LIFECYCLE_KEY] = worker_lifecycle
    if with_pytest_asyncio:
        coordination.configure(config, worker_lifecycle)
    else:
        config.pluginmanager.register(
            GreenLightRunner(worker_lifecycle), "green_light_runner"
        )


def pytest_report_header(config: pytest.Config) -> str:
    plugin_settings = config.stash[settings.SETTINGS_KEY]
    if not plugin_settings.autouse:
        return f"green-light {__version__}: inert (--green-light-no-autouse)"
    return (
        f"green-light {__version__}: loop scope {plugin_settings.loop_scope}, "
        f"async tests driven by {coordination.describe_driver(config)}"
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    worker_lifecycle = session.config.stash.get(LIFECYCLE_KEY, None)
    if worker_lifecycle is not None:
        worker_lifecycle.start()
        lifecycle.activate(worker_lifecycle)


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    read_item_markers(items)
    if coordination.has_pytest_asyncio(config):
        coordination.mark_function_loop_tests(items)
        coordination.set_up_anchor_first(items)


# tryfirst: warnings about leftover tasks must reach xdist before the worker reports
# that it finished.
@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    worker_lifecycle = session.config.stash.get(LIFECYCLE_KEY, None)
    if worker_lifecycle is not None:
        lifecycle.deactivate(worker_lifecycle)
        worker_lifecycle.finish()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.excinfo is not None and is_missing_greenlet(call.excinfo.value):
        plugin_settings = item.config.stash[settings.SETTINGS_KEY]
        report.sections.append(
            (
                "pytest-green-light: MissingGreenlet",
                missing_greenlet_report(
                    plugin_settings.loop_scope,
                    coordination.describe_driver(item.config),
                ),
            )
        )
    return report


@pytest.fixture(autouse=True)
def ensure_greenlet_context(
    request: pytest.FixtureRequest,
) -> Generator[None, None, None]:
    """Give the test the worker's event loop (or its own, with loop scope ``function``).

    A no-op while the worker loop is healthy; puts it back if a test or library unset,
    replaced or closed it, and cancels tasks the test leaves running.
    """
    worker_lifecycle = request.config.stash.get(LIFECYCLE_KEY, None)
    if worker_lifecycle is None:
        yield
    else:
        yield from worker_lifecycle.run_test(request.node)


@pytest.fixture
def green_light_loop(request: pytest.FixtureRequest) -> asyncio.AbstractEventLoop:
    """The event loop this test runs on: the worker loop, or the test's own."""
    worker_lifecycle = request.config.stash.get(LIFECYCLE_KEY, None)
    if worker_lifecycle is None:
        return lifecycle.get_or_create_event_loop()
    return worker_lifecycle.loop
