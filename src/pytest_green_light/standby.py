"""The plugin on standby in a worker whose code has not used asyncio yet.

A worker's loop, and asyncio's import (some 13 ms), wait until something in the worker
uses asyncio: asyncio is imported (by a conftest file, a test module, a library, a test
itself), or an async test or a test with a loop of its own is collected. Then the worker
wakes up as if it had started that way: its loop made current, greenlet context checked,
collection replayed, and the test being set up given its turn. A process that never
uses asyncio pays for this module and one check per test, nothing more.

Imports no asyncio: that is its point.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from pytest_green_light.settings import debug

if TYPE_CHECKING:
    from pytest_green_light.collection import Collected
    from pytest_green_light.worker_loop.lifecycle import WorkerLifecycle


class _AsyncioImportWatch:
    """A meta-path finder that calls ``imported()`` once ``asyncio`` has been imported
    (Python calls no code after an import otherwise). It finds nothing itself: it
    hands asyncio's spec from the other finders, its loader wrapped."""

    def __init__(self, imported: Callable[[], None]) -> None:
        self._imported = imported

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "asyncio":
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None:
            return spec

        def exec_then_tell(module: Any) -> None:
            exec_module(module)
            self._imported()

        loader.exec_module = exec_then_tell
        return spec


_waiting: list[Standby] = []  # a stack: pytester nests sessions in one process


def wake_waiting() -> None:
    """Wake the worker on standby, if one is: called before the plugin's own modules
    that import asyncio are (the import watch would wake it inside their import)."""
    if _waiting:
        _waiting[-1].wake()


class Standby:
    """Registered in a worker instead of its lifecycle while asyncio is unused;
    ``wake_up()`` builds and registers the lifecycle (and whoever drives async tests)."""

    def __init__(
        self,
        config: pytest.Config,
        wake_up: Callable[[], WorkerLifecycle],
    ) -> None:
        self._config = config
        self._wake_up = wake_up
        self.lifecycle: WorkerLifecycle | None = None
        self._session: pytest.Session | None = None
        self._collected: Collected | None = None
        self._watch: _AsyncioImportWatch | None = None
        self._thread = threading.get_ident()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # The full check (a greenlet switch) waits for the loop; one that finds no
        # greenlet installed does not: every async database test would need it.
        if importlib.util.find_spec("greenlet") is None:
            from pytest_green_light.missing_greenlet import require_greenlet_installed

            require_greenlet_installed()  # the error that says so
        self._session = session
        self._watch = _AsyncioImportWatch(self._asyncio_imported)
        sys.meta_path.insert(0, self._watch)
        _waiting.append(self)
        debug("worker on standby: nothing in it has used asyncio yet")

    def collected(self, collected: Collected) -> None:
        """The collection step's findings: a test that needs a loop (an async one,
        or one with a loop of its own) wakes the worker now."""
        self._collected = collected
        if self.lifecycle is not None:  # woken already (asyncio was imported)
            self.lifecycle.collected(collected)
        elif collected.async_tests or collected.own_loop:
            self.wake()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # asyncio imported in another thread, or while no session ran: woken here.
        if "asyncio" in sys.modules:
            self.wake(item)

    def pytest_sessionfinish(self) -> None:
        self._unwatch()

    def _asyncio_imported(self) -> None:
        if self._session is not None and threading.get_ident() == self._thread:
            self.wake()

    def _unwatch(self) -> None:
        if self in _waiting:
            _waiting.remove(self)
        if self._watch is not None:
            if self._watch in sys.meta_path:
                sys.meta_path.remove(self._watch)
            self._watch = None

    def wake(self, item: pytest.Item | None = None) -> WorkerLifecycle:
        """The worker's lifecycle, started now if it was not: as if it had been from
        the session's start (``item``: the test being set up)."""
        if self.lifecycle is not None:
            return self.lifecycle
        self._unwatch()  # before the imports below, which import asyncio
        pluginmanager = self._config.pluginmanager
        pluginmanager.unregister(self)
        debug(
            "worker woken up: asyncio is used%s", f" by {item.nodeid}" if item else ""
        )
        before = pluginmanager.get_plugins()
        lifecycle = self.lifecycle = self._wake_up()
        # What the plugins registered just now missed of the session so far.
        if self._session is not None:
            pluginmanager.subset_hook_caller("pytest_sessionstart", before)(
                session=self._session
            )
        if self._collected is not None:
            lifecycle.collected(self._collected)
        if item is not None:
            lifecycle.pytest_runtest_setup(item)
        return lifecycle
