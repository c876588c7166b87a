"""The one evaluator: runs IR rules on events, with the meaning :mod:`ir.nodes` specifies.

Every reader's output and every translation is judged by this module, so it holds the only
implementation of predicate semantics in ruleglot. It compiles each rule once into closures
(regexes, wildcard patterns and lower-cased literals prepared at compile time) and evaluates
them on :class:`ir.events.Event` objects, which are normalised once per event.

Log sources: a rule is compiled against a :class:`ir.logsources.LogSourceProfile`; each of the
profile's branches for the rule's log source becomes a guard (the branch condition) plus the
rule's filter compiled with that branch's field aliases. A rule whose log source the profile
does not map runs on every event and says so (``CompiledRule.unmapped``).

:class:`RuleSet` evaluates many rules on one event by dispatching on the ``(Channel, EventID)``
keys that the log-source conditions require, so a rule never even runs on an event its log source
cannot select. The dispatch is an over-approximation: guards are always evaluated as well.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ir.errors import RuleglotError
from ir.events import MISSING, Event
from ir.logsources import NO_PROFILE, LogSourceProfile
from ir.nodes import (
    And,
    Expr,
    FieldRef,
    Filter,
    Kind,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
    Rule,
    TimePart,
    Wildcard,
    conjuncts,
)

Matcher = Callable[[Event], bool]
ScalarTest = Callable[[Any], bool]

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
#: SPL's major and minor breakers (Splunk ``segmenters.conf`` defaults): a bare term must be
#: bounded by one of these or an edge of ``_raw``.
_BREAKERS = r"\s\[\]<>(){}|!;,'\"*&?+/:=@.$#%\\_-"


def text_of(value: Any) -> str:
    """The text a string predicate compares against: JSON's spelling for non-strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def number_of(value: Any) -> float | None:
    """A number for ``lt``/``gt``: JSON numbers, and strings that are plainly a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value)
    return None


def pattern_regex(pattern: Pattern, cased: bool) -> re.Pattern[str]:
    """A compiled regex that fully matches what ``pattern`` matches."""
    out: list[str] = []
    for part in pattern.parts:
        if part is Wildcard.MANY:
            out.append(".*")
        elif part is Wildcard.ONE:
            out.append(".")
        else:
            out.append(re.escape(str(part)))
    return re.compile("".join(out), re.DOTALL | (0 if cased else re.IGNORECASE))


def _string_test(kind: Kind, needle: str, cased: bool) -> ScalarTest:
    if cased:
        ops: dict[Kind, ScalarTest] = {
            Kind.EQ: lambda v: text_of(v) == needle,
            Kind.CONTAINS: lambda v: needle in text_of(v),
            Kind.STARTSWITH: lambda v: text_of(v).startswith(needle),
            Kind.ENDSWITH: lambda v: text_of(v).endswith(needle),
        }
        return ops[kind]
    low = needle.lower()
    ops = {
        Kind.EQ: lambda v: text_of(v).lower() == low,
        Kind.CONTAINS: lambda v: low in text_of(v).lower(),
        Kind.STARTSWITH: lambda v: text_of(v).lower().startswith(low),
        Kind.ENDSWITH: lambda v: text_of(v).lower().endswith(low),
    }
    return ops[kind]


def _eq_test(value: Any, cased: bool) -> ScalarTest:
    if isinstance(value, bool):
        word = "true" if value else "false"
        return lambda v: v is value if isinstance(v, bool) else text_of(v).lower() == word
    if isinstance(value, (int, float)):
        spelled = text_of(value)

        def number_eq(v: Any) -> bool:
            if isinstance(v, bool):
                return False
            if isinstance(v, (int, float)):
                return bool(v == value)
            return text_of(v) == spelled

        return number_eq
    return _string_test(Kind.EQ, str(value), cased)


def _cidr_test(cidr: str) -> ScalarTest:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise RuleglotError(f"invalid CIDR {cidr!r}: {exc}", construct="cidr") from exc

    def test(v: Any) -> bool:
        try:
            address = ipaddress.ip_address(text_of(v))
        except ValueError:
            return False
        return address.version == network.version and address in network

    return test


_COMPARE: dict[Kind, Callable[[float, float], bool]] = {
    Kind.LT: lambda a, b: a < b,
    Kind.LTE: lambda a, b: a <= b,
    Kind.GT: lambda a, b: a > b,
    Kind.GTE: lambda a, b: a >= b,
}


def _compare_test(kind: Kind, bound: Any) -> ScalarTest:
    if isinstance(bound, bool) or not isinstance(bound, (int, float)):
        raise RuleglotError(f"{kind} needs a number, not {bound!r}", construct=str(kind))
    op = _COMPARE[kind]

    def test(v: Any) -> bool:
        n = number_of(v)
        return n is not None and op(n, bound)

    return test


def _timepart_test(part: TimePart) -> ScalarTest:
    getters: dict[str, Callable[[_dt.datetime], int]] = {
        "minute": lambda t: t.minute,
        "hour": lambda t: t.hour,
        "day": lambda t: t.day,
        "week": lambda t: t.isocalendar().week,
        "month": lambda t: t.month,
        "year": lambda t: t.year,
    }
    if part.unit not in getters:
        raise RuleglotError(f"unknown timestamp part {part.unit!r}", construct="timepart")
    get = getters[part.unit]

    def test(v: Any) -> bool:
        try:
            stamp = _dt.datetime.fromisoformat(text_of(v))
        except ValueError:
            return False
        return get(stamp) == part.number

    return test


def _regex_test(regex: Regex) -> ScalarTest:
    flags = 0
    for letter, flag in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)):
        if letter in regex.flags:
            flags |= flag
    try:
        compiled = re.compile(regex.pattern, flags)
    except re.error as exc:
        raise RuleglotError(f"invalid regular expression: {exc}", construct="regex") from exc
    return lambda v: compiled.search(text_of(v)) is not None


def scalar_test(pred: Predicate) -> ScalarTest:
    """The test one (non-null) event value must pass for a value-comparing predicate."""
    kind, value = pred.kind, pred.value
    if kind is Kind.EQ:
        return _eq_test(value, pred.cased)
    if kind in (Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH):
        return _string_test(kind, text_of(value), pred.cased)
    if kind is Kind.WILDCARD:
        assert isinstance(value, Pattern)
        rx = pattern_regex(value, pred.cased)
        return lambda v: rx.fullmatch(text_of(v)) is not None
    if kind is Kind.REGEX:
        assert isinstance(value, Regex)
        return _regex_test(value)
    if kind is Kind.CIDR:
        return _cidr_test(str(value))
    if kind in _COMPARE:
        return _compare_test(kind, value)
    if kind is Kind.TIMEPART:
        assert isinstance(value, TimePart)
        return _timepart_test(value)
    raise RuleglotError(f"predicate kind {kind} has no scalar test", construct=str(kind))


def _values(event: Event, name: str) -> Any:
    """The field's non-null scalar values, or MISSING."""
    value = event.get(name)
    if value is MISSING:
        return MISSING
    if isinstance(value, list):
        flat: list[Any] = []
        stack = list(reversed(value))
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif item is not None:
                flat.append(item)
        return flat
    return () if value is None else (value,)


def _term_regex(term: str) -> re.Pattern[str]:
    body = ".*?".join(re.escape(piece) for piece in term.split("*"))
    return re.compile(f"(?:^|(?<=[{_BREAKERS}])){body}(?=[{_BREAKERS}]|$)", re.IGNORECASE)


def _fieldref_test(name: str, ref: FieldRef, cased: bool, aliases: Mapping[str, str]) -> Matcher:
    other = aliases.get(ref.field, ref.field)
    kind = Kind(ref.match)

    def run(event: Event) -> bool:
        mine, theirs = _values(event, name), _values(event, other)
        if mine is MISSING or theirs is MISSING:
            return False
        for target in theirs:
            test = _string_test(kind, text_of(target), cased)
            if any(test(v) for v in mine):
                return True
        return False

    return run


def compile_predicate(pred: Predicate, aliases: Mapping[str, str]) -> Matcher:
    name = aliases.get(pred.field, pred.field) if pred.field is not None else None
    kind = pred.kind
    if kind is Kind.TERM:
        rx = _term_regex(text_of(pred.value))
        return lambda e: rx.search(e.raw_text) is not None
    if name is None:
        if kind in (Kind.EXISTS, Kind.NULL, Kind.FIELDREF):
            raise RuleglotError(f"a {kind} predicate needs a field", construct=str(kind))
        test = scalar_test(pred)
        return lambda e: any(test(v) for v in e.leaves() if v is not None)
    if kind is Kind.EXISTS:
        wanted = bool(pred.value)
        return lambda e: e.has(name) is wanted
    if kind is Kind.NULL:
        return lambda e: (v := e.get(name)) is MISSING or v is None
    if kind is Kind.FIELDREF:
        assert isinstance(pred.value, FieldRef)
        return _fieldref_test(name, pred.value, pred.cased, aliases)
    test = scalar_test(pred)

    def run(event: Event) -> bool:
        values = _values(event, name)
        return values is not MISSING and any(test(v) for v in values)

    return run


def compile_expr(expr: Expr, aliases: Mapping[str, str] | None = None) -> Matcher:
    """A closure deciding ``expr`` on an event; spans are attached to compile errors."""
    aliases = aliases or {}
    if isinstance(expr, Predicate):
        try:
            return compile_predicate(expr, aliases)
        except RuleglotError as err:
            raise err.at(expr.span) from None
    if isinstance(expr, Not):
        inner = compile_expr(expr.arg, aliases)
        return lambda e: not inner(e)
    parts = tuple(compile_expr(a, aliases) for a in expr.args)
    if isinstance(expr, And):
        return lambda e: all(p(e) for p in parts)
    if isinstance(expr, Or):
        return lambda e: any(p(e) for p in parts)
    raise TypeError(f"not an IR expression: {expr!r}")


def _dispatch_keys(condition: Expr) -> set[tuple[str, str | None]] | None:
    """``(channel, event id)`` keys an event must have for ``condition`` to hold, if decidable."""

    def eq_values(expr: Expr, name: str) -> list[str] | None:
        leaves = expr.args if isinstance(expr, Or) else (expr,)
        out = []
        for leaf in leaves:
            if not (isinstance(leaf, Predicate) and leaf.field == name and leaf.kind is Kind.EQ):
                return None
            out.append(text_of(leaf.value).lower())
        return out

    channels: list[str] | None = None
    event_ids: list[str | None] = [None]
    for conjunct in conjuncts(condition):
        found = eq_values(conjunct, "Channel")
        if found is not None:
            channels = found
            continue
        ids = eq_values(conjunct, "EventID")
        if ids is not None:
            event_ids = list(ids)
    if channels is None:
        return None
    return {(c, i) for c in channels for i in event_ids}


@dataclass
class _Branch:
    guard: Matcher
    body: Matcher
    keys: set[tuple[str, str | None]] | None


@dataclass
class CompiledRule:
    """A rule ready to run: one (guard, body) pair per log-source branch."""

    rule: Rule
    branches: list[_Branch]
    unmapped: bool = False
    dispatch: set[tuple[str, str | None]] | None = field(default=None)

    def matches(self, event: Event) -> bool:
        return any(b.guard(event) and b.body(event) for b in self.branches)


def _always(_: Event) -> bool:
    return True


def _filter_body(rule: Rule, aliases: Mapping[str, str]) -> Matcher:
    stages = []
    for stage in rule.stages:
        if not isinstance(stage, Filter):
            raise RuleglotError(
                f"stage {type(stage).__name__} is not a filter",
                category="unsupported",
                construct=type(stage).__name__,
            ).at(stage.span)
        stages.append(compile_expr(stage.expr, aliases))
    if len(stages) == 1:
        return stages[0]
    return lambda e: all(s(e) for s in stages)


def compile_rule(rule: Rule, profile: LogSourceProfile = NO_PROFILE) -> CompiledRule:
    """Compile ``rule`` once; raises :class:`RuleglotError` for what cannot be evaluated."""
    resolved = profile.resolve(rule.logsource) if profile.mappings else None
    if resolved is None:
        return CompiledRule(
            rule,
            [_Branch(_always, _filter_body(rule, {}), None)],
            unmapped=not rule.logsource.is_empty() and bool(profile.mappings),
        )
    branches = [
        _Branch(
            compile_expr(b.condition),
            _filter_body(rule, b.alias_map()),
            _dispatch_keys(b.condition),
        )
        for b in resolved
    ]
    keys: set[tuple[str, str | None]] | None = set()
    for b in branches:
        if b.keys is None or keys is None:
            keys = None
        else:
            keys |= b.keys
    return CompiledRule(rule, branches, dispatch=keys)


class RuleSet:
    """Many compiled rules, dispatched per event on ``(Channel, EventID)``."""

    def __init__(self, rules: Iterable[CompiledRule]) -> None:
        self.rules = list(rules)
        self._by_key: dict[tuple[str, str | None], list[int]] = {}
        self._always: list[int] = []
        for index, compiled in enumerate(self.rules):
            if compiled.dispatch is None:
                self._always.append(index)
            else:
                for key in compiled.dispatch:
                    self._by_key.setdefault(key, []).append(index)

    def candidates(self, event: Event) -> list[int]:
        channel = event.get("Channel")
        if channel is MISSING or channel is None:
            return self._always
        channel = text_of(channel).lower()
        event_id = event.get("EventID")
        found = set(self._by_key.get((channel, None), ()))
        if event_id is not MISSING and event_id is not None:
            found.update(self._by_key.get((channel, text_of(event_id).lower()), ()))
        if not found:
            return self._always
        return sorted(found.union(self._always))

    def match(self, event: Event) -> list[int]:
        """Indices of the rules that match ``event``, in rule order."""
        return [i for i in self.candidates(event) if self.rules[i].matches(event)]
