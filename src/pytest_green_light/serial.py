"""``@pytest.mark.serial`` under pytest-xdist: tests that never overlap any other test.

The controller hands each worker a directory (``workerinput``). A worker writes the
node ids of its serial tests there before it reports its collection; the controller
sends them to one worker once every parallel test on every worker has finished (see
``serial_scheduler.py``). The worker skips the placeholder that opens the serial
phase, and every serial test if the run stopped before it opened. Without xdist, or
with ``green_light_serial = off``, ``serial`` is an ordinary marker.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_green_light.serial_scheduler import SerialScheduling
from pytest_green_light.worker import worker_id

DIRECTORY_KEY = "green_light_serial_dir"
MARKER = "serial"


def configure(config: pytest.Config, *, controller: bool, isolated: bool) -> None:
    """Register the controller's or a worker's side, when serial tests need one."""
    if controller:
        # --dist each runs every test on every worker: there is no "one at a time".
        if isolated and config.getvalue("dist") != "each":
            controller_side = SerialController(config.getoption("maxfail"))
            config.pluginmanager.register(controller_side, "green_light_serial")
        return
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    directory = workerinput.get(DIRECTORY_KEY)
    if directory:
        worker = SerialWorker(directory, worker_id(config))
        config.pluginmanager.register(worker, "green_light_serial")


class SerialFiles:
    """The files workers leave for the controller in the shared directory."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def serial_ids(self, worker_id: str) -> Path:
        return self.directory / f"{worker_id}.json"


class SerialController:
    """Registered in the xdist controller: hands out the directory, wraps the
    scheduler, and reports the serial phase."""

    def __init__(self, maxfail: int) -> None:
        self.files = SerialFiles(tempfile.mkdtemp(prefix="green-light-serial-"))
        self.scheduler: SerialScheduling | None = None
        self.maxfail = maxfail
        self.failures = 0

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[DIRECTORY_KEY] = str(self.files.directory)

    @pytest.hookimpl(wrapper=True)
    def pytest_xdist_make_scheduler(
        self, config: pytest.Config
    ) -> Generator[None, Any, Any]:
        inner = yield
        self.scheduler = SerialScheduling(inner, read_serial_ids=self._read_serial_ids)
        return self.scheduler

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Count failures as xdist does for -x / --maxfail: once it will stop the run,
        the serial phase must not start (xdist tells the scheduler nothing)."""
        if not report.failed or self.scheduler is None:
            return
        self.failures += 1
        if self.maxfail and self.failures >= self.maxfail:
            self.scheduler.stopped_by_xdist()

    def _read_serial_ids(self, node: Any) -> set[str]:
        path = self.files.serial_ids(node.gateway.id)
        if not path.exists():  # a worker without the plugin
            return set()
        return set(json.loads(path.read_text()))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        scheduler = self.scheduler
        if scheduler is None or not scheduler.serial_ids:
            return
        total, done = len(scheduler.serial_ids), scheduler.serial_done
        started, finished = scheduler.serial_started_at, scheduler.serial_finished_at
        if done == total and started is not None and finished is not None:
            terminalreporter.write_line(
                f"green-light: {total} serial test(s) ran one at a time after the "
                f"parallel tests, in {finished - started:.2f}s"
            )
        else:
            terminalreporter.write_line(
                f"green-light: {done} of {total} serial test(s) ran; the run stopped "
                "before the others could start"
            )

    def pytest_unconfigure(self) -> None:
        shutil.rmtree(self.files.directory, ignore_errors=True)


class SerialWorker:
    """Registered in xdist workers: reports the serial tests, and runs them only once
    the controller has opened the serial phase."""

    def __init__(self, directory: str, worker_id: str) -> None:
        self.files = SerialFiles(directory)
        self.worker_id = worker_id
        self.serial: set[str] = set()
        self.serial_phase_open = False

    # tryfirst: before xdist's own hook reports the collection to the controller.
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.serial = {
            item.nodeid for item in session.items if item.get_closest_marker(MARKER)
        }
        path = self.files.serial_ids(self.worker_id)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(sorted(self.serial)))
        os.replace(partial, path)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> bool | None:
        if self.serial_phase_open or item.nodeid not in self.serial:
            return None
        # Before the serial phase, a serial test here is the placeholder: followed by
        # itself, the phase opens; followed by the shutdown, the run stopped first.
        # Either way it is not run (and reported by nobody).
        self.serial_phase_open = nextitem is item
        return True
