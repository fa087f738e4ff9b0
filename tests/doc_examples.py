"""The runnable examples of README.md and docs/*.md, read from the Markdown.

An example starts with a comment that names it and says how it runs::

    <!-- example quickstart: modes=strict,auto,none outcome=passed=3 -->

and takes every following code block whose first line names a file (``# conftest.py``,
``# pytest.ini``), up to the next example or heading. Options: ``modes`` (``strict``,
``auto``: pytest-asyncio's modes; ``none``: without it), ``outcome`` (what
``assert_outcomes`` gets), ``args`` (added to the pytest command line) and ``expect``
(lines the output must match, separated by ``|``). A Python, ini or TOML block that is
not meant to run says so on the line before it: ``<!-- not run -->``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

EXAMPLE = re.compile(r"<!-- example (?P<name>[\w-]+): (?P<spec>.*) -->")
NOT_RUN = "<!-- not run -->"
FENCE = re.compile(r"^```(?P<lang>\w*)\s*$")
FILE_LINE = re.compile(r"^[#;] (?P<path>[\w./-]+\.(?:py|ini|toml|cfg))\b")
RUNNABLE_LANGUAGES = {"python", "ini", "toml"}
MODES = ("strict", "auto", "none")


@dataclass
class Example:
    page: str
    name: str
    modes: tuple[str, ...]
    outcome: dict[str, int]
    args: tuple[str, ...] = ()
    expect: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.page}:{self.name}"


def _parse_spec(page: str, name: str, spec: str) -> Example:
    options = dict(token.split("=", 1) for token in shlex.split(spec))
    modes = tuple(options.pop("modes").split(","))
    unknown_modes = set(modes) - set(MODES)
    if unknown_modes:
        raise ValueError(f"{page}: example {name}: unknown modes {unknown_modes}")
    outcome = {
        kind: int(count)
        for kind, count in (
            item.split("=") for item in options.pop("outcome").split(",")
        )
    }
    example = Example(
        page,
        name,
        modes,
        outcome,
        args=tuple(shlex.split(options.pop("args", ""))),
        expect=tuple(
            line.strip() for line in options.pop("expect", "").split("|") if line
        ),
    )
    if options:
        raise ValueError(f"{page}: example {name}: unknown options {sorted(options)}")
    return example


def read_examples(path: Path, page: str) -> tuple[list[Example], list[str]]:
    """The examples of one page, and the runnable-looking blocks that belong to none
    and are not marked ``not run`` (as ``page:line`` strings)."""
    examples: list[Example] = []
    unclaimed: list[str] = []
    current: Example | None = None
    previous = ""  # the last non-blank line outside code blocks
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        if fence is None:
            header = EXAMPLE.match(line.strip())
            if header:
                current = _parse_spec(page, header["name"], header["spec"])
                examples.append(current)
            elif line.startswith("#"):
                current = None
            if line.strip():
                previous = line.strip()
            index += 1
            continue
        end = next(
            i for i in range(index + 1, len(lines)) if lines[i].startswith("```")
        )
        body = lines[index + 1 : end]
        if fence["lang"] in RUNNABLE_LANGUAGES and previous != NOT_RUN:
            named = FILE_LINE.match(body[0]) if body else None
            if current is not None and named:
                current.files[named["path"]] = "\n".join(body) + "\n"
            else:
                unclaimed.append(f"{page}:{index + 1}")
        previous = "```"
        index = end + 1
    return examples, unclaimed
