"""The test harness itself: an inner run that hangs fails its test, with its output."""

from __future__ import annotations

import pytest

from conftest import Inner


def test_a_hung_inner_run_is_killed_and_fails_with_its_output(inner: Inner) -> None:
    inner.timeout = 3
    inner.pytester.makepyfile(
        """
        import time

        def test_hangs():
            print("about to hang", flush=True)
            time.sleep(60)
        """
    )

    with pytest.raises(pytest.fail.Exception) as failed:
        inner.run("-s")

    assert "3 second timeout expired running:" in str(failed.value)
    assert "about to hang" in str(failed.value)
