"""Suites written the way projects write them: whatever passes without the plugin passes
with it.

Each inner suite (``tests/examples/``) runs twice with the same settings, with
``-p no:green_light`` and with the plugin, and the outcomes are compared test by test
(from pytest's JUnit XML). The settings are the ones users really have:
``asyncio_default_fixture_loop_scope = function`` because pytest-asyncio's warning says
to set it, both defaults, or none; strict and auto mode; with and without xdist. anyio's
plugin is installed beside pytest-asyncio, as in FastAPI projects.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import URL

from conftest import (
    HAS_TEST_DEFAULT,
    PYTEST_ASYNCIO,
    Inner,
    case,
    compare,
    usual_only,
)

pytestmark = pytest.mark.compat

HAS_EVENT_LOOP_FIXTURE = PYTEST_ASYNCIO < (1, 0)


def user_ini(
    fixture_default: str | None, test_default: str | None, *, warnings_are_errors: bool
) -> str:
    """The ini file of a suite with these pytest-asyncio defaults (None: unset)."""
    lines = ["[pytest]"]
    if warnings_are_errors:
        lines.append("filterwarnings = error")
        if not fixture_default:  # what pytest-asyncio says then, which such suites bear
            lines.append("    ignore:The configuration option:DeprecationWarning")
    if fixture_default:
        lines.append(f"asyncio_default_fixture_loop_scope = {fixture_default}")
    if test_default and HAS_TEST_DEFAULT:
        lines.append(f"asyncio_default_test_loop_scope = {test_default}")
    return "\n".join(lines) + "\n"


DEFAULTS = (None, "function", "session")
USUAL_DEFAULT_PAIRS = {("auto", "function", None), ("strict", "function", "function")}
USUAL_DEFAULT_PAIRS.add(("strict", None, None))
# Every pair of pytest-asyncio's defaults (the test default exists from 0.26) in both
# modes; strict runs without xdist and auto under it, so each pair meets both.
DEFAULT_PAIRS = [
    case(
        mode,
        fixture_default,
        test_default,
        "n0" if mode == "strict" else "n2",
        usual=(mode, fixture_default, test_default) in USUAL_DEFAULT_PAIRS,
    )
    for mode in ("strict", "auto")
    for fixture_default in DEFAULTS
    for test_default in (DEFAULTS if HAS_TEST_DEFAULT else (None,))
]
# The setting pytest-asyncio's warning asks for, under xdist; and nothing set.
WARNED_AND_UNSET = [
    case("auto", "function", "n2", usual=False),
    case("strict", None, "n0", usual=True),
]


@pytest.mark.parametrize(
    ("mode", "fixture_default", "test_default", "distribution"), DEFAULT_PAIRS
)
def test_a_user_style_suite_passes_with_the_plugin_where_it_passes_without(
    inner: Inner,
    mode: str,
    fixture_default: str | None,
    test_default: str | None,
    distribution: str,
) -> None:
    inner.driver, inner.distribution, inner.plugins = mode, distribution, ("anyio",)
    inner.pytester.copy_example("user_suite")
    inner.pytester.makeini(
        user_ini(fixture_default, test_default, warnings_are_errors=True)
    )

    with_plugin = compare(inner)

    # More than "never worse": every test passes, the session engine written without
    # a loop_scope too, whatever the loop-scope defaults say.
    assert set(with_plugin.values()) == {"passed"}, with_plugin
    assert len(with_plugin) == 21


@pytest.mark.parametrize(("mode", "fixture_default", "distribution"), WARNED_AND_UNSET)
def test_per_test_loops_keep_what_passes_without_the_plugin(
    inner: Inner, mode: str, fixture_default: str | None, distribution: str
) -> None:
    """``green_light_loop_scope = function``: tests on loops of their own, each async
    fixture on the loop of its own scope, so the session engine written without a
    loop_scope works, which it does not under a fixture default of ``function``."""
    inner.driver, inner.distribution, inner.plugins = mode, distribution, ("anyio",)
    inner.pytester.copy_example("user_suite")
    inner.pytester.makeini(user_ini(fixture_default, None, warnings_are_errors=True))

    with_plugin = compare(inner, "--green-light-loop-scope=function")

    engine_tests = {test: o for test, o in with_plugin.items() if "engine" in test}
    assert set(engine_tests.values()) == {"passed"}, engine_tests
    assert len(engine_tests) == 3


@pytest.mark.parametrize(("mode", "fixture_default", "distribution"), WARNED_AND_UNSET)
def test_an_asyncpg_suite_passes_with_the_plugin_where_it_passes_without(
    inner: Inner,
    pg_url: URL,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    fixture_default: str | None,
    distribution: str,
) -> None:
    """asyncpg fails loudly on a loop mix-up ("attached to a different loop"), then
    hangs the next set-up: every test passes, on one PostgreSQL server."""
    inner.driver, inner.distribution = mode, distribution
    inner.pytester.copy_example("asyncpg_suite")
    inner.pytester.makeini(user_ini(fixture_default, None, warnings_are_errors=True))
    url = pg_url.set(database="postgres")
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))

    with_plugin = compare(inner)

    assert set(with_plugin.values()) == {"passed"}, with_plugin
    assert len(with_plugin) == 8


if HAS_EVENT_LOOP_FIXTURE:  # pytest-asyncio 1.0 removed it

    @pytest.mark.parametrize("suite", ["event_loop_requests", "event_loop_override"])
    @pytest.mark.parametrize("fixture_default", [None, "function"])
    @pytest.mark.parametrize(
        ("mode", "distribution"), [("strict", "n0"), ("auto", "n2")]
    )
    def test_a_0_2x_era_suite_with_event_loop_passes_with_the_plugin(
        inner: Inner,
        suite: str,
        fixture_default: str | None,
        mode: str,
        distribution: str,
    ) -> None:
        inner.driver, inner.distribution, inner.plugins = mode, distribution, ("anyio",)
        inner.pytester.copy_example(suite)
        # Such suites live with pytest-asyncio's deprecation warnings about event_loop.
        inner.pytester.makeini(
            user_ini(fixture_default, None, warnings_are_errors=False)
        )

        with_plugin = compare(inner)

        # With the plugin all pass, the session-scoped override (the 0.2x recipe for
        # one loop) included: it is the worker loop, which sync code gets too.
        assert set(with_plugin.values()) == {"passed"}, with_plugin


ANYIO_BESIDE_THE_WORKER_LOOP = """
import asyncio
import pytest
from facts import record


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_sync_first():
    record("sync")


@pytest.mark.anyio
async def test_anyio(anyio_backend):
    record("anyio")


@pytest.mark.asyncio
async def test_plain_async():
    record("async")


@pytest.mark.parametrize("n", range(2))
def test_sync_after(n):
    record("sync")
"""


@pytest.mark.parametrize("distribution", usual_only(["n0", "n2"], "n0"))
def test_anyio_tests_run_where_the_header_says(
    inner: Inner, driver: str, distribution: str
) -> None:
    """anyio's runner closes its loop, cancelling every task on it, after each test
    (test_upstream_contract.py): given the worker loop it would break the others'
    tests, so its tests keep loops of their own; pytest-asyncio's auto mode takes them
    before anyio does, onto the worker loop."""
    inner.driver, inner.distribution, inner.plugins = driver, distribution, ("anyio",)
    fixture_default = None if driver == "green-light" else "function"
    inner.pytester.makeini(user_ini(fixture_default, None, warnings_are_errors=True))
    inner.pytester.makepyfile(test_anyio_suite=ANYIO_BESIDE_THE_WORKER_LOOP)

    with_plugin = compare(inner)

    assert set(with_plugin.values()) == {"passed"}, with_plugin
    inner.facts_path.unlink()
    result = inner.run()
    by_pytest_asyncio = driver == "auto"
    result.stdout.fnmatch_lines(
        [
            "green-light 1.0.0: *, async tests driven by *; anyio tests: "
            + (
                "by pytest-asyncio (auto mode)"
                if by_pytest_asyncio
                else "their own loops"
            )
        ]
    )
    facts = inner.facts()
    worker_loops: dict[int, set[str]] = {}
    for fact in facts:
        if fact["test"] != "anyio" or by_pytest_asyncio:
            worker_loops.setdefault(fact["pid"], set()).add(fact["loop"])
    assert all(len(loops) == 1 for loops in worker_loops.values()), facts
    anyio_loops = {f["loop"] for f in facts if f["test"] == "anyio"}
    assert anyio_loops, facts
    assert by_pytest_asyncio or not anyio_loops & set().union(*worker_loops.values())
