"""A predicate on an extracted field, as a predicate on the event fields it is computed from.

Field profiles (:mod:`ir.fieldprofiles`) and the data-model profile (:mod:`ir.datamodels`)
compute fields from events (:class:`~ir.fieldprofiles.Extraction`: the first present source,
through a transform). A writer whose target language names the event's own fields (Sigma's
taxonomy: ``Image``, not ``process_name``) needs the same condition on the sources:
:func:`invert` gives it, exactly, or raises :class:`Inexact` with the nearest tree it knows
(for a lossy writer to use with a warning). The transforms' meaning stays in
``ir.fieldprofiles.TRANSFORMS``; this module only states what each means for a predicate.

Exact readings (``x`` a predicate's value, ``s`` a source; a field is *present* when not
absent and not JSON null, as :meth:`~ir.fieldprofiles.FieldProfile.apply` takes it):

* first present of ``s1, s2...``: ``p(s1) or (s1 is null and p(s2)) or ...``; ``null`` holds
  when every source is null, ``exists`` when one is not.
* ``copy``: the same predicate on the source.
* ``basename`` (the text after the last ``\\`` or ``/``): for ``x`` without a separator,
  ``eq x`` is ``s = x or s endswith '\\x' or s endswith '/x'``, ``endswith x`` is ``s
  endswith x``; ``startswith``, ``contains`` and wildcard patterns are a regular expression
  anchored after the last separator (``(?:^|[\\\\/])...$(?!\\n)``, each ``*``/``?`` a run of /
  one non-separator); a value holding a separator never holds. Uncased, the regular expression
  takes flag ``i``, except for ``i`` and ``s``, whose ``re`` case-folding also matches ``ı``,
  ``İ``, ``ſ`` where ``str.lower`` (the evaluator's rule) does not: they are written as cased
  classes ``(?-i:[iI])``. A non-ASCII letter in such a value, a regular expression or a
  comparison on a basename are :class:`Inexact`.
* ``constant`` c: ``p(c)`` decided now, so the predicate is "some source is present" or false.
* ``map`` (a table ``from=to``): the keys whose value holds, or the source itself when the
  predicate holds on none of the keys (else Inexact: "not a key" and the predicate would be
  tested on different values of a multi-valued field).
* ``prefix`` a: ``eq``/``startswith`` whose value starts with ``a`` is the same kind on the
  source with the rest; one that cannot start with ``a`` never holds; others are Inexact.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeAlias

from ir.evaluator import compile_predicate
from ir.events import Event
from ir.fieldprofiles import Extraction
from ir.nodes import (
    And,
    Expr,
    Kind,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
    Wildcard,
    all_of,
    any_of,
)

__all__ = ["Inexact", "Tree", "decide", "invert", "simplify"]

#: A filter tree, or a constant truth value (a predicate decided without the event).
Tree: TypeAlias = "Expr | bool"

_SEPARATORS = ("\\", "/")
#: Letters whose ``re`` IGNORECASE match differs from ``str.lower`` equality (checked over
#: every code point: ``i`` also matches ``ı``/``İ``, ``s`` also ``ſ``).
_FOLD_DIFFERS = {"i": "(?-i:[iI])", "s": "(?-i:[sS])"}
_AFTER_LAST_SEPARATOR = r"(?:^|[\\/])"
_NOT_SEPARATOR = r"[^\\/]"
_END = r"$(?!\n)"  # the end of the text, not before a final newline as ``$`` alone


class Inexact(Exception):
    """No tree on the sources means the same; ``nearest`` is the closest (or ``None``)."""

    def __init__(self, message: str, nearest: Tree | None = None) -> None:
        super().__init__(message)
        self.nearest = nearest


def invert(p: Predicate, x: Extraction) -> Tree:
    """The tree over ``x.sources`` holding on an event exactly when ``p`` holds on the field
    ``x`` computes from it; raises :class:`Inexact`."""
    span = p.span
    nulls: list[Expr] = [Predicate(s, Kind.NULL, None, span=span) for s in x.sources]
    if p.kind is Kind.NULL or (p.kind is Kind.EXISTS and p.value is False):
        return all_of(nulls, span=span)
    if p.kind is Kind.EXISTS:
        return Not(all_of(nulls, span=span), span=span)
    alternatives: list[Tree] = []
    for index, source in enumerate(x.sources):
        leaf = _leaf(p, x, source)
        if leaf is True:  # holds whenever this source is the present one
            leaf = Not(Predicate(source, Kind.NULL, None, span=span), span=span)
        alternatives.append(simplify_and([*nulls[:index], leaf]))
    return simplify_or(alternatives)


def _leaf(p: Predicate, x: Extraction, source: str) -> Tree:
    transform = x.transform
    if transform == "copy":
        return Predicate(source, p.kind, p.value, p.cased, span=p.span)
    if transform == "constant":
        return decide(p, x.argument)
    if transform == "basename":
        return _basename(p, source)
    if transform == "prefix":
        return _prefix(p, source, x.argument)
    if transform == "map":
        return _mapped(p, source, x.argument)
    raise Inexact(f"no inverse for transform {transform!r}")


def decide(p: Predicate, value: str) -> bool:
    """``p`` on a field holding ``value``, decided by the one evaluator."""
    probe = Predicate("v", p.kind, p.value, p.cased)
    return compile_predicate(probe, {})(Event.from_fields({"v": value}))


def _mapped(p: Predicate, source: str, table: str) -> Tree:
    """``map``: a source value equal (as text, cased) to a table key becomes its value; any
    other value is kept. So ``p`` holds for the keys whose value it holds for, and for the
    source itself when it is none of the keys."""
    pairs = [item.split("=", 1) for item in table.split()]
    keys = [Predicate(source, Kind.EQ, key, True, span=p.span) for key, _ in pairs]
    hits: list[Tree] = [k for k, (_, to) in zip(keys, pairs, strict=True) if decide(p, to)]
    kept = Predicate(source, p.kind, p.value, p.cased, span=p.span)
    if not any(decide(p, key) for key, _ in pairs):
        # p holds on no key, so a value p holds on is kept as it is: exact value by value
        return simplify_or([*hits, kept])
    # "p and not a key" must hold on one value; on a multi-valued field the two parts would
    # be tested on any value each
    raise Inexact("a predicate that also holds on a mapped value's original text",
                  simplify_or([*hits, simplify_and([kept, Not(any_of(keys), span=p.span)])]))


def _same_text(a: str, b: str, cased: bool) -> bool:
    return a == b if cased else a.lower() == b.lower()


def _anchored(pattern: str) -> bool:
    """Whether a regular expression may read where the text starts (``^``, ``\\A``, a
    lookbehind): the same expression searched in a longer text (the whole path) then need
    not match where it matched the file name. Otherwise a match in the file name is a match
    in the path, so the path's predicate holds on at least the same events. (``^`` in a
    class, ``[^\\\\]``, counts too: the answer only errs towards dropping.)"""
    return "^" in pattern or "\\A" in pattern or "(?<=" in pattern or "(?<!" in pattern


def _prefix(p: Predicate, source: str, prefix: str) -> Tree:
    value = p.value
    if p.kind in (Kind.EQ, Kind.STARTSWITH) and isinstance(value, str):
        if len(value) < len(prefix) and p.kind is Kind.STARTSWITH:
            return _same_text(prefix[: len(value)], value, p.cased)
        if not _same_text(value[: len(prefix)], prefix, p.cased):
            return False
        return Predicate(source, p.kind, value[len(prefix) :], p.cased, span=p.span)
    raise Inexact(f"a {p.kind} predicate on a field made by prefixing {prefix!r}")


def _basename(p: Predicate, source: str) -> Tree:
    value, span, cased = p.value, p.span, p.cased
    nearest = Predicate(source, p.kind, value, cased, span=span)
    if p.kind is Kind.EQ and isinstance(value, str):
        if any(sep in value for sep in _SEPARATORS):
            return False
        return any_of(
            [
                Predicate(source, Kind.EQ, value, cased, span=span),
                *(Predicate(source, Kind.ENDSWITH, sep + value, cased, span=span)
                  for sep in _SEPARATORS),
            ],  # fmt: skip
            span=span,
        )
    if p.kind is Kind.ENDSWITH and isinstance(value, str):
        if any(sep in value for sep in _SEPARATORS):
            return False
        return True if value == "" else Predicate(source, Kind.ENDSWITH, value, cased, span=span)
    parts: tuple[str | Wildcard, ...]
    if p.kind is Kind.STARTSWITH and isinstance(value, str):
        parts = (value, Wildcard.MANY)
    elif p.kind is Kind.CONTAINS and isinstance(value, str):
        parts = (Wildcard.MANY, value, Wildcard.MANY)
    elif p.kind is Kind.WILDCARD and isinstance(value, Pattern):
        parts = value.parts
    elif p.kind is Kind.REGEX and isinstance(value, Regex) and _anchored(value.pattern):
        # ``^x`` on the file name is not ``^x`` on the path (the path starts with the drive):
        # that "nearest" form would miss every event; no predicate keeps them all
        raise Inexact(f"an anchored {p.kind} predicate on a file name has no form on the path")
    else:
        raise Inexact(f"a {p.kind} predicate on a file name has no form on the path", nearest)
    literal = "".join(part for part in parts if isinstance(part, str))
    if any(sep in literal for sep in _SEPARATORS):
        return False
    if not cased and any(ord(c) > 127 and c.lower() != c.upper() for c in literal):
        raise Inexact("a non-ASCII letter: re's case-folding is not str.lower's", nearest)
    body = "".join(_regex_part(part, cased) for part in parts)
    pattern = _AFTER_LAST_SEPARATOR + body + _END
    return Predicate(source, Kind.REGEX, Regex(pattern, "" if cased else "i"), span=span)


def _regex_part(part: str | Wildcard, cased: bool) -> str:
    if part is Wildcard.MANY:
        return _NOT_SEPARATOR + "*"
    if part is Wildcard.ONE:
        return _NOT_SEPARATOR
    assert isinstance(part, str)
    if cased:
        return re.escape(part)
    return "".join(_FOLD_DIFFERS.get(c.lower(), re.escape(c)) for c in part)


# --- truth constants in trees ------------------------------------------------------------------


def simplify_and(args: Sequence[Tree]) -> Tree:
    """The conjunction, constants folded."""
    if any(a is False for a in args):
        return False
    kept = [a for a in args if not isinstance(a, bool)]
    return all_of(kept) if kept else True


def simplify_or(args: Sequence[Tree]) -> Tree:
    """The disjunction, constants folded."""
    if any(a is True for a in args):
        return True
    kept = [a for a in args if not isinstance(a, bool)]
    return any_of(kept) if kept else False


def simplify(expr: Expr, leaf: Callable[[Predicate], Tree]) -> Tree:
    """``expr`` with each predicate replaced by ``leaf(p)`` and constants folded
    (conditions are kept as they are)."""
    if isinstance(expr, Predicate):
        return leaf(expr)
    if isinstance(expr, Not):
        arg = simplify(expr.arg, leaf)
        return (not arg) if isinstance(arg, bool) else Not(arg, span=expr.span)
    if isinstance(expr, And):
        return simplify_and([simplify(a, leaf) for a in expr.args])
    if isinstance(expr, Or):
        return simplify_or([simplify(a, leaf) for a in expr.args])
    return expr
