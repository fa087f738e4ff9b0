"""The one collection step: each test's loop scope and sync IO mode, and what the
collected tests ask of the worker.

``plugin.pytest_collection_modifyitems`` runs it once per session, after every other
plugin has changed the items (trylast), in this order:

1. each item's ``green_light`` marker read into its own ``ItemSettings``
   (``markers.py``); an item without one takes the session's (``Settings.for_tests``);
2. with pytest-asyncio, its ``asyncio`` markers lined up with them
   (``with_pytest_asyncio/loop_scopes.py``), which may give a test its own settings;
3. one pass over the items that sorts them by loop scope and notes what the worker
   needs (``Collected``), handed to the worker on standby or its lifecycle, which
   hands it on to whoever drives async tests.
"""

from __future__ import annotations

import inspect
import os
import types

import pytest

from pytest_green_light.markers import read_item_markers
from pytest_green_light.settings import ITEM_SETTINGS_KEY, SETTINGS_KEY


class Collected:
    """What one session's collected tests ask of the worker."""

    __slots__ = ("async_tests", "items", "on_worker_loop", "own_loop", "test_files")

    def __init__(self, items: list[pytest.Item]) -> None:
        self.items = items
        self.own_loop: list[pytest.Item] = []  # loop scope function
        self.on_worker_loop: list[pytest.Item] = []
        # Whether any test is an async one: a coroutine, or a driver's item
        # (pytest-asyncio makes items of its own classes).
        self.async_tests = False
        self.test_files: set[str] = set()  # of the collected tests, for sync IO


def is_coroutine_test(item: pytest.Item) -> bool:
    """Whether the item's function is a coroutine function: an async test."""
    function = getattr(item, "obj", None)
    if type(function) is types.FunctionType:  # the common case, asked cheaply
        return bool(function.__code__.co_flags & inspect.CO_COROUTINE)
    return inspect.iscoroutinefunction(function)


def collect(config: pytest.Config, items: list[pytest.Item]) -> Collected:
    settings = config.stash[SETTINGS_KEY]
    session = settings.for_tests
    marked = read_item_markers(items, session)
    if config.pluginmanager.has_plugin("asyncio"):
        from pytest_green_light.with_pytest_asyncio import loop_scopes

        loop_scopes.line_up_test_markers(
            items, marked, session, autouse=settings.autouse
        )
    collected = Collected(items)
    own_loop, on_worker_loop = collected.own_loop, collected.on_worker_loop
    async_tests = False
    parents: set[int] = set()  # by id: a node's hash is a Python-level call
    default_scope = session.loop_scope
    key = ITEM_SETTINGS_KEY
    for item in items:
        stash = item.stash
        scope = stash[key].loop_scope if key in stash else default_scope
        (own_loop if scope == "function" else on_worker_loop).append(item)
        if not async_tests:
            async_tests = type(item) is not pytest.Function or is_coroutine_test(item)
        parent = id(item.parent)
        if parent not in parents:
            parents.add(parent)
            collected.test_files.add(os.fspath(item.path))
    collected.async_tests = async_tests
    return collected
