"""Coordination with pytest-asyncio: its loop scopes, its runners, its markers."""

from __future__ import annotations

from collections import defaultdict

import pytest

from conftest import DRIVERS, HAS_TEST_DEFAULT, PYTEST_ASYNCIO, Inner, usual_only

pytestmark = pytest.mark.compat

FUNCTION_LOOP_FIRST = """
import asyncio
import pytest
from facts import async_fixture, record


@async_fixture(scope="session")
async def session_resource():
    yield asyncio.get_running_loop()


@pytest.mark.asyncio(loop_scope="function")
async def test_function_loop_first(session_resource):
    record("function", own=True, session_loop_open=not session_resource.is_closed())


@pytest.mark.asyncio
async def test_session_loop(session_resource):
    record("session", same=asyncio.get_running_loop() is session_resource)


def test_sync(session_resource):
    record("sync", same=asyncio.get_event_loop() is session_resource)
"""


def test_function_loop_test_first_neither_closes_nor_takes_the_worker_loop(
    inner: Inner, asyncio_driver: str, distribution: str
) -> None:
    inner.driver, inner.distribution = asyncio_driver, distribution
    inner.pytester.makepyfile(
        test_one=FUNCTION_LOOP_FIRST, test_two=FUNCTION_LOOP_FIRST
    )

    inner.run().assert_outcomes(passed=6)

    facts = inner.facts()
    assert all(f.get("same", True) for f in facts), facts
    assert all(f.get("session_loop_open", True) for f in facts), facts
    shared: dict[str, set[str]] = defaultdict(set)
    for fact in facts:
        if not fact.get("own"):
            shared[fact["worker"]].add(fact["loop"])
    assert all(len(loops) == 1 for loops in shared.values()), shared
    own = {f["loop"] for f in facts if f.get("own")}
    assert not own & set().union(*shared.values())


def test_no_unset_loop_scope_warning_under_the_defaults(
    inner: Inner, asyncio_driver: str
) -> None:
    """Under xdist: the controller and the workers would each warn."""
    inner.driver, inner.distribution = asyncio_driver, "n2"
    inner.pytester.makepyfile("def test_x(): pass")

    result = inner.run("-W", "error::pytest.PytestDeprecationWarning")

    result.assert_outcomes(passed=1)
    output = result.stdout.str() + result.stderr.str()
    assert "is unset" not in output
    assert "DeprecationWarning" not in output
    # Before 1.0 the header names the fixture default only (tests get the session
    # loop by marker: 0.24 and 0.25 have no test default).
    result.stdout.fnmatch_lines(
        [
            "asyncio: *asyncio_default_fixture_loop_scope=session, "
            "asyncio_default_test_loop_scope=session*"
            if PYTEST_ASYNCIO >= (1, 0)
            else "asyncio: *default*loop_scope=session*"
        ]
    )


def test_loop_scope_defaults_the_user_set_follow_the_plugins_and_the_header_says_so(
    inner: Inner, asyncio_driver: str
) -> None:
    """One knob: in loop scope session, the user's function defaults (set because
    pytest-asyncio's warning asks for them) are served on the worker loop."""
    inner.driver, inner.distribution = asyncio_driver, "n2"
    user_set = ["asyncio_default_fixture_loop_scope=function"]
    if HAS_TEST_DEFAULT:
        user_set.append("asyncio_default_test_loop_scope=function")
    inner.pytester.makeini(
        "[pytest]\nfilterwarnings = error\n"
        + "".join(f"{line.replace('=', ' = ')}\n" for line in user_set)
    )
    inner.pytester.makepyfile(
        test_user="""
        import asyncio
        import pytest
        from facts import async_fixture, record

        @async_fixture
        async def ticks():
            queue = asyncio.Queue()
            task = asyncio.ensure_future(queue.put("tick"))
            yield queue
            await task

        @pytest.mark.parametrize("n", range(3))
        @pytest.mark.asyncio
        async def test_on_the_worker_loop(ticks, n):
            assert await asyncio.wait_for(ticks.get(), 2) == "tick"
            record("async")
        """
    )

    result = inner.run("--dist", "loadfile")

    result.assert_outcomes(passed=3)
    replaced = ", ".join(f"{line.replace('=', ' = ')} (ini file)" for line in user_set)
    result.stdout.fnmatch_lines(
        [
            "green-light 1.0.0: loop scope session (default), sync IO test (default), "
            "async tests driven by pytest-asyncio * mode)*",
            "green-light: for loop scope session (default), pytest-asyncio gets "
            "asyncio_default_fixture_loop_scope = session and *, so that async tests "
            "and fixtures that name no loop scope share the worker loop. This replaces "
            f"your {replaced}. For per-test loops: green_light_loop_scope = function.",
        ]
    )
    assert len({f["loop"] for f in inner.facts()}) == 1


FIXTURE_DEFAULT = "asyncio_default_fixture_loop_scope"
TEST_DEFAULT = "asyncio_default_test_loop_scope"


@pytest.mark.parametrize(
    ("ini", "args", "scope", "source", "replaced"),
    [
        pytest.param("", [], "session", "default", None, id="default"),
        pytest.param(
            f"{FIXTURE_DEFAULT} = function",
            [],
            "session",
            "default",
            f"{FIXTURE_DEFAULT} = function (ini file)",
            id="fixture-default",
        ),
        pytest.param(
            "",
            ["-o", f"{TEST_DEFAULT}=function"],
            "session",
            "default",
            f"{TEST_DEFAULT} = function (-o)",
            id="test-default",
        ),
        pytest.param(
            "green_light_loop_scope = function",
            [],
            "function",
            "ini file",
            None,
            id="green-light-ini",
        ),
        pytest.param(
            f"green_light_loop_scope = session\n{FIXTURE_DEFAULT} = function",
            ["--green-light-loop-scope=function"],
            "function",
            "command line",
            f"{FIXTURE_DEFAULT} = function (ini file)",
            id="command-line",
        ),
    ],
)
@pytest.mark.parametrize(
    "asyncio_driver", usual_only(sorted(set(DRIVERS) - {"green-light"}), "auto")
)
def test_the_header_says_where_the_loop_scope_came_from_and_what_it_did_to_pytest_asyncio(
    inner: Inner,
    asyncio_driver: str,
    ini: str,
    args: list[str],
    scope: str,
    source: str,
    replaced: str | None,
) -> None:
    if TEST_DEFAULT in "".join(args) and not HAS_TEST_DEFAULT:
        pytest.skip(f"pytest-asyncio {PYTEST_ASYNCIO} has no {TEST_DEFAULT}")
    inner.driver = asyncio_driver
    inner.pytester.makeini(f"[pytest]\nfilterwarnings = error\n{ini}\n")
    inner.pytester.makepyfile("def test_x(): pass")

    result = inner.run(*args)

    result.assert_outcomes(passed=1)
    first = (
        f"green-light 1.0.0: loop scope {scope} ({source}), sync IO test (default), "
    )
    second = f"green-light: for loop scope {scope} ({source}), pytest-asyncio gets "
    second += (
        f"{FIXTURE_DEFAULT} = session and *, so that async tests and fixtures that "
        "name no loop scope share the worker loop."
        if scope == "session"
        else "*, so that each async "
        "test gets a loop of its own and each async fixture the loop of its own scope."
    )
    if replaced is not None:
        second += f" This replaces your {replaced}."
    if scope == "session":
        second += " For per-test loops: green_light_loop_scope = function."
    result.stdout.fnmatch_lines([first + "*", second])


def test_in_loop_scope_function_each_fixture_runs_on_the_loop_of_its_own_scope(
    inner: Inner, asyncio_driver: str
) -> None:
    """The user's fixture default of ``function`` would make a session fixture without
    a loop_scope a ScopeMismatch; per-test loops keep it on the session loop."""
    inner.driver = asyncio_driver
    inner.pytester.makeini(
        "[pytest]\nfilterwarnings = error\nasyncio_default_fixture_loop_scope = function\n"
    )
    inner.pytester.makepyfile(
        test_scopes="""
        import asyncio
        import pytest
        from facts import async_fixture, record

        @async_fixture(scope="session")
        async def session_loop():
            return asyncio.get_running_loop()

        @async_fixture(scope="module")
        async def module_loop():
            return asyncio.get_running_loop()

        @async_fixture
        async def function_loop():
            return asyncio.get_running_loop()

        @pytest.mark.parametrize("n", range(2))
        @pytest.mark.asyncio
        async def test_scopes(session_loop, module_loop, function_loop, n):
            record(
                "test",
                on_function_loop=asyncio.get_running_loop() is function_loop,
                module_is_session=module_loop is session_loop,
                session_loop=id(session_loop),
                module_loop=id(module_loop),
            )
        """
    )

    result = inner.run("--green-light-loop-scope=function")

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "green-light: for loop scope function (command line), pytest-asyncio gets *"
            "each async fixture the loop of its own scope. This replaces your "
            "asyncio_default_fixture_loop_scope = function (ini file)."
        ]
    )
    facts = inner.facts()
    assert all(f["on_function_loop"] for f in facts), facts
    assert not any(f["module_is_session"] for f in facts), facts
    assert len({f["loop"] for f in facts}) == 2
    assert len({f["session_loop"] for f in facts}) == 1
    assert len({f["module_loop"] for f in facts}) == 1


def test_session_fixture_teardown_still_finds_the_worker_loop_open(
    inner: Inner, driver: str
) -> None:
    """Sync session fixtures set up before any async one tear down after it."""
    inner.driver = driver
    inner.pytester.makeconftest(
        """
        import asyncio
        import pytest
        from facts import record

        @pytest.fixture(scope="session", autouse=True)
        def sync_session_fixture():
            yield
            loop = asyncio.get_event_loop()
            record("teardown", closed=loop.is_closed())
        """
    )
    inner.pytester.makepyfile(
        test_async="""
        import asyncio
        import pytest
        from facts import record

        def test_sync_first():
            pass

        @pytest.mark.asyncio
        async def test_async():
            record("async")
        """
    )

    inner.run().assert_outcomes(passed=2)

    facts = {f["test"]: f for f in inner.facts()}
    assert facts["teardown"]["closed"] is False
    assert facts["teardown"]["loop"] == facts["async"]["loop"]


def test_a_sync_test_carries_none_of_the_plugins_fixtures(
    inner: Inner, asyncio_driver: str
) -> None:
    """Only a worker's first test sets up the session anchor; the rest of a sync suite
    costs no fixture of the plugin's."""
    inner.driver = asyncio_driver
    inner.pytester.makepyfile(
        test_sync="""
        import pytest
        from facts import record

        @pytest.mark.parametrize("n", range(3))
        def test_sync(request, n):
            record(f"sync_{n}", names=list(request.fixturenames))
        """
    )

    inner.run().assert_outcomes(passed=3)

    names = {f["test"]: f["names"] for f in inner.facts()}
    assert names["sync_0"][0] == "_green_light_session_loop"
    for later in ("sync_1", "sync_2"):
        assert not [name for name in names[later] if "green_light" in name], names


OWN_LOOP_WITH_FIXTURES = """
import asyncio
import pytest
from facts import async_fixture, record


@async_fixture(scope="session")
async def session_loop():
    return asyncio.get_running_loop()


@async_fixture
async def fixture_loop():
    yield asyncio.get_running_loop()


@async_fixture
async def server():
    async def echo(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.mark.green_light(loop_scope="function")
@pytest.mark.asyncio
async def test_own_loop_and_its_fixtures(session_loop, fixture_loop, server):
    assert fixture_loop is asyncio.get_running_loop()
    assert session_loop is not fixture_loop
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", server), 5)
    writer.write(b"ping\\n")
    assert await asyncio.wait_for(reader.readline(), 5) == b"ping\\n"
    writer.close()


@pytest.mark.asyncio
async def test_then_the_worker_loop(session_loop, fixture_loop):
    assert fixture_loop is asyncio.get_running_loop() is session_loop
"""


def test_a_test_with_its_own_loop_gets_its_function_fixtures_on_it(
    inner: Inner, asyncio_driver: str, distribution: str
) -> None:
    """Its wider-scoped fixtures stay on the worker loop; the next test is back there."""
    inner.driver, inner.distribution = asyncio_driver, distribution
    inner.pytester.makepyfile(test_own=OWN_LOOP_WITH_FIXTURES)

    inner.run().assert_outcomes(passed=2)
