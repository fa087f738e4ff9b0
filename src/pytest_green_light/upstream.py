"""What pytest-green-light relies on in other packages beyond their documented interfaces.

Every private name of pytest, pytest-asyncio, pytest-xdist, asyncio, SQLAlchemy or
CPython the plugin touches is reached through a function here, whose docstring names
the behaviour relied on and the versions it was checked on (``CHECKED_ON``), and why
no documented interface serves. Each has a contract test in
``tests/test_upstream_contract.py``, named after the behaviour, that fails naming it
when an upstream release changes it; ``nox -s canary`` runs them against pre-releases.

Behaviour relied on without touching a name, checked by contract tests only:

- pytest-asyncio builds its runners' loops with the event loop policy's
  ``new_event_loop()`` (``install_loop_policy`` answers it), reads its loop-scope ini
  keys in its ``pytest_configure``, and after a function-scoped runner's teardown
  leaves no loop, a closed one, or (0.26) a new loop nobody holds current.
- A pytest-xdist worker runs a queued test only once it has received the one after it
  or its shutdown (``WorkerInteractor.run_one_test``): the serial phase's placeholder
  rests on it; the scope schedulers drop a spare node from their ``nodes`` once they
  shut it down.

Imports only the standard library at module level: the xdist controller imports this
module, and must not import asyncio.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    import asyncio
    from types import CodeType, FrameType

F = TypeVar("F", bound=Callable[..., Any])

CHECKED_ON = {
    "Python": "3.9-3.13 (3.14 in GitHub Actions)",
    "pytest": "8.2-9.2",
    "pytest-asyncio": "0.24-1.5",
    "pytest-xdist": "3.5-3.8",
    "SQLAlchemy": "2.0.31-2.1",
}
"""The versions the assumptions below were checked on, in the nox matrix."""
NEWEST_CHECKED = {"pytest-asyncio": (1, 5), "anyio": (4, 16), "Python": (3, 14)}
"""The newest version of each driver of async tests this release was tested with."""

# -- pytest ----------------------------------------------------------------------


def set_ini_value(config: pytest.Config, name: str, value: object) -> None:
    """Make ``config.getini(name)`` answer ``value`` from now on.

    ``getini`` answers from ``Config._inicache`` before it looks at the ini file (pytest
    8.2-9.2). pytest has no public way to give an ini key a value.
    """
    config._inicache[name] = value


def ini_value_source(config: pytest.Config, name: str) -> str | None:
    """Where the user set ini key ``name``: ``"-o"``, ``"ini file"``, or None (unset).

    ``-o`` values are in the public ``override_ini`` option; file values in
    ``Config._inicfg`` (pytest 9; its public ``inicfg`` warns that it is deprecated)
    or ``Config.inicfg`` (pytest 8). ``getini`` cannot tell a value set to the default
    from an unset one.
    """
    overrides = config.getoption("override_ini", None) or []
    if any(item.split("=", 1)[0].strip() == name for item in overrides):
        return "-o"
    inicfg = getattr(config, "_inicfg", None)
    if inicfg is None:
        inicfg = config.inicfg
    return "ini file" if name in inicfg else None


def fixture_definitions(session: pytest.Session) -> Iterator[pytest.FixtureDef[Any]]:
    """Every fixture definition the session knows so far, on pytest 8 (the only one
    pytest-asyncio before 1.0, which needs this, runs on).

    Read from ``Session._fixturemanager._arg2fixturedefs`` (pytest 8.2-8.4): nothing
    public lists a session's fixtures.
    """
    fixturemanager = session._fixturemanager
    for fixturedefs in fixturemanager._arg2fixturedefs.values():  # type: ignore[attr-defined]
        yield from fixturedefs


# -- pytest-asyncio ----------------------------------------------------------------


def defined_by_pytest_asyncio(fixturedef: pytest.FixtureDef[Any], module: str) -> bool:
    """Whether pytest-asyncio defines the fixture: its runners and loops are defined in
    ``module``, the module it registers as the plugin ``asyncio`` (0.24-1.5).

    Told by the module of its function; their names are private and change between
    versions (``_session_event_loop`` before 1.0, ``_session_scoped_runner`` since).
    """
    return getattr(fixturedef.func, "__module__", None) == module


def fixture_loop_scope(func: object) -> str | None:
    """The loop scope an async fixture names (``@pytest_asyncio.fixture(loop_scope=…)``),
    or None.

    pytest-asyncio keeps it in the ``_loop_scope`` attribute of the fixture function,
    copied to the wrapper it makes before 1.3 (0.24-1.5). It has no reader.
    """
    scope = getattr(func, "_loop_scope", None)
    return None if scope is None else str(scope)


@contextlib.contextmanager
def fixture_loop_scope_set_to(func: object, scope: str) -> Iterator[None]:
    """While set up inside the block, an async fixture runs on a loop of ``scope``.

    pytest-asyncio reads ``_loop_scope`` when it sets a fixture up: from its function
    (1.3-1.5), or from the function the wrapper it made at collection wraps
    (0.24-1.2). Nothing public sets a fixture's loop scope for one test.
    """
    target = inspect.unwrap(func)  # type: ignore[arg-type]
    target = getattr(target, "__func__", target)  # a fixture method
    missing = object()
    previous = target.__dict__.get("_loop_scope", missing)
    target._loop_scope = scope
    try:
        yield
    finally:
        if previous is missing:
            del target._loop_scope
        else:
            target._loop_scope = previous


def set_fixture_loop_scope(func: object, scope: str) -> None:
    """Make pytest-asyncio 0.24-0.26 run the async fixture ``func`` on a loop of
    ``scope``: it reads ``_loop_scope`` from the function when it collects."""
    func._loop_scope = scope  # type: ignore[attr-defined]


# -- asyncio -----------------------------------------------------------------------

# Custom policies are deprecated from 3.14 and ignored by new_event_loop() from 3.16.
POLICIES_WORK = sys.version_info < (3, 16)


@contextlib.contextmanager
def _policy_api() -> Iterator[None]:
    """asyncio's policy functions, without their 3.14 deprecation warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def install_loop_policy(
    new_event_loop: Callable[[Callable[[], asyncio.AbstractEventLoop]], Any],
) -> Callable[[], None]:
    """Answer ``asyncio.new_event_loop()`` with ``new_event_loop(fresh)``, where
    ``fresh()`` makes the loop asyncio would have; returns the undo (a no-op where
    policies no longer work).

    A subclass of the default policy: every pytest-asyncio version builds its runners'
    loops through the current policy (0.24-1.5, Python 3.9-3.14). Its public
    ``pytest_asyncio_loop_factories`` hook (1.4) parametrizes tests by factory, so a
    test of another loop scope makes pytest rebuild and close the session runner.
    """
    if not POLICIES_WORK:
        return lambda: None
    import asyncio

    with _policy_api():
        previous = asyncio.get_event_loop_policy()
        default_policy: Any = asyncio.DefaultEventLoopPolicy

    class GreenLightPolicy(default_policy):  # type: ignore[misc]
        def new_event_loop(self) -> asyncio.AbstractEventLoop:
            return new_event_loop(super().new_event_loop)  # type: ignore[no-any-return]

    with _policy_api():
        asyncio.set_event_loop_policy(GreenLightPolicy())

    def restore() -> None:
        with _policy_api():
            asyncio.set_event_loop_policy(previous)

    return restore


def intercept_close(
    loop: asyncio.AbstractEventLoop,
    close: Callable[[asyncio.AbstractEventLoop], None],
) -> None:
    """Make ``loop.close()`` call ``close(loop)``; ``really_close(loop)`` closes it.

    An attribute of the instance: ``asyncio.Runner``, ``asyncio.run`` and
    pytest-asyncio close a loop by calling ``close`` on it (CPython 3.9-3.14), and the
    class of the loop is the policy's, which may not be subclassed safely.
    """
    loop.close = lambda: close(loop)  # type: ignore[method-assign]


def really_close(loop: asyncio.AbstractEventLoop) -> None:
    """Close ``loop`` past an ``intercept_close``."""
    type(loop).close(loop)


def _line_loading(code: CodeType, name: str) -> int:
    """The line of ``code`` that first loads attribute or name ``name``."""
    import dis

    starts = [(offset, line) for offset, line in dis.findlinestarts(code) if line]
    for instruction in dis.get_instructions(code):
        if instruction.argval == name:
            return max(line for offset, line in starts if offset <= instruction.offset)
    raise LookupError(f"{code.co_name} loads no {name!r}")


def stepping_a_task_as_asyncio_does(function: F, sends: str) -> F:
    """``function``, whose line that loads ``sends`` steps a task's coroutine, placed
    where asyncio steps one: module ``asyncio.events``, the line of ``Handle._run`` that
    runs the callback.

    A warning raised with ``stacklevel=2`` at the top of a task is reported at, and
    filtered by, the frame that steps the task. asyncio's task step is C (``_asyncio``),
    so that frame is ``Handle._run`` (CPython 3.9-3.14); in a greenlet it would be
    ``function``. Its code moves by ``co_filename`` and ``co_firstlineno``, its frame's
    module by its globals' ``__name__``: the warnings module reads nothing else. No
    documented way moves where a warning is attributed (3.12's ``skip_file_prefixes``
    is the caller's to pass).
    """
    import types
    from asyncio import events

    asyncio_code = events.Handle._run.__code__
    code = function.__code__
    moved = code.replace(
        co_filename=asyncio_code.co_filename,
        co_firstlineno=_line_loading(asyncio_code, "_context")
        - (_line_loading(code, sends) - code.co_firstlineno),
    )
    # Its own globals as they are now, but for the module's name.
    module = {**function.__globals__, "__name__": events.__name__}
    return types.FunctionType(  # type: ignore[return-value]
        moved, module, code.co_name, function.__defaults__, function.__closure__
    )


# -- pytest-xdist -----------------------------------------------------------------

DSESSION = "dsession"


def is_xdist_controller(config: pytest.Config) -> bool:
    """Whether xdist's distributed session runs in this process (the controller).

    xdist registers it as the plugin ``dsession`` in its ``pytest_configure``
    (trylast), unless ``--collect-only``, where its ``_is_distribution_mode`` says so:
    ``--dist`` with ``-n`` or ``--tx`` (3.6-3.8; 3.5 has the same test inline). Asked
    earlier (the plugin configures before pytest-asyncio does), the same tests answer.
    """
    if config.pluginmanager.has_plugin(DSESSION):
        return True
    if not config.pluginmanager.has_plugin("xdist") or config.getvalue("collectonly"):
        return False
    try:
        from xdist.plugin import _is_distribution_mode
    except ImportError:  # xdist 3.5
        return config.getoption("dist") != "no" and bool(config.getoption("tx"))
    return bool(_is_distribution_mode(config))


def max_worker_restarts(config: pytest.Config) -> int | None:
    """How many crashed workers xdist replaces in this run (None: no limit).

    ``xdist.dsession.get_default_max_worker_restart`` (3.5-3.8): ``--max-worker-restart``,
    else four per ``-n`` worker.
    """
    from xdist.dsession import get_default_max_worker_restart

    restarts: int | None = get_default_max_worker_restart(config)
    return restarts


def xdist_stopping(config: pytest.Config) -> bool:
    """Whether xdist has decided to stop the run before its tests are done.

    Read from its distributed session: ``shouldstop`` (set on ``-x``/``--maxfail``
    failures, collection errors included, and a worker's interruption) or
    ``shuttingdown`` (3.5-3.8). xdist tells schedulers neither.
    """
    dsession = config.pluginmanager.get_plugin(DSESSION)
    return bool(getattr(dsession, "shouldstop", False)) or bool(
        getattr(dsession, "shuttingdown", False)
    )


def node_shutting_down(node: Any) -> bool:
    """Whether xdist has sent this worker node its shutdown
    (``WorkerController.shutting_down``, 3.5-3.8; the scheduler protocol has none)."""
    return bool(node.shutting_down)


def run_in_worker_first(node: Any, source: str, timeout: float) -> Any:
    """Run ``source`` in the worker of ``node`` before xdist's own code starts there;
    returns what it sends back first.

    ``pytest_configure_node`` runs before xdist sends its worker code over the same
    execnet gateway, and execnet runs one ``remote_exec`` at a time (xdist 3.5-3.8,
    execnet 2.0-2.1): this one returns first.
    """
    exec_channel = node.gateway.remote_exec(source)
    result = exec_channel.receive(timeout)
    exec_channel.waitclose(timeout)
    return result


# -- SQLAlchemy and CPython --------------------------------------------------------

GREENLET_PROVIDER = "__sqlalchemy_greenlet_provider__"
"""SQLAlchemy hands an awaitable to the parent of the current greenlet (``await_only``)
when that greenlet has this attribute true; it raises ``MissingGreenlet`` otherwise
(2.0.31-2.1). Undocumented: the way its own ``greenlet_spawn`` says so."""

# SQLAlchemy's functions that hand an awaitable to the greenlet's parent (2.0.31-2.1).
_AWAIT_FUNCTIONS = frozenset({"await_only", "await_", "await_fallback"})


def provide_sync_io(greenlet_class: type, decide: Callable[[Any], bool]) -> None:
    """Make greenlets of ``greenlet_class`` answer SQLAlchemy's question with
    ``decide(greenlet)``."""
    setattr(greenlet_class, GREENLET_PROVIDER, property(decide))


def awaiting_call(frame: FrameType) -> bool:
    """Whether ``frame`` is SQLAlchemy's call that is about to hand an awaitable over
    (``await_only``); other askers (``in_greenlet()``) only want to know if it could.

    Told by the function's name (2.0.31-2.1): SQLAlchemy exposes no other sign.
    """
    return frame.f_code.co_name in _AWAIT_FUNCTIONS


def awaitable_of(frame: FrameType) -> object:
    """The awaitable the ``awaiting_call`` frame holds: its local ``awaitable``
    (2.0.31-2.1)."""
    return frame.f_locals.get("awaitable")


def orm_attribute_of(frame: FrameType) -> str | None:
    """``Class.name`` of the ORM attribute whose ``__get__`` ``frame`` runs, if it does.

    An ``InstrumentedAttribute`` has ``class_`` and ``key`` (2.0.31-2.1).
    """
    if frame.f_code.co_name != "__get__":
        return None
    descriptor = frame.f_locals.get("self")
    owner = getattr(descriptor, "class_", None)
    key = getattr(descriptor, "key", None)
    if isinstance(owner, type) and isinstance(key, str):
        return f"{owner.__name__}.{key}"
    return None


def caller_frame() -> FrameType:
    """The frame of the caller of the function calling this one.

    ``sys._getframe`` (CPython 3.9-3.14): ``inspect.currentframe`` wraps the same call
    and may return None.
    """
    return sys._getframe(2)
