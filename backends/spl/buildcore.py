"""The SPL builder's base (:class:`BuilderBase`): positions and errors in the input file, a
command's generic arguments and options, and the small helpers every command family shares
(unquoting, numbers, wildcards, lark tree access).

The builder is split by command family, each a subclass of the one before: this module, then
:mod:`backends.spl.buildsearch` (search terms, where, eval, regex/rex),
:mod:`backends.spl.buildcommands` (stats, tstats and the other modelled commands), and
:class:`backends.spl.builder.Builder` (the table from the grammar's stage rule to its builder).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from lark import Token, Tree

from ir.errors import RuleglotError, SourceText, Span
from ir.functions import pcre_to_python
from ir.nodes import (
    Stage,
    Wildcard,
)

PRECEDENCES = ("manual", "and-first")


# --- small value helpers ---------------------------------------------------------------------


def unescape(text: str) -> str:
    """SPL quoted-string escapes: ``\\\\`` is one backslash, ``\\"`` a quote; a backslash before
    any other character is kept with it (Search Manual, "Backslashes": only the backslash itself
    needs escaping; ``*`` cannot be escaped, so ``\\*`` is a backslash then a wildcard)."""
    if "\\" not in text:
        return text
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in '\\"':
            out.append(text[index + 1])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def dequote(text: str) -> str:
    """A token's text without its quotes: ``"x"`` unescaped, ``'x'`` as written."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return unescape(text[1:-1])
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    return text


_PIECE = re.compile(r'"((?:[^"\\]|\\.)*)"|([^"]+)', re.S)


def _joined(text: str) -> str:
    """One argument written as quoted and unquoted pieces (grammar ``MIXED``): the pieces
    joined, each quoted one without its quotes and unescaped, as Splunk's argument tokenizer
    reads ``(?<ioc>"(?i)\\S+")`` (``(?<ioc>(?i)\\S+)``)."""
    return "".join(
        unescape(m.group(1)) if m.group(1) is not None else m.group(2)
        for m in _PIECE.finditer(text)
    )


INT = re.compile(r"-?(?:0|[1-9]\d*)")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def number_value(text: str) -> int | float | None:
    if INT.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        return float(text)
    return None


def star_parts(text: str) -> list[str | Wildcard]:
    """Search-value text split at ``*`` (the only wildcard; ``?`` is a literal)."""
    parts: list[str | Wildcard] = []
    for index, piece in enumerate(text.split("*")):
        if index:
            parts.append(Wildcard.MANY)
        parts.append(piece)
    return parts


def like_parts(text: str) -> list[str | Wildcard]:
    """``like`` pattern: ``%`` is any run of characters, ``_`` exactly one."""
    return [Wildcard.MANY if c == "%" else Wildcard.ONE if c == "_" else c for c in text]


def python_regex(pattern: str) -> str | None:
    """A PCRE pattern (SPL's regex flavour) in Python ``re`` syntax with the same meaning, or
    ``None`` when Python cannot compile it: :func:`ir.functions.pcre_to_python`, the one
    reading of SPL's regexes (eval's ``match`` reads them by it too; this one renamed named
    groups only, so ``where match(f, "[[:digit:]]x")`` and ``\\Z`` meant Python's reading in a
    filter and PCRE's in an ``if``)."""
    try:
        return _runnable_regex(pattern)
    except _NOT_RUNNABLE:
        return None


#: What Python's ``re`` (and the rewriting before it) raises for a pattern it cannot run.
_NOT_RUNNABLE = (re.error, OverflowError, RecursionError, ValueError, IndexError)


def _runnable_regex(pattern: str) -> str:
    """``pattern`` rewritten by :func:`ir.functions.pcre_to_python` and compiled once; raises
    one of :data:`_NOT_RUNNABLE` (the one check behind ``python_regex`` and ``check_regex``)."""
    converted = pcre_to_python(pattern)
    re.compile(converted)
    return converted


#: eval functions whose argument at this index is a PCRE pattern (SPL reference, "Text functions",
#: "Comparison and Conditional functions")
REGEX_ARGUMENT = {"match": 1, "replace": 1}



# --- generic command arguments ---------------------------------------------------------------


@dataclass
class Arg:
    """One argument of a command read with the generic ``args`` rule."""

    kind: str  # option, word, quoted, call, comma
    text: str  # word (quotes removed), option key, function name
    offset: int
    value: str | None = None  # option value
    args: list[Arg] = field(default_factory=list)  # call arguments

    def is_word(self, *names: str) -> bool:
        return self.kind == "word" and self.text.lower() in names




# --- tree helpers ----------------------------------------------------------------------------


def op_text(token: Token) -> str:
    text = str(token)
    return text.upper() if token.type in ("EAND", "EOR", "EXOR", "ELIKE") else text


def tok(node: Any) -> Token:
    """``node``, which the grammar makes a token."""
    assert isinstance(node, Token), node
    return node


def kw(tree: Tree[Any]) -> Token:
    """The keyword token a command's rule starts with."""
    return tok(tree.children[0])


def tree_child(tree: Tree[Any], name: str) -> Any:
    for child in tree.children:
        if isinstance(child, Tree) and child.data == name:
            return child
    return None


def tree_token(tree: Tree[Any], type_: str) -> Token | None:
    for child in tree.children:
        if isinstance(child, Token) and child.type == type_:
            return child
    return None


def bounds(node: Any) -> tuple[int | None, int | None]:
    """Where a token or a subtree starts and ends in the expanded text: from its first and last
    token, found on demand (lark's ``propagate_positions`` would store them on every node, and
    that costs two fifths of the parse)."""
    if isinstance(node, Token):
        return node.start_pos, node.end_pos
    first = _edge_token(node.children, last=False)
    if first is None:
        return None, None
    last = _edge_token(node.children, last=True)
    assert last is not None
    return first.start_pos, last.end_pos


def _edge_token(children: list[Any], last: bool) -> Token | None:
    """The first (or ``last``) token under these children (``None`` placeholders and empty
    subtrees hold none)."""
    for child in reversed(children) if last else children:
        if isinstance(child, Token):
            return child
        if isinstance(child, Tree):
            found = _edge_token(child.children, last)
            if found is not None:
                return found
    return None


class BuilderBase:
    """Positions, errors and generic arguments of one parsed pipeline."""

    def __init__(
        self, source: SourceText, offsets: Sequence[int], text: str, precedence: str
    ) -> None:
        self.source = source
        self.offsets = offsets
        self.text = text
        self.or_first = precedence == "manual"

    # --- what Builder (backends/spl/builder.py) defines: the grammar's stage table

    def pipeline(self, tree: Tree[Any]) -> list[Stage]:
        """The stages of a pipeline (a subsearch's too): :meth:`Builder.pipeline`."""
        raise NotImplementedError

    def stage(self, tree: Tree[Any]) -> list[Stage]:
        """The stages one command builds: :meth:`Builder.stage`."""
        raise NotImplementedError

    # --- positions and errors

    def file_offset(self, offset: int | None) -> int:
        if offset is None or not self.offsets:
            return self.offsets[-1] if self.offsets else 0
        return self.offsets[min(max(offset, 0), len(self.offsets) - 1)]

    def span(self, start: int | None, end: int | None = None) -> Span:
        if end is None:
            return self.source.offset_span(self.file_offset(start))
        return self.source.offset_span(self.file_offset(start), self.file_offset(end))

    def node_span(self, node: Tree[Any] | Token) -> Span:
        start, end = bounds(node)
        return self.span(start, end)

    def error(
        self, message: str, category: str, offset: int | None, construct: str | None = None
    ) -> RuleglotError:
        return self.source.error(
            message, category, self.source.offset_span(self.file_offset(offset)), construct
        )

    def fail(
        self, message: str, category: str, offset: int | None, construct: str | None = None
    ) -> NoReturn:
        raise self.error(message, category, offset, construct)

    def argval(self, node: Any) -> str:
        token = node.children[0] if isinstance(node, Tree) else node
        if isinstance(token, Token) and token.type == "MIXED":
            return _joined(str(token))
        return dequote(str(token))

    def check_regex(self, pattern: str, offset: int | None) -> None:
        """Refuse, where it is read, a PCRE pattern that the evaluator cannot run with the same
        meaning: :func:`ir.functions.pcre_to_python` rewrites what has a Python equivalent
        (named groups, ``\\Q..\\E``, ``\\z``, inline options...); what Python's ``re`` then
        still cannot compile (``\\C``, one code unit; ``\\X``; ``(?R)`` recursion; ``\\p{..}``)
        has none (PCRE2 ``pcre2pattern``)."""
        try:
            _runnable_regex(pattern)
        except _NOT_RUNNABLE as exc:
            self.fail(
                f"regex {pattern!r}: {exc}; invalid, or a PCRE construct with no equivalent "
                "that ruleglot's evaluator can run with the same meaning",
                "unsupported",
                offset,
                "regex",
            )

    def field_pairs(self, args: list[Arg], construct: str) -> list[tuple[str, str]]:
        """``a [AS b] c [AS d]`` as (a, b) pairs (b defaults to a)."""
        pairs: list[tuple[str, str]] = []
        index = 0
        while index < len(args):
            arg = args[index]
            if arg.kind not in ("word", "quoted") or arg.is_word("as"):
                self.fail(f"{construct}: expected a field name", "invalid", arg.offset, construct)
            if index + 1 < len(args) and args[index + 1].is_word("as"):
                if index + 2 >= len(args):
                    self.fail(
                        f"{construct}: AS needs a name",
                        "invalid",
                        args[index + 1].offset,
                        construct,
                    )
                pairs.append((arg.text, args[index + 2].text))
                index += 3
            else:
                pairs.append((arg.text, arg.text))
                index += 1
        return pairs

    def options_and_fields(
        self, tree: Tree[Any], command: str
    ) -> tuple[tuple[tuple[str, str], ...], list[str]]:
        """A command's ``key=value`` options and its field words, in order."""
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        options = tuple((a.text, a.value or "") for a in args if a.kind == "option")
        fields = []
        for arg in args:
            if arg.kind in ("word", "quoted"):
                fields.append(arg.text)
            elif arg.kind != "option":
                self.fail(f"{command} takes options and fields", "invalid", arg.offset, command)
        return options, fields

    def subpipe(self, tree: Tree[Any]) -> list[Stage]:
        """The stages of a command's bracketed subpipeline (appendpipe, foreach)."""
        sub = tree_child(tree, "subpipe")
        assert sub is not None
        stages: list[Stage] = []
        for child in sub.children:
            if isinstance(child, Tree):
                stages.extend(self.stage(child))
        return stages

    # --- argument helpers

    def args(self, tree: Any) -> list[Arg]:
        out: list[Arg] = []
        if not isinstance(tree, Tree):
            return out
        for child in tree.children:
            if not isinstance(child, Tree):
                continue
            first = child.children[0] if child.children else None
            offset = bounds(child)[0] or 0
            if child.data == "a_comma":
                out.append(Arg("comma", ",", offset))
            elif child.data == "a_option":
                assert isinstance(first, Token)
                key = str(first)[:-1].rstrip()
                out.append(Arg("option", key, offset, self.argval(child.children[1])))
            elif child.data == "a_word":
                out.append(Arg("word", dequote(str(first)), offset))
            elif child.data == "a_quoted":
                out.append(Arg("quoted", dequote(str(first)), offset))
            elif child.data == "a_mixed":
                out.append(Arg("quoted", _joined(str(first)), offset))
            elif child.data == "a_call":
                out.append(Arg("call", str(first), offset, args=self.args(child.children[1])))
        return out

    def options(self, args: list[Arg], known: Sequence[str], command: str) -> dict[str, str]:
        options: dict[str, str] = {}
        for arg in args:
            if arg.kind != "option":
                continue
            key = arg.text.lower()
            if key not in known:
                self.fail(
                    f"{command} option {arg.text!r} is not supported (known: {', '.join(known)})",
                    "unsupported",
                    arg.offset,
                    command,
                )
            options[key] = arg.value or ""
        return options

    def int_option(
        self,
        options: dict[str, str],
        key: str,
        default: int | None,
        args: list[Arg],
        command: str,
    ) -> Any:
        if key not in options:
            return default
        try:
            return int(options[key])
        except ValueError:
            offset = next((a.offset for a in args if a.kind == "option" and a.text == key), None)
            self.fail(f"{command} {key}= takes a whole number", "invalid", offset, command)
