"""The plugin's own runner for ``async def`` tests and fixtures.

Registered only when pytest-asyncio is not installed (or disabled with
``-p no:asyncio``): it then runs coroutine tests, including tests written for
pytest-asyncio, and async fixtures on the worker loop (or the test's own loop with
loop scope ``function``). Tests and fixtures that belong to another async plugin
(anyio, trio) are left to it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import types
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from pytest_green_light.running_test import current_test, own_fixture_setup
from pytest_green_light.worker_loop.lifecycle import WorkerLifecycle

if TYPE_CHECKING:
    from pytest_green_light.collection import Collected

T = TypeVar("T")

OTHER_ASYNC_MARKERS = ("anyio", "trio")
OTHER_ASYNC_FIXTURES = ("anyio_backend",)


def is_async_callable(func: object) -> bool:
    return inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)


def _belongs_to_other_plugin(fixturenames: list[str], item: pytest.Item | None) -> bool:
    if any(name in fixturenames for name in OTHER_ASYNC_FIXTURES):
        return True
    return item is not None and any(
        item.get_closest_marker(name) is not None for name in OTHER_ASYNC_MARKERS
    )


def _bind_to_test_instance(
    func: Callable[..., T], instance: object
) -> Callable[..., T]:
    """Rebind a fixture method defined in a test class to the running test's instance.

    pytest collects class fixtures bound to a throwaway instance and rebinds them
    before each call; the replacement installed here has to do the same.
    """
    bound_to = getattr(func, "__self__", None)
    if instance is None or bound_to is None or not isinstance(instance, type(bound_to)):
        return func
    method: Callable[..., T] = func.__func__.__get__(instance)  # type: ignore[attr-defined]
    return method


def _coroutine_test(item: pytest.Item) -> tuple[Any, str] | None:
    """Where the coroutine function the runner runs for ``item`` is, as
    ``(holder, attribute)``; None for a test it leaves alone (sync, or another
    plugin's). A hypothesis test is a sync function that calls the test for each
    example."""
    function = getattr(item, "obj", None)
    if (
        type(function) is types.FunctionType
        and not function.__code__.co_flags & inspect.CO_COROUTINE
        and "hypothesis" not in function.__dict__
    ):
        return None  # the common case, asked cheaply: a plain sync test
    holder: Any = getattr(function, "hypothesis", None)
    attribute = "obj" if holder is None else "inner_test"
    if holder is None:
        holder = item
    if not inspect.iscoroutinefunction(
        getattr(holder, attribute, None)
    ) or _belongs_to_other_plugin(getattr(item, "fixturenames", []), item):
        return None
    return holder, attribute


class GreenLightRunner:
    """Drives async fixtures when pytest-asyncio is absent, and coroutine tests once
    one is collected (``CoroutineTests``: a sync test pays for no call wrapper)."""

    TESTS = "green_light_coroutine_tests"

    def __init__(
        self, lifecycle: WorkerLifecycle, pluginmanager: pytest.PytestPluginManager
    ) -> None:
        self.lifecycle = lifecycle
        self.pluginmanager = pluginmanager
        lifecycle.on_collected.append(self._collected)

    def _collected(self, collected: Collected) -> None:
        if not self.pluginmanager.has_plugin(self.TESTS) and any(
            _coroutine_test(item) for item in collected.items
        ):
            self.pluginmanager.register(CoroutineTests(self.lifecycle), self.TESTS)

    # tryfirst: the fixture's set-up is whose it is (own_fixture_setup) as a whole.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, Any, Any]:
        __tracebackhide__ = True
        owner = own_fixture_setup(fixturedef.scope)
        original = fixturedef.func
        synchronous = self._synchronous(fixturedef, request)
        if synchronous is not None:
            fixturedef.func = synchronous  # type: ignore[misc]
        try:
            return (yield)
        finally:
            if synchronous is not None:
                fixturedef.func = original  # type: ignore[misc]
            if owner is not None:
                current_test.reset(owner)

    def _synchronous(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Callable[..., Any] | None:
        """A sync stand-in for an async fixture's function, run on the test's loop;
        None for a sync fixture or another plugin's."""
        original = fixturedef.func
        if not is_async_callable(original) or _belongs_to_other_plugin(
            request.fixturenames, None
        ):
            return None
        func = _bind_to_test_instance(original, request.instance)
        shared = fixturedef.scope != "function"
        lifecycle = self.lifecycle

        def loop() -> asyncio.AbstractEventLoop:
            # Wider-scoped fixtures outlive a test's own loop: keep them on the worker's.
            return lifecycle.worker.loop if shared else lifecycle.loop

        if inspect.isasyncgenfunction(func):
            return self._asyncgen_fixture(func, loop, request)
        return self._coroutine_fixture(func, loop)

    @staticmethod
    def _coroutine_fixture(
        func: Callable[..., Coroutine[Any, Any, T]],
        loop: Callable[[], asyncio.AbstractEventLoop],
    ) -> Callable[..., T]:
        @functools.wraps(func)
        def setup(*args: Any, **kwargs: Any) -> T:
            __tracebackhide__ = True
            return loop().run_until_complete(func(*args, **kwargs))

        return setup

    @staticmethod
    def _asyncgen_fixture(
        func: Callable[..., AsyncGenerator[T, None]],
        loop: Callable[[], asyncio.AbstractEventLoop],
        request: pytest.FixtureRequest,
    ) -> Callable[..., T]:
        @functools.wraps(func)
        def setup(*args: Any, **kwargs: Any) -> T:
            __tracebackhide__ = True
            generator = func(*args, **kwargs)
            fixture_loop = loop()
            value = fixture_loop.run_until_complete(generator.__anext__())
            # Torn down in the context it was set up in (whose tasks are whose), not in
            # that of whichever test happens to be tearing down then.
            context = contextvars.copy_context()

            def teardown() -> None:
                __tracebackhide__ = True
                try:
                    context.run(fixture_loop.run_until_complete, generator.__anext__())
                except StopAsyncIteration:
                    return
                raise RuntimeError(
                    f"async fixture {request.fixturename!r} yielded more than once; "
                    "an async generator fixture must yield exactly one value"
                )

            request.addfinalizer(teardown)
            return value

        return setup


class CoroutineTests:
    """Runs coroutine tests on the test's loop: registered once one is collected."""

    def __init__(self, lifecycle: WorkerLifecycle) -> None:
        self.lifecycle = lifecycle

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(
        self, pyfuncitem: pytest.Function
    ) -> Generator[None, Any, Any]:
        __tracebackhide__ = True
        found = _coroutine_test(pyfuncitem)
        if found is None:
            return (yield)
        holder, attribute = found
        test = getattr(holder, attribute)
        lifecycle = self.lifecycle

        @functools.wraps(test)
        def run_on_loop(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            return lifecycle.loop.run_until_complete(test(*args, **kwargs))

        setattr(holder, attribute, run_on_loop)
        try:
            return (yield)
        finally:
            setattr(holder, attribute, test)
