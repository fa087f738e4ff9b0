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
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
from typing import Any, TypeVar

import pytest

from pytest_green_light.worker_loop.lifecycle import WorkerLifecycle

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


class GreenLightRunner:
    """Drives coroutine tests and async fixtures when pytest-asyncio is absent."""

    def __init__(self, lifecycle: WorkerLifecycle) -> None:
        self.lifecycle = lifecycle

    @staticmethod
    def _coroutine_test(item: pytest.Item) -> tuple[Any, str] | None:
        """Where the coroutine function this runner runs for ``item`` is, as
        ``(holder, attribute)``; None for a test it leaves alone (sync, or another
        plugin's). A hypothesis test is a sync function that calls the test for each
        example."""
        holder: Any = getattr(getattr(item, "obj", None), "hypothesis", None)
        attribute = "obj" if holder is None else "inner_test"
        if holder is None:
            holder = item
        if not inspect.iscoroutinefunction(
            getattr(holder, attribute, None)
        ) or _belongs_to_other_plugin(getattr(item, "fixturenames", []), item):
            return None
        return holder, attribute

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(
        self, pyfuncitem: pytest.Function
    ) -> Generator[None, Any, Any]:
        __tracebackhide__ = True
        found = self._coroutine_test(pyfuncitem)
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

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, Any, Any]:
        __tracebackhide__ = True
        original = fixturedef.func
        if not is_async_callable(original) or _belongs_to_other_plugin(
            request.fixturenames, None
        ):
            return (yield)
        func = _bind_to_test_instance(original, request.instance)
        shared = fixturedef.scope != "function"
        lifecycle = self.lifecycle

        def loop() -> asyncio.AbstractEventLoop:
            # Wider-scoped fixtures outlive a test's own loop: keep them on the worker's.
            return lifecycle.worker.loop if shared else lifecycle.loop

        if inspect.isasyncgenfunction(func):
            synchronous = self._asyncgen_fixture(func, loop, request)
        else:
            synchronous = self._coroutine_fixture(func, loop)
        fixturedef.func = synchronous  # type: ignore[misc]
        try:
            return (yield)
        finally:
            fixturedef.func = original  # type: ignore[misc]

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
