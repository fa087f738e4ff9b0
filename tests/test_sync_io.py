"""Sync IO in tests: works from test modules and conftest files, not from the application.

Real SQLAlchemy on aiosqlite. The application is ``examples/library.py``; the inner
conftest's ``session`` fixture commits an author with two books, so every attribute
is expired and ``author.books`` is a lazy load.
"""

from __future__ import annotations

import sys
import uuid

import pytest
from sqlalchemy.engine import URL

from conftest import USUAL_DRIVER, Inner

LIBRARY_HELPERS = """
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from facts import async_fixture
from library import Author, Base, Book


def add_author(session):
    books = [Book(title="Earthsea"), Book(title="Lathe of Heaven")]
    session.add(Author(id=1, name="Ursula", books=books))


@async_fixture
async def first_title(session):
    author = await session.get(Author, 1)
    return titles(author)[0]  # sync IO in a fixture, in a conftest file


def titles(author):
    return sorted(book.title for book in author.books)


def author_through_sync_session(session):
    return session.sync_session.get(Author, 1, populate_existing=True)
"""

CONFTEST = (
    LIBRARY_HELPERS
    + """

@async_fixture
async def session(tmp_path):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/books.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with AsyncSession(engine) as session:
        add_author(session)
        await session.commit()  # expires everything: reads below need IO
        yield session
    await engine.dispose()
"""
)

# The same, on the per-worker database the plugin creates.
PER_WORKER_DATABASE_CONFTEST = (
    LIBRARY_HELPERS
    + """

async def pytest_green_light_setup_database(engine, worker_id):
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


@async_fixture
async def session(green_light_session):
    add_author(green_light_session)
    await green_light_session.commit()
    green_light_session.expire_all()  # reads below need IO
    return green_light_session
"""
)

# Denied sync IO leaves the cursor coroutine aiosqlite made unawaited, as it does in
# production; its warning is not what these tests are about.
INI = """
[pytest]
filterwarnings =
    error
    ignore:coroutine 'Connection.cursor' was never awaited:RuntimeWarning
"""


def make_library_project(
    inner: Inner, ini_lines: str = "", conftest: str = CONFTEST
) -> None:
    """The application, a conftest above and the ini file, plus ``ini_lines``."""
    inner.pytester.makeini(INI + ini_lines)
    inner.pytester.copy_example("library.py")
    inner.pytester.makeconftest(conftest)


BODY_TESTS = """
import asyncio
import contextvars
import pytest
from conftest import author_through_sync_session, titles
from facts import record
from library import Author

pytestmark = pytest.mark.asyncio
request_id = contextvars.ContextVar("request_id")


async def test_sync_io_in_the_test_body(session):
    request_id.set("r-1")
    task = asyncio.current_task()
    author = await session.get(Author, 1)
    assert author.name == "Ursula"  # an expired attribute
    assert len(author.books) == 2  # a lazy relationship
    assert titles(author) == ["Earthsea", "Lathe of Heaven"]  # a conftest helper
    assert author_through_sync_session(session).name == "Ursula"  # sync session.get
    record(
        "body",
        same_task=asyncio.current_task() is task,
        context=request_id.get(),
    )


async def test_sync_io_in_a_fixture(first_title):
    assert first_title == "Earthsea"
    record("fixture")


async def test_sync_io_in_a_task_the_test_starts(session):
    author = await session.get(Author, 1)

    async def count_books():
        return len(author.books)

    assert await asyncio.gather(count_books(), asyncio.ensure_future(count_books())) == [2, 2]
    record("task")
"""


@pytest.mark.compat
@pytest.mark.parametrize("loop_scope", ["session", "function"])
def test_sync_io_in_test_code_runs_on_the_test_loop_task_and_context(
    inner: Inner, driver: str, loop_scope: str
) -> None:
    inner.driver = driver
    make_library_project(inner)
    inner.pytester.makepyfile(test_body=BODY_TESTS)

    result = inner.run(f"--green-light-loop-scope={loop_scope}")

    result.assert_outcomes(passed=3)
    facts = {fact["test"]: fact for fact in inner.facts()}
    assert set(facts) == {"body", "fixture", "task"}
    assert facts["body"]["same_task"] is True
    assert facts["body"]["context"] == "r-1"


APPLICATION_TESTS = """
import pytest
from library import Author, book_count, reload_author

pytestmark = pytest.mark.asyncio


async def test_sync_io_in_application_code(session):
    author = await session.get(Author, 1)
    assert book_count(author) == 2


async def test_sync_session_call_in_application_code(session):
    assert reload_author(session.sync_session, 1).name == "Ursula"
"""


@pytest.mark.compat
def test_sync_io_in_application_code_raises_with_a_diagnostic(
    inner: Inner, driver: str
) -> None:
    inner.driver = driver
    make_library_project(inner)
    inner.pytester.makepyfile(test_app=APPLICATION_TESTS)

    result = inner.run()

    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*MissingGreenlet*Session.get() needs database IO, and application code "
            "asked for it outside greenlet_spawn():",
            "*library.py:40, in reload_author",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*MissingGreenlet*Reading Author.books needs database IO, and application "
            "code asked for it outside greenlet_spawn():",
            "*library.py:36, in book_count",
            "*return len(author.books)*",
            "*In production this raises MissingGreenlet too*green_light_sync_io = test*",
            "*selectinload(Author.books)*awaitable_attrs*run_sync*",
            '*@pytest.mark.green_light(sync_io="all"), or green_light_sync_io = all.*',
        ]
    )
    # The report section adds the environment, not the fixes a second time.
    result.stdout.fnmatch_lines(
        ["*pytest-green-light: MissingGreenlet*", "Environment: *sync IO test*"]
    )
    result.stdout.no_fnmatch_line("Fixes: load relationships eagerly*")


@pytest.mark.compat
@pytest.mark.parametrize("pg_driver", ["asyncpg", "psycopg"])
def test_sync_io_on_per_worker_postgresql_databases(
    inner: Inner, pg_url: URL, pg_driver: str
) -> None:
    """The same rule on a per-worker PostgreSQL database, through green_light_session."""
    inner.driver = USUAL_DRIVER
    make_library_project(inner, conftest=PER_WORKER_DATABASE_CONFTEST)
    inner.pytester.makepyfile(test_body=BODY_TESTS, test_app=APPLICATION_TESTS)
    url = pg_url.set(
        drivername=f"postgresql+{pg_driver}", database=f"gl_{uuid.uuid4().hex[:10]}"
    )

    result = inner.run(f"--green-light-db-url={url.render_as_string(False)}")

    result.assert_outcomes(passed=3, failed=2)
    facts = {fact["test"]: fact for fact in inner.facts()}
    assert facts["body"]["same_task"] is True
    assert facts["body"]["context"] == "r-1"
    result.stdout.fnmatch_lines(
        [
            "*MissingGreenlet*Session.get() needs database IO, and application code "
            "asked for it outside greenlet_spawn():",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*MissingGreenlet*Reading Author.books needs database IO, and application "
            "code asked for it outside greenlet_spawn():",
            "*library.py:36, in book_count",
        ]
    )


@pytest.mark.parametrize(
    ("mode", "outcomes"),
    [
        ("test", {"passed": 1, "failed": 1}),
        ("all", {"passed": 2}),
        ("off", {"failed": 2}),
    ],
)
def test_sync_io_modes(inner: Inner, mode: str, outcomes: dict[str, int]) -> None:
    inner.driver = USUAL_DRIVER
    make_library_project(inner, f"green_light_sync_io = {mode}\n")
    inner.pytester.makepyfile(
        test_modes="""
        import pytest
        from library import Author, book_count

        pytestmark = pytest.mark.asyncio


        async def test_from_test_code(session):
            author = await session.get(Author, 1)
            assert len(author.books) == 2


        async def test_from_application_code(session):
            author = await session.get(Author, 1)
            assert book_count(author) == 2
        """
    )

    result = inner.run()

    result.assert_outcomes(**outcomes)
    if mode == "off":  # plain SQLAlchemy: its own message, nothing added to it
        result.stdout.fnmatch_lines(["*greenlet_spawn has not been called*"])
        result.stdout.no_fnmatch_line("*application code asked for it*")


def test_marker_overrides_the_mode_per_module_class_and_test(inner: Inner) -> None:
    inner.driver = USUAL_DRIVER
    make_library_project(inner)
    inner.pytester.makepyfile(
        test_markers="""
        import pytest
        from library import Author, book_count

        pytestmark = [pytest.mark.asyncio, pytest.mark.green_light(sync_io="all")]


        async def test_module_says_all(session):
            assert book_count(await session.get(Author, 1)) == 2


        @pytest.mark.green_light(sync_io="off")
        class TestClassSaysOff:
            async def test_off_even_in_test_code(self, session):
                author = await session.get(Author, 1)
                with pytest.raises(Exception, match="greenlet_spawn has not been called"):
                    author.books

            @pytest.mark.green_light(sync_io="test")
            async def test_test_method_says_test(self, session):
                author = await session.get(Author, 1)
                assert len(author.books) == 2
                session.expire(author)
                with pytest.raises(Exception, match="application code asked for it"):
                    book_count(author)
        """
    )

    result = inner.run()

    result.assert_outcomes(passed=3)


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_bad_marker_value_errors_its_test_with_the_reason(
    inner: Inner, workers: str
) -> None:
    inner.pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.green_light(sync_io="sometimes")
        def test_x():
            pass

        @pytest.mark.green_light("function")
        def test_y():
            pass

        def test_z():
            pass
        """
    )

    bad_marker = inner.run("-n", workers)

    bad_marker.assert_outcomes(passed=1, errors=2)
    bad_marker.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_x*",
            "*'sometimes' is not a valid sync_io for @pytest.mark.green_light. "
            "Valid values are: test, all, off.",
        ]
    )
    bad_marker.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_y*",
            "*@pytest.mark.green_light takes only the keyword arguments loop_scope "
            "and sync_io, got ('function',).",
        ]
    )
    bad_marker.stdout.no_fnmatch_line("*INTERNALERROR*")


CANCELLATION_TESTS = """
import asyncio
import sys
import time
import pytest
from sqlalchemy.util import await_only
from facts import record

pytestmark = pytest.mark.asyncio


def wait_in_sync_code(seconds):
    # Sync code blocked in a greenlet-bridged call, as a slow lazy load would be.
    return await_only(asyncio.sleep(seconds))


async def blocked(name):
    try:
        wait_in_sync_code(30)
    except asyncio.CancelledError:
        record(name, cancelled_inside=True)
        raise


async def test_wait_for_times_out_a_blocked_sync_call():
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(blocked("wait_for"), 0.1)
    record("wait_for elapsed", seconds=time.monotonic() - started)


async def test_cancelling_the_task_of_a_blocked_sync_call():
    task = asyncio.ensure_future(blocked("cancel"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_timeout_inside_the_sync_call_propagates_out():
    with pytest.raises(asyncio.TimeoutError):
        await_only(asyncio.wait_for(asyncio.sleep(30), 0.05))
    record("inner timeout")


if sys.version_info >= (3, 11):

    async def test_asyncio_timeout_cancels_a_blocked_sync_call_in_the_test_task():
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await blocked("timeout")
"""


@pytest.mark.compat
def test_cancellation_and_timeouts_propagate_into_and_out_of_sync_calls(
    inner: Inner, driver: str
) -> None:
    inner.driver = driver
    inner.pytester.makepyfile(test_cancel=CANCELLATION_TESTS)

    result = inner.run()

    with_timeout = sys.version_info >= (3, 11)
    result.assert_outcomes(passed=4 if with_timeout else 3)
    facts = inner.facts()
    cancelled = {f["test"] for f in facts if f.get("cancelled_inside")}
    assert cancelled == (
        {"wait_for", "cancel", "timeout"} if with_timeout else {"wait_for", "cancel"}
    )
    (elapsed,) = [f["seconds"] for f in facts if f["test"] == "wait_for elapsed"]
    assert elapsed < 10
    assert any(f["test"] == "inner timeout" for f in facts)


def test_failures_point_at_the_test_lines(inner: Inner) -> None:
    inner.driver = USUAL_DRIVER
    make_library_project(inner)
    inner.pytester.makepyfile(
        test_tracebacks="""
        import pytest
        from library import Author

        pytestmark = pytest.mark.asyncio


        def check_titles(author):
            assert [book.title for book in author.books] == ["Earthsea"]


        async def test_assertion_after_sync_io(session):
            author = await session.get(Author, 1)
            assert len(author.books) == 3


        async def test_assertion_in_a_sync_helper(session):
            author = await session.get(Author, 1)
            check_titles(author)
        """
    )

    result = inner.run()

    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_assertion_after_sync_io _*",
            ">       assert len(author.books) == 3",
            "E       assert 2 == 3",
            "*test_tracebacks.py:13: AssertionError",
            "*_ test_assertion_in_a_sync_helper _*",
            ">       check_titles(author)",
            "*test_tracebacks.py:18:*",
            ">       assert [[]book.title for book in author.books[]] == [[]*Earthsea*[]]",
            "*test_tracebacks.py:8: AssertionError",
        ]
    )
    result.stdout.no_fnmatch_line("*pytest_green_light/*")


TIMEOUT_TESTS = """
import asyncio
import pytest
from sqlalchemy.util import await_only

pytestmark = pytest.mark.asyncio


@pytest.mark.timeout(1)
async def test_blocked_in_an_await():
    await asyncio.sleep(30)


@pytest.mark.timeout(1)
async def test_blocked_in_a_sync_call():
    await_only(asyncio.sleep(30))


async def test_after_the_timeouts():
    await asyncio.sleep(0)
"""


@pytest.mark.compat
def test_pytest_timeout_fails_a_blocked_sync_call_as_it_fails_a_blocked_await(
    inner: Inner, driver: str
) -> None:
    inner.driver = driver
    inner.pytester.makeini("[pytest]\n")  # the leaked test task's warning is expected
    inner.pytester.makepyfile(test_timeouts=TIMEOUT_TESTS)

    result = inner.run()

    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "FAILED test_timeouts.py::test_blocked_in_an_await - Failed: Timeout*",
            "FAILED test_timeouts.py::test_blocked_in_a_sync_call - Failed: Timeout*",
        ]
    )


def test_a_kept_task_starts_its_subtasks_under_its_own_tests_mode(inner: Inner) -> None:
    """A task a test left running (leaked tasks kept) starts tasks during the next test:
    they get the sync IO mode of the test that started the work, not the next one's."""
    inner.pytester.makepyfile(
        test_kept="""
        import asyncio
        import pytest
        from sqlalchemy.util import await_only

        outcome = []
        state = {}


        @pytest.mark.asyncio
        async def test_a_keeps_a_task_running():
            state["go"] = asyncio.Event()

            async def child():
                await_only(asyncio.sleep(0))  # sync IO from test code: allowed here
                outcome.append("sync IO allowed")

            async def background():
                await state["go"].wait()
                try:
                    await asyncio.create_task(child())
                except Exception as error:
                    outcome.append(type(error).__name__)

            state["task"] = asyncio.create_task(background())


        @pytest.mark.green_light(sync_io="off")
        @pytest.mark.asyncio
        async def test_b_runs_under_another_mode():
            state["go"].set()
            await state["task"]
            assert outcome == ["sync IO allowed"]
        """
    )

    result = inner.run(
        "-o", "green_light_leaked_tasks=warn", "-W", "always::pytest.PytestWarning"
    )

    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        ["*test_a_keeps_a_task_running left 1 task(s) running*"]
    )
