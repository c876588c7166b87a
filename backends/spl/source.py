"""Positions: where each character the SPL parser sees was written in the input file.

What this module owns
    * :class:`SourceFile`: the input text and path; line/column of an offset; positioned
      :class:`~ir.errors.RuleglotError` s whose line and column always lie inside the input (with
      ``source_line`` set, so the error prints a caret line).
    * :func:`scalar_offsets`: for a YAML scalar (plain, single- or double-quoted, literal ``|`` or
      folded ``>``), the file offset of every character of its value. PyYAML gives only the
      scalar's start and end; the value is aligned to the text between them: each value character
      is the next matching file character, skipping what YAML removes (quotes, the escape
      backslash, line breaks and indentation). Characters YAML produces (a folded line break, an
      escape like ``\\t``) map to the nearest file position.

What it must not do
    Know anything about SPL.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

import yaml

from ir.errors import RuleglotError, Span

__all__ = ["SourceFile", "scalar_offsets"]


class SourceFile:
    """The input text and path, and positioned errors inside it."""

    def __init__(self, text: str, path: str | None) -> None:
        self.text = text
        self.path = path
        self.lines = text.splitlines() or [""]
        self._starts = [0, *itertools.accumulate(map(len, text.splitlines(keepends=True)))]
        #: the offset just past each line's last character (where a clamped column lands)
        starts = self._starts[: len(self.lines)]
        self._ends = [start + len(line) for start, line in zip(starts, self.lines, strict=True)]

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of ``offset``, clamped inside the text."""
        if offset < 0:
            offset = 0
        index = bisect.bisect_right(self._starts, offset) - 1
        if index >= len(self.lines):
            index = len(self.lines) - 1
        # past a line's end (its line break, or the text's end) is the column just after it
        return index + 1, min(offset, self._ends[index]) - self._starts[index] + 1

    def span(self, start: int, end: int | None = None) -> Span:
        line, col = self.line_col(start)
        if end is None:
            return Span(line, col, self.path)
        end_line, end_col = self.line_col(end)
        return Span(line, col, self.path, end_line, end_col)

    def error(
        self,
        message: str,
        category: str,
        offset: int | None = None,
        construct: str | None = None,
        notes: Sequence[str] = (),
    ) -> RuleglotError:
        exc = RuleglotError(message, category=category, path=self.path, construct=construct)
        exc.notes.extend(notes)
        line, col = self.line_col(offset or 0)
        exc.line, exc.col = line, col
        return self.clamp(exc)

    def clamp(self, exc: RuleglotError) -> RuleglotError:
        """Move the error's position inside the text and set its caret line."""
        exc.path = exc.path or self.path
        line = min(max(exc.line or 1, 1), len(self.lines))
        text_line = self.lines[line - 1]
        col = exc.col if exc.line == line and exc.col is not None else 1
        exc.line, exc.col = line, min(max(col, 1), len(text_line) + 1)
        exc.source_line = text_line
        return exc


_SKIPPABLE = frozenset(" \t\r\n'\"\\")
_HEX = {"x": 2, "u": 4, "U": 8}


def scalar_offsets(text: str, node: yaml.ScalarNode) -> list[int]:
    """The file offset of each character of ``node.value``, plus one for its end."""
    value = node.value
    start, end = node.start_mark.index, node.end_mark.index
    style = node.style
    pos = start
    if style in ("|", ">"):  # skip the block header line ("|", ">-", "|2+" ...)
        newline = text.find("\n", start, end)
        pos = end if newline < 0 else newline + 1
    elif style in ("'", '"'):
        pos = start + 1
    offsets: list[int] = []
    index, length = 0, len(value)
    while index < length:
        run = _common_run(value, index, text, pos, end)
        if run:  # characters written as they are: each is the next file character
            offsets.extend(range(pos, pos + run))
            pos += run
            index += run
            continue
        char = value[index]
        index += 1
        probe = pos
        found = -1
        while probe < end:
            here = text[probe]
            if here == char:
                found = probe
                break
            if here not in _SKIPPABLE:
                break
            probe += 1
        if found >= 0:
            offsets.append(found)
            pos = found + 1
            continue
        offsets.append(min(pos, max(end - 1, start)))
        if style == '"':  # a character YAML made from an escape: step over the escape
            probe = pos
            while probe < end and text[probe] in " \t\r\n":
                probe += 1
            if probe + 1 < end and text[probe] == "\\":
                pos = probe + 2 + _HEX.get(text[probe + 1], 0)
    offsets.append(min(pos, end))
    return offsets


def _common_run(value: str, index: int, text: str, pos: int, end: int) -> int:
    """How many characters from ``value[index]`` on equal those from ``text[pos]`` on (within
    ``end``, and the value's current line)."""
    if pos >= end or value[index] != text[pos]:
        return 0
    newline = value.find("\n", index)
    limit = min((len(value) if newline < 0 else newline + 1) - index, end - pos)
    if text.startswith(value[index : index + limit], pos):
        return limit
    low, high = 1, limit - 1  # value[index:index+low] matches; more than high does not
    while low < high:
        middle = (low + high + 1) // 2
        if text.startswith(value[index : index + middle], pos):
            low = middle
        else:
            high = middle - 1
    return low
