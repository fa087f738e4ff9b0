"""The xdist controller's side of serial tests: a scheduler around xdist's own.

The scheduler xdist would use (``--dist load``, ``loadscope``…) gets every test except
the serial ones, through views of the worker nodes whose item indices skip them. When
it is done with a node, that node (the first one) is kept for the serial phase instead
of being shut down: the serial tests are queued on it right away, behind its last
parallel test, and its worker holds each of them at a gate until every parallel test
on every worker has finished. The gate is a file (see ``serial.py``): xdist has no way
to send a worker anything but tests, and a worker only runs a queued test once it has
received the one after it.

Only xdist's public scheduler protocol is used; nodes are touched through the calls
schedulers make anyway (``send_runtest_some``, ``send_steal``, ``shutdown``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any


class NodeView:
    """A worker node as the inner scheduler sees it: a collection without serial tests.

    Indices the inner scheduler sends or receives are positions in that shorter
    collection; they are translated to and from the worker's own indices here.
    """

    def __init__(self, node: Any, serial: SerialScheduling) -> None:
        self.node = node
        self._serial = serial
        self.full_index: list[int] = []  # inner index -> worker index
        self.inner_index: dict[int, int] = {}  # worker index -> inner index
        self.released = False  # the inner scheduler asked to shut the node down

    def set_collection(self, parallel_indices: list[int]) -> None:
        self.full_index = parallel_indices
        self.inner_index = {full: inner for inner, full in enumerate(parallel_indices)}

    # -- what schedulers call on nodes ----------------------------------------------

    def send_runtest_some(self, indices: Sequence[int]) -> None:
        full = [self.full_index[i] for i in indices]
        self._serial.in_flight[self.node].update(full)
        self.node.send_runtest_some(full)

    def send_runtest_all(self) -> None:
        self.send_runtest_some(range(len(self.full_index)))

    def send_steal(self, indices: Sequence[int]) -> None:
        self.node.send_steal([self.full_index[i] for i in indices])

    def shutdown(self) -> None:
        self.released = True
        self._serial.release(self)

    @property
    def shutting_down(self) -> bool:
        return self.released or bool(self.node.shutting_down)

    def __getattr__(self, name: str) -> Any:  # gateway, workerinput…
        return getattr(self.node, name)

    def __repr__(self) -> str:
        return f"<NodeView of {self.node!r}>"


class SerialNodeWatch:
    """The serial node as xdist's controller sees it, telling the scheduler when xdist
    shuts it down. Equal to the node itself, so ``node in sched.nodes`` still holds."""

    def __init__(self, node: Any, serial: SerialScheduling) -> None:
        self.node = node
        self._serial = serial

    def shutdown(self) -> None:
        self._serial.stopped_by_xdist()
        self.node.shutdown()

    def __eq__(self, other: object) -> bool:
        return other is self.node or (
            isinstance(other, SerialNodeWatch) and other.node is self.node
        )

    def __hash__(self) -> int:
        return hash(self.node)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.node, name)


class SerialScheduling:
    """Runs the serial tests on one worker after all others, around an inner scheduler.

    ``read_serial_ids(node)`` gives the node ids a worker found marked serial;
    ``open_gate()`` lets serial tests start, ``close_gate()`` tells workers the run
    stopped before they could.
    """

    def __init__(
        self,
        inner: Any,
        *,
        read_serial_ids: Callable[[Any], set[str]],
        open_gate: Callable[[], None],
        close_gate: Callable[[], None],
    ) -> None:
        self.inner = inner
        self._read_serial_ids = read_serial_ids
        self._open_gate = open_gate
        self._close_gate = close_gate
        self.views: dict[Any, NodeView] = {}
        self.collections: dict[Any, list[str]] = {}
        # Parallel tests sent to each node and not completed yet, by worker index.
        self.in_flight: dict[Any, set[int]] = {}
        self.serial_ids: list[str] | None = None  # in collection order, once known
        self.serial_queue: list[str] = []  # not yet sent to a worker
        self.serial_running: list[str] = []  # sent to the serial node, not completed
        self.serial_node: Any = None
        self.gate_open = False
        self.gate_closed = False
        self.serial_done = 0
        self.serial_started_at: float | None = None
        self.serial_finished_at: float | None = None

    # -- xdist's Scheduling protocol ---------------------------------------------

    @property
    def nodes(self) -> list[Any]:
        """The worker nodes; the serial node watched, so that a shutdown xdist starts
        (``-x``, ``--maxfail``, too many crashes) closes the gate before it opens."""
        return [
            SerialNodeWatch(node, self) if node is self.serial_node else node
            for node in self._worker_nodes()
        ]

    @property
    def collection_is_completed(self) -> bool:
        return bool(self.inner.collection_is_completed)

    @property
    def tests_finished(self) -> bool:
        if self.gate_closed:
            return bool(self.inner.tests_finished)
        return bool(self.inner.tests_finished) and not (
            self.serial_queue or self.serial_running
        )

    @property
    def has_pending(self) -> bool:
        return bool(self.inner.has_pending or self.serial_queue or self.serial_running)

    def add_node(self, node: Any) -> None:
        view = self.views[node] = NodeView(node, self)
        self.in_flight[node] = set()
        self.inner.add_node(view)

    def add_node_collection(self, node: Any, collection: Sequence[str]) -> None:
        collection = list(collection)
        serial = self._read_serial_ids(node)
        if self.serial_ids is None:  # the first collection defines the serial tests
            self.serial_ids = [nodeid for nodeid in collection if nodeid in serial]
            self.serial_queue = list(self.serial_ids)
        self.collections[node] = collection
        view = self.views[node]
        view.set_collection(
            [i for i, nodeid in enumerate(collection) if nodeid not in serial]
        )
        self.inner.add_node_collection(view, [collection[i] for i in view.full_index])

    def schedule(self) -> None:
        self.inner.schedule()
        self._advance()

    def mark_test_complete(
        self, node: Any, item_index: int, duration: float = 0
    ) -> None:
        nodeid = self.collections[node][item_index]
        if node is self.serial_node and nodeid in self.serial_running:
            self.serial_running.remove(nodeid)
            self._serial_test_done()
        else:
            self.in_flight[node].discard(item_index)
            view = self.views[node]
            self.inner.mark_test_complete(view, view.inner_index[item_index], duration)
        self._advance()

    def mark_test_pending(self, item: str) -> None:
        if self.serial_ids and item in self.serial_ids:
            self.serial_queue.insert(0, item)
        else:
            self.inner.mark_test_pending(item)
        self._advance()

    def remove_pending_tests_from_node(self, node: Any, indices: Sequence[int]) -> None:
        view = self.views[node]
        self.in_flight[node].difference_update(indices)
        self.inner.remove_pending_tests_from_node(
            view, [view.inner_index[i] for i in indices]
        )

    def remove_node(self, node: Any) -> str | None:
        view = self.views.pop(node)
        had_parallel_work = bool(self.in_flight.pop(node))
        crashed_in = self.inner.remove_node(view)
        if node is self.serial_node:
            self.serial_node = None
            # The worker runs its parallel tests first: if any was left, that is
            # where it crashed; otherwise in the first serial test it had.
            if crashed_in is None and not had_parallel_work and self.serial_running:
                crashed_in = self.serial_running.pop(0)
                self._serial_test_done()
            self.serial_queue[:0] = self.serial_running
            self.serial_running = []
        self.collections.pop(node, None)
        self._advance()
        return crashed_in  # type: ignore[no-any-return]

    # -- the serial phase ---------------------------------------------------------

    def _serial_test_done(self) -> None:
        """One serial test finished (passed, failed, or crashed its worker), or was
        let go without running because the gate closed."""
        if self.gate_open:
            self.serial_done += 1
        if not self.serial_running and not self.serial_queue:
            self.serial_finished_at = time.monotonic()

    def release(self, view: NodeView) -> None:
        """The inner scheduler has no more parallel tests for this node."""
        if self.serial_node is None and self.serial_queue and not self.gate_closed:
            self.serial_node = view.node
            self._send_serial_tests()
        elif view.node is not self.serial_node:
            view.node.shutdown()
        self._advance()

    def _send_serial_tests(self) -> None:
        node = self.serial_node
        index = {nodeid: i for i, nodeid in enumerate(self.collections[node])}
        node.send_runtest_some([index[nodeid] for nodeid in self.serial_queue])
        self.serial_running += self.serial_queue
        self.serial_queue = []

    def _worker_nodes(self) -> list[Any]:
        return [view.node for view in self.inner.nodes]

    def _parallel_tests_done(self) -> bool:
        return bool(self.inner.tests_finished) and not any(self.in_flight.values())

    def stopped_by_xdist(self) -> None:
        """xdist is shutting every worker down: serial tests must not start now."""
        if self.serial_ids and not self.gate_open and not self.gate_closed:
            self.gate_closed = True
            self._close_gate()

    def _advance(self) -> None:
        if not self.serial_ids or self.gate_closed:
            return
        node = self.serial_node
        if not self._parallel_tests_done():
            return
        if node is None and self.serial_queue:
            # No node was left to us (every test serial, or the serial node crashed
            # after the others left): take any node still up.
            node = next((n for n in self._worker_nodes() if not n.shutting_down), None)
            if node is None:
                return
            self.serial_node = node
            self._send_serial_tests()
        elif node is not None and self.serial_queue:
            self._send_serial_tests()  # a replacement for a crashed serial node
        if node is None:
            return
        if not self.gate_open:
            self.gate_open = True
            self.serial_started_at = time.monotonic()
            self._open_gate()
        # The serial node's last test runs once its worker is told there is nothing
        # after it; any other node still up has no work left. Each is told once.
        for worker in self._worker_nodes():
            if not worker.shutting_down:
                worker.shutdown()
