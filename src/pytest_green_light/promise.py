"""The plugin's promise, checked where it is kept, and said once when it does not hold.

The promise, in loop scope ``session``: async tests and async fixtures that ask for no
loop of their own run on the worker loop, and sync code between tests gets it from
``asyncio.get_event_loop()``. It rests on behaviour of pytest-asyncio and asyncio that
neither documents (``upstream.py``), so a worker checks it where that costs nothing a
run can count: an async test whose body started no task on the worker loop (its
teardown), an async fixture whose set-up started none (the pytest-asyncio bridge), the
current loop once asyncio or a runner had their say (the first test, each
pytest-asyncio runner's teardown).

The first break in a worker is one ``GreenLightWarning``, in the test where it was
seen, and one line in the terminal summary; under xdist the controller prints each distinct
line once. Imports no asyncio: the xdist controller prints the summary.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Callable, Iterable
from importlib.metadata import version
from typing import Any

import pytest

from pytest_green_light import __version__, upstream
from pytest_green_light.warning import GreenLightWarning

WORKEROUTPUT_KEY = "green_light_broken_promise"
ISSUES_URL = "https://github.com/pytest-green-light/pytest-green-light/issues"

BROKEN_PROMISE = """\
pytest-green-light {plugin} could not keep its promise: {what}.
Expected: async tests and fixtures that ask for no loop of their own run on the worker \
loop, the loop sync code and session fixtures share (loop scope session); objects bound \
to one loop, such as a session AsyncEngine's connections, fail on another ("attached \
to a different loop", a hang).
Async tests are driven by {driver}; {advice}
Meanwhile run without the plugin (-p no:green_light), and please report this with the \
versions above: {issues}"""
NEWER_THAN_CHECKED = (
    "this release was tested with {name} up to {newest}: pin it "
    '(pip install "{name}=={newest}.*").'
)
CHECKED = (
    "this release was tested with that version, so something else in this run changes "
    "how it makes its loops (a conftest or another plugin)."
)
SUMMARY = (
    "green-light: promise not kept with {driver}: {what}, where async tests, fixtures "
    "and sync code were to share the worker loop; {remedy} or run with "
    "-p no:green_light, and report it: {issues}"
)


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


class Driver:
    """Who runs async tests, as a broken promise names it (its version is looked up
    only then: reading a distribution's metadata costs every run a few million
    instructions). A plain class: a NamedTuple's creation costs every process's
    import of this module as much again."""

    __slots__ = ("mode", "name")

    def __init__(self, name: str, mode: str | None = None) -> None:
        self.name = name  # the distribution whose version matters, or "Python"
        self.mode = mode  # pytest-asyncio's

    @property
    def version(self) -> str:
        return sys.version.split()[0] if self.name == "Python" else version(self.name)

    @property
    def described(self) -> str:
        if self.name == "Python":
            return f"pytest-green-light's runner on Python {self.version}"
        return f"{self.name} {self.version} ({self.mode} mode)"

    @property
    def newest_checked(self) -> str | None:
        """The newest version this release was tested with, if this one is newer."""
        newest = upstream.NEWEST_CHECKED.get(self.name)
        if newest is None or _numbers(self.version) <= newest:
            return None
        return ".".join(map(str, newest))

    def advice(self) -> str:
        newest = self.newest_checked
        if newest is None:
            return CHECKED
        return NEWER_THAN_CHECKED.format(name=self.name, newest=newest)

    def remedy(self) -> str:
        newest = self.newest_checked
        if newest is None:
            return "look for a conftest or plugin that changes how its loops are made,"
        return f"pin {self.name}=={newest}.*"


class PromiseReport:
    """A broken promise said, and the summary of what was said: registered in the
    xdist controller (the workers' lines), in a worker only once it has said one
    (registering a plugin costs every process about half a millisecond)."""

    NAME = "green_light_promise"

    def __init__(self, pluginmanager: pytest.PytestPluginManager) -> None:
        self.pluginmanager = pluginmanager
        self.lines: list[str] = []

    def register(self) -> None:
        if not self.pluginmanager.is_registered(self):
            self.pluginmanager.register(self, self.NAME)

    def _add(self, lines: Iterable[str]) -> None:
        self.lines += [line for line in lines if line not in self.lines]

    def broken(self, what: str, driver: Driver) -> None:
        """Say that the promise did not hold, in the test running now.

        From here, not from the test's location: every test and worker that sees it
        is then listed under one entry of the warnings summary.
        """
        warning = GreenLightWarning(
            BROKEN_PROMISE.format(
                plugin=__version__,
                what=what,
                driver=driver.described,
                advice=driver.advice(),
                issues=ISSUES_URL,
            )
        )
        self._add(
            [
                SUMMARY.format(
                    what=what,
                    driver=driver.described,
                    remedy=driver.remedy(),
                    issues=ISSUES_URL,
                )
            ]
        )
        self.register()  # for the summary, and the controller's under xdist
        warnings.warn(warning, stacklevel=1)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None and self.lines:  # for the controller to print
            workeroutput[WORKEROUTPUT_KEY] = list(self.lines)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any) -> None:
        self._add(getattr(node, "workeroutput", {}).get(WORKEROUTPUT_KEY, ()))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for line in self.lines:
            terminalreporter.write_line(line)


class PromiseCheck:
    """One worker session's check: which tests (by node id) are promised the worker
    loop, and the first break said through the report.

    ``drives`` tells the async tests the driver runs; None for the plugin's own runner,
    which puts them on the worker loop itself (only sync code is checked then).
    """

    def __init__(
        self,
        report: PromiseReport | None,
        driver: Driver | None,
        drives: Callable[[pytest.Item], bool] | None,
    ) -> None:
        self.report = report
        self.driver = driver
        self.drives = drives
        self.on = report is not None and driver is not None
        self.tests: set[str] = set()  # promised, until a break is said

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
        if self.report is None or self.driver is None or not self.on:
            return
        self.waive()
        self.report.broken(what, self.driver)


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
) -> set[str]:
    """The node ids of the async tests among ``items`` (all on the worker loop) that
    the driver runs and that ask for no loop of their own. A plain ``pytest.Function``
    is no driver's (they make items of their own classes): asked first, as cheaply as
    it gets, for every test."""
    return {
        item.nodeid
        for item in items
        if type(item) is not pytest.Function
        and drives(item)
        and not asks_for_own_loop(item)
        and not _anyios(item)
    }
