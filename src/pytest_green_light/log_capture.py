"""``caplog_xdist_compatible``: log capture whose records belong to the test that made them.

On a loop shared by a worker session, work one test started can log during the next
(a task kept with ``green_light_leaked_tasks = warn``, a wider-scoped fixture's task, a
library thread). pytest's ``caplog`` takes every record emitted while a test runs; this
capture takes a record only when the code that emitted it runs in the test's context:
the test's own code, or a task it started (tasks inherit the context they were created
in). The others are kept apart in ``foreign_records``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Literal

import pytest

from pytest_green_light.running_test import (
    RunningTest,
    current_nodeid,
    current_test,
)

Phase = Literal["setup", "call", "teardown"]
PHASES: tuple[Phase, ...] = ("setup", "call", "teardown")


class AttributingHandler(logging.Handler):
    """Keeps the records of one test, by phase, and the records of others apart."""

    def __init__(self, nodeid: str) -> None:
        super().__init__(logging.NOTSET)
        self.nodeid = nodeid
        self.phase: Phase = "setup"
        self.by_phase: dict[Phase, list[logging.LogRecord]] = {p: [] for p in PHASES}
        self.foreign: list[tuple[str | None, logging.LogRecord]] = []

    @property
    def records(self) -> list[logging.LogRecord]:
        return self.by_phase[self.phase]

    def emit(self, record: logging.LogRecord) -> None:
        owner = current_nodeid()
        if owner == self.nodeid:
            self.records.append(record)
        else:
            self.foreign.append((owner, record))

    def reset(self) -> None:
        self.by_phase[self.phase] = []


class LogCaptureXdist:
    """The API of pytest's ``caplog``, over records attributed to this test."""

    def __init__(self, nodeid: str) -> None:
        self.handler = AttributingHandler(nodeid)
        self.handler.setFormatter(logging.Formatter())
        self._attached: list[logging.Logger] = []
        self._saved_levels: dict[str | None, int] = {}
        self._saved_handler_level: int | None = None
        self._attach(logging.getLogger())

    # -- reading ---------------------------------------------------------------------

    @property
    def records(self) -> list[logging.LogRecord]:
        return self.handler.records

    @property
    def record_tuples(self) -> list[tuple[str, int, str]]:
        return [(r.name, r.levelno, r.getMessage()) for r in self.records]

    @property
    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]

    @property
    def text(self) -> str:
        return "".join(self.handler.format(r) + "\n" for r in self.records)

    @property
    def foreign_records(self) -> list[logging.LogRecord]:
        """Records emitted during this test by work this test did not start."""
        return [record for _, record in self.handler.foreign]

    def get_records(self, when: Phase) -> list[logging.LogRecord]:
        return self.handler.by_phase[when]

    def clear(self) -> None:
        self.handler.reset()

    # -- levels ----------------------------------------------------------------------

    def set_level(self, level: int | str, logger: str | None = None) -> None:
        """Set the level of a logger (the root by default) and of this capture, until
        the test ends. Naming a logger also captures it when it does not propagate."""
        target = logging.getLogger(logger)
        self._saved_levels.setdefault(logger, target.level)
        target.setLevel(level)
        if self._saved_handler_level is None:
            self._saved_handler_level = self.handler.level
        self.handler.setLevel(level)
        if logger is not None and not target.propagate:
            self._attach(target)

    @contextlib.contextmanager
    def at_level(self, level: int | str, logger: str | None = None) -> Iterator[None]:
        target = logging.getLogger(logger)
        logger_level, handler_level = target.level, self.handler.level
        attached = logger is not None and not target.propagate
        if attached:
            self._attach(target)
        target.setLevel(level)
        self.handler.setLevel(level)
        try:
            yield
        finally:
            target.setLevel(logger_level)
            self.handler.setLevel(handler_level)
            if attached:
                self._detach(target)

    # -- set-up and tear-down --------------------------------------------------------

    def _attach(self, logger: logging.Logger) -> None:
        if logger not in self._attached:
            logger.addHandler(self.handler)
            self._attached.append(logger)

    def _detach(self, logger: logging.Logger) -> None:
        if logger in self._attached:
            logger.removeHandler(self.handler)
            self._attached.remove(logger)

    def finish(self) -> None:
        """Restore levels and remove the handler, whatever the test did."""
        for name, level in self._saved_levels.items():
            logging.getLogger(name).setLevel(level)
        if self._saved_handler_level is not None:
            self.handler.setLevel(self._saved_handler_level)
        for logger in list(self._attached):
            self._detach(logger)

    def leaked_task_owners(self) -> list[str]:
        """Other tests whose work logged during this one."""
        return sorted(
            {
                owner
                for owner, _ in self.handler.foreign
                if owner not in (None, self.handler.nodeid)
            }
        )


CAPTURE_KEY = pytest.StashKey[LogCaptureXdist]()


def warn_of_foreign_records(node: pytest.Item, capture: LogCaptureXdist) -> None:
    """After the test: a warning naming the tests whose work logged during it."""
    owners = capture.leaked_task_owners()
    if owners:
        from pytest_green_light.warning import GreenLightWarning

        node.warn(
            GreenLightWarning(
                f"{len(capture.foreign_records)} log record(s) emitted during "
                f"{node.nodeid} came from work started by "
                f"{', '.join(owners)} (not in caplog_xdist_compatible.records; see "
                "its foreign_records)."
            )
        )


@contextlib.contextmanager
def capturing(item: pytest.Item) -> Iterator[LogCaptureXdist]:
    """The ``caplog_xdist_compatible`` fixture's capture, for the test ``item``."""
    track_phases(item.config)
    capture = item.stash[CAPTURE_KEY] = LogCaptureXdist(item.nodeid)
    token = None
    if current_nodeid() != item.nodeid:  # the plugin is inert: mark the test here
        token = current_test.set(RunningTest(item, "off"))
    try:
        yield capture
    finally:
        capture.finish()
        del item.stash[CAPTURE_KEY]
        if token is not None:
            current_test.reset(token)


class PhaseTracker:
    """Moves a test's capture on to the call and teardown phases. Registered when a
    test first uses the fixture, so that tests without it pay nothing."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        self._enter(item, "call")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        self._enter(item, "teardown")

    @staticmethod
    def _enter(item: pytest.Item, phase: Phase) -> None:
        # Not stash.get(): it raises and catches KeyError for every test without capture.
        if CAPTURE_KEY in item.stash:
            item.stash[CAPTURE_KEY].handler.phase = phase


PHASE_TRACKER = "green_light_log_phases"


def track_phases(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(PHASE_TRACKER):
        config.pluginmanager.register(PhaseTracker(), PHASE_TRACKER)
