"""pytest-green-light's hooks and fixtures, and the map of what runs where.

The hooks in this module run in every process and delegate. The rest of the work is
done by objects ``pytest_configure`` registers as plugins (name: object, module: its
hooks, without the ``pytest_`` prefix):

In every process:

- ``green_light_session``: a module holding the ``green_light_session`` fixture
  (``database/fixtures.py``).
- ``green_light_database``, with a database URL: ``DatabaseHooks``
  (``database/hooks.py``): report_header, sessionstart (the controller builds or
  reuses the template, a worker copies it into its database), configure_node (hands
  the template to each worker), sessionfinish, testnodedown, terminal_summary. An xdist worker whose database could not be set up also gets a
  ``FailedSetUp``: runtest_setup.

Unless ``--green-light-no-autouse``, in the xdist controller (the process where xdist's
distributed session runs; it runs no tests, and imports nothing of ``worker_loop/``,
nor asyncio):

- ``green_light_promise``: ``PromiseReport`` (``promise.py``): testnodedown,
  terminal_summary: what the workers said of a broken promise, each line once. A
  worker registers its own once it has said one: sessionfinish, terminal_summary.

- ``green_light_serial``, with ``green_light_serial = isolated``: ``SerialController``
  (``serial/hooks.py``): configure_node, xdist_make_scheduler, terminal_summary.

Unless ``--green-light-no-autouse``, in every worker (an xdist worker, or a run
without ``-n``); in a worker whose code has not imported asyncio (and without
pytest-asyncio), first ``green_light_standby``: ``Standby``
(``worker_loop/standby.py``): sessionstart, collection_modifyitems, runtest_setup,
sessionfinish; it registers the objects below, and itself no more, once asyncio is
used:

- ``green_light_lifecycle``: ``WorkerLifecycle`` (``worker_loop/lifecycle.py``):
  sessionstart, sessionfinish, collection_modifyitems, runtest_setup,
  runtest_teardown, fixture_setup; in loop scope ``session`` it checks the promise for
  tests and sync code (a ``PromiseCheck`` the driver below gives it).
- ``green_light_serial``, when the controller runs serial tests: ``SerialWorker``
  (``serial/hooks.py``): collection_finish, runtest_protocol.
- With pytest-asyncio: ``green_light_pytest_asyncio_bridge``: ``PytestAsyncioBridge``
  (``with_pytest_asyncio/loop_policy.py``): pycollect_makeitem,
  collection_modifyitems, runtest_setup, sessionstart, sessionfinish, fixture_setup
  (checks async fixtures), fixture_post_finalizer; with loop scope ``session`` also
  the module ``with_pytest_asyncio/session_anchor.py`` (its fixture).
- Without pytest-asyncio: ``green_light_runner``: ``GreenLightRunner``
  (``async_runner.py``): pyfunc_call, fixture_setup.
- Once a test uses ``caplog_xdist_compatible``: ``green_light_log_phases``:
  ``PhaseTracker`` (``log_capture.py``): runtest_call, runtest_teardown.

Whatever the plugin relies on in other packages beyond their documented interfaces is
reached through ``upstream.py``.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Generator
from typing import TYPE_CHECKING

import pytest

from pytest_green_light import __version__, log_capture, running_test, settings
from pytest_green_light.database import fixtures as database_fixtures
from pytest_green_light.database import hookspecs
from pytest_green_light.markers import (
    MARKER_ERROR_FIXTURE,
    MARKER_ERROR_KEY,
    OWN_LOOP_FIXTURE,
    SYNC_IO_KEY,
    read_item_markers,
    register_markers,
)
from pytest_green_light.missing_greenlet import (
    find_missing_greenlet,
    missing_greenlet_report,
    require_greenlet_installed,
)
from pytest_green_light.process_role import (
    is_xdist_controller,
    session_worker_id,
    worker_id,
)
from pytest_green_light.promise import Driver, PromiseCheck, PromiseReport
from pytest_green_light.serial import hooks as serial_hooks
from pytest_green_light.warning import GreenLightWarning
from pytest_green_light.with_pytest_asyncio import installed, loop_scopes, strict_mode

if TYPE_CHECKING:
    import asyncio

    from sqlalchemy.ext.asyncio import AsyncEngine

    from pytest_green_light.database.worker_database import WorkerDatabase
    from pytest_green_light.settings import Settings
    from pytest_green_light.worker_loop.lifecycle import WorkerLifecycle
    from pytest_green_light.worker_loop.standby import Standby

LIFECYCLE_KEY: pytest.StashKey[WorkerLifecycle] = pytest.StashKey()
STANDBY_KEY: pytest.StashKey[Standby] = pytest.StashKey()
SESSION_TOKEN_KEY: pytest.StashKey[contextvars.Token[str | None]] = pytest.StashKey()
WORKER_DATABASE_KEY: pytest.StashKey[WorkerDatabase] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    settings.add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


# tryfirst: pytest-asyncio's pytest_configure must see the loop scopes lined up.
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.stash[SESSION_TOKEN_KEY] = session_worker_id.set(worker_id(config))
    plugin_settings = settings.read_settings(config)
    config.stash[settings.SETTINGS_KEY] = plugin_settings
    with_pytest_asyncio = installed.has_pytest_asyncio(config)
    if with_pytest_asyncio:
        installed.require_supported_pytest_asyncio()
    register_markers(config, asyncio_marker=not with_pytest_asyncio)
    if plugin_settings.debug:
        logging.getLogger("pytest_green_light").setLevel(logging.DEBUG)
    config.pluginmanager.register(
        database_fixtures.session_fixture_plugin(
            installed.async_fixture_decorator(config)
        ),
        "green_light_session",
    )
    controller = is_xdist_controller(config)
    if plugin_settings.db_url is not None:
        # Imported here: it brings in SQLAlchemy, which runs without a URL never need.
        from pytest_green_light.database import hooks as database_hooks

        worker_database = database_hooks.configure(
            config, plugin_settings, controller=controller
        )
        if worker_database is not None:
            config.stash[WORKER_DATABASE_KEY] = worker_database
    if not plugin_settings.autouse:
        return
    if with_pytest_asyncio:
        loop_scopes.line_up_loop_scopes(config, plugin_settings.loop_scope)
    serial_hooks.configure(
        config, controller=controller, isolated=plugin_settings.serial == "isolated"
    )
    report = PromiseReport(config.pluginmanager)
    if controller:
        report.register()
        require_greenlet_installed()
    else:
        _configure_worker(config, plugin_settings, with_pytest_asyncio, report)


def _configure_worker(
    config: pytest.Config,
    plugin_settings: Settings,
    with_pytest_asyncio: bool,
    report: PromiseReport,
) -> None:
    def start() -> WorkerLifecycle:
        return _start_worker(config, plugin_settings, with_pytest_asyncio, report)

    if with_pytest_asyncio or "asyncio" in sys.modules:
        start()
        return
    # Nothing here uses asyncio yet: nor does the plugin, until something does.
    from pytest_green_light.worker_loop.standby import Standby

    standby = Standby(config, start, plugin_settings.loop_scope)
    config.stash[STANDBY_KEY] = standby
    config.pluginmanager.register(standby, "green_light_standby")


def _start_worker(
    config: pytest.Config,
    plugin_settings: Settings,
    with_pytest_asyncio: bool,
    report: PromiseReport,
) -> WorkerLifecycle:
    # Imported here: they bring in asyncio, which the xdist controller never needs.
    from pytest_green_light.sync_io.greenlet_bridge import SyncIO, TestCode
    from pytest_green_light.worker_loop.lifecycle import WorkerLifecycle

    sync_io = SyncIO(plugin_settings.sync_io, TestCode(config.getini("python_files")))
    worker_lifecycle = WorkerLifecycle(
        plugin_settings, sync_io, worker_id=worker_id(config)
    )
    config.stash[LIFECYCLE_KEY] = worker_lifecycle
    config.pluginmanager.register(worker_lifecycle, "green_light_lifecycle")
    if with_pytest_asyncio:
        from pytest_green_light.with_pytest_asyncio import loop_policy

        loop_policy.configure(config, worker_lifecycle, report)
    else:
        from pytest_green_light.async_runner import GreenLightRunner

        runner = GreenLightRunner(worker_lifecycle)
        config.pluginmanager.register(runner, "green_light_runner")
        if plugin_settings.loop_scope == "session":
            worker_lifecycle.promise = PromiseCheck(report, Driver("Python"), None)
    return worker_lifecycle


def _lifecycle(config: pytest.Config) -> WorkerLifecycle | None:
    """The worker's lifecycle, woken from standby if it was (None: no-autouse)."""
    standby = config.stash.get(STANDBY_KEY, None)
    if standby is not None:
        return standby.wake()
    return config.stash.get(LIFECYCLE_KEY, None)


# trylast: after pytest-asyncio's pytest_configure has read the user's loop scopes.
# (pytest reads hooks only from names that start with "pytest_".)
@pytest.hookimpl(trylast=True, specname="pytest_configure")
def pytest_configure_after_pytest_asyncio(config: pytest.Config) -> None:
    plugin_settings = config.stash[settings.SETTINGS_KEY]
    if plugin_settings.autouse and installed.has_pytest_asyncio(config):
        loop_scopes.unset_loop_scope_defaults(config, plugin_settings.loop_scope)


def pytest_unconfigure(config: pytest.Config) -> None:
    token = config.stash.get(SESSION_TOKEN_KEY, None)
    if token is not None:
        session_worker_id.reset(token)


def pytest_report_header(config: pytest.Config) -> list[str]:
    plugin_settings = config.stash[settings.SETTINGS_KEY]
    if not plugin_settings.autouse:
        return [f"green-light {__version__}: inert (--green-light-no-autouse)"]
    sources = plugin_settings.sources
    lines = [
        f"green-light {__version__}: "
        f"loop scope {plugin_settings.loop_scope} ({sources['loop_scope']}), "
        f"sync IO {plugin_settings.sync_io} ({sources['sync_io']}), "
        f"async tests driven by {loop_scopes.describe_driver(config)}"
        + _anyio_tests(config)
    ]
    if installed.has_pytest_asyncio(config):
        lines.append(loop_scopes.describe_lined_up_loop_scopes(config))
    return lines


def _anyio_tests(config: pytest.Config) -> str:
    """Who runs anyio's tests, for the header, when anyio's plugin is loaded."""
    if not config.pluginmanager.has_plugin("anyio"):
        return ""
    if (
        installed.has_pytest_asyncio(config)
        and installed.asyncio_mode(config) == "auto"
    ):
        # Its auto mode takes every coroutine test, anyio's too, before anyio does.
        return "; anyio tests: by pytest-asyncio (auto mode)"
    # anyio's runner closes its loop, cancelling every task on it, after each test:
    # it cannot be given the worker loop (docs/loop-scope.md#anyio).
    return "; anyio tests: their own loops"


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    read_item_markers(items)
    if installed.has_pytest_asyncio(config):
        loop_scopes.mark_function_loop_tests(items)
        if config.stash[settings.SETTINGS_KEY].loop_scope == "function":
            loop_scopes.leave_named_wider_loop_scopes(items)


def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> pytest.TestReport | None:
    """A failure the plugin can explain gets its explanation as a section of its report.

    Not a wrapper: a phase that raised nothing costs one call, and pytest's own
    implementation makes its report. A failure's report is made here, as pytest makes
    it (``TestReport.from_item_and_call``), with the sections added.
    """
    if call.excinfo is None:  # passed (or skipped by a marker): nothing to explain
        if call.when == "call":  # whether the test's function ran, for the promise
            test = running_test.current_test.get()
            if test is not None:
                test.body_ran = True
        return None
    if call.when == "call":
        running_test.note_failed_call(item, call.excinfo.value)
    if call.excinfo.errisinstance(pytest.skip.Exception):
        return None
    report = pytest.TestReport.from_item_and_call(item, call)
    if report.failed:
        hint = strict_mode.unhandled_async_hint(item, report)
        if hint is not None:
            report.sections.append(("pytest-green-light: strict mode", hint))
    error = find_missing_greenlet(call.excinfo.value)
    if error is not None:
        plugin_settings = item.config.stash[settings.SETTINGS_KEY]
        report.sections.append(
            (
                "pytest-green-light: MissingGreenlet",
                missing_greenlet_report(
                    error,
                    loop_scope=plugin_settings.loop_scope,
                    sync_io=settings.item_setting(
                        item, SYNC_IO_KEY, plugin_settings.sync_io
                    ),
                    driver=loop_scopes.describe_driver(item.config),
                ),
            )
        )
    return report


@pytest.fixture
def caplog_xdist_compatible(
    request: pytest.FixtureRequest,
) -> Generator[log_capture.LogCaptureXdist]:
    """Log capture with pytest's ``caplog`` API, keeping only this test's records.

    A record is this test's when the code that emitted it runs in the test's context:
    the test's own code or a task it started. Records of work other tests started are
    in ``foreign_records``, and a warning names those tests.
    """
    with log_capture.capturing(request.node) as capture:
        yield capture
    owners = capture.leaked_task_owners()
    if owners:
        request.node.warn(
            GreenLightWarning(
                f"{len(capture.foreign_records)} log record(s) emitted during "
                f"{request.node.nodeid} came from work started by "
                f"{', '.join(owners)} (not in caplog_xdist_compatible.records; see "
                "its foreign_records)."
            )
        )


@pytest.fixture(scope="session")
def ensure_greenlet_context() -> None:
    """Kept from 0.2.0 (same name) so conftest overrides and requests keep resolving.

    Nothing to do here any more, so no longer autouse: the worker loop is set up once
    per session, and each test's turn on it (the loop made current again, a fresh loop
    with loop scope ``function``, leaked tasks handled) happens in runtest hooks.
    """


@pytest.fixture(name=OWN_LOOP_FIXTURE)
def own_loop(request: pytest.FixtureRequest) -> Generator[asyncio.AbstractEventLoop]:
    """A fresh loop for a test with loop scope ``function``, set up before its other
    fixtures and closed after them (added to such tests at collection)."""
    yield from request.config.stash[LIFECYCLE_KEY].run_on_own_loop()


@pytest.fixture(name=MARKER_ERROR_FIXTURE)
def marker_error(request: pytest.FixtureRequest) -> None:
    """Errors a test whose ``green_light`` marker is invalid (added at collection)."""
    pytest.fail(request.node.stash[MARKER_ERROR_KEY], pytrace=False)


@pytest.fixture
def green_light_loop(request: pytest.FixtureRequest) -> asyncio.AbstractEventLoop:
    """The event loop this test runs on: the worker loop, or the test's own."""
    worker_lifecycle = _lifecycle(request.config)
    if worker_lifecycle is None:  # --green-light-no-autouse
        from pytest_green_light.worker_loop.lifecycle import get_or_create_event_loop

        return get_or_create_event_loop()
    return worker_lifecycle.loop


def _worker_database(config: pytest.Config) -> WorkerDatabase:
    worker_database = config.stash.get(WORKER_DATABASE_KEY, None)
    if worker_database is None:
        pytest.fail(
            "pytest-green-light's database fixtures need a database URL: pass "
            "--green-light-db-url=URL, set $GREEN_LIGHT_DB_URL, or set "
            "green_light_db_url in the ini file.",
            pytrace=False,
        )
    return worker_database


@pytest.fixture(scope="session")
def green_light_db_url(request: pytest.FixtureRequest) -> str:
    """This worker's database URL: the configured one, its database name suffixed
    with the worker id under xdist (``app_gw0``)."""
    return _worker_database(request.config).url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def green_light_engine(request: pytest.FixtureRequest) -> Generator[AsyncEngine]:
    """An ``AsyncEngine`` on this worker's database, disposed at the end of the session."""
    plugin_settings = request.config.stash[settings.SETTINGS_KEY]
    # Pooled only when every test runs on the one worker loop the plugin keeps.
    yield from database_fixtures.worker_engine(
        _worker_database(request.config),
        pooled=plugin_settings.autouse and plugin_settings.loop_scope == "session",
    )
