"""The plugin's own runner for async tests (pytest-asyncio absent or disabled)."""

from __future__ import annotations

import pytest

from conftest import Inner


@pytest.mark.compat
def test_async_hypothesis_tests_run_each_example_on_the_worker_loop(
    inner: Inner,
) -> None:
    inner.driver, inner.plugins = "green-light", ("hypothesispytest",)
    inner.pytester.makepyfile(
        test_properties="""
        import asyncio
        import pytest
        from hypothesis import given, settings, strategies as st
        from facts import record


        @settings(max_examples=5, database=None)
        @given(st.integers())
        async def test_unmarked(n):
            await asyncio.sleep(0)
            record("unmarked", n=n)


        @pytest.mark.asyncio
        @settings(max_examples=5, database=None)
        @given(st.integers())
        async def test_marked(n):
            await asyncio.sleep(0)
            record("marked", n=n)


        def test_sync_after():
            record("sync")
        """
    )

    result = inner.run()

    result.stdout.fnmatch_lines(["plugins: *hypothesis*"])
    result.assert_outcomes(passed=3)
    facts = inner.facts()
    assert sum(f["test"] == "unmarked" for f in facts) == 5
    assert sum(f["test"] == "marked" for f in facts) == 5
    assert len({f["loop"] for f in facts}) == 1  # the worker loop throughout
