"""What the plugin adds to test reports: the explanation of a failure it can explain,
and, for the promise, whether an async test's function ran.

Registered in a worker once that can matter: it has collected an async test (the
promise, pytest-asyncio's strict mode leaving one to pytest), or SQLAlchemy is imported
(``MissingGreenlet``). A run of sync tests that never imports SQLAlchemy does without:
a report hook is a call in each of a test's three phases.
"""

from __future__ import annotations

import pytest

from pytest_green_light import running_test, settings
from pytest_green_light.missing_greenlet import (
    find_missing_greenlet,
    missing_greenlet_report,
)


class ReportHook:
    """Registered as ``green_light_reports`` (``plugin.py`` decides when)."""

    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> pytest.TestReport | None:
        """A failure the plugin can explain gets its explanation as a section of its
        report.

        Not a wrapper: a phase that raised nothing costs one call, and pytest's own
        implementation makes its report. A failure's report is made here, as pytest
        makes it (``TestReport.from_item_and_call``), with the sections added.
        """
        if call.excinfo is None:  # passed (or skipped by a marker): nothing to explain
            if call.when == "call":  # whether the test's function ran, for the promise
                test = running_test.current_test.get()
                if test is not None:
                    test.body_ran = True
            return None
        if call.when == "call":
            running_test.note_failed_call(item, call.excinfo.value)
        if call.excinfo.errisinstance(pytest.skip.Exception):
            return None
        report = pytest.TestReport.from_item_and_call(item, call)
        if report.failed and item.config.pluginmanager.has_plugin("asyncio"):
            from pytest_green_light.with_pytest_asyncio import strict_mode

            hint = strict_mode.unhandled_async_hint(item, report)
            if hint is not None:
                report.sections.append(("pytest-green-light: strict mode", hint))
        error = find_missing_greenlet(call.excinfo.value)
        if error is not None:
            from pytest_green_light.with_pytest_asyncio.loop_scopes import (
                describe_driver,
            )

            plugin_settings = item.config.stash[settings.SETTINGS_KEY]
            report.sections.append(
                (
                    "pytest-green-light: MissingGreenlet",
                    missing_greenlet_report(
                        error,
                        loop_scope=plugin_settings.loop_scope,
                        sync_io=settings.item_settings(
                            item, plugin_settings.for_tests
                        ).sync_io,
                        driver=describe_driver(item.config),
                    ),
                )
            )
        return report
