"""pytest-green-light's hooks and fixtures, and the map of what runs where.

The hooks in this module run in every process and delegate. The rest of the work is
done by objects ``pytest_configure`` registers as plugins (name: object, module: its
hooks, without the ``pytest_`` prefix):

In every process:

- ``green_light_session``: a module holding the ``green_light_session`` fixture,
  declared here with the async fixture decorator of whoever drives async fixtures
  (what it hands out: ``database/fixture_values.py``).
- ``green_light_database``, with a database URL: ``DatabaseHooks``
  (``database/run.py``): report_header, sessionstart (the controller builds or
  reuses the template, a worker copies it into its database), configure_node (hands
  the template to each worker), sessionfinish, testnodedown, terminal_summary. An xdist worker whose database could not be set up also gets a
  ``FailedSetUp``: runtest_setup.

Unless ``--green-light-no-autouse``, in the xdist controller (the process where xdist's
distributed session runs; it runs no tests, and imports nothing of ``worker_loop/``,
nor asyncio):

- ``green_light_promise``: ``PromiseReport`` (``promise_report.py``): testnodedown,
  terminal_summary: what the workers said of a broken promise, each line once. A
  worker registers its own once it has said one: sessionfinish, terminal_summary.

- ``green_light_serial``, with ``green_light_serial = isolated``: ``SerialController``
  (``serial/roles.py``): configure_node, xdist_make_scheduler, terminal_summary.

Unless ``--green-light-no-autouse``, in every worker (an xdist worker, or a run
without ``-n``); in a worker whose code has not imported asyncio (and without
pytest-asyncio), first ``green_light_standby``: ``Standby``
(``standby.py``): sessionstart, runtest_setup, sessionfinish (and the collection
step's findings); it registers the objects below, and itself no more, once asyncio is
used:

- ``green_light_lifecycle``: ``WorkerLifecycle`` (``worker_loop/lifecycle.py``;
  ``worker_start.py`` registers it and the driver below):
  sessionstart, sessionfinish, runtest_setup, runtest_teardown (and the collection
  step's findings, which it hands on to the driver); in loop scope ``session`` it checks the promise for tests and sync
  code (a ``PromiseCheck`` the driver below gives it). The driver's fixture_setup
  says whose each fixture's set-up is (``running_test.own_fixture_setup``).
- ``green_light_serial``, when the controller runs serial tests: ``SerialWorker``
  (``serial/roles.py``): collection_finish, runtest_protocol.
- With pytest-asyncio: ``green_light_pytest_asyncio_bridge``: ``PytestAsyncioBridge``
  (``with_pytest_asyncio/loop_policy.py``): sessionstart, sessionfinish,
  fixture_setup (checks async fixtures), fixture_post_finalizer; with loop scope
  ``session`` also the module ``with_pytest_asyncio/session_anchor.py`` (its fixture),
  until the worker's first test has it ``green_light_session_anchor_placement``:
  ``AnchorPlacement`` (same module): runtest_setup, and before pytest-asyncio 1.0
  ``green_light_event_loop_fixtures``: ``EventLoopFixtures`` (same module):
  pycollect_makeitem.
- Without pytest-asyncio: ``green_light_runner``: ``GreenLightRunner``
  (``async_runner.py``): fixture_setup; once a coroutine test it runs is collected, ``green_light_coroutine_tests``: ``CoroutineTests`` (same
  module): pyfunc_call.
- Once a test uses ``caplog_xdist_compatible``: ``green_light_log_phases``:
  ``PhaseTracker`` (``log_capture.py``): runtest_call, runtest_teardown.

In every worker, once collection shows that the tests can fail in ways the plugin
explains (an async test was collected, or SQLAlchemy is imported; also with
``--green-light-no-autouse``): ``green_light_reports``: ``ReportHook``
(``reports.py``): runtest_makereport.

Modules are imported where they are first needed: pytest imports a plugin's modules
through its assertion-rewriting hook, at 1-2 M instructions each, and a process that
runs only sync tests needs few of them (docs/performance.md).

Whatever the plugin relies on in other packages beyond their documented interfaces is
reached through ``upstream.py``.
"""

from __future__ import annotations

import sys
import types
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_green_light import __version__, settings
from pytest_green_light.markers import (
    MARKER_ERROR_FIXTURE,
    MARKER_ERROR_KEY,
    OWN_LOOP_FIXTURE,
    register_markers,
)
from pytest_green_light.process_role import (
    is_xdist_controller,
    session_worker_id,
    worker_id,
)

# Everything else is imported where it is first needed (see the docstring).
if TYPE_CHECKING:
    import asyncio
    import contextvars

    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from pytest_green_light.database.worker_database import WorkerDatabase
    from pytest_green_light.log_capture import LogCaptureXdist
    from pytest_green_light.settings import Settings
    from pytest_green_light.standby import Standby
    from pytest_green_light.worker_loop.lifecycle import WorkerLifecycle

LIFECYCLE_KEY: pytest.StashKey[WorkerLifecycle] = pytest.StashKey()
STANDBY_KEY: pytest.StashKey[Standby] = pytest.StashKey()
SESSION_TOKEN_KEY: pytest.StashKey[contextvars.Token[str | None]] = pytest.StashKey()
WORKER_DATABASE_KEY: pytest.StashKey[WorkerDatabase] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    settings.add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_green_light import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def _has_pytest_asyncio(config: pytest.Config) -> bool:
    return config.pluginmanager.has_plugin("asyncio")


# tryfirst: pytest-asyncio's pytest_configure must see the loop scopes lined up.
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.stash[SESSION_TOKEN_KEY] = session_worker_id.set(worker_id(config))
    plugin_settings = settings.read_settings(config)
    config.stash[settings.SETTINGS_KEY] = plugin_settings
    with_pytest_asyncio = _has_pytest_asyncio(config)
    if with_pytest_asyncio:
        from pytest_green_light.with_pytest_asyncio import installed

        installed.require_supported_pytest_asyncio()
    register_markers(config, asyncio_marker=not with_pytest_asyncio)
    if plugin_settings.debug:
        settings.enable_debug_log()
    config.pluginmanager.register(
        _session_fixture_plugin(config), "green_light_session"
    )
    controller = is_xdist_controller(config)
    if plugin_settings.db_url is not None:
        # Imported here: it brings in SQLAlchemy, which runs without a URL never need.
        from pytest_green_light.database.run import start_databases

        worker_database = start_databases(
            config, plugin_settings, controller=controller
        )
        if worker_database is not None:
            config.stash[WORKER_DATABASE_KEY] = worker_database
    if not plugin_settings.autouse:
        return
    if with_pytest_asyncio:
        from pytest_green_light.with_pytest_asyncio import loop_scopes

        loop_scopes.line_up_loop_scopes(config, plugin_settings.loop_scope)
    if plugin_settings.serial == "isolated" and (
        controller or hasattr(config, "workerinput")
    ):
        from pytest_green_light.serial.roles import register_serial_side

        register_serial_side(config, controller=controller)
    if controller:
        from pytest_green_light.missing_greenlet import require_greenlet_installed
        from pytest_green_light.promise_report import PromiseReport

        PromiseReport(config.pluginmanager).register()
        require_greenlet_installed()
    else:
        _configure_worker(config, plugin_settings, with_pytest_asyncio)


async def _green_light_session(
    green_light_engine: AsyncEngine,
) -> AsyncGenerator[AsyncSession]:
    """An ``AsyncSession`` on this worker's database whose every change,
    ``commit()`` included, is rolled back after the test.

    It joins an outer transaction on its connection through savepoints, so its
    ``commit()`` and ``rollback()`` only end a savepoint.
    """
    from pytest_green_light.database.fixture_values import rolled_back_session

    async with rolled_back_session(green_light_engine) as session:
        yield session


def _session_fixture_plugin(config: pytest.Config) -> object:
    """A plugin holding ``green_light_session``, declared with the fixture decorator of
    whoever drives async fixtures: pytest-asyncio's (which its strict mode requires),
    or pytest's own for the plugin's runner."""
    fixture: Callable[..., Any] = pytest.fixture
    if _has_pytest_asyncio(config):
        import pytest_asyncio

        fixture = pytest_asyncio.fixture
    # A module: pytest reads fixtures off a plugin's type unless it is a module.
    plugin = types.ModuleType(f"{__name__}.session_fixture")
    plugin.green_light_session = fixture(name="green_light_session")(  # type: ignore[attr-defined]
        _green_light_session
    )
    return plugin


def _configure_worker(
    config: pytest.Config, plugin_settings: Settings, with_pytest_asyncio: bool
) -> None:
    def start() -> WorkerLifecycle:
        # Imported here: it brings in asyncio, which the xdist controller never needs.
        from pytest_green_light.worker_start import start_lifecycle

        lifecycle = start_lifecycle(config, plugin_settings, with_pytest_asyncio)
        config.stash[LIFECYCLE_KEY] = lifecycle
        return lifecycle

    if with_pytest_asyncio or "asyncio" in sys.modules:
        start()
        return
    # Nothing here uses asyncio yet: nor does the plugin, until something does.
    from pytest_green_light.standby import Standby

    standby = Standby(config, start)
    config.stash[STANDBY_KEY] = standby
    config.pluginmanager.register(standby, "green_light_standby")


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
    if plugin_settings.autouse and _has_pytest_asyncio(config):
        from pytest_green_light.with_pytest_asyncio import loop_scopes

        loop_scopes.unset_loop_scope_defaults(config, plugin_settings.loop_scope)


def pytest_unconfigure(config: pytest.Config) -> None:
    token = config.stash.get(SESSION_TOKEN_KEY, None)
    if token is not None:
        session_worker_id.reset(token)


def pytest_report_header(config: pytest.Config) -> list[str]:
    plugin_settings = config.stash[settings.SETTINGS_KEY]
    if not plugin_settings.autouse:
        return [f"green-light {__version__}: inert (--green-light-no-autouse)"]
    from pytest_green_light.with_pytest_asyncio import loop_scopes

    sources = plugin_settings.sources
    lines = [
        f"green-light {__version__}: "
        f"loop scope {plugin_settings.loop_scope} ({sources['loop_scope']}), "
        f"sync IO {plugin_settings.sync_io} ({sources['sync_io']}), "
        f"async tests driven by {loop_scopes.describe_driver(config)}"
        + loop_scopes.describe_anyio_tests(config)
    ]
    if _has_pytest_asyncio(config):
        lines.append(loop_scopes.describe_lined_up_loop_scopes(config))
    return lines


# trylast: the collection step sees the items as every other plugin left them.
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    from pytest_green_light.collection import collect

    collected = collect(config, items)
    standby = config.stash.get(STANDBY_KEY, None)
    if standby is not None:
        standby.collected(collected)
    else:
        lifecycle = config.stash.get(LIFECYCLE_KEY, None)
        if lifecycle is not None:
            lifecycle.collected(collected)
    # Tests may fail in ways the plugin explains, or its promise needs to know whether
    # an async test's function ran (reports.py).
    if not config.pluginmanager.has_plugin(REPORTS) and (
        collected.async_tests or "sqlalchemy" in sys.modules
    ):
        from pytest_green_light.reports import ReportHook

        config.pluginmanager.register(ReportHook(), REPORTS)


REPORTS = "green_light_reports"


@pytest.fixture
def caplog_xdist_compatible(
    request: pytest.FixtureRequest,
) -> Generator[LogCaptureXdist]:
    """Log capture with pytest's ``caplog`` API, keeping only this test's records.

    A record is this test's when the code that emitted it runs in the test's context:
    the test's own code or a task it started. Records of work other tests started are
    in ``foreign_records``, and a warning names those tests.
    """
    from pytest_green_light import log_capture

    with log_capture.capturing(request.node) as capture:
        yield capture
    log_capture.warn_of_foreign_records(request.node, capture)


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
    from pytest_green_light.database.fixture_values import worker_engine

    plugin_settings = request.config.stash[settings.SETTINGS_KEY]
    # Pooled only when every test runs on the one worker loop the plugin keeps.
    yield from worker_engine(
        _worker_database(request.config),
        pooled=plugin_settings.autouse and plugin_settings.loop_scope == "session",
    )
