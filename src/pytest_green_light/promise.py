"""The plugin's promise, checked where it is kept.

The promise, in loop scope ``session``: async tests and async fixtures that ask for no
loop of their own run on the worker loop, and sync code between tests gets it from
``asyncio.get_event_loop()``. It rests on behaviour of pytest-asyncio and asyncio that
neither documents (``upstream.py``), so a worker checks it where that costs nothing a
run can count: an async test whose body started no task on the worker loop (its
teardown), an async fixture whose set-up started none (the pytest-asyncio bridge), the
current loop once asyncio or a runner had their say (the first test, each
pytest-asyncio runner's teardown). A break is said by ``promise_report.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest


class PromiseCheck:
    """One worker session's check: which tests are promised the worker
    loop, and the first break said through the report.

    ``drives`` tells the async tests the driver runs; None for the plugin's own runner,
    which puts them on the worker loop itself (only sync code is checked then).
    """

    def __init__(
        self,
        pluginmanager: pytest.PytestPluginManager | None,
        driver: tuple[str, str | None] | None,
        drives: Callable[[pytest.Item], bool] | None,
    ) -> None:
        self.pluginmanager = pluginmanager
        self.driver = driver  # its distribution name ("Python": none) and mode
        self.drives = drives
        self.on = pluginmanager is not None and driver is not None
        self.tests: set[int] = set()  # promised (by item id), until a break is said

    @classmethod
    def off(cls) -> PromiseCheck:
        """No promise to check: loop scope ``function``."""
        return cls(None, None, None)

    def waive(self) -> None:
        """The user makes the loops (their own policy or loop factories): nothing of
        the promise is left to check."""
        self.on = False
        self.tests = set()

    def collected(self, items: Iterable[pytest.Item]) -> None:
        """``items``: the collected tests on the worker loop."""
        if self.on and self.drives is not None:
            self.tests = promised_tests(items, self.drives)

    def broken(self, what: str) -> None:
        """Said once; nothing is checked after that."""
        if self.pluginmanager is None or self.driver is None or not self.on:
            return
        self.waive()
        from pytest_green_light.promise_report import Driver, PromiseReport

        PromiseReport(self.pluginmanager).broken(what, Driver(*self.driver))


def asks_for_own_loop(item: pytest.Item) -> bool:
    """Whether an async test names a loop other than the worker loop: a loop scope in
    its ``asyncio`` marker other than ``session``, or the 0.2x ``event_loop`` fixture.
    (The ``green_light`` marker's loop scope is read before this is asked.)"""
    marker = item.get_closest_marker("asyncio")
    if marker is not None:
        named = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")
        if named not in (None, "session"):
            return True
    return "event_loop" in getattr(item, "fixturenames", ())


def _anyios(item: pytest.Item) -> bool:
    """anyio's tests run on anyio's own loops."""
    return item.get_closest_marker("anyio") is not None or "anyio_backend" in getattr(
        item, "fixturenames", ()
    )


def promised_tests(
    items: Iterable[pytest.Item], drives: Callable[[pytest.Item], bool]
) -> set[int]:
    """The ids (``id()``: items live as long as the session) of the async tests among
    ``items`` (all on the worker loop) that the driver runs and that ask for no loop of
    their own. A plain ``pytest.Function`` is no driver's (they make items of their own
    classes): asked first, as cheaply as it gets, for every test."""
    return {
        id(item)
        for item in items
        if type(item) is not pytest.Function
        and drives(item)
        and not asks_for_own_loop(item)
        and not _anyios(item)
    }
