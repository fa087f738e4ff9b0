"""The promise broken: said once in the worker that saw it, and in the summary.

The first break in a worker is one ``GreenLightWarning``, in the test where it was
seen, and one line in the terminal summary; under xdist the controller prints each
distinct line once. Imported by the xdist controller, and in a worker only once the
promise does not hold (``promise.py``). Imports no asyncio.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Iterable
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
