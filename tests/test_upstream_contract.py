"""One contract test per assumption of ``pytest_green_light.upstream``.

Each is named after the behaviour relied on and fails naming it when an upstream
release changes it. Runs that exercise an upstream package do so without the plugin
(``-p no:green_light``): the contract is upstream's, not ours. ``nox -s canary`` runs
this file against upstream pre-releases.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import json
import warnings
from typing import Any

import greenlet
import pytest
from sqlalchemy import ForeignKey, select, text
from sqlalchemy.exc import MissingGreenlet, StatementError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from conftest import AS_GIVEN, HAS_PYTEST_ASYNCIO, PYTEST_ASYNCIO, Inner
from pytest_green_light import upstream

pytestmark = pytest.mark.compat

PYTEST = tuple(int(part) for part in pytest.__version__.split(".")[:2])

needs_pytest_asyncio = pytest.mark.skipif(
    not HAS_PYTEST_ASYNCIO, reason="pytest-asyncio is not installed in this cell"
)


def broke(assumption: str) -> str:
    """The message of a failed contract: what upstream no longer does."""
    return (
        f"upstream changed: {assumption} no longer holds "
        "(see pytest_green_light.upstream)"
    )


def without_plugin(inner: Inner, *args: str) -> pytest.RunResult:
    return inner.run("-p", "no:green_light", *args)


def pytest_asyncio_alone(inner: Inner, *args: str) -> pytest.RunResult:
    """pytest-asyncio in strict mode, without the plugin."""
    inner.driver = "strict"
    return without_plugin(inner, *args)


def recorded(inner: Inner, name: str) -> list[Any]:
    return [fact["value"] for fact in inner.facts() if fact["test"] == name]


# -- pytest -------------------------------------------------------------------------


def test_getini_answers_what_set_ini_value_gave(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfig()
    upstream.set_ini_value(config, "python_files", ["contract_*.py"])
    assert config.getini("python_files") == ["contract_*.py"], broke(
        "pytest's getini() answering from Config._inicache first"
    )


def test_ini_value_source_tells_the_ini_file_and_o_from_unset(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\npython_files = check_*.py\n")
    config = pytester.parseconfig("-o", "python_classes=Check")
    sources = {
        name: upstream.ini_value_source(config, name)
        for name in ("python_files", "python_classes", "python_functions")
    }
    assert sources == {
        "python_files": "ini file",
        "python_classes": "-o",
        "python_functions": None,
    }, broke("pytest keeping the ini file's values in Config._inicfg (or .inicfg)")


@pytest.mark.skipif(
    PYTEST >= (9, 0), reason="used with pytest-asyncio before 1.0, on pytest 8 only"
)
def test_fixture_definitions_lists_a_conftests_fixtures(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        "import pytest\n@pytest.fixture\ndef contract_fixture(): pass"
    )
    pytester.makepyfile("def test_x(contract_fixture): pass")
    items, _ = pytester.inline_genitems()
    names = {
        fixturedef.argname
        for fixturedef in upstream.fixture_definitions(items[0].session)
    }
    assert "contract_fixture" in names, broke(
        "pytest's FixtureManager._arg2fixturedefs listing every fixture definition"
    )


# -- pytest-asyncio ----------------------------------------------------------------

FIXTURE_SETUPS = """
import pytest
from facts import note
from pytest_green_light import upstream


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    result = yield
    plugin = request.config.pluginmanager.get_plugin("asyncio")
    note("setup", {
            "name": fixturedef.argname,
            "scope": fixturedef.scope,
            "makes_loops": hasattr(result, "get_loop") or hasattr(result, "run_until_complete"),
            "pytest_asyncios": upstream.defined_by_pytest_asyncio(fixturedef, plugin.__name__),
            "loop_scope": upstream.fixture_loop_scope(fixturedef.func),
        },
    )
    return result
"""


@needs_pytest_asyncio
def test_pytest_asyncio_defines_its_loops_in_the_module_it_registers(
    inner: Inner,
) -> None:
    inner.pytester.makeconftest(FIXTURE_SETUPS)
    inner.pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    inner.pytester.makepyfile(
        "import pytest\n@pytest.mark.asyncio(loop_scope='session')\nasync def test_x(): pass"
    )

    pytest_asyncio_alone(inner).assert_outcomes(passed=1)

    loop_makers = [s for s in recorded(inner, "setup") if s["makes_loops"]]
    assert any(s["scope"] == "session" for s in loop_makers), loop_makers
    assert all(s["pytest_asyncios"] for s in loop_makers), broke(
        "pytest-asyncio defining its runners and loops in the module it registers as "
        f"the plugin 'asyncio': {loop_makers}"
    )


@needs_pytest_asyncio
def test_fixture_loop_scope_reads_the_loop_scope_a_fixture_was_given(
    inner: Inner,
) -> None:
    inner.pytester.makeconftest(FIXTURE_SETUPS)
    inner.pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    inner.pytester.makepyfile(
        """
        import pytest
        import pytest_asyncio

        @pytest_asyncio.fixture(scope="module", loop_scope="module")
        async def given_module():
            pass

        @pytest.mark.asyncio(loop_scope="module")
        async def test_x(given_module):
            pass
        """
    )

    pytest_asyncio_alone(inner).assert_outcomes(passed=1)

    scopes = {s["name"]: s["loop_scope"] for s in recorded(inner, "setup")}
    assert scopes["given_module"] == "module", broke(
        f"pytest-asyncio keeping a fixture's loop_scope in its _loop_scope: {scopes}"
    )


@pytest.mark.skipif(
    not HAS_PYTEST_ASYNCIO or PYTEST_ASYNCIO >= (1, 0),
    reason="used with pytest-asyncio before 1.0 only",
)
def test_set_fixture_loop_scope_before_collection_moves_the_fixture(
    inner: Inner,
) -> None:
    inner.pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = session\n")
    inner.pytester.makeconftest(
        """
        import pytest
        from pytest_green_light import upstream

        @pytest.hookimpl(tryfirst=True)
        def pytest_pycollect_makeitem(collector):
            for fixturedef in upstream.fixture_definitions(collector.session):
                if fixturedef.argname == "moved":
                    upstream.set_fixture_loop_scope(fixturedef.func, "function")
        """
    )
    inner.pytester.makepyfile(
        """
        import asyncio
        import pytest
        import pytest_asyncio

        @pytest_asyncio.fixture
        async def moved():
            return asyncio.get_running_loop()

        @pytest.mark.asyncio(loop_scope="function")
        async def test_x(moved):
            assert moved is asyncio.get_running_loop()
        """
    )

    result = pytest_asyncio_alone(inner)

    assert result.ret == 0, broke(
        "pytest-asyncio before 1.0 reading a fixture's _loop_scope when it collects"
    )


@needs_pytest_asyncio
def test_a_loop_scope_set_for_one_set_up_moves_the_fixture(inner: Inner) -> None:
    inner.pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = session\n")
    inner.pytester.makeconftest(
        """
        import pytest
        from pytest_green_light import upstream

        @pytest.hookimpl(wrapper=True, tryfirst=True)
        def pytest_fixture_setup(fixturedef):
            if fixturedef.argname != "moved":
                return (yield)
            with upstream.fixture_loop_scope_set_to(fixturedef.func, "function"):
                return (yield)
        """
    )
    inner.pytester.makepyfile(
        """
        import asyncio
        import pytest
        import pytest_asyncio

        @pytest_asyncio.fixture
        async def moved():
            return asyncio.get_running_loop()

        @pytest.mark.asyncio(loop_scope="function")
        async def test_x(moved):
            assert moved is asyncio.get_running_loop()
        """
    )

    result = pytest_asyncio_alone(inner)

    assert result.ret == 0, broke(
        "pytest-asyncio reading a fixture's _loop_scope when it sets the fixture up\n"
        + result.stdout.str()
    )


@needs_pytest_asyncio
def test_pytest_asyncio_makes_its_loops_with_the_event_loop_policy(
    inner: Inner,
) -> None:
    inner.pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    inner.pytester.makeconftest(
        """
        from pytest_green_light import upstream

        made = []

        def pytest_sessionstart():
            upstream.install_loop_policy(lambda fresh: made.append(fresh()) or made[-1])
        """
    )
    inner.pytester.makepyfile(
        """
        import asyncio
        import pytest
        from conftest import made

        @pytest.mark.asyncio(loop_scope="session")
        async def test_session():
            assert asyncio.get_running_loop() in made

        @pytest.mark.asyncio
        async def test_function():
            assert asyncio.get_running_loop() in made
        """
    )

    result = pytest_asyncio_alone(inner)

    assert result.ret == 0, broke(
        "pytest-asyncio making its runners' loops with the event loop policy's "
        "new_event_loop()\n" + result.stdout.str()
    )


@needs_pytest_asyncio
def test_pytest_asyncio_reads_its_loop_scope_defaults_in_pytest_configure(
    inner: Inner,
) -> None:
    inner.pytester.makeini("[pytest]\nfilterwarnings = error\n")
    inner.pytester.makeconftest(
        """
        import pytest
        from pytest_green_light import upstream

        @pytest.hookimpl(tryfirst=True)
        def pytest_configure(config):
            upstream.set_ini_value(config, "asyncio_default_fixture_loop_scope", "session")
        """
    )
    inner.pytester.makepyfile(
        """
        import asyncio
        import pytest
        import pytest_asyncio

        @pytest_asyncio.fixture(scope="session")
        async def session_loop():
            return asyncio.get_running_loop()

        @pytest.mark.asyncio(loop_scope="session")
        async def test_x(session_loop):
            assert session_loop is asyncio.get_running_loop()
        """
    )

    result = pytest_asyncio_alone(inner)

    assert result.ret == 0, broke(
        "pytest-asyncio reading asyncio_default_fixture_loop_scope from getini() "
        "after a tryfirst pytest_configure\n" + result.stdout.str()
    )


@needs_pytest_asyncio
def test_a_function_runner_leaves_no_open_loop_of_its_own_current(
    inner: Inner,
) -> None:
    inner.pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    inner.pytester.makepyfile(
        """
        import asyncio
        import warnings
        import pytest
        from facts import note

        runner_loops = []

        @pytest.mark.asyncio(loop_scope="function")
        async def test_async():
            runner_loops.append(asyncio.get_running_loop())

        def test_after():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                try:
                    current = asyncio.get_event_loop()
                except RuntimeError:
                    current = None
            note("current", current is None
                or current.is_closed()
                or (current is not runner_loops[0] and not current.is_running()),
            )
        """
    )

    pytest_asyncio_alone(inner).assert_outcomes(passed=2)

    assert recorded(inner, "current") == [True], broke(
        "pytest-asyncio leaving no loop, a closed one or a new idle one current after "
        "a function runner's teardown"
    )


# -- anyio (why its tests are not on the worker loop) ---------------------------------


def test_anyios_runner_cancels_the_tasks_and_closes_the_loop_it_is_given(
    inner: Inner,
) -> None:
    """The one documented way to hand anyio's runner a loop is the ``loop_factory``
    backend option; at the end of each test the runner cancels every task on that loop
    and closes it. Should this fail, anyio's tests can go onto the worker loop
    (docs/loop-scope.md#anyio)."""
    inner.plugins = ("anyio",)
    inner.pytester.makeconftest(
        """
        import asyncio
        import pytest
        from facts import note

        given = asyncio.new_event_loop()

        @pytest.fixture
        def anyio_backend():
            return ("asyncio", {"loop_factory": lambda: given})

        async def _background():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                note("cancelled", True)
                raise

        def pytest_sessionstart(session):
            given.create_task(_background())
            given.run_until_complete(asyncio.sleep(0))

        def pytest_sessionfinish(session):
            note("closed", given.is_closed())
        """
    )
    inner.pytester.makepyfile(
        """
        import pytest

        @pytest.mark.anyio
        async def test_anyio(anyio_backend):
            pass
        """
    )

    inner.driver = "green-light"  # no pytest-asyncio: anyio alone
    without_plugin(inner).assert_outcomes(passed=1)

    changed = (
        "anyio changed: its runner no longer cancels the tasks on, and closes, the "
        "loop its loop_factory gives; its tests could now share the worker loop"
    )
    assert recorded(inner, "cancelled") == [True], changed
    assert recorded(inner, "closed") == [True], changed


# -- asyncio -----------------------------------------------------------------------


def test_intercept_close_catches_the_runner_closing_the_loop() -> None:
    asked: list[asyncio.AbstractEventLoop] = []
    loop = asyncio.new_event_loop()
    upstream.intercept_close(loop, asked.append)
    runner = getattr(asyncio, "Runner", None)
    if runner is not None:
        with runner(loop_factory=lambda: loop) as running:
            running.run(asyncio.sleep(0))
    else:  # Python 3.9-3.10: pytest-asyncio before 1.3 calls close() itself
        loop.close()
    try:
        assert asked == [loop], broke(
            "asyncio closing a loop through loop.close() on the instance"
        )
        assert not loop.is_closed()
    finally:
        upstream.really_close(loop)
    assert loop.is_closed(), broke("the loop class's own close() closing the loop")


def test_a_warning_at_the_top_of_a_task_is_where_a_step_placed_as_asyncios_warns() -> (
    None
):
    async def top() -> None:
        warnings.warn("at the top of a task", DeprecationWarning, stacklevel=2)

    def step(coro: Any) -> None:
        with contextlib.suppress(StopIteration):
            coro.send(None)

    placed = upstream.stepping_a_task_as_asyncio_does(step, "send")
    loop = asyncio.new_event_loop()
    try:
        with warnings.catch_warnings(record=True) as by_asyncio:
            warnings.simplefilter("always")
            loop.run_until_complete(loop.create_task(top()))
    finally:
        loop.close()
    with warnings.catch_warnings(record=True) as by_placed:
        warnings.simplefilter("always")
        placed(top())
    with warnings.catch_warnings():
        warnings.filterwarnings("error", module="asyncio\\.events")
        with pytest.raises(DeprecationWarning):
            placed(top())

    assert [(w.filename, w.lineno) for w in by_placed] == [
        (w.filename, w.lineno) for w in by_asyncio
    ], broke("asyncio stepping a task from the line of Handle._run that runs it")


# -- pytest-xdist ------------------------------------------------------------------

ROLE = """
import pytest
from facts import note
from pytest_green_light import upstream

said = {}

@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    said["early"] = upstream.is_xdist_controller(config)

def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):
        note("role", [said["early"], session.config.pluginmanager.has_plugin("dsession")])
"""


@pytest.mark.parametrize(
    ("args", "controller"),
    [
        (("-n", "2"), True),
        (("--dist", "loadscope"), False),
        (("-n", "2", "--collect-only"), False),
        (("--tx", "popen", "--dist", "load"), True),
        (("-n", "0"), False),
    ],
    ids=["n2", "dist-alone", "n2-collect-only", "tx", "n0"],
)
def test_xdist_distributes_where_is_xdist_controller_says(
    inner: Inner, args: tuple[str, ...], controller: bool
) -> None:
    inner.distribution = AS_GIVEN
    inner.pytester.makeconftest(ROLE)
    inner.pytester.makepyfile("def test_x(): pass")

    without_plugin(inner, *args)

    assert recorded(inner, "role") == [[controller, controller]], broke(
        "xdist registering its distributed session (dsession) where "
        "_is_distribution_mode says so, and not with --collect-only"
    )


@pytest.mark.parametrize(
    ("args", "restarts"),
    [(("-n", "2"), 8), (("-n", "2", "--max-worker-restart=3"), 3), ((), None)],
    ids=["n2", "given", "none"],
)
def test_max_worker_restarts_are_xdists_default_or_the_option(
    pytester: pytest.Pytester, args: tuple[str, ...], restarts: int | None
) -> None:
    config = pytester.parseconfig(*args)
    assert upstream.max_worker_restarts(config) == restarts, broke(
        "xdist.dsession.get_default_max_worker_restart: --max-worker-restart, else "
        "four per -n worker"
    )


XDIST_EVENTS = """
import pytest
from facts import note
from pytest_green_light import upstream

def pytest_runtest_logreport(report):
    config = pytest_runtest_logreport.config
    if report.when != "setup" and not hasattr(config, "workerinput"):
        note("stopping", [report.nodeid.split("::")[1], report.when, upstream.xdist_stopping(config)])

def pytest_configure(config):
    pytest_runtest_logreport.config = config

def pytest_testnodeready(node):
    note("node", ["ready", upstream.node_shutting_down(node)])

def pytest_testnodedown(node):
    note("node", ["down", upstream.node_shutting_down(node)])
"""

THREE_TESTS = """
def test_a():
    pass

def test_b():
    assert False

def test_c():
    pass
"""


def _xdist_events(inner: Inner) -> None:
    inner.distribution = AS_GIVEN
    inner.pytester.makeconftest(XDIST_EVENTS)
    inner.pytester.makepyfile(test_three=THREE_TESTS)
    without_plugin(inner, "-n", "1", "--maxfail=1")


def test_xdist_stopping_turns_true_once_maxfail_is_reached(inner: Inner) -> None:
    _xdist_events(inner)

    stopping = {
        (name, when): value for name, when, value in recorded(inner, "stopping")
    }
    assert stopping[("test_a", "call")] is False, stopping
    assert stopping[("test_b", "teardown")] is True, broke(
        f"xdist's DSession.shouldstop set once --maxfail is reached: {stopping}"
    )


def test_node_shutting_down_turns_true_once_xdist_sends_the_shutdown(
    inner: Inner,
) -> None:
    _xdist_events(inner)

    assert recorded(inner, "node") == [["ready", False], ["down", True]], broke(
        "xdist's WorkerController.shutting_down"
    )


def test_code_run_from_configure_node_runs_before_xdists_worker_code(
    inner: Inner,
) -> None:
    inner.distribution = AS_GIVEN
    inner.pytester.makeconftest(
        """
        import sys
        from facts import note
        from pytest_green_light import upstream

        SOURCE = (
            "import sys, types\\n"
            "sys.modules['contract_probe'] = types.ModuleType('contract_probe')\\n"
            "channel.send('ran')\\n"
        )

        def pytest_configure_node(node):
            note("sent", upstream.run_in_worker_first(node, SOURCE, 30))

        def pytest_configure(config):
            if hasattr(config, "workerinput"):
                note("seen", "contract_probe" in sys.modules)
        """
    )
    inner.pytester.makepyfile("def test_x(): pass")

    without_plugin(inner, "-n", "1").assert_outcomes(passed=1)

    assert recorded(inner, "sent") == ["ran"]
    assert recorded(inner, "seen") == [True], broke(
        "execnet running remote_exec calls one at a time, ours before xdist's"
    )


PACED = """
import threading
import time
from facts import note

class PacedScheduling:
    \"\"\"Sends the first test alone, the second a second later.\"\"\"

    def __init__(self):
        self.nodes, self.collection, self.completed = [], None, 0

    collection_is_completed = property(lambda self: self.collection is not None)
    tests_finished = property(lambda self: self.completed >= 2)
    has_pending = property(lambda self: self.completed < 2)

    def add_node(self, node):
        self.nodes.append(node)

    def add_node_collection(self, node, collection):
        self.collection = list(collection)

    def mark_test_complete(self, node, item_index, duration=0):
        self.completed += 1

    def mark_test_pending(self, item):
        pass

    def remove_pending_tests_from_node(self, node, indices):
        pass

    def remove_node(self, node):
        self.nodes.remove(node)

    def schedule(self):
        node = self.nodes[0]
        node.send_runtest_some([0])

        def send_second():
            note("second_sent", time.time())
            node.send_runtest_some([1])
            node.shutdown()  # what the second test waits for

        threading.Timer(1.0, send_second).start()

def pytest_xdist_make_scheduler(config, log):
    return PacedScheduling()
"""


def test_a_worker_runs_a_test_only_once_it_has_the_next(inner: Inner) -> None:
    inner.distribution = AS_GIVEN
    inner.pytester.makeconftest(PACED)
    inner.pytester.makepyfile(
        """
        import time
        from facts import note

        def test_first():
            note("first_started", time.time())

        def test_second():
            pass
        """
    )

    without_plugin(inner, "-n", "1").assert_outcomes(passed=2)

    [started], [sent] = recorded(inner, "first_started"), recorded(inner, "second_sent")
    assert started >= sent, broke(
        "an xdist worker running a queued test only once it has the one after it "
        "(WorkerInteractor.run_one_test)"
    )


SPARE_NODES = """
import pytest
from facts import note

class Watch:
    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def add_node(self, node):
        self.all_nodes = getattr(self, "all_nodes", []) + [node]
        self.inner.add_node(node)

    def schedule(self):
        self.inner.schedule()
        note("spare", [
            [node.shutting_down, node in self.inner.nodes] for node in self.all_nodes
        ])

@pytest.hookimpl(wrapper=True)
def pytest_xdist_make_scheduler(config, log):
    return Watch((yield))
"""


def test_scope_schedulers_drop_the_spare_nodes_they_shut_down(inner: Inner) -> None:
    inner.distribution = AS_GIVEN
    inner.pytester.makeconftest(SPARE_NODES)
    inner.pytester.makepyfile(test_only_scope="def test_x(): pass")

    without_plugin(inner, "-n", "2", "--dist", "loadscope").assert_outcomes(passed=1)

    [nodes] = recorded(inner, "spare")
    # [shutting down, still in .nodes] for each node; the busy one may be shut down
    # too, once its scope is all sent.
    assert [True, False] in nodes, broke(
        f"xdist's scope schedulers dropping a spare node from .nodes as they shut it "
        f"down: {nodes}"
    )


# -- SQLAlchemy and CPython --------------------------------------------------------


class Base(DeclarativeBase):
    pass


class Parent(Base):
    __tablename__ = "parents"
    id: Mapped[int] = mapped_column(primary_key=True)
    children: Mapped[list[Child]] = relationship()


class Child(Base):
    __tablename__ = "children"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"))


def _sync_io_in_greenlet(sync: Any, decide: Any) -> Any:
    """Run ``sync(session)`` in a greenlet that answers SQLAlchemy with ``decide``,
    awaiting what it hands over: what ``greenlet_spawn`` does, with our greenlet."""

    class Probe(greenlet.greenlet):  # type: ignore[misc]
        pass

    upstream.provide_sync_io(Probe, decide)

    async def main() -> Any:
        engine = create_async_engine("sqlite+aiosqlite://")
        try:
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
                await conn.execute(text("INSERT INTO parents (id) VALUES (1)"))
                await conn.execute(text("INSERT INTO children VALUES (1, 1)"))
            async with engine.connect() as conn:
                session = Session(bind=conn.sync_connection)
                child = Probe(lambda: sync(session), greenlet.getcurrent())
                handed = child.switch()
                while not child.dead:
                    try:
                        value = await handed
                    except BaseException as error:
                        handed = child.throw(error)
                    else:
                        handed = child.switch(value)
                return handed
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _parent_children(session: Session) -> int:
    parent = session.scalars(select(Parent)).one()
    return len(parent.children)  # a lazy load


def test_a_greenlet_that_provides_sync_io_gets_sqlalchemys_io() -> None:
    assert _sync_io_in_greenlet(_parent_children, lambda greenlet: True) == 1, broke(
        "SQLAlchemy handing awaitables to the parent of a greenlet whose "
        "__sqlalchemy_greenlet_provider__ is true"
    )
    assert _refused_with() is MissingGreenlet, broke(
        "SQLAlchemy raising MissingGreenlet where the attribute is false"
    )


def _refused_with() -> type[BaseException] | None:
    """What SQLAlchemy raises for sync IO a greenlet refuses, its traceback dropped:
    aiosqlite's cursor() is no coroutine, so SQLAlchemy cannot close what it refused,
    and its "never awaited" is expected once that is collected."""
    raised: type[BaseException] | None = None
    try:
        _sync_io_in_greenlet(_parent_children, lambda greenlet: False)
    except (MissingGreenlet, StatementError) as error:  # 2.1 wraps it, 2.0 does not
        raised = type(getattr(error, "orig", None) or error)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gc.collect()
    return raised


def test_sqlalchemys_await_call_is_told_by_name_and_holds_the_awaitable() -> None:
    seen: list[tuple[bool, bool]] = []

    def decide(greenlet: Any) -> bool:
        frame = upstream.caller_frame()
        if upstream.awaiting_call(frame):
            awaitable = upstream.awaitable_of(frame)
            seen.append((True, inspect.isawaitable(awaitable)))
        return True

    _sync_io_in_greenlet(_parent_children, decide)

    assert seen, broke("SQLAlchemy's await_only / await_ asking the greenlet")
    assert all(held for _, held in seen), broke(
        "SQLAlchemy's await_only / await_ asking the greenlet, with the awaitable in "
        f"its local 'awaitable': {seen}"
    )


def test_a_lazy_load_passes_through_the_attributes_get() -> None:
    attributes: set[str] = set()

    def decide(greenlet: Any) -> bool:
        frame = upstream.caller_frame()
        while frame is not None:
            attribute = upstream.orm_attribute_of(frame)
            if attribute is not None:
                attributes.add(attribute)
            frame = frame.f_back
        return True

    _sync_io_in_greenlet(_parent_children, decide)

    assert "Parent.children" in attributes, broke(
        "a lazy load running in InstrumentedAttribute.__get__, with class_ and key: "
        f"{json.dumps(sorted(attributes))}"
    )


def test_caller_frame_is_the_frame_of_the_callers_caller() -> None:
    def asks() -> Any:
        return upstream.caller_frame()

    def calls() -> Any:
        return asks()

    assert calls().f_code.co_name == "calls", broke("CPython's sys._getframe")


# -- the contract tests themselves -----------------------------------------------

BREAK_RUNNER_CLOSE = """
import asyncio


def close(self):
    # As an asyncio whose Runner closed its loop through the loop's class.
    loop = self._loop
    if loop is not None:
        type(loop).close(loop)
    self._loop = None


asyncio.Runner.close = close
"""


@pytest.mark.skipif(not hasattr(asyncio, "Runner"), reason="asyncio.Runner: 3.11")
def test_a_contract_test_names_the_assumption_upstream_broke(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(break_runner_close=BREAK_RUNNER_CLOSE)
    contract = f"{__file__}::test_intercept_close_catches_the_runner_closing_the_loop"

    broken = pytester.runpytest_subprocess("-p", "break_runner_close", contract)
    kept = pytester.runpytest_subprocess(contract)

    broken.assert_outcomes(failed=1)
    broken.stdout.fnmatch_lines(
        [
            "*upstream changed: asyncio closing a loop through loop.close() on the "
            "instance no longer holds (see pytest_green_light.upstream)"
        ]
    )
    kept.assert_outcomes(passed=1)
