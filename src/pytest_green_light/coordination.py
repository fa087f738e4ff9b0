"""Bringing pytest-asyncio onto the worker loop.

Every supported pytest-asyncio version builds its loops through the event loop
policy's ``new_event_loop()``. While pytest-asyncio sets up the fixture whose loop lives
as long as the session (``_session_scoped_runner``; ``_session_event_loop`` before 1.3),
the plugin's policy answers with the worker loop; every other runner gets a fresh loop,
so no short-lived runner can close the worker loop. The fixtures are recognised by
their scope and by being pytest-asyncio's own, not by their private names.

pytest-asyncio >= 1.4 also offers the ``pytest_asyncio_loop_factories`` hook, but it
parametrizes tests by factory, and a sync or function-loop test that comes first makes
pytest rebuild (and close) the session runner; the policy has no such cases.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
import warnings
from collections.abc import Callable, Generator, Iterator
from importlib.metadata import version
from typing import Any, cast

import pytest

from pytest_green_light.lifecycle import LOOP_SCOPE_KEY, WorkerLifecycle
from pytest_green_light.settings import LoopScope
from pytest_green_light.worker import current_loop

LOOP_SCOPE_INI = (
    "asyncio_default_fixture_loop_scope",
    "asyncio_default_test_loop_scope",
)

# Custom policies are deprecated from 3.14 and ignored by new_event_loop() from 3.16.
POLICIES_WORK = sys.version_info < (3, 16)


def has_pytest_asyncio(config: pytest.Config) -> bool:
    return config.pluginmanager.has_plugin("asyncio")


def _user_set_ini(config: pytest.Config, name: str) -> bool:
    """Whether the ini file, ``-o`` or addopts set ``name``.

    pytest has no public API for this: pytest 9 keeps file and ``-o`` values in
    ``_inicfg`` (its public ``inicfg`` warns there), pytest 8 in ``inicfg``.
    """
    overrides = config.getoption("override_ini", None) or []
    if any(item.split("=", 1)[0].strip() == name for item in overrides):
        return True
    inicfg = getattr(config, "_inicfg", None)
    if inicfg is None:
        inicfg = config.inicfg
    return name in inicfg


def async_fixture_decorator(config: pytest.Config) -> Callable[..., Any]:
    """The decorator that makes an async fixture run on the test's loop: pytest-asyncio's
    (which strict mode requires), or pytest's own for the plugin's runner."""
    if has_pytest_asyncio(config):
        import pytest_asyncio

        return cast(Callable[..., Any], pytest_asyncio.fixture)
    return pytest.fixture


def user_loop_scopes(config: pytest.Config) -> dict[str, str]:
    """pytest-asyncio loop-scope settings the user made, which the plugin leaves alone."""
    return {
        name: str(config.getini(name))
        for name in LOOP_SCOPE_INI
        if _user_set_ini(config, name)
    }


def line_up_loop_scopes(config: pytest.Config, loop_scope: LoopScope) -> None:
    """Default pytest-asyncio's loop scopes to ours where the user did not set them.

    Runs before pytest-asyncio's ``pytest_configure`` reads them. There is no public
    way to give an ini key a value, so the value goes where ``getini`` looks first.
    """
    for name in LOOP_SCOPE_INI:
        if not _user_set_ini(config, name):
            config._inicache[name] = loop_scope


def describe_driver(config: pytest.Config) -> str:
    if not has_pytest_asyncio(config):
        return "green-light"
    mode = config.getoption("asyncio_mode", None) or config.getini("asyncio_mode")
    described = f"pytest-asyncio {version('pytest-asyncio')} ({mode} mode"
    user_set = user_loop_scopes(config)
    if user_set:
        described += "; you set " + ", ".join(f"{k}={v}" for k, v in user_set.items())
    return described + ")"


@contextlib.contextmanager
def _policy_api() -> Iterator[None]:
    """asyncio's policy functions, without their 3.14 deprecation warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


class PytestAsyncioBridge:
    """Hands the worker loop to pytest-asyncio's session-long runner, and only to it."""

    def __init__(self, lifecycle: WorkerLifecycle, pytest_asyncio_module: str) -> None:
        self.lifecycle = lifecycle
        self.pytest_asyncio_module = pytest_asyncio_module
        self._setting_up: list[pytest.FixtureDef[Any]] = []
        self._holder: pytest.FixtureDef[Any] | None = None
        self._previous_policy: Any = None

    def _is_pytest_asyncios(self, fixturedef: pytest.FixtureDef[Any]) -> bool:
        return (
            getattr(fixturedef.func, "__module__", None) == self.pytest_asyncio_module
        )

    def _building_loop(self, scope: str) -> bool:
        """Whether pytest-asyncio is setting up its runner (or loop) of this scope."""
        if not self._setting_up:
            return False
        fixturedef = self._setting_up[-1]
        return fixturedef.scope == scope and self._is_pytest_asyncios(fixturedef)

    def new_event_loop(self, fresh: Any) -> asyncio.AbstractEventLoop:
        worker = self.lifecycle.worker
        if self._building_loop("session") and not worker.retired:
            self._holder = self._setting_up[-1]
            return worker.loop
        own_loop = self.lifecycle.own_loop
        if own_loop is not None and self._building_loop("function"):
            # A test with a loop of its own: the runner runs it on that loop, which
            # its sync code and fixtures have too (green_light_loop), and closes it.
            return own_loop
        loop: asyncio.AbstractEventLoop = fresh()
        if self._setting_up and self._is_pytest_asyncios(self._setting_up[-1]):
            # A runner's loop: its tasks get sync IO. Other callers (anyio's runner,
            # the tests' own asyncio.run()) get a plain loop.
            loop.set_task_factory(self.lifecycle.fresh_loop_task_factory)
        return loop

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self) -> None:
        if not POLICIES_WORK:
            return
        with _policy_api():
            self._previous_policy = asyncio.get_event_loop_policy()
            default_policy = asyncio.DefaultEventLoopPolicy
        bridge = self

        class GreenLightPolicy(default_policy):  # type: ignore[misc, valid-type]
            def new_event_loop(self) -> asyncio.AbstractEventLoop:
                return bridge.new_event_loop(super().new_event_loop)

        with _policy_api():
            asyncio.set_event_loop_policy(GreenLightPolicy())

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        if self._previous_policy is not None:
            with _policy_api():
                asyncio.set_event_loop_policy(self._previous_policy)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any]
    ) -> Generator[None, Any, Any]:
        self._setting_up.append(fixturedef)
        try:
            result = yield
        finally:
            self._setting_up.pop()
        if fixturedef is self._holder:
            # The holder closes the worker loop in its teardown, which pytest has just
            # registered; a finalizer added now runs before it: report leftovers there.
            self._holder = None
            fixturedef.addfinalizer(self.lifecycle.retire_worker_loop)
        return result

    def pytest_fixture_post_finalizer(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        """After a function-loop runner closed its loop, put the worker loop back.

        pytest-asyncio >= 1.4 leaves no loop current, 1.0-1.3 a closed one, and 0.26 a
        new "clean" loop that nobody else holds: that one is closed here, or it would
        be garbage-collected open (a ResourceWarning).
        """
        if not self._is_pytest_asyncios(fixturedef):
            return
        replaced = current_loop()
        worker_loop = self.lifecycle.worker.ensure_current()
        if (
            replaced is not None
            and replaced is not worker_loop
            and not replaced.is_closed()
            and not replaced.is_running()
        ):
            replaced.close()


def configure(config: pytest.Config, lifecycle: WorkerLifecycle) -> None:
    """Hand pytest-asyncio the worker loop (its loop scopes are lined up already)."""
    plugin = config.pluginmanager.get_plugin("asyncio")
    bridge = PytestAsyncioBridge(lifecycle, getattr(plugin, "__name__", ""))
    config.pluginmanager.register(bridge, "green_light_pytest_asyncio_bridge")
    if lifecycle.settings.loop_scope == "session":
        config.pluginmanager.import_plugin("pytest_green_light.session_anchor")


ANCHOR = "_green_light_session_loop"


def set_up_anchor_first(items: list[pytest.Item]) -> None:
    """Make the session-loop anchor the first fixture each test sets up.

    pytest 8 sets up a root conftest's autouse fixtures before a plugin's; torn down
    after pytest-asyncio's session runner, they would find the worker loop closed.
    """
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names and ANCHOR in names and names[0] != ANCHOR:
            names.remove(ANCHOR)
            names.insert(0, ANCHOR)


def mark_function_loop_tests(items: list[pytest.Item]) -> None:
    """Make pytest-asyncio give ``green_light(loop_scope="function")`` tests their own
    loop: it reads the loop scope from the closest ``asyncio`` marker."""
    for item in items:
        if (
            item.stash.get(LOOP_SCOPE_KEY, None) == "function"
            and item.get_closest_marker("asyncio") is not None
            and inspect.iscoroutinefunction(getattr(item, "obj", None))
        ):
            item.add_marker(pytest.mark.asyncio(loop_scope="function"), append=False)
