"""The fenced code blocks of the product page and the reference pages, found by file and first
line, so that each test that executes one reads it from the page itself (and a block edited or
added there is what the tests run)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = ("README.md", "studies/README.md", "analysis/README.md", "paretoul/README.md")
"""The pages whose every code block a test executes (``tests/test_docs.py`` checks the list)."""

_FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.S | re.M)


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    text: str
    """The block's text, its indentation removed."""

    @property
    def first(self) -> str:
        """The first line that is not blank, stripped."""
        return next((ln.strip() for ln in self.text.splitlines() if ln.strip()), "")

    def __str__(self) -> str:
        return f"{self.page}:{self.line} ({self.lang or 'plain'}) {self.first[:60]!r}"


def blocks(pages: tuple[str, ...] = PAGES) -> list[Block]:
    """Every fenced block of ``pages``, in order."""
    out = []
    for page in pages:
        text = (REPO / page).read_text()
        for m in _FENCE.finditer(text):
            indent = len(m.group(1))
            body = "\n".join(ln[indent:] for ln in m.group(3).splitlines())
            out.append(Block(page, text[: m.start()].count("\n") + 1, m.group(2), body + "\n"))
    return out


def block(page: str, starts: str) -> Block:
    """The one block of ``page`` whose first line starts with ``starts``."""
    found = [b for b in blocks((page,)) if b.first.startswith(starts)]
    if len(found) != 1:
        raise LookupError(f"{page}: {len(found)} blocks start with {starts!r}")
    return found[0]
