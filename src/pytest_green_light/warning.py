"""The warning the plugin gives where it acted on the user's behalf."""

from __future__ import annotations

import pytest


class GreenLightWarning(pytest.PytestWarning):
    """Something pytest-green-light did on the user's behalf that they should know."""
