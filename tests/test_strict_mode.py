"""Strict mode leaves unmarked async tests and undecorated async fixtures to pytest:
their failure report says what to add."""

from __future__ import annotations

import pytest

from conftest import Inner

pytestmark = pytest.mark.compat

# pytest 8.4 fails an async test nothing runs; before, it skips it with a warning.
PYTEST_FAILS_UNHANDLED_TESTS = pytest.version_tuple[:2] >= (8, 4)

SUITE = """
import pytest


@pytest.fixture(scope="session")
async def engine():
    return 1


async def test_unmarked():
    pass


def test_uses_engine(engine):
    assert engine == 1


def test_plain_failure():
    assert False
"""
FIXTURE_HINT = (
    "engine is an async fixture, and pytest-asyncio in strict mode runs only async "
    "fixtures decorated for it: decorate it with @pytest_asyncio.fixture (with the "
    "same arguments) instead of @pytest.fixture, or set asyncio_mode = auto in your "
    "ini file."
)
TEST_HINT = (
    "test_unmarked is an async test, and pytest-asyncio in strict mode runs only async "
    "tests marked for it: add @pytest.mark.asyncio to it (or pytestmark = "
    "pytest.mark.asyncio to its module), or set asyncio_mode = auto in your ini file."
)


def test_the_report_says_which_decorator_or_marker_to_add(inner: Inner) -> None:
    inner.driver = "strict"
    inner.pytester.makeini("[pytest]\n")
    inner.pytester.makepyfile(test_app=SUITE)

    result = inner.run("-rA")

    output = result.stdout.str()
    assert output.count("pytest-green-light: strict mode") == (
        2 if PYTEST_FAILS_UNHANDLED_TESTS else 1
    )
    result.stdout.fnmatch_lines(
        ["*_ *test_uses_engine _*", "*strict mode*", FIXTURE_HINT]
    )
    if PYTEST_FAILS_UNHANDLED_TESTS:
        result.stdout.fnmatch_lines(["*_ test_unmarked _*", "*strict mode*", TEST_HINT])
    else:
        assert TEST_HINT not in output
    # A failure of another kind gets nothing.
    plain = output.split("_ test_plain_failure _")[1].split("short test summary")[0]
    assert "pytest-green-light" not in plain


def test_auto_mode_and_the_plugins_runner_need_no_hint(inner: Inner) -> None:
    inner.pytester.makeini("[pytest]\n")
    inner.pytester.makepyfile(test_app=SUITE)
    for driver in ("auto", "green-light"):
        inner.driver = driver

        result = inner.run()

        result.assert_outcomes(passed=2, failed=1)
        assert "pytest-green-light: strict mode" not in result.stdout.str()
