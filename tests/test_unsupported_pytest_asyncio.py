"""Below pytest-asyncio 0.24 the run stops once, before collection, with one line.

Collected only where such a pytest-asyncio is installed: the nox session
``unsupported_pytest_asyncio``, whose outer run goes without the plugin
(``-p no:green_light``), the way out the line names.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest

from conftest import Inner


@pytest.mark.parametrize("distribution", ["n0", "n2"])
def test_the_run_stops_with_one_line_naming_version_range_and_way_out(
    inner: Inner, distribution: str
) -> None:
    inner.driver, inner.distribution = "auto", distribution
    inner.pytester.makepyfile("def test_sync(): pass")

    result = inner.run()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.stderr.lines if line.strip()] == [
        "ERROR: pytest-green-light needs pytest-asyncio 0.24 or later, and "
        f"pytest-asyncio {version('pytest-asyncio')} is installed. Upgrade it (pip "
        "install 'pytest-asyncio>=0.24'), or run without pytest-green-light: "
        "-p no:green_light."
    ]
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    assert "collected" not in output

    inner.run("-p", "no:green_light").assert_outcomes(passed=1)
