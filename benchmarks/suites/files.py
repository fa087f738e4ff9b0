"""Writing a suite: its files, the pytest.ini most suites share, a template over files."""

from __future__ import annotations

import textwrap
from pathlib import Path

INI = """\
[pytest]
asyncio_mode = auto
filterwarnings = ignore::DeprecationWarning
"""


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text))
    return directory


def split(stem: str, template: str, count: int, parts: int = 10) -> dict[str, str]:
    """The same template over ``parts`` files (so xdist has files to spread)."""
    return {
        f"{stem}_{i}.py": template.format(count=count // parts) for i in range(parts)
    }
