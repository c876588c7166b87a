"""IR filter trees as Spark SQL over canonical event rows.

Every predicate kind of :mod:`ir.nodes` becomes a boolean Spark SQL expression that is never
null (missing fields, null values and empty lists give ``false``, as in the evaluator), so
Spark's three-valued ``NOT``/``AND``/``OR`` are the IR's two-valued ones. A rule is written as
SQL text and becomes one Spark column with one call into the JVM (building it node by node
through py4j cost 50 ms a predicate). The expressions read the canonical rows of
:mod:`backends.spark.events`, whose texts, lower-cased texts and numbers were computed by the
evaluator's own event model; so each kind here is only the comparison:

=============  ===================================================================================
eq, contains,  ``exists(vals, v -> op(v.l, needle))`` with ``needle`` lower-cased by Python, or
startswith,    ``v.t`` when ``cased``; numbers and booleans as the evaluator's ``_value_eq``
endswith       (``v.n`` for numbers, the spelling for strings, booleans by their text)
wildcard       ``RLIKE`` of a Java regex written from the pattern's parts (``\\A…\\z``, DOTALL)
regex          ``RLIKE`` of :func:`backends.spark.regex.to_java` (same meaning, or refused)
cidr           IPv4: a regex of exactly the dotted-quad spellings Python's ``ipaddress`` accepts
               for addresses inside the network. IPv6 networks: refused (IPv6 text forms
               are many; a regex for exactly them is not written yet)
exists, null   whether the field's column is null, and its ``isnull`` flag
lt … gte       ``v.n`` (:func:`ir.evaluator.number_of`, computed at ingestion)
fieldref       two nested ``exists`` over both fields' values
timepart       refused: ``datetime.fromisoformat``'s grammar has no Spark equivalent
term           ``RLIKE`` over ``_raw`` of :func:`ir.evaluator.term_regex` translated to Java
field-less     ``exists`` over ``_all``, every scalar of the event
=============  ===================================================================================

An OR of predicates on the same field shares one ``exists`` (the same meaning, a smaller plan).
:class:`~ir.nodes.Condition` leaves (SPL eval expressions in ``where``) are refused here, in
filter rules, which read the canonical columns; pipelines compile them over their own values
(:mod:`backends.spark.pipeline`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from pyspark.sql import Column
from pyspark.sql import functions as F

from backends.spark.events import View
from backends.spark.regex import to_java, wildcard_to_java
from ir.errors import RuleglotError, unsupported
from ir.evaluator import term_regex
from ir.events import text_of
from ir.fieldprofiles import FieldProfile
from ir.nodes import (
    And,
    Condition,
    Expr,
    FieldRef,
    Kind,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
)

_TEXT_KINDS = (Kind.EQ, Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH)


def sql_string(text: str) -> str:
    """A Spark SQL string literal holding exactly ``text``."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quoted(name: str) -> str:
    """A Spark SQL identifier (any characters) in backquotes."""
    return "`" + name.replace("`", "``") + "`"


def _number(value: int | float) -> str:
    """A double literal (``v.n`` is a double): exact for every int up to 2**53."""
    return f"CAST({sql_string(repr(float(value)))} AS DOUBLE)"


Test: TypeAlias = Callable[[str], str]


def _any(values: str, test: Test, depth: int) -> str:
    """True when ``test`` holds for an element of ``values``; false (never null) otherwise."""
    var = f"v{depth}"
    return f"coalesce(exists({values}, {var} -> {test(var)}), false)"


def _text_op(kind: Kind, needle: str) -> Callable[[str], str]:
    """The comparison of a text with a constant: :func:`_pair_op` with a literal."""
    op, literal = _pair_op(kind), sql_string(needle)
    return lambda t: op(t, literal)


def _pair_op(kind: Kind) -> Callable[[str, str], str]:
    ops: dict[Kind, Callable[[str, str], str]] = {
        Kind.EQ: lambda t, target: f"{t} = {target}",
        Kind.CONTAINS: lambda t, target: f"contains({t}, {target})",
        Kind.STARTSWITH: lambda t, target: f"startswith({t}, {target})",
        Kind.ENDSWITH: lambda t, target: f"endswith({t}, {target})",
    }
    return ops[kind]


def _either(tests: list[Test]) -> Test:
    return lambda v: " OR ".join(test(v) for test in tests)


def _rlike(text: str, java: str) -> str:
    return f"({text} RLIKE {sql_string(java)})"


_COMPARE: dict[Kind, str] = {Kind.LT: "<", Kind.LTE: "<=", Kind.GT: ">", Kind.GTE: ">="}


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"


def _octets(low: int, high: int) -> str:
    if (low, high) == (0, 255):
        return _OCTET
    return "(?:" + "|".join(str(n) for n in range(high, low - 1, -1)) + ")"


def ipv4_regex(network: ipaddress.IPv4Network) -> str:
    """A Java regex whose whole-text matches are exactly the texts ``ipaddress.ip_address``
    reads as an address inside ``network`` (four dot-separated ASCII decimal octets, no
    leading zeros, each at most 255)."""
    start = network.network_address.packed
    end = network.broadcast_address.packed
    parts = [_octets(a, b) for a, b in zip(start, end, strict=True)]
    return "\\A" + "\\.".join(parts) + "\\z"


class Reads:
    """What the compiled rules read, per view: field names, and whether a field-less predicate
    needs every value (:class:`backends.spark.events.View`), so ingestion computes only those."""

    def __init__(self) -> None:
        self._views: dict[str | None, tuple[FieldProfile | None, set[str], list[bool]]] = {}

    def field(self, profile: FieldProfile | None, name: str) -> None:
        self._entry(profile)[1].add(name)

    def leaves(self, profile: FieldProfile | None) -> None:
        self._entry(profile)[2][0] = True

    def _entry(
        self, profile: FieldProfile | None
    ) -> tuple[FieldProfile | None, set[str], list[bool]]:
        key = None if profile is None else profile.name
        return self._views.setdefault(key, (profile, set(), [False]))

    def merge(self, other: Reads) -> None:
        for profile, names, leaves in other._views.values():
            entry = self._entry(profile)
            entry[1].update(names)
            entry[2][0] = entry[2][0] or leaves[0]

    def views(self) -> list[View]:
        return [
            View(profile, frozenset(names), leaves[0])
            for profile, names, leaves in self._views.values()
        ] or [View()]


@dataclass
class FieldView:
    """How a rule reads a field name: log-source aliases first, then the event as its field
    profile (if any) extends it: the columns of that :class:`~backends.spark.events.View`."""

    aliases: Mapping[str, str] = field(default_factory=dict)
    profile: FieldProfile | None = None
    reads: Reads = field(default_factory=Reads)

    def name(self, name: str) -> str:
        return self.aliases.get(name, name)

    def column(self, name: str) -> str:
        """SQL for the field's struct (``isnull``, ``vals``), null when the event lacks it."""
        self.reads.field(self.profile, name)
        return quoted(View(self.profile).column(name))

    def all_values(self) -> str:
        self.reads.leaves(self.profile)
        return f"`{View(self.profile).all_column}`"


class PredicateCompiler:
    """Compiles IR expressions to Spark SQL for one view (one log-source branch of one rule);
    :meth:`column` makes one Spark column of it (one call into the JVM per rule)."""

    def __init__(self, view: FieldView) -> None:
        self.view = view

    def column(self, expr: Expr) -> Column:
        return F.expr(self.expr(expr))

    def expr(self, expr: Expr) -> str:
        try:
            return self._expr(expr)
        except RuleglotError as err:
            raise err.at(getattr(expr, "span", None)) from None

    def _expr(self, expr: Expr) -> str:
        if isinstance(expr, Predicate):
            try:
                return self.predicate(expr)
            except RuleglotError as err:
                raise err.at(expr.span) from None
        if isinstance(expr, Condition):
            raise unsupported(
                construct="where expression",
                message="an SPL eval/where expression (Condition) is not compiled to Spark",
            ).at(expr.span)
        if isinstance(expr, Not):
            return f"(NOT {self._expr(expr.arg)})"
        if isinstance(expr, And):
            return "(" + " AND ".join(self._expr(a) for a in expr.args) + ")"
        if isinstance(expr, Or):
            return self._any_of(expr)
        raise TypeError(f"not an IR expression: {expr!r}")

    def _any_of(self, expr: Or) -> str:
        """An OR whose operands test values of the same field share one ``exists``: "some
        value passes A, or some value passes B" is "some value passes A or B" (a smaller plan:
        Spark's planning time grows with the number of lambda functions)."""
        groups: dict[str, list[Test]] = {}
        order: list[str | tuple[str]] = []
        for arg in expr.args:
            tested = self._tested(arg) if isinstance(arg, Predicate) else None
            if tested is None:
                order.append((self._expr(arg),))
                continue
            values, test = tested
            if values not in groups:
                groups[values] = []
                order.append(values)
            groups[values].append(test)
        parts = []
        for item in order:
            if isinstance(item, tuple):
                parts.append(item[0])
                continue
            parts.append(_any(item, _either(groups[item]), 0))
        return "(" + " OR ".join(parts) + ")"

    def _tested(self, pred: Predicate) -> tuple[str, Test] | None:
        """``(values, test)`` when the predicate is "some value of a field passes a test"."""
        if pred.kind in (Kind.TERM, Kind.TIMEPART, Kind.EXISTS, Kind.NULL, Kind.FIELDREF):
            return None
        try:
            if pred.field is None:
                return self.view.all_values(), self._element_test(pred)
            column = self.view.column(self.view.name(pred.field))
            return f"{column}.vals", self._element_test(pred)
        except RuleglotError as err:
            raise err.at(pred.span) from None

    def predicate(self, pred: Predicate) -> str:
        kind = pred.kind
        if kind is Kind.TERM:
            java = to_java(term_regex(text_of(pred.value)).pattern, "i")
            return f"coalesce({_rlike('`_raw`', java)}, false)"
        if kind is Kind.TIMEPART:
            raise unsupported(
                construct="timepart",
                message="timepart reads timestamps with Python's datetime.fromisoformat, "
                "whose grammar "
                "Spark has no equivalent of",
            )
        tested = self._tested(pred)
        if tested is not None:
            return _any(tested[0], tested[1], 0)
        if pred.field is None:
            raise RuleglotError(f"a {kind} predicate needs a field", construct=str(kind))
        column = self.view.column(self.view.name(pred.field))
        if kind is Kind.EXISTS:
            return f"({column} IS {'NOT ' if pred.value else ''}NULL)"
        if kind is Kind.NULL:
            return f"({column} IS NULL OR coalesce({column}.isnull, false))"
        if kind is Kind.FIELDREF:
            assert isinstance(pred.value, FieldRef)
            return self._fieldref(column, pred.value, pred.cased)
        raise unsupported(
            construct=str(kind), message=f"predicate kind {kind} is not compiled to Spark"
        )

    def _element_test(self, pred: Predicate) -> Test:
        """The test on one value struct (``t``, ``l``, ``k``, ``n``) of the event."""
        kind, value = pred.kind, pred.value
        lower = not pred.cased
        if kind is Kind.EQ and isinstance(value, bool):
            word = sql_string("true" if value else "false")
            return lambda v: f"{v}.l = {word}"
        if kind is Kind.EQ and isinstance(value, (int, float)):
            spelled, number = sql_string(text_of(value)), _number(value)
            return lambda v: (
                f"CASE WHEN {v}.k = 'n' THEN {v}.n = {number} WHEN {v}.k = 'b' THEN false "
                f"ELSE {v}.t = {spelled} END"
            )
        if kind in _TEXT_KINDS:
            needle = text_of(value)
            op = _text_op(kind, needle.lower() if lower else needle)
            return lambda v: op(f"{v}.l" if lower else f"{v}.t")
        if kind is Kind.WILDCARD:
            assert isinstance(value, Pattern)
            parts = tuple(p.lower() if lower and isinstance(p, str) else p for p in value.parts)
            java = wildcard_to_java(parts)
            return lambda v: _rlike(f"{v}.l" if lower else f"{v}.t", java)
        if kind is Kind.REGEX:
            assert isinstance(value, Regex)
            java = to_java(value.pattern, value.flags)
            return lambda v: _rlike(f"{v}.t", java)
        if kind is Kind.CIDR:
            try:
                network = ipaddress.ip_network(str(value), strict=False)
            except ValueError as exc:
                raise RuleglotError(f"invalid CIDR {value!r}: {exc}", construct="cidr") from exc
            if not isinstance(network, ipaddress.IPv4Network):
                raise unsupported(
                    construct="cidr (IPv6 network)",
                    message="an IPv6 cidr is not compiled to Spark: "
                    "Python's ipaddress accepts many "
                    "spellings of an IPv6 address (compressed, mixed case, embedded IPv4, "
                    "scope ids) and no Spark expression for exactly those is written yet",
                )
            java = ipv4_regex(network)
            return lambda v: _rlike(f"{v}.t", java)
        if kind in _COMPARE:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise RuleglotError(f"{kind} needs a number, not {value!r}", construct=str(kind))
            sign, bound = _COMPARE[kind], _number(value)
            return lambda v: f"{v}.n {sign} {bound}"
        raise unsupported(
            construct=str(kind), message=f"predicate kind {kind} is not compiled to Spark"
        )

    def _fieldref(self, column: str, ref: FieldRef, cased: bool) -> str:
        other = self.view.column(self.view.name(ref.field))
        key = "t" if cased else "l"
        op = _pair_op(Kind(ref.match))
        return _any(
            f"{column}.vals",
            lambda mine: _any(
                f"{other}.vals", lambda theirs: op(f"{mine}.{key}", f"{theirs}.{key}"), 1
            ),
            0,
        )


__all__ = ["FieldView", "PredicateCompiler", "Reads", "ipv4_regex", "sql_string", "unsupported"]
