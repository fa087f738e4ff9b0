"""Every example in README.md and docs/ runs, in every mode it claims, with and without
xdist: an example that stops working fails the suite.

`scripts/test` runs each example once (its first mode, without xdist); the nox session
`docs` runs them all, in a virtualenv with only the published extras.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import Inner
from doc_examples import Example, read_examples

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DRIVER_OF_MODE = {"strict": "strict", "auto": "auto", "none": "green-light"}


def _read_all() -> tuple[list[Example], list[str]]:
    examples: list[Example] = []
    unclaimed: list[str] = []
    for path in PAGES:
        page_examples, page_unclaimed = read_examples(path, str(path.relative_to(ROOT)))
        examples += page_examples
        unclaimed += page_unclaimed
    return examples, unclaimed


EXAMPLES, UNCLAIMED = _read_all()


def _cases() -> list[Any]:
    return [
        pytest.param(
            example,
            mode,
            distribution,
            id=f"{example.id}-{mode}-{distribution}",
            marks=()
            if (mode, distribution) == (example.modes[0], "n0")
            else pytest.mark.every_combination,
        )
        for example in EXAMPLES
        for mode in example.modes
        for distribution in ("n0", "n2")
    ]


def test_every_runnable_block_is_an_example_or_marked_not_run() -> None:
    assert not UNCLAIMED, (
        "Python/ini/TOML blocks neither in an example (first line '# <file name>' "
        "after an <!-- example ... --> comment) nor marked <!-- not run -->: "
        + ", ".join(UNCLAIMED)
    )
    assert all(example.files for example in EXAMPLES), [
        example.id for example in EXAMPLES if not example.files
    ]
    assert len({example.id for example in EXAMPLES}) == len(EXAMPLES)


@pytest.mark.parametrize(("example", "mode", "distribution"), _cases())
def test_example_runs_as_documented(
    inner: Inner, example: Example, mode: str, distribution: str
) -> None:
    inner.driver, inner.distribution = DRIVER_OF_MODE[mode], distribution
    # The example's own ini file (if any) is the only one, as in a user's project.
    (inner.pytester.path / "tox.ini").unlink()
    for name, text in example.files.items():
        path = inner.pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    result = inner.run(*example.args)

    result.assert_outcomes(**example.outcome)
    if example.expect:
        result.stdout.fnmatch_lines(list(example.expect))


def _block_after(page: Path, first_line: str) -> str:
    """The code block of ``page`` whose first line is ``first_line``."""
    text = page.read_text()
    start = text.index(f"```python\n{first_line}\n") + len("```python\n")
    return text[start : text.index("```", start)]


def test_the_alembic_example_rebuilds_when_a_revision_is_added(inner: Inner) -> None:
    """docs/databases.md: migrated once, reused, migrated again after a new revision."""
    (example,) = [e for e in EXAMPLES if e.id == "docs/databases.md:alembic"]
    inner.distribution = "n2"
    (inner.pytester.path / "tox.ini").unlink()
    for name, text in example.files.items():
        path = inner.pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def run(how: str) -> None:
        result = inner.run()
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines([f"green-light database: *; template *{how}*"])

    run("built once in * s")
    run("reused (fingerprint 0002)")
    revision = "# alembic/versions/0003_user_email.py"
    page = ROOT / "docs" / "databases.md"
    (inner.pytester.path / revision[2:]).write_text(_block_after(page, revision))
    run("built once in * s")
    run("reused (fingerprint 0003)")
