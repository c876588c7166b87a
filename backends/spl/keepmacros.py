"""Macros kept as macros: an SPL rule written back with each macro call where it was, in place of
the stages the call expanded into, wherever those stages are unchanged.

A migration reads a security_content search (macros expanded), changes the IR (renames a field,
retargets an index), and writes SPL back. Written with its macros expanded, the search no
longer follows the customer's macro definitions (`` `sysmon` ``, `` `<name>_filter` ``);
:func:`write_keeping_macros` writes each call back instead, where its expansion is unchanged.

How: the rule's own text (``Rule.source_text``) is cut at its top-level pipes
(:func:`split_pipes`) and each command's stages found by reading the text up to it (a call's
expansion can hold pipes, so commands and stages do not line up one to one). A command that is
only macro calls (`` `security_content_ctime(firstTime)` ``, `` `x_filter` ``, which expands to
nothing) is written as written when the rule still holds its stages at the aligned place
(:class:`difflib.SequenceMatcher` over the stage lists: stages are hashable); a first command
that starts with calls (`` `sysmon` EventCode=1 ``) keeps them when the first filter still
starts with their conjuncts. Every other stage goes through :class:`backends.spl.emit.SplWriter`.

What it must not do: return text that does not read back (with the same macro table) to the
rule's stages. The result is checked by reading it; when it differs, ``None`` (the caller then
writes the search expanded), never a search that means something else.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from backends.spl.emit import SplWriter, search_text
from backends.spl.macros import MacroTable, strip_comments
from backends.spl.reader import read_spl_search
from ir.errors import RuleglotError
from ir.nodes import Filter, Rule, Stage, all_of, conjuncts

__all__ = ["split_pipes", "write_keeping_macros"]

#: One or more macro calls and nothing else (`` `a` `b(x, y)` ``).
_CALLS = re.compile(r"(?:\s*`[^`]*`)+\s*")
_LEADING_CALLS = re.compile(r"\s*((?:`[^`]*`\s*)+)")


def split_pipes(spl: str) -> list[str]:
    """The commands of an SPL search, split at ``|`` outside quotes, backticks and brackets."""
    out: list[str] = []
    depth, quote, start = 0, "", 0
    index = 0
    while index < len(spl):
        char = spl[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in '"`':
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth = max(depth - 1, 0)
        elif char == "|" and depth == 0:
            out.append(spl[start:index])
            start = index
        index += 1
    out.append(spl[start:])
    return [part.strip() for part in out if part.strip()]


@dataclass(frozen=True)
class _Command:
    """One top-level command of the source text and the stages it read as: ``stages[a:b]``."""

    text: str  # without its leading pipe
    start: int
    end: int
    piped: bool  # written after a pipe (else: the search terms that start the search)


def _commands(text: str, macros: MacroTable) -> tuple[tuple[Stage, ...], list[_Command]]:
    parts = split_pipes(text)
    out: list[_Command] = []
    before = 0
    for index, part in enumerate(parts):
        count = len(read_spl_search(" ".join(parts[: index + 1]), macros=macros))
        piped = part.startswith("|")
        out.append(_Command(part[1:].strip() if piped else part, before, count, piped))
        before = count
    return tuple(read_spl_search(text, macros=macros)), out


def write_keeping_macros(rule: Rule, macros: MacroTable) -> str | None:
    """``rule`` as SPL with its macro calls kept where their stages are unchanged; ``None``
    when the rule has no source text with macro calls, or the result would not read back to
    the rule's stages."""
    source = strip_comments(rule.source_text or "")
    if "`" not in source:
        return None
    try:
        original, commands = _commands(source, macros)
    except RuleglotError:
        return None
    stages = rule.stages
    moved = _alignment(original, stages)
    kept: dict[int, tuple[int, _Piece]] = {}  # new start -> (new end, the call)
    empty: dict[int, list[_Piece]] = {}  # new position -> calls expanding to nothing
    lead: str | None = None
    for number, command in enumerate(commands):
        calls = _CALLS.fullmatch(command.text)
        if calls is None:
            if number == 0:
                lead = _leading_calls(command, stages, macros)
            continue
        if command.start == command.end:
            at = _position(command.start, moved, len(original), len(stages))
            if at is not None:
                empty.setdefault(at, []).append(_Piece(command.text.strip(), not command.piped))
            continue
        start = moved.get(command.start)
        size = command.end - command.start
        if start is not None and all(
            moved.get(command.start + k) == start + k for k in range(size)
        ):
            kept[start] = (start + size, _Piece(command.text.strip(), not command.piped))
    if not kept and not empty and lead is None:
        return None
    text = _assemble(stages, kept, empty, lead)
    try:
        if tuple(read_spl_search(text, macros=macros)) != stages:
            return None
    except RuleglotError:
        return None
    return text


def _alignment(old: tuple[Stage, ...], new: tuple[Stage, ...]) -> dict[int, int]:
    """Old stage index -> new stage index, for the stages the two lists share in order."""
    moved: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)  # type: ignore[arg-type]
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            moved[block.a + k] = block.b + k
    return moved


def _position(old: int, moved: dict[int, int], old_len: int, new_len: int) -> int | None:
    """Where, in the new stages, the point before old stage ``old`` is (``None``: lost)."""
    if old == old_len:  # after the last stage (`<name>_filter`): after the last one still
        return new_len
    return moved.get(old)


def _leading_calls(
    command: _Command, stages: tuple[Stage, ...], macros: MacroTable
) -> str | None:
    """The first command ``` `m` terms```: the calls and the written rest of the first filter,
    when the rule's first stage still starts with the calls' conjuncts."""
    found = _LEADING_CALLS.match(command.text)
    if found is None or command.end - command.start < 1:
        return None
    first = stages[0]
    if not isinstance(first, Filter) or first.command != "search":
        return None
    try:
        own = read_spl_search(found.group(1), macros=macros)
    except RuleglotError:
        return None
    if len(own) != 1 or not isinstance(own[0], Filter):
        return None
    theirs, ours = conjuncts(own[0].expr), conjuncts(first.expr)
    if ours[: len(theirs)] != theirs:
        return None
    rest = ours[len(theirs) :]
    if not rest:
        return found.group(1).strip()
    text = search_text(all_of(list(rest)))
    if text is None:
        return None
    return f"{found.group(1).strip()} ({text})" if len(rest) == 1 else f"{found.group(1)}{text}"


@dataclass(frozen=True)
class _Piece:
    """A command's text, and whether it may start the search without a pipe (search terms)."""

    text: str
    bare: bool


def _assemble(
    stages: tuple[Stage, ...],
    kept: dict[int, tuple[int, _Piece]],
    empty: dict[int, list[_Piece]],
    lead: str | None,
) -> str:
    writer = SplWriter()
    pieces: list[_Piece] = []
    run: list[Stage] = []

    def flush() -> None:
        pieces.extend(_Piece(text, False) for text in writer.commands(run))
        run.clear()

    index = 0
    while index <= len(stages):
        if index in empty:
            flush()
            pieces.extend(empty[index])
        if index == len(stages):
            break
        if index in kept:
            flush()
            end, piece = kept[index]
            pieces.append(piece)
            index = end
            continue
        first = stages[index]
        if index == 0 and isinstance(first, Filter) and first.command == "search":
            text = lead if lead is not None else search_text(first.expr)
            if text is not None:
                pieces.append(_Piece(text, True))
                index += 1
                continue
        run.append(first)
        index += 1
    flush()
    if not pieces:
        return ""
    text = " | ".join(p.text for p in pieces)
    return text if pieces[0].bare else "| " + text
