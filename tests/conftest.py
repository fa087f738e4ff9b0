from __future__ import annotations

import importlib.util
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL, make_url

from pytest_green_light.with_pytest_asyncio import installed

HAS_PYTEST_ASYNCIO = importlib.util.find_spec("pytest_asyncio") is not None
PYTEST_ASYNCIO = installed.pytest_asyncio_version() if HAS_PYTEST_ASYNCIO else ()
# asyncio_default_test_loop_scope came with pytest-asyncio 0.26.
HAS_TEST_DEFAULT = PYTEST_ASYNCIO >= (0, 26)

# Tests of the pytest-asyncio coordination need pytest-asyncio (the matrix has cells
# without it; there the plugin's own runner is what the other tests check). The test of
# an unsupported one runs in the nox session that installs one.
collect_ignore = (
    []
    if HAS_PYTEST_ASYNCIO
    else ["test_pytest_asyncio.py", "test_user_suites.py", "test_strict_mode.py"]
)
if not HAS_PYTEST_ASYNCIO or PYTEST_ASYNCIO >= installed.OLDEST_PYTEST_ASYNCIO:
    collect_ignore.append("test_unsupported_pytest_asyncio.py")

# How async tests are driven in an inner run: by pytest-green-light itself (pytest-asyncio
# disabled), or by pytest-asyncio in either mode.
DRIVERS: dict[str, tuple[str, ...]] = {"green-light": ("-p", "no:asyncio")}
if HAS_PYTEST_ASYNCIO:
    DRIVERS["strict"] = ("-o", "asyncio_mode=strict")
    DRIVERS["auto"] = ("-o", "asyncio_mode=auto")
# The one driver of a test whose behaviour does not depend on who drives async tests:
# the way most users run them where pytest-asyncio is installed.
USUAL_DRIVER = "auto" if HAS_PYTEST_ASYNCIO else "green-light"

# The ways an inner run is distributed ("as-given": only what the test passes).
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "n0": ("-n", "0"),
    "n2": ("-n", "2"),
    "loadscope": ("-n", "2", "--dist", "loadscope"),
}
AS_GIVEN = "as-given"

# Third-party plugins installed for the few tests about them. Each costs every inner
# pytest process start-up time (anyio 0.3 s, hypothesis 0.6 s): an inner run loads
# only those its test names in ``Inner.plugins``.
OPTIONAL_PLUGINS = ("anyio", "hypothesispytest", "rerunfailures")

# An inner run that takes longer than this has hung: it is killed and its test fails
# with the output it had written (a loaded CI machine is slow, hence the margin).
INNER_RUN_TIMEOUT_SECONDS = 240


@pytest.fixture(autouse=True)
def _no_outer_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs must not believe they are xdist workers because the outer run is,
    nor use a database URL set for the outer run."""
    for name in (
        "PYTEST_XDIST_WORKER",
        "PYTEST_XDIST_WORKER_COUNT",
        "PYTEST_XDIST_TESTRUNUID",
        "GREEN_LIGHT_DB_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def case(*values: str | None, usual: bool) -> Any:
    """A parameter set; `scripts/test` runs only the usual ones, the nox cells all."""
    return pytest.param(*values, marks=() if usual else pytest.mark.every_combination)


def usual_only(values: list[str], usual: str) -> list[Any]:
    """Parameters of which scripts/test runs only ``usual``; the nox cells run all."""
    return [case(value, usual=value == usual) for value in values]


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=sorted(set(DRIVERS) - {"green-light"}))
def asyncio_driver(request: pytest.FixtureRequest) -> str:
    """pytest-asyncio in strict and auto mode."""
    return str(request.param)


@pytest.fixture(params=["n0", "n2"])
def distribution(request: pytest.FixtureRequest) -> str:
    """Without xdist and under it; tests of loop identity add ``loadscope`` by
    parametrizing ``distribution`` themselves."""
    return str(request.param)


@dataclass
class Inner:
    """An inner pytest project, run in a subprocess with a chosen driver and distribution."""

    pytester: pytest.Pytester
    driver: str = "green-light"
    distribution: str = "n0"
    timeout: float = INNER_RUN_TIMEOUT_SECONDS
    plugins: tuple[str, ...] = ()  # of OPTIONAL_PLUGINS

    @property
    def facts_path(self) -> Path:
        return self.pytester.path / "facts.jsonl"

    def args(self, *args: str, cache: bool = False) -> list[str]:
        """The command-line arguments of an inner run with these extra ``args``."""
        return [
            *(() if cache else ("-p", "no:cacheprovider")),
            *(
                arg
                for name in OPTIONAL_PLUGINS
                if name not in self.plugins
                for arg in ("-p", f"no:{name}")
            ),
            *DRIVERS[self.driver],
            *DISTRIBUTIONS.get(self.distribution, ()),
            *args,
        ]

    def run(self, *args: str, cache: bool = False) -> pytest.RunResult:
        try:
            return self.pytester.runpytest_subprocess(
                *self.args(*args, cache=cache), timeout=self.timeout
            )
        except self.pytester.TimeoutExpired as expired:
            # pytester kills the run and drops its output; it is still in these files.
            output = "\n".join(
                f"--- {name} ---\n{(self.pytester.path / name).read_text()}"
                for name in ("stdout", "stderr")
                if (self.pytester.path / name).exists()
            )
            pytest.fail(f"{expired}\n{output}", pytrace=False)

    def facts(self) -> list[dict[str, Any]]:
        """What the inner tests recorded with ``facts.record``."""
        if not self.facts_path.exists():
            return []
        return [json.loads(line) for line in self.facts_path.read_text().splitlines()]


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Inner:
    pytester.copy_example("facts.py")
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    inner = Inner(pytester)
    monkeypatch.setenv("GREEN_LIGHT_FACTS", str(inner.facts_path))
    return inner


@pytest.fixture(scope="session")
def pg_url() -> URL:
    """The PostgreSQL server scripts/test starts; without one the test fails (a
    PostgreSQL test must never skip)."""
    url = os.environ.get("GREEN_LIGHT_TEST_PG_URL")
    if not url:
        pytest.fail(
            "$GREEN_LIGHT_TEST_PG_URL is not set: run the tests with scripts/test, "
            "which starts a PostgreSQL server, or point it at a superuser on a server "
            "of your own.",
            pytrace=False,
        )
    return make_url(url)


@pytest.fixture(scope="session")
def mysql_url() -> URL:
    """The MariaDB server scripts/test starts; without one the test fails (a MariaDB
    test must never skip)."""
    url = os.environ.get("GREEN_LIGHT_TEST_MYSQL_URL")
    if not url:
        pytest.fail(
            "$GREEN_LIGHT_TEST_MYSQL_URL is not set: run the tests with scripts/test, "
            "which starts a MariaDB server, or point it at a user with every privilege "
            "on a server of your own.",
            pytrace=False,
        )
    return make_url(url)


def outcomes(inner: Inner, *args: str) -> dict[str, str]:
    """Run the inner suite; each test's outcome by its JUnit name."""
    junit = inner.pytester.path / "junit.xml"
    junit.unlink(missing_ok=True)
    inner.run(f"--junitxml={junit}", *args)
    results = {}
    for case in ET.parse(junit).iter("testcase"):
        kinds = {child.tag for child in case}
        results[f"{case.get('classname')}::{case.get('name')}"] = (
            "failed"
            if kinds & {"failure", "error"}
            else "skipped"
            if "skipped" in kinds
            else "passed"
        )
    return results


def compare(inner: Inner, *plugin_args: str) -> dict[str, str]:
    """Outcomes with the plugin (given ``plugin_args``, which only it knows), after
    checking that nothing that passed without it fails with it."""
    without = outcomes(inner, "-p", "no:green_light")
    with_plugin = outcomes(inner, *plugin_args)
    # Some pairs of defaults fail at collection without the plugin (0.26, a session
    # test default beside a function fixture): a report is all that can be asked for.
    assert without, "the run without the plugin reported nothing"
    passed_without = {test for test, outcome in without.items() if outcome == "passed"}
    worse = {
        test: with_plugin.get(test, "missing")
        for test in passed_without
        if with_plugin.get(test) != "passed"
    }
    assert not worse, f"passed without the plugin, not with it: {worse}"
    return with_plugin
