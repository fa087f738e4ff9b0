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

import xml.etree.ElementTree as ET

import pytest

from conftest import HAS_TEST_DEFAULT, PYTEST_ASYNCIO, Inner

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


def compare(inner: Inner) -> dict[str, str]:
    """Outcomes with the plugin, after checking that nothing that passed without it
    fails with it."""
    without = outcomes(inner, "-p", "no:green_light")
    with_plugin = outcomes(inner)
    passed_without = {test for test, outcome in without.items() if outcome == "passed"}
    assert passed_without, f"nothing passed without the plugin: {without}"
    worse = {
        test: with_plugin.get(test, "missing")
        for test in passed_without
        if with_plugin.get(test) != "passed"
    }
    assert not worse, f"passed without the plugin, not with it: {worse}"
    return with_plugin


@pytest.mark.parametrize(
    ("mode", "fixture_default", "test_default", "distribution"),
    [
        # The setting pytest-asyncio's "loop scope is unset" warning asks for.
        ("auto", "function", None, "n2"),
        ("strict", "function", "function", "n0"),
        ("strict", None, None, "n0"),
        ("strict", "session", "session", "n0"),
    ],
)
def test_a_user_style_suite_passes_with_the_plugin_where_it_passes_without(
    inner: Inner,
    mode: str,
    fixture_default: str | None,
    test_default: str | None,
    distribution: str,
) -> None:
    inner.driver, inner.distribution, inner.with_anyio = mode, distribution, True
    inner.pytester.copy_example("user_suite")
    inner.pytester.makeini(
        user_ini(fixture_default, test_default, warnings_are_errors=True)
    )

    with_plugin = compare(inner)

    # More than "never worse": every test passes, the session engine written without
    # a loop_scope too, whatever the loop-scope defaults say.
    assert set(with_plugin.values()) == {"passed"}, with_plugin
    assert len(with_plugin) == 21


if HAS_EVENT_LOOP_FIXTURE:  # pytest-asyncio 1.0 removed it

    @pytest.mark.parametrize("suite", ["event_loop_requests", "event_loop_override"])
    @pytest.mark.parametrize("fixture_default", [None, "function"])
    def test_a_0_2x_era_suite_with_event_loop_passes_with_the_plugin(
        inner: Inner, suite: str, fixture_default: str | None
    ) -> None:
        inner.driver, inner.distribution, inner.with_anyio = "auto", "n2", True
        inner.pytester.copy_example(suite)
        # Such suites live with pytest-asyncio's deprecation warnings about event_loop.
        inner.pytester.makeini(
            user_ini(fixture_default, None, warnings_are_errors=False)
        )

        with_plugin = compare(inner)

        # With the plugin all pass, the session-scoped override (the 0.2x recipe for
        # one loop) included: it is the worker loop, which sync code gets too.
        assert set(with_plugin.values()) == {"passed"}, with_plugin
