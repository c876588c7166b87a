"""Python ``re`` patterns rewritten for Java's regex engine with the same meaning, or refused.

Spark's ``rlike`` runs ``java.util.regex`` (``Matcher.find``: an unanchored search, as the
evaluator's ``re.search``). The two engines share most syntax but not all meaning, so a pattern
is never passed through: it is parsed by Python's own parser (``re._parser``) and written back
atom by atom in a Java subset whose meaning is fixed:

* characters and classes become explicit code-point classes (``[\\x{41}-\\x{5A}]``), computed
  in Python: ``\\d``/``\\w``/``\\s`` are Python's Unicode classes (``str.isdecimal``,
  ``str.isalnum`` or ``_``, ``str.isspace``), which Java's ``\\d\\w\\s`` are not (ASCII);
* case-insensitive atoms (flag ``i``) become the set of characters Python's ``re`` accepts for
  them (checked against Python's compiled atom for every cased character), not Java's
  ``(?i)``, whose range folding differs (``[A-Z]`` and the Kelvin sign);
* ``^``, ``$``, ``\\A``, ``\\Z``, ``\\b``, ``\\B`` and ``.`` become explicit look-arounds and
  classes: Java's ``$`` also stops before ``\\r``/``\\u2028``, its multiline ``^`` does not match
  after a final newline, its ``\\b`` uses another word definition and ``\\B`` holds in an empty
  text, where Python's does not;
* groups are numbered as in Python (named ``gN`` in Java, whose names forbid ``_``).

Refused with an ``unsupported`` error naming the construct: conditional groups
(``(?(1)a|b)``, no Java equivalent), back-references under ``i`` (the engines fold them
differently), and the ``a``/``L`` flags.

Residual, documented: the classes are Python's (computed from its Unicode database), so the
engines agree on every character; what is left is Java's recursion limit: a repeated group
over a very long value can overflow Java's stack, which fails the Spark task loudly rather
than answering differently.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]
import re
import re._casefix as _casefix  # type: ignore[import-not-found]
import re._compiler as _compiler  # type: ignore[import-not-found]
import re._constants as C  # type: ignore[import-not-found]
import re._parser as _parser  # type: ignore[import-not-found]
from bisect import bisect_left, bisect_right
from functools import cache
from typing import Any

from ir.errors import RuleglotError, unsupported
from ir.nodes import Wildcard

MAX_CODE_POINT = 0x10FFFF
Ranges = tuple[tuple[int, int], ...]
_SURROGATES = (0xD800, 0xDFFF)


def _normalise(points: list[tuple[int, int]]) -> Ranges:
    points.sort()
    out: list[tuple[int, int]] = []
    for lo, hi in points:
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return _without_surrogates(tuple(out))


def _without_surrogates(ranges: Ranges) -> Ranges:
    """Java strings decoded from UTF-8 never hold lone surrogates; classes leave them out."""
    out: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if hi < _SURROGATES[0] or lo > _SURROGATES[1]:
            out.append((lo, hi))
            continue
        if lo < _SURROGATES[0]:
            out.append((lo, _SURROGATES[0] - 1))
        if hi > _SURROGATES[1]:
            out.append((_SURROGATES[1] + 1, hi))
    return tuple(out)


def _complement(ranges: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    start = 0
    for lo, hi in ranges:
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= MAX_CODE_POINT:
        out.append((start, MAX_CODE_POINT))
    return _without_surrogates(tuple(out))


def _from_points(points: list[int]) -> Ranges:
    return _normalise([(p, p) for p in points])


@cache
def _category(name: str) -> Ranges:
    """Python's Unicode ``\\d``, ``\\w``, ``\\s`` (``re`` on ``str`` patterns) as ranges."""
    tests = {
        "CATEGORY_DIGIT": str.isdecimal,
        "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
        "CATEGORY_SPACE": str.isspace,
    }
    negated = name.startswith("CATEGORY_NOT_")
    base = name.replace("_NOT_", "_")
    if base not in tests:
        raise unsupported(
            construct="regex category", message=f"character category {name} is not translated"
        )
    test = tests[base]
    ranges = _from_points([cp for cp in range(MAX_CODE_POINT + 1) if test(chr(cp))])
    return _complement(ranges) if negated else ranges


@cache
def _cased() -> tuple[int, ...]:
    """Characters that case-insensitive matching may treat differently from themselves."""
    extra = set(_casefix._EXTRA_CASES)
    for values in _casefix._EXTRA_CASES.values():
        extra.update(values)
    return tuple(
        cp
        for cp in range(MAX_CODE_POINT + 1)
        if _sre.unicode_iscased(cp) or cp in extra or _sre.unicode_tolower(cp) != cp
    )


def _contains(ranges: Ranges, cp: int) -> bool:
    index = bisect_right(ranges, (cp, MAX_CODE_POINT + 1)) - 1
    return index >= 0 and ranges[index][0] <= cp <= ranges[index][1]


def _class_items(items: list[tuple[Any, Any]]) -> tuple[Ranges, bool]:
    """The code points of an ``IN`` node's items (without case folding), and its negation."""
    points: list[tuple[int, int]] = []
    negate = False
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            points.append((av, av))
        elif op is C.RANGE:
            points.append((av[0], av[1]))
        elif op is C.CATEGORY:
            points.extend(_category(str(av)))
        else:
            raise unsupported(construct="regex class", message=f"class item {op} is not translated")
    return _normalise(points), negate


def _atom_ranges(op: Any, av: Any, ignorecase: bool) -> Ranges:
    """The characters one single-character atom (LITERAL, NOT_LITERAL, IN) matches."""
    if op is C.IN:
        positive, negate = _class_items(av)
        items = [(o, a) for o, a in av if o is not C.NEGATE]
    else:
        positive, negate = ((av, av),), op is C.NOT_LITERAL
        items = [(C.LITERAL, av)]
    if ignorecase:
        positive = _fold(tuple(items), positive)
    return _complement(positive) if negate else positive


@cache
def _fold_cached(items: tuple[tuple[Any, Any], ...], positive: Ranges) -> Ranges:
    state = _parser.State()
    state.flags = re.IGNORECASE | re.UNICODE
    node = _parser.SubPattern(state, [(C.IN, list(items))])
    compiled = _compiler.compile(node, state.flags)
    cased = _cased()
    kept = [(lo, hi) for lo, hi in positive]
    # Uncased characters of the class match as themselves; every cased character is asked.
    for cp in cased:
        if compiled.fullmatch(chr(cp)) is not None:
            kept.append((cp, cp))
    merged = _normalise(kept)
    removed = [
        cp for cp in cased if _contains(positive, cp) and compiled.fullmatch(chr(cp)) is None
    ]
    for cp in removed:
        merged = _subtract(merged, cp)
    return merged


def _fold(items: tuple[tuple[Any, Any], ...], positive: Ranges) -> Ranges:
    hashable = tuple((op, tuple(av) if isinstance(av, list) else av) for op, av in items)
    return _fold_cached(hashable, positive)


def _subtract(ranges: Ranges, cp: int) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if lo <= cp <= hi:
            if lo < cp:
                out.append((lo, cp - 1))
            if cp < hi:
                out.append((cp + 1, hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _char(cp: int) -> str:
    char = chr(cp)
    if char.isascii() and char.isalnum():
        return char
    return f"\\x{{{cp:X}}}"


def _members(ranges: Ranges) -> str:
    return "".join(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}" for lo, hi in ranges)


def java_class(ranges: Ranges) -> str:
    """A Java character class of exactly these code points.

    Java tests a class's ranges one after the other, so a class with many non-ASCII ranges
    (Python's word class) is written as its ASCII ranges plus an intersection of "non-ASCII"
    with the other ranges: an ASCII character, matching or not, is then decided after a few
    comparisons."""
    if not ranges:
        return "(?!)"
    ascii_part = tuple((lo, min(hi, 0x7F)) for lo, hi in ranges if lo <= 0x7F)
    wide = tuple((max(lo, 0x80), hi) for lo, hi in ranges if hi > 0x7F)
    if len(wide) <= 4:
        return "[" + _members(ranges) + "]"
    return f"[{_members(ascii_part)}[\\x{{80}}-\\x{{10FFFF}}&&[{_members(wide)}]]]"


def java_literal(text: str) -> str:
    """``text`` as a Java regex matching exactly it."""
    return "".join(_char(ord(c)) for c in text)


ANY_CHAR = java_class(_complement(()))
_NOT_NEWLINE = java_class(_complement(((10, 10),)))


def _word() -> str:
    return java_class(_category("CATEGORY_WORD"))


class _Writer:
    def __init__(self) -> None:
        self.out: list[str] = []

    def write(self, nodes: Any, flags: int) -> None:
        for op, av in nodes:
            self.node(op, av, flags)

    def sub(self, nodes: Any, flags: int) -> str:
        saved, self.out = self.out, []
        self.write(nodes, flags)
        text, self.out = "".join(self.out), saved
        return text

    def node(self, op: Any, av: Any, flags: int) -> None:
        ignorecase = bool(flags & re.IGNORECASE)
        emit = self.out.append
        if op in (C.LITERAL, C.NOT_LITERAL, C.IN):
            emit(java_class(_atom_ranges(op, av, ignorecase)))
        elif op is C.ANY:
            emit(ANY_CHAR if flags & re.DOTALL else _NOT_NEWLINE)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            low, high, item = av
            body = self.sub(item, flags)
            if not (len(item) == 1 and item[0][0] in (C.LITERAL, C.NOT_LITERAL, C.IN, C.ANY)):
                body = f"(?:{body})"
            if (low, high) == (0, C.MAXREPEAT):
                count = "*"
            elif (low, high) == (1, C.MAXREPEAT):
                count = "+"
            elif (low, high) == (0, 1):
                count = "?"
            elif high == C.MAXREPEAT:
                count = f"{{{low},}}"
            else:
                count = f"{{{low},{high}}}"
            suffix = {C.MAX_REPEAT: "", C.MIN_REPEAT: "?", C.POSSESSIVE_REPEAT: "+"}[op]
            emit(body + count + suffix)
        elif op is C.SUBPATTERN:
            group, add, remove, item = av
            if add & (re.ASCII | re.LOCALE):
                raise unsupported(
                    construct="regex flag",
                    message="the a/L flags (ASCII or locale classes) are refused",
                )
            inner = self.sub(item, (flags | add) & ~remove)
            emit(f"(?<g{group}>{inner})" if group else f"(?:{inner})")
        elif op is C.BRANCH:
            emit("(?:" + "|".join(self.sub(alt, flags) for alt in av[1]) + ")")
        elif op in (C.ASSERT, C.ASSERT_NOT):
            direction, item = av
            kind = {(C.ASSERT, 1): "?=", (C.ASSERT, -1): "?<=", (C.ASSERT_NOT, 1): "?!",
                    (C.ASSERT_NOT, -1): "?<!"}[(op, direction)]  # fmt: skip
            emit(f"({kind}{self.sub(item, flags)})")
        elif op is C.ATOMIC_GROUP:
            emit(f"(?>{self.sub(av, flags)})")
        elif op is C.AT:
            emit(self.anchor(str(av), flags))
        elif op is C.GROUPREF:
            if ignorecase:
                raise unsupported(
                    construct="regex backreference",
                    message="a back-reference under the i flag is refused: Python and Java fold "
                    "its case differently",
                )
            emit(f"\\k<g{av}>")
        elif op is C.GROUPREF_EXISTS:
            raise unsupported(
                construct="regex conditional group",
                message="(?(group)yes|no) has no Java equivalent",
            )
        else:
            raise unsupported(
                construct=f"regex {op}", message=f"regex construct {op} is not translated to Java"
            )

    @staticmethod
    def anchor(code: str, flags: int) -> str:
        multiline = bool(flags & re.MULTILINE)
        word = _word()
        table = {
            "AT_BEGINNING": "(?:\\A|(?<=\\n))" if multiline else "\\A",
            "AT_BEGINNING_STRING": "\\A",
            "AT_END": "(?=\\n|\\z)" if multiline else "(?=\\n?\\z)",
            "AT_END_STRING": "\\z",
            "AT_BOUNDARY": f"(?:(?<={word})(?!{word})|(?<!{word})(?={word}))",
            "AT_NON_BOUNDARY": f"(?!\\A\\z)(?:(?<={word})(?={word})|(?<!{word})(?!{word}))",
        }
        if code not in table:
            raise unsupported(
                construct=f"regex {code}", message=f"anchor {code} is not translated to Java"
            )
        return table[code]


_FLAG_LETTERS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


@cache
def to_java(pattern: str, flags: str = "") -> str:
    """The Java regex that ``Matcher.find`` matches on exactly the texts where
    ``re.search(pattern, text, flags)`` does (``flags``: Sigma's ``i``/``m``/``s``)."""
    value = 0
    for letter in flags:
        value |= _FLAG_LETTERS.get(letter, 0)
    try:
        parsed = _parser.parse(pattern, value)
    except re.error as exc:
        raise RuleglotError(f"invalid regular expression: {exc}", construct="regex") from exc
    if parsed.state.flags & (re.ASCII | re.LOCALE):
        raise unsupported(
            construct="regex flag", message="the a/L flags (ASCII or locale classes) are refused"
        )
    return _Writer().sub(parsed, parsed.state.flags)


def wildcard_to_java(parts: tuple[Any, ...]) -> str:
    """A :class:`ir.nodes.Pattern`'s parts (already lower-cased when uncased) as a Java regex
    that finds a whole-text match (``*`` any run, ``?`` one character, ``DOTALL``)."""
    body = "".join(
        f"{ANY_CHAR}*" if p is Wildcard.MANY else ANY_CHAR if p is Wildcard.ONE
        else java_literal(str(p))
        for p in parts
    )  # fmt: skip
    return f"\\A{body}\\z"


__all__ = ["to_java", "wildcard_to_java", "java_literal", "java_class", "bisect_left"]
