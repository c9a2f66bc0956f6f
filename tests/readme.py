"""The README as the tests read it: its fenced blocks and the answers its comments promise.

A shell block's comments say what the commands print: a line ``# text`` after a command,
or ``command   # text`` on the same line; ``…`` stands for whatever varies (ids, tokens,
times). A ``json`` block right after a shell block is what that block prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Block:
    """A fenced block of the README: its language, its text, and a JSON block right after."""

    lang: str
    text: str
    answer: str | None = None

    @property
    def key(self) -> str:
        """Its first line: how a test names a block."""
        return self.text.splitlines()[0].strip()

    def promised(self) -> list[str]:
        """What its comments say the commands print, in order."""
        found = []
        for line in self.text.splitlines():
            stripped = line.strip()
            if stripped.startswith("# "):
                found.append(stripped[2:])
            elif " # " in line and not stripped.startswith("#"):
                found.append(line.split(" # ", 1)[1].strip())
        return found


def blocks(text: str | None = None) -> list[Block]:
    """The shell blocks of the README (``bash``), each with the ``json`` block after it."""
    text = README.read_text() if text is None else text
    fenced = [(m.group(1), m.group(2), m.start(), m.end()) for m in _FENCE.finditer(text)]
    found = []
    for i, (lang, body, _, end) in enumerate(fenced):
        if lang != "bash":
            continue
        follows = fenced[i + 1] if i + 1 < len(fenced) else None
        answer = follows[1] if follows and follows[0] == "json" and follows[2] == end else None
        found.append(Block(lang, body, answer))
    return found


def shows(output: str, promise: str) -> bool:
    """Whether ``output`` holds ``promise``, each ``…`` standing for anything."""
    at = 0
    for piece in promise.split("…"):
        at = output.find(piece, at)
        if at < 0:
            return False
        at += len(piece)
    return True
