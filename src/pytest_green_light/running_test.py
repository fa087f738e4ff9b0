"""Which test's code is running, in one context variable.

A task inherits the context it was created in, so the test that owns a piece of work
(for the tasks it leaves running, the records it logs, the sync IO mode its tasks
start under) is known wherever that work runs, even while the next test runs. One
object per test, set once for its whole protocol: a sync test pays one ``set`` and one
``reset``.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

from pytest_green_light.settings import SyncIOMode

if TYPE_CHECKING:
    import asyncio

    import pytest


class RunningTest:
    """One test's context: the test, its sync IO mode, and the tasks it started on
    the worker loop (``None`` when it runs on a loop of its own); whether it is
    ``promised`` the worker loop, and ``body_ran`` once its call phase shows that its
    function ran."""

    __slots__ = ("_nodeid", "body_ran", "item", "promised", "sync_io", "tasks")

    def __init__(
        self,
        item: pytest.Item,
        sync_io: SyncIOMode,
        record_tasks: bool = False,
        promised: bool = False,
    ) -> None:
        self.item = item
        self._nodeid: str | None = None
        self.sync_io = sync_io
        self.tasks: list[asyncio.Task[Any]] | None = [] if record_tasks else None
        self.promised = promised
        self.body_ran = False

    @property
    def nodeid(self) -> str:
        """The test's node id, asked of pytest only when needed (two calls in pytest
        9.2, for every test)."""
        if self._nodeid is None:
            self._nodeid = self.item.nodeid
        return self._nodeid


current_test: contextvars.ContextVar[RunningTest | None] = contextvars.ContextVar(
    "pytest_green_light_current_test", default=None
)
"""The test whose code is running; ``None`` between tests and while a wider-scoped
fixture is set up (its work belongs to no one test)."""


def own_fixture_setup(scope: str) -> contextvars.Token[RunningTest | None] | None:
    """Called as a fixture of ``scope`` starts its set-up: a wider-scoped fixture set up
    inside a test is not that test's, so the tasks it starts (and what they log) belong
    to the fixture, whichever test came first. Returns the token to ``reset`` the
    running test with once the set-up is over (None: nothing to reset)."""
    if scope == "function":
        return None
    return current_test.set(None)


def current_nodeid() -> str | None:
    test = current_test.get()
    return None if test is None else test.nodeid


def _function_names(item: pytest.Item) -> tuple[object, ...]:
    """The names a test function's coroutine and frames have: the name it was
    collected by (also a runner's wrapper's, pytest-asyncio's before 1.0, and
    hypothesis's inner test's), and its own (a decorator without ``functools.wraps``
    returns a function of another name)."""
    return (
        getattr(item, "originalname", None),
        getattr(getattr(item, "function", None), "__name__", None),
    )


def runs_test_body(task: asyncio.Task[Any], item: pytest.Item) -> bool:
    """Whether ``task`` runs the test function."""
    name = getattr(task.get_coro(), "__name__", None)
    return name is not None and name in _function_names(item)


def note_failed_call(item: pytest.Item, error: BaseException) -> None:
    """The running test's call failed: its function ran if a frame of it is in the
    traceback (a runner may fail before it starts the test)."""
    test = current_test.get()
    if test is None or not test.promised:
        return
    names = _function_names(item)
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_name in names:
            test.body_ran = True
            return
        traceback = traceback.tb_next
