"""Positions: where each character the SPL parser sees was written in the input file.

What this module owns
    * :func:`scalar_offsets`: for a YAML scalar (plain, single- or double-quoted, literal ``|`` or
      folded ``>``), the file offset of every character of its value. PyYAML gives only the
      scalar's start and end; the value is aligned to the text between them: each value character
      is the next matching file character, skipping what YAML removes (quotes, the escape
      backslash, line breaks and indentation). Characters YAML produces (a folded line break, an
      escape like ``\\t``) map to the nearest file position.

The input text, its lines and positioned errors are :class:`ir.errors.SourceText`, which the
Sigma reader uses too (one clamping rule, one caret).

What it must not do
    Know anything about SPL.
"""

from __future__ import annotations

import yaml

__all__ = ["scalar_offsets"]


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
