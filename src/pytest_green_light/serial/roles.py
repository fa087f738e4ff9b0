"""``@pytest.mark.serial`` under pytest-xdist: tests that never overlap any other test.

Each worker tells the controller the node ids of its serial tests before it reports
its collection, over a channel of its own on xdist's connection to the worker (so the
same for remote workers: nothing assumes a shared filesystem). The controller's
scheduler runs them on one worker once every parallel test on every worker has
finished, by the placeholder protocol that ``scheduler.py``'s docstring states;
``SerialWorker`` is the worker's side of it. Without xdist, or with
``green_light_serial = off``, ``serial`` is an ordinary marker.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_green_light import upstream
from pytest_green_light.warning import GreenLightWarning

if TYPE_CHECKING:  # xdist 3.5 has no xdist.scheduler.protocol (3.6+)
    from xdist.scheduler.protocol import Scheduling
    from xdist.workermanage import WorkerController

    from pytest_green_light.serial.scheduler import SerialScheduling

WORKERINPUT_KEY = "green_light_serial"
MARKER = "serial"
# A worker reports its serial tests before its collection, on the same connection:
# its report is there when the controller looks. The wait covers a worker that
# lost its connection in between.
REPORT_TIMEOUT_S = 30.0

# Run in the worker process by the controller before xdist's own code (execnet runs
# one remote_exec at a time there, so this one returns first). The worker's end of the
# channel waits in a module of its own: importing the plugin this early would keep
# pytest from rewriting its asserts (and pytest would warn).
CHANNEL_HOLDER = "_pytest_green_light_serial_channel"
WORKER_SIDE = f"""
import sys
import types

holder = sys.modules[{CHANNEL_HOLDER!r}] = types.ModuleType({CHANNEL_HOLDER!r})
holder.to_controller = channel.gateway.newchannel()
channel.send(holder.to_controller)
"""


def register_serial_side(config: pytest.Config, *, controller: bool) -> None:
    """Register the controller's or a worker's side, when serial tests need one
    (``green_light_serial = isolated``)."""
    if controller:
        # --dist each runs every test on every worker: there is no "one at a time".
        if config.getvalue("dist") != "each":
            controller_side = SerialController()
            config.pluginmanager.register(controller_side, "green_light_serial")
        return
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    holder = sys.modules.get(CHANNEL_HOLDER)
    if workerinput.get(WORKERINPUT_KEY) and holder is not None:
        worker = SerialWorker(holder.to_controller)
        config.pluginmanager.register(worker, "green_light_serial")


class SerialController:
    """Registered in the xdist controller: opens a channel to each worker, wraps the
    scheduler, and reports the serial phase."""

    def __init__(self) -> None:
        self.scheduler: SerialScheduling | None = None
        self.channels: dict[str, Any] = {}  # worker id -> channel from that worker

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: WorkerController) -> None:
        try:
            channel = upstream.run_in_worker_first(node, WORKER_SIDE, REPORT_TIMEOUT_S)
        except Exception as error:  # execnet's RemoteError: no plugin over there
            warnings.warn(
                GreenLightWarning(
                    f"No channel to worker {node.gateway.id} for its serial tests "
                    f"(is pytest-green-light installed where it runs?): {error}"
                ),
                stacklevel=1,
            )
            return
        self.channels[node.gateway.id] = channel
        node.workerinput[WORKERINPUT_KEY] = True

    @pytest.hookimpl(wrapper=True, optionalhook=True)
    def pytest_xdist_make_scheduler(
        self, config: pytest.Config
    ) -> Generator[None, Scheduling, Scheduling]:
        # Imported here: only the xdist controller schedules; workers and runs
        # without xdist would pay some 2 ms to import it.
        from pytest_green_light.serial.scheduler import SerialScheduling

        inner = yield
        self.scheduler = SerialScheduling(
            inner,
            read_serial_ids=self._read_serial_ids,
            # Once xdist will stop the run (-x, --maxfail, collection errors), the
            # serial phase must not start; xdist tells the scheduler nothing.
            xdist_stopping=lambda: upstream.xdist_stopping(config),
        )
        return self.scheduler

    def _read_serial_ids(self, node: WorkerController) -> set[str]:
        worker = node.gateway.id
        if worker not in self.channels:  # warned about in pytest_configure_node
            return set()
        try:
            return set(self.channels.pop(worker).receive(REPORT_TIMEOUT_S))
        except Exception as error:  # execnet's TimeoutError, a closed channel
            warnings.warn(
                GreenLightWarning(
                    f"Worker {worker} did not say which of its tests are serial "
                    f"({type(error).__name__}: {error}); they run among the others."
                ),
                stacklevel=1,
            )
            return set()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        scheduler = self.scheduler
        if scheduler is None or not scheduler.serial_ids:
            return
        total, ran = len(scheduler.serial_ids), scheduler.serial_ran
        started, finished = scheduler.serial_started_at, scheduler.serial_finished_at
        if len(ran) == total and started is not None and finished is not None:
            terminalreporter.write_line(
                f"green-light: {total} serial test(s) ran one at a time after the "
                f"parallel tests, in {finished - started:.2f}s"
            )
            return
        missing = [nodeid for nodeid in scheduler.serial_ids if nodeid not in ran]
        running = [nodeid for nodeid in missing if nodeid in scheduler.serial_running]
        waiting = [nodeid for nodeid in missing if nodeid not in running]
        parts = []
        if running:
            parts.append(f"{_listed(running)} did not finish")
        if waiting:
            parts.append(f"the run stopped before {_listed(waiting)} could start")
        terminalreporter.write_line(
            f"green-light: {len(ran)} of {total} serial test(s) ran; "
            + "; ".join(parts)
        )


def _listed(nodeids: list[str], most: int = 5) -> str:
    shown = ", ".join(nodeids[:most])
    return shown + (f" and {len(nodeids) - most} more" if len(nodeids) > most else "")


class SerialWorker:
    """Registered in xdist workers: reports the serial tests, and is the worker's side
    of the placeholder protocol (``scheduler.py``'s docstring)."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.serial: set[str] = set()
        self.serial_phase_open = False

    # tryfirst: before xdist's own hook reports the collection to the controller.
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.serial = {
            item.nodeid for item in session.items if item.get_closest_marker(MARKER)
        }
        self.channel.send(sorted(self.serial))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> bool | None:
        if self.serial_phase_open or item.nodeid not in self.serial:
            return None
        # The placeholder: not run (steps 3 and 4 of the protocol).
        self.serial_phase_open = nextitem is item
        return True
