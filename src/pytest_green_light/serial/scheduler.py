"""The xdist controller's side of serial tests: a scheduler around xdist's own.

The scheduler xdist would use (``--dist load``, ``loadscope``…) gets every test except
the serial ones, through views of the worker nodes whose item indices skip them. When
it is done with a node, that node (the first one) is kept for the serial phase instead
of being shut down; once every parallel test on every worker has finished, the serial
tests are sent to it, then its shutdown. ``Phase`` and ``TRANSITIONS`` say how a run
goes through that.

The placeholder protocol, both sides of it (the worker's is ``SerialWorker`` in
``roles.py``). xdist paces its workers: a worker runs a queued test only once it has
received the one after it, or its shutdown, which it needs for the test's teardown.
The serial node's last parallel test needs something after it to finish, and that
something must not run before every other worker is done:

1. The controller sends the serial node the first queued serial test as the
   *placeholder*: it waits in the worker behind the last parallel test, which runs.
   (A node kept with no parallel test in flight gets it when the phase opens.)
2. Once every parallel test has finished, the controller opens the serial phase: it
   sends the placeholder's test again, the other serial tests after it, then the
   shutdown.
3. Until then the worker runs no serial test and reports none; the controller takes
   the first completion of the placeholder's test on the serial node for the
   placeholder's. A serial test followed by itself is the placeholder that opens the
   worker's serial phase: from there on it runs serial tests.
4. If xdist stops the run first (``Phase.STOPPED``), the placeholder is followed by
   xdist's shutdown: not run either, and the phase never opens.
5. The phase opens per worker: a node kept after the serial node crashed is sent a
   placeholder of its own before any serial test.

No file, no polling: the same on remote workers.

xdist's scheduler protocol is what this implements; nodes are touched through the
calls schedulers make anyway (``send_runtest_some``, ``send_steal``, ``shutdown``).
The pacing, whether a node is shutting down and whether xdist is stopping the run are
not in that protocol (``upstream.py``).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from pytest_green_light import upstream

if TYPE_CHECKING:  # xdist 3.5 has no xdist.scheduler.protocol (3.6+)
    from xdist.scheduler.protocol import Scheduling
    from xdist.workermanage import WorkerController


class Phase(enum.Enum):
    """Where serial scheduling stands; ``TRANSITIONS`` says which phase may follow.

    Which node is kept for the serial tests, and whether it has had its placeholder, is
    not a phase: that node can crash and be replaced in ``PARALLEL`` and ``SERIAL``.
    Nor is "done": the serial tests are done when none is queued or running, until a
    crashed one is queued again to run on the crashed worker's replacement.
    """

    COLLECTING = "collecting"
    """No collection in yet: which tests are serial is not known."""
    NO_SERIAL_TESTS = "no serial tests"
    """The first collection had none: the inner scheduler schedules alone."""
    PARALLEL = "parallel"
    """The parallel tests run; the serial ones are held back."""
    SERIAL = "serial"
    """Every parallel test has finished: the serial tests go to the serial node."""
    STOPPED = "stopped"
    """xdist stopped the run before the serial phase: serial tests never start."""


TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    # By the first collection: serial tests or none.
    Phase.COLLECTING: frozenset({Phase.PARALLEL, Phase.NO_SERIAL_TESTS}),
    # Once every parallel test has finished and a node is up for the serial tests;
    # or once xdist decides to stop the run (-x, --maxfail, crashed workers).
    Phase.PARALLEL: frozenset({Phase.SERIAL, Phase.STOPPED}),
    Phase.NO_SERIAL_TESTS: frozenset(),
    # Final: the serial phase, once open, ends with the run; a serial node that
    # crashes is replaced in it, and a crashed serial test queued again runs in it.
    Phase.SERIAL: frozenset(),
    Phase.STOPPED: frozenset(),
}


class PhaseError(RuntimeError):
    """A change of phase that ``TRANSITIONS`` does not allow: a bug in the plugin."""


class NodeView:
    """A worker node as the inner scheduler sees it: a collection without serial tests.

    Indices the inner scheduler sends or receives are positions in that shorter
    collection; they are translated to and from the worker's own indices here.
    The inner scheduler is given the view as its node (``as_node``): it answers
    what schedulers call, and reads anything else from the node.
    """

    def __init__(self, node: WorkerController, serial: SerialScheduling) -> None:
        self.node = node
        self._serial = serial
        self.collection: list[str] = []  # the worker's, serial tests included
        self.full_index: list[int] = []  # inner index -> worker index
        self.inner_index: dict[int, int] = {}  # worker index -> inner index
        # Parallel tests sent to the node and not completed yet, by worker index.
        self.in_flight: set[int] = set()
        self.released = False  # the inner scheduler asked to shut the node down

    def set_collection(self, collection: list[str], serial: set[str]) -> None:
        self.collection = collection
        self.full_index = [
            i for i, nodeid in enumerate(collection) if nodeid not in serial
        ]
        self.inner_index = {full: inner for inner, full in enumerate(self.full_index)}

    def send_serial_tests(self, nodeids: list[str]) -> None:
        """Send serial tests, by node id (not through the inner scheduler)."""
        index = {nodeid: i for i, nodeid in enumerate(self.collection)}
        self.node.send_runtest_some([index[nodeid] for nodeid in nodeids])

    @property
    def as_node(self) -> WorkerController:
        """This view, typed as what the inner scheduler takes for a node."""
        return cast("WorkerController", self)

    # -- what schedulers call on nodes ----------------------------------------------

    def send_runtest_some(self, indices: Sequence[int]) -> None:
        full = [self.full_index[i] for i in indices]
        self.in_flight.update(full)
        self.node.send_runtest_some(full)

    def send_steal(self, indices: Sequence[int]) -> None:
        self.node.send_steal([self.full_index[i] for i in indices])

    def shutdown(self) -> None:
        self.released = True
        self._serial.release(self)

    @property
    def shutting_down(self) -> bool:
        return self.released or upstream.node_shutting_down(self.node)

    def __getattr__(self, name: str) -> Any:  # gateway, workerinput…
        return getattr(self.node, name)

    def __repr__(self) -> str:
        return f"<NodeView of {self.node!r}>"


class SerialScheduling:
    """Runs the serial tests on one worker after all others, around an inner scheduler.

    ``read_serial_ids(node)`` gives the node ids a worker found marked serial;
    ``xdist_stopping()`` whether xdist has decided to stop the run (``-x``,
    ``--maxfail``, too many crashed workers), after which the serial phase never opens.
    """

    def __init__(
        self,
        inner: Scheduling,
        *,
        read_serial_ids: Callable[[WorkerController], set[str]],
        xdist_stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.inner = inner
        self._read_serial_ids = read_serial_ids
        self._xdist_stopping = xdist_stopping
        # By node: what is known of each.
        self.views: dict[WorkerController, NodeView] = {}
        self.phase = Phase.COLLECTING
        self.serial_ids: list[str] = []  # in collection order, once known
        self.serial_queue: list[str] = []  # not yet sent to a worker
        self.serial_running: list[str] = []  # sent to the serial node, not completed
        self.serial_node: WorkerController | None = None
        # Whether the serial node has had its placeholder (the protocol above), and
        # the placeholder's test until the placeholder's completion is in.
        self.placeholder_sent = False
        self.placeholder: str | None = None
        self.serial_ran: set[str] = set()  # by node id: a rerun is the same test
        self.serial_started_at: float | None = None
        self.serial_finished_at: float | None = None

    def __getattr__(self, name: str) -> Any:
        # Anything else other plugins read from xdist's schedulers (pytest-rerunfailures
        # reads ``config``) comes from the one wrapped.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    # -- xdist's Scheduling protocol ---------------------------------------------

    @property
    def nodes(self) -> list[WorkerController]:
        # Every node, including any the inner scheduler has let go of: xdist's scope
        # schedulers drop spare nodes from their own bookkeeping.
        return list(self.views)

    @property
    def collection_is_completed(self) -> bool:
        return bool(self.inner.collection_is_completed)

    @property
    def tests_finished(self) -> bool:
        if self.phase is Phase.STOPPED:
            return bool(self.inner.tests_finished)
        return bool(self.inner.tests_finished) and not (
            self.serial_queue or self.serial_running
        )

    @property
    def has_pending(self) -> bool:
        return bool(self.inner.has_pending or self.serial_queue or self.serial_running)

    def add_node(self, node: WorkerController) -> None:
        view = self.views[node] = NodeView(node, self)
        self.inner.add_node(view.as_node)

    def add_node_collection(
        self, node: WorkerController, collection: Sequence[str]
    ) -> None:
        collection = list(collection)
        serial = self._read_serial_ids(node)
        if self.phase is Phase.COLLECTING:  # the first collection defines them
            self.serial_ids = [nodeid for nodeid in collection if nodeid in serial]
            self.serial_queue = list(self.serial_ids)
            self._enter(Phase.PARALLEL if self.serial_ids else Phase.NO_SERIAL_TESTS)
        view = self.views[node]
        view.set_collection(collection, serial)
        self.inner.add_node_collection(
            view.as_node, [collection[i] for i in view.full_index]
        )

    def schedule(self) -> None:
        self.inner.schedule()
        self._advance()

    def mark_test_complete(
        self, node: WorkerController, item_index: int, duration: float = 0
    ) -> None:
        view = self.views[node]
        nodeid = view.collection[item_index]
        if node is self.serial_node and nodeid == self.placeholder:
            self.placeholder = None  # the placeholder's, not its test's (step 3)
        elif node is self.serial_node and nodeid in self.serial_running:
            self.serial_running.remove(nodeid)
            self._serial_test_done(nodeid)
        else:
            view.in_flight.discard(item_index)
            self.inner.mark_test_complete(
                view.as_node, view.inner_index[item_index], duration
            )
        self._advance()

    def mark_test_pending(self, item: str) -> None:
        if item in self.serial_ids:
            self.serial_queue.insert(0, item)
        else:
            self.inner.mark_test_pending(item)
        self._advance()

    def remove_pending_tests_from_node(
        self, node: WorkerController, indices: Sequence[int]
    ) -> None:
        view = self.views[node]
        view.in_flight.difference_update(indices)
        self.inner.remove_pending_tests_from_node(
            view.as_node, [view.inner_index[i] for i in indices]
        )

    def remove_node(self, node: WorkerController) -> str | None:
        view = self.views.pop(node)
        had_parallel_work = bool(view.in_flight)
        # xdist's scope schedulers no longer know the spare nodes they let go of.
        as_node = view.as_node
        crashed_in = (
            self.inner.remove_node(as_node) if as_node in self.inner.nodes else None
        )
        if node is self.serial_node:
            self.serial_node = None
            self.placeholder_sent = False
            self.placeholder = None
            # The worker runs its parallel tests first: if any was left, that is
            # where it crashed; otherwise in the first serial test it had.
            if crashed_in is None and not had_parallel_work and self.serial_running:
                crashed_in = self.serial_running.pop(0)
                self._serial_test_done(crashed_in)
            self.serial_queue[:0] = self.serial_running
            self.serial_running = []
        self._advance()
        return crashed_in

    # -- the serial phase ---------------------------------------------------------

    def _enter(self, phase: Phase) -> None:
        """Move on to ``phase``; a change ``TRANSITIONS`` does not allow is refused."""
        if phase not in TRANSITIONS[self.phase]:
            allowed = [repr(p.value) for p in Phase if p in TRANSITIONS[self.phase]]
            raise PhaseError(
                f"serial scheduling cannot go from phase {self.phase.value!r} to "
                f"{phase.value!r} (from there: {' or '.join(allowed) or 'none'}); "
                "this is a bug in pytest-green-light, please report it"
            )
        self.phase = phase

    def _serial_test_done(self, nodeid: str) -> None:
        """One serial test finished: passed, failed, or crashed its worker."""
        self.serial_ran.add(nodeid)
        if not self.serial_running and not self.serial_queue:
            self.serial_finished_at = time.monotonic()

    def release(self, view: NodeView) -> None:
        """The inner scheduler has no more parallel tests for this node."""
        if (
            self.serial_node is None
            and self.serial_queue
            and self.phase is not Phase.STOPPED
        ):
            self.serial_node = view.node
            if view.in_flight:
                # Its last parallel test runs once something follows it (step 1).
                self._send_placeholder(view)
        elif view.node is not self.serial_node:
            view.node.shutdown()
        self._advance()

    def _send_placeholder(self, view: NodeView) -> None:
        self.placeholder = self.serial_queue[0]
        self.placeholder_sent = True
        view.send_serial_tests([self.placeholder])

    def _send_serial_tests(self, view: NodeView) -> None:
        """Open the serial phase (the placeholder's test first) or, on a node where
        it is open, send what was queued since."""
        if not self.placeholder_sent:
            self._send_placeholder(view)
        queue = self.serial_queue
        if self.placeholder in queue:
            queue = [self.placeholder, *(t for t in queue if t != self.placeholder)]
        view.send_serial_tests(queue)
        self.serial_running += queue
        self.serial_queue = []

    def _nodes_up(self) -> list[WorkerController]:
        return [node for node in self.views if not upstream.node_shutting_down(node)]

    def _parallel_tests_done(self) -> bool:
        return bool(self.inner.tests_finished) and not any(
            view.in_flight for view in self.views.values()
        )

    def _advance(self) -> None:
        if self.phase is Phase.PARALLEL and self._xdist_stopping():
            # Serial tests must not start now (step 4).
            self._enter(Phase.STOPPED)
        if self.phase is not Phase.PARALLEL and self.phase is not Phase.SERIAL:
            return
        if self.inner.tests_finished:
            # Every parallel test is handed out. xdist's load scheduler lets a node
            # keep its last test without a shutdown, for xdist to shut every node
            # down once tests_finished says so, which the serial tests postpone:
            # such nodes are let go here, as if the inner scheduler had.
            for view in list(self.views.values()):
                if not view.shutting_down:
                    view.shutdown()
        if not self._parallel_tests_done():
            return
        if self.serial_node is None:
            # No node was left to us (every test serial, or the serial node crashed
            # after the others left): take any node still up.
            self.serial_node = next(iter(self._nodes_up()), None)
            if self.serial_node is None:
                return
        if self.serial_queue:
            self._send_serial_tests(self.views[self.serial_node])
        if self.phase is Phase.PARALLEL:
            self._enter(Phase.SERIAL)
            self.serial_started_at = time.monotonic()
        # The last serial test runs once its worker is told there is nothing after
        # it; any other node still up has no work left. Each is told once.
        for worker in self._nodes_up():
            worker.shutdown()
