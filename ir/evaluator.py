"""The one evaluator: runs IR rules on events, with the meaning :mod:`ir.nodes` specifies.

Every reader's output and every translation is judged by this module, so it holds the only
implementation of predicate semantics in ruleglot. It compiles each rule once into closures
(regexes, wildcard patterns and lower-cased literals prepared at compile time) and evaluates
them on :class:`ir.events.Event` objects, which are normalised once per event.

Log sources: a rule is compiled against a :class:`ir.logsources.LogSourceProfile`; each of the
profile's branches for the rule's log source becomes a guard (the branch condition) plus the
rule's filter compiled with that branch's field aliases. A rule whose log source the profile
does not map selects none of its events (``CompiledRule.unmapped``; callers report it); with
the profile ``none`` every rule runs on every event.

:class:`RuleSet` evaluates many rules on one event by dispatching on the ``(Channel, EventID)``
keys that the log-source conditions require, so a rule never even runs on an event its log source
cannot select; a rule read with a field profile (an SPL search) is dispatched the same way on the
``(source, EventCode)`` its own filter requires, read through the profile. The dispatch is an
over-approximation: guards and filters are always evaluated as well.
"""

from __future__ import annotations

import datetime as _dt
import functools
import ipaddress
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ir.errors import RuleglotError, Span
from ir.evalexpr import compile_condition
from ir.events import MISSING, TEXT_SEPARATOR, Event, text_of
from ir.fieldprofiles import FieldProfile
from ir.logsources import NO_PROFILE, LogSourceProfile
from ir.nodes import (
    And,
    Condition,
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
from ir.prefilter import Prefilter, Requirement, any_of, requirement
from ir.regexrun import BoundedRegex, RegexBudgetError, bounded

Matcher = Callable[[Event], bool]
ScalarTest = Callable[[Any], bool]

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
#: SPL's major and minor breakers (Splunk ``segmenters.conf`` defaults): a bare term must be
#: bounded by one of these or an edge of ``_raw``.
_BREAKERS = r"\s\[\]<>(){}|!;,'\"*&?+/:=@.$#%\\_-"
#: Kinds compared on text; of these, the ``_FOLDED`` ones honour ``cased`` by lower-casing both
#: sides (``str.lower``): that is what "case-insensitive" means everywhere in ruleglot.
_FOLDED = {Kind.EQ, Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH, Kind.WILDCARD}


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
    """A regex that fully matches what ``pattern`` matches; uncased, it expects lower-cased text."""
    out: list[str] = []
    for part in pattern.parts:
        if part is Wildcard.MANY:
            out.append(".*")
        elif part is Wildcard.ONE:
            out.append(".")
        else:
            text = str(part)
            out.append(re.escape(text if cased else text.lower()))
    return re.compile("".join(out), re.DOTALL)


class _Segment:
    """A run of a wildcard pattern between two ``*``: literals and ``?``, of fixed length."""

    def __init__(self, parts: list[str | Wildcard]) -> None:
        self.length = sum(1 if isinstance(p, Wildcard) else len(p) for p in parts)
        if all(isinstance(p, str) for p in parts):
            self.literal: str | None = "".join(str(p) for p in parts)
            self.rx = None
        else:
            self.literal = None
            body = "".join("." if p is Wildcard.ONE else re.escape(str(p)) for p in parts)
            self.rx = re.compile(body, re.DOTALL)

    def at(self, text: str, index: int) -> bool:
        if self.literal is not None:
            return text.startswith(self.literal, index)
        assert self.rx is not None
        return self.rx.match(text, index) is not None

    def find(self, text: str, start: int, end: int) -> int:
        """The first index from ``start`` where the segment ends by ``end``, or -1."""
        if self.literal is not None:
            return text.find(self.literal, start, end)
        assert self.rx is not None
        found = self.rx.search(text, start, end)
        return -1 if found is None else found.start()


def wildcard_test(pattern: Pattern, cased: bool) -> ScalarTest:
    """Whether a whole text (already lower-cased when not ``cased``) matches ``pattern``, as
    :func:`pattern_regex`'s ``fullmatch`` decides, in time linear in text times pattern.

    A backtracking regex took exponential time in the number of ``*`` (``*a*a*a*a*a*a*a*a*b``
    on forty ``a``: 9 s, issue 21). Between two ``*`` a pattern is a run of fixed length; the
    first run must start the text, the last end it, and each run between may take its leftmost
    place after the previous one: any match can be moved to that one, since a ``*`` takes any
    text (the greedy glob algorithm)."""
    runs: list[list[str | Wildcard]] = [[]]
    for part in pattern.parts:
        if part is Wildcard.MANY:
            runs.append([])
        elif part is Wildcard.ONE:
            runs[-1].append(part)
        else:
            runs[-1].append(str(part) if cased else str(part).lower())
    if len(runs) == 1:  # no '*': one fixed-length regex, linear
        rx = pattern_regex(pattern, cased)
        return lambda text: rx.fullmatch(text) is not None
    first, *middle, last = (_Segment(run) for run in runs)
    fixed = first.length + last.length

    def test(text: str) -> bool:
        end = len(text) - last.length
        if len(text) < fixed or not first.at(text, 0) or not last.at(text, end):
            return False
        position = first.length
        for segment in middle:
            found = segment.find(text, position, end)
            if found < 0:
                return False
            position = found + segment.length
        return True

    return test


def _text_compare(kind: Kind, needle: str) -> ScalarTest:
    """A test on one text (already lower-cased when the predicate is not ``cased``)."""
    ops: dict[Kind, ScalarTest] = {
        Kind.EQ: lambda t: t == needle,
        Kind.CONTAINS: lambda t: needle in t,
        Kind.STARTSWITH: lambda t: t.startswith(needle),
        Kind.ENDSWITH: lambda t: t.endswith(needle),
    }
    return ops[kind]


def _value_eq(value: bool | int | float) -> ScalarTest:
    """Equality with a Sigma number or boolean, on the event's raw value."""
    if isinstance(value, bool):
        word = "true" if value else "false"
        return lambda v: v is value if isinstance(v, bool) else text_of(v).lower() == word
    spelled = text_of(value)

    def number_eq(v: Any) -> bool:
        if isinstance(v, bool):
            return False
        if isinstance(v, (int, float)):
            return bool(v == value)
        return text_of(v) == spelled

    return number_eq


def _cidr_test(cidr: str) -> ScalarTest:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise RuleglotError(f"invalid CIDR {cidr!r}: {exc}", construct="cidr") from exc

    def test(text: str) -> bool:
        try:
            address = ipaddress.ip_address(text)
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

    def test(text: str) -> bool:
        try:
            stamp = _dt.datetime.fromisoformat(text)
        except ValueError:
            return False
        return get(stamp) == part.number

    return test


def _regex_test(regex: Regex, span: Span | None) -> ScalarTest:
    """``re.search`` with the regex's flags, bounded (:mod:`ir.regexrun`); a budget overrun is
    positioned on the predicate."""
    flags = 0
    for letter, flag in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)):
        if letter in regex.flags:
            flags |= flag
    try:
        found = bounded(regex.pattern, flags).found
    except re.error as exc:
        raise RuleglotError(f"invalid regular expression: {exc}", construct="regex") from exc

    def test(text: str) -> bool:
        try:
            return found(text)
        except RegexBudgetError as err:
            raise err.at(span) from None

    return test


def _on_text(pred: Predicate) -> tuple[ScalarTest, bool] | None:
    """``(test, lower)`` when the predicate compares text; ``lower``: texts are lower-cased."""
    kind, value = pred.kind, pred.value
    lower = kind in _FOLDED and not pred.cased
    if kind is Kind.EQ and isinstance(value, (bool, int, float)):
        return None
    if kind in (Kind.EQ, Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH):
        needle = text_of(value)
        return _text_compare(kind, needle.lower() if lower else needle), lower
    if kind is Kind.WILDCARD:
        assert isinstance(value, Pattern)
        return wildcard_test(value, pred.cased), lower
    if kind is Kind.REGEX:
        assert isinstance(value, Regex)
        return _regex_test(value, pred.span), False
    if kind is Kind.CIDR:
        return _cidr_test(str(value)), False
    if kind is Kind.TIMEPART:
        assert isinstance(value, TimePart)
        return _timepart_test(value), False
    return None


def _on_value(pred: Predicate) -> ScalarTest:
    """The test for a predicate that compares raw values (numbers, booleans)."""
    if pred.kind is Kind.EQ:
        assert isinstance(pred.value, (bool, int, float))
        return _value_eq(pred.value)
    if pred.kind in _COMPARE:
        return _compare_test(pred.kind, pred.value)
    raise RuleglotError(f"predicate kind {pred.kind} compares no value", construct=str(pred.kind))


#: The end of the text: ``$`` alone also matches before a final newline (Python and PCRE).
END_OF_TEXT = r"$(?!\n)"
_INLINE_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


def with_flags(flags: str, pattern: str) -> str:
    """``(?flags)`` before ``pattern``, merged with its own leading inline flags (Python
    refuses global flags anywhere but at the start)."""
    own = _INLINE_FLAGS.match(pattern)
    if own:
        flags += own.group(1)
        pattern = pattern[own.end() :]
    flags = "".join(sorted(set(flags)))
    return f"(?{flags}){pattern}" if flags else pattern


def string_regex(pred: Predicate) -> str:
    """Regex source text that ``re.search`` matches on exactly the texts a string predicate
    (eq/contains/startswith/endswith with a string, wildcard) holds for, case rule included:
    for writers whose target says string tests as regexes (SPL ``match``)."""
    kind, value = pred.kind, pred.value
    flags = "" if pred.cased else "i"
    if kind is Kind.WILDCARD:
        assert isinstance(value, Pattern)
        body = "".join(
            ".*" if p is Wildcard.MANY else "." if p is Wildcard.ONE else re.escape(str(p))
            for p in value.parts
        )
        return with_flags(flags + "s", f"^{body}{END_OF_TEXT}")
    text = re.escape(text_of(value))
    body = {
        Kind.EQ: f"^{text}{END_OF_TEXT}",
        Kind.CONTAINS: text,
        Kind.STARTSWITH: f"^{text}",
        Kind.ENDSWITH: f"{text}{END_OF_TEXT}",
    }[kind]
    return with_flags(flags, body)


def term_regex(term: str) -> re.Pattern[str]:
    """The regex an SPL bare term is searched with in ``_raw`` (case-insensitive, bounded by
    breakers or an edge): for the evaluator and for engines that search ``_raw`` themselves."""
    body = ".*?".join(re.escape(piece) for piece in term.split("*"))
    return re.compile(f"(?:^|(?<=[{_BREAKERS}])){body}(?=[{_BREAKERS}]|$)", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def bounded_term(term: str) -> BoundedRegex:
    """:func:`term_regex` for a yes/no search, bounded (:mod:`ir.regexrun`): its look-behind
    and look-ahead become a breaker taken or the edge, which finds a match exactly where they
    do and lets RE2 run it (the ``.*?`` between pieces backtracked polynomially)."""
    body = ".*?".join(re.escape(piece) for piece in term.split("*"))
    return bounded(f"(?:^|[{_BREAKERS}]){body}(?:[{_BREAKERS}]|$)", re.IGNORECASE)


def _fieldref_test(name: str, ref: FieldRef, cased: bool, aliases: Mapping[str, str]) -> Matcher:
    other = aliases.get(ref.field, ref.field)
    kind = Kind(ref.match)

    def run(event: Event) -> bool:
        mine, theirs = event.texts(name, not cased), event.texts(other, not cased)
        if mine is MISSING or theirs is MISSING:
            return False
        return any(_text_compare(kind, target)(t) for target in theirs for t in mine)

    return run


def _anywhere(pred: Predicate) -> Matcher:
    """A field-less predicate (a Sigma keyword): holds when it holds for any value."""
    on_text = _on_text(pred)
    if on_text is None:
        value_test = _on_value(pred)
        return lambda e: any(value_test(v) for v in e.all_values())
    test, lower = on_text
    needle = text_of(pred.value)
    if pred.kind is Kind.CONTAINS and TEXT_SEPARATOR not in needle:
        needle = needle.lower() if lower else needle
        return lambda e: bool(e.all_texts(lower)) and needle in e.joined_texts(lower)
    return lambda e: any(test(t) for t in e.all_texts(lower))


def compile_predicate(pred: Predicate, aliases: Mapping[str, str]) -> Matcher:
    """A closure deciding one predicate, with the field renamed by ``aliases``."""
    name = aliases.get(pred.field, pred.field) if pred.field is not None else None
    kind = pred.kind
    if kind is Kind.TERM:
        term = text_of(pred.value)
        found = bounded_term(term).found
        pieces = [p.lower() for p in term.split("*") if p]

        def run_term(event: Event) -> bool:
            raw = event.raw_text
            lowered = event.memo(("raw-lower", None), raw.lower)
            # the regex only confirms the breakers around a text known to be there
            if not all(p in lowered for p in pieces):
                return False
            try:
                return found(raw)
            except RegexBudgetError as err:
                raise err.at(pred.span) from None

        return run_term
    if name is None:
        if kind in (Kind.EXISTS, Kind.NULL, Kind.FIELDREF):
            raise RuleglotError(f"a {kind} predicate needs a field", construct=str(kind))
        return _anywhere(pred)
    if kind is Kind.EXISTS:
        wanted = bool(pred.value)
        return lambda e: e.has(name) is wanted
    if kind is Kind.NULL:
        return lambda e: (v := e.get(name)) is MISSING or v is None
    if kind is Kind.FIELDREF:
        assert isinstance(pred.value, FieldRef)
        return _fieldref_test(name, pred.value, pred.cased, aliases)
    on_text = _on_text(pred)
    if on_text is not None:
        test, lower = on_text
        if kind in _PLAIN_TEXT and not (kind is Kind.EQ and isinstance(pred.value, _NUMERIC)):
            # the hot path: the same test as ``test``, without a call per value
            needle = text_of(pred.value)
            return _plain_text_test(kind, name, needle.lower() if lower else needle, lower)

        def run_text(event: Event) -> bool:
            texts = event.texts(name, lower)
            if texts is MISSING:
                return False
            for text in texts:  # noqa: SIM110 - no generator per event on the hot path
                if test(text):
                    return True
            return False

        return run_text
    value_test = _on_value(pred)

    def run_value(event: Event) -> bool:
        values = event.values(name)
        if values is MISSING:
            return False
        for value in values:  # noqa: SIM110 - no generator per event on the hot path
            if value_test(value):
                return True
        return False

    return run_value


_PLAIN_TEXT = (Kind.EQ, Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH)
_NUMERIC = (bool, int, float)


def _plain_text_test(kind: Kind, name: str, needle: str, lower: bool) -> Matcher:
    """:func:`_text_compare` on every value of the field, as one loop (any value holds)."""
    if kind is Kind.CONTAINS:

        def contains(event: Event) -> bool:
            texts = event.texts(name, lower)
            if texts is MISSING:
                return False
            for text in texts:  # noqa: SIM110 - no generator per event on the hot path
                if needle in text:
                    return True
            return False

        return contains
    if kind is Kind.EQ:

        def equals(event: Event) -> bool:
            texts = event.texts(name, lower)
            if texts is MISSING:
                return False
            for text in texts:  # noqa: SIM110 - no generator per event on the hot path
                if text == needle:
                    return True
            return False

        return equals
    if kind is Kind.STARTSWITH:

        def starts(event: Event) -> bool:
            texts = event.texts(name, lower)
            if texts is MISSING:
                return False
            for text in texts:  # noqa: SIM110 - no generator per event on the hot path
                if text.startswith(needle):
                    return True
            return False

        return starts

    def ends(event: Event) -> bool:
        texts = event.texts(name, lower)
        if texts is MISSING:
            return False
        for text in texts:  # noqa: SIM110 - no generator per event on the hot path
            if text.endswith(needle):
                return True
        return False

    return ends


def compile_expr(
    expr: Expr,
    aliases: Mapping[str, str] | None = None,
    *,
    now: float | None = None,
    shared: SharedPredicates | None = None,
    scope: Hashable = None,
) -> Matcher:
    """A closure deciding ``expr`` on an event; spans are attached to compile errors.

    A :class:`Condition` leaf holds when its eval expression is exactly true
    (:func:`ir.evalexpr.compile_condition`: SPL ``where``); ``now`` is the value of ``now()``
    in it (default: compile time). With ``shared``, each predicate's matcher is the one of
    :meth:`SharedPredicates.matcher` for ``scope`` (the event view it reads: the field
    profile), computed at most once per event whatever the rules that use it."""
    aliases = aliases or {}
    if isinstance(expr, Predicate):
        try:
            if shared is not None:
                return shared.matcher(expr, aliases, scope)
            return compile_predicate(expr, aliases)
        except RuleglotError as err:
            raise err.at(expr.span) from None
    if isinstance(expr, Condition):
        return compile_condition(expr, aliases, now=now)
    if isinstance(expr, Not):
        inner = compile_expr(expr.arg, aliases, now=now, shared=shared, scope=scope)
        return lambda e: not inner(e)
    parts = tuple(
        compile_expr(a, aliases, now=now, shared=shared, scope=scope) for a in expr.args
    )
    if isinstance(expr, And):
        return _all_of(parts)
    if isinstance(expr, Or):
        return _any_of(parts)
    raise TypeError(f"not an IR expression: {expr!r}")


class SharedPredicates:
    """One matcher per distinct predicate across many rules, run at most once per event
    (issue 24: "each distinct predicate evaluated once per event however many rules use it").

    Rules compiled with the same instance (:func:`compile_rule`'s ``shared``) get, for equal
    predicates reading the same fields through the same aliases and event view, one
    :func:`compile_predicate` closure wrapped in a memo: its result is kept until the clock
    moves to the next event (:meth:`next_event`: :meth:`RuleSet.match` and
    :meth:`CompiledRule.matches` move it once per call, so one event is never judged by a result
    of another). The semantics are :func:`compile_predicate`'s alone; this only avoids
    recomputing them (``tests/test_prefilter.py`` compares rule sets sharing predicates with
    each rule compiled alone). A predicate that raises (a regex past its budget) is not
    memoised: every rule using it sees the error, as without sharing."""

    def __init__(self) -> None:
        self._matchers: dict[Hashable, Matcher] = {}
        #: how many predicate leaves were compiled through this cache (``distinct`` of them)
        self.uses = 0
        self._clock = [0]

    @property
    def distinct(self) -> int:
        return len(self._matchers)

    def next_event(self) -> None:
        """Forget every memoised result: the next call is about another event."""
        self._clock[0] += 1

    def matcher(self, pred: Predicate, aliases: Mapping[str, str], scope: Hashable) -> Matcher:
        """The memoised matcher of ``pred`` read through ``aliases`` on the event view
        ``scope`` (compiled on first use)."""
        self.uses += 1
        key = _predicate_key(pred, aliases, scope)
        found = self._matchers.get(key)
        if found is None:
            found = self._matchers[key] = _memoised(compile_predicate(pred, aliases), self._clock)
        return found


def _predicate_key(pred: Predicate, aliases: Mapping[str, str], scope: Hashable) -> Hashable:
    """What decides a predicate's result on an event: its fields after ``aliases``, its kind,
    case rule and value, by ``repr`` (``1``, ``1.0``, ``True`` and ``-0.0``/``0.0`` are equal
    in Python but not as SPL/Sigma values), and the event view it reads."""
    name = aliases.get(pred.field, pred.field) if pred.field is not None else None
    other = None
    if isinstance(pred.value, FieldRef):
        other = aliases.get(pred.value.field, pred.value.field)
    return (name, other, pred.kind, pred.cased, type(pred.value), repr(pred.value), scope)


def _memoised(run: Matcher, clock: list[int]) -> Matcher:
    """``run``, its result kept while ``clock[0]`` stays the same."""
    seen = -1
    result = False

    def memo(event: Event) -> bool:
        nonlocal seen, result
        if seen == clock[0]:
            return result
        result = run(event)
        seen = clock[0]
        return result

    return memo


def _all_of(parts: tuple[Matcher, ...]) -> Matcher:
    """``all(p(e) for p in parts)``, as a plain loop (no generator per event)."""
    if len(parts) == 2:
        first, second = parts
        return lambda e: first(e) and second(e)

    def run(event: Event) -> bool:
        for part in parts:  # noqa: SIM110 - no generator per event on the hot path
            if not part(event):
                return False
        return True

    return run


def _any_of(parts: tuple[Matcher, ...]) -> Matcher:
    """``any(p(e) for p in parts)``, as a plain loop (no generator per event)."""
    if len(parts) == 2:
        first, second = parts
        return lambda e: first(e) or second(e)

    def run(event: Event) -> bool:
        for part in parts:  # noqa: SIM110 - no generator per event on the hot path
            if part(event):
                return True
        return False

    return run


def key_text(value: Any) -> str:
    """A value as a dispatch key: lower-cased text, a whole JSON number without its fraction
    (``4688.0`` equals a rule's ``4688``, :func:`_value_eq`), so that keys only ever merge
    values the predicates could equate."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        if number.is_integer():
            return str(int(number))
    return text_of(value).lower()


#: Fields every event has whether or not its JSON holds them (:meth:`ir.events.Event.get`).
VIRTUAL_FIELDS = ("_raw",)


def event_keys(
    event: Event, channel_field: str = "Channel", id_field: str = "EventID"
) -> set[tuple[str, str | None]]:
    """The ``(channel, event id)`` keys of an event, one per value of a multi-valued field
    (``(channel, None)`` too), matching :func:`dispatch_keys` on the rule side."""
    channels = event.values(channel_field)
    if channels is MISSING:
        return set()
    ids = event.values(id_field)
    keys: set[tuple[str, str | None]] = set()
    for channel in channels:
        name = key_text(channel)
        keys.add((name, None))
        if ids is not MISSING:
            keys.update((name, key_text(i)) for i in ids)
    return keys


def event_field_keys(event: Event) -> set[str]:
    """The top-level field names of an event, as :attr:`RuleSet` indexes required fields."""
    return {*event.fields, *VIRTUAL_FIELDS}


def dispatch_keys(
    condition: Expr, channel_field: str = "Channel", id_field: str = "EventID"
) -> set[tuple[str, str | None]] | None:
    """``(channel, event id)`` keys (lower-cased text) one of which an event must have for
    ``condition`` to hold, if decidable; the field names are parameters so that a search in
    Splunk's names (``source``, ``EventCode``) is keyed the same way."""

    def eq_values(expr: Expr, name: str) -> list[str] | None:
        leaves = expr.args if isinstance(expr, Or) else (expr,)
        out = []
        for leaf in leaves:
            if not (isinstance(leaf, Predicate) and leaf.field == name and leaf.kind is Kind.EQ):
                return None
            out.append(key_text(leaf.value))
        return out

    channels: list[str] | None = None
    event_ids: list[str | None] = [None]
    for conjunct in conjuncts(condition):
        found = eq_values(conjunct, channel_field)
        if found is not None:
            channels = found
            continue
        ids = eq_values(conjunct, id_field)
        if ids is not None:
            event_ids = list(ids)
    if channels is None:
        return None
    return {(c, i) for c in channels for i in event_ids}


#: The fields a search in Splunk's names selects its events by (a field profile extracts them).
SPL_KEY_FIELDS = ("source", "EventCode")


def filter_dispatch_keys(
    condition: Expr, channel_field: str, id_field: str
) -> set[tuple[str, str | None]] | None:
    """:func:`dispatch_keys`, also through one OR of the conjunction whose every branch has
    keys (``(source=A EventCode=1) OR (source=B EventCode=2)``, the way the SPL writer says a
    log source with several branches): an event must then have a key of some branch."""
    found = dispatch_keys(condition, channel_field, id_field)
    if found is not None:
        return found
    for conjunct in conjuncts(condition):
        if not isinstance(conjunct, Or):
            continue
        keys: set[tuple[str, str | None]] = set()
        for branch in conjunct.args:
            branch_keys = dispatch_keys(branch, channel_field, id_field)
            if branch_keys is None:
                break
            keys |= branch_keys
        else:
            return keys
    return None


def required_ids(
    expr: Expr, aliases: Mapping[str, str], id_field: str = "EventID"
) -> set[str] | None:
    """Event ids (as :func:`key_text`) one of which ``expr`` needs in ``id_field`` (its field
    names read through ``aliases``), if known: equalities with a whole number, through ANDs and
    ORs. Only integers: for them :func:`_value_eq` and :func:`key_text` agree on every value
    (``4688``, ``4688.0``, ``"4688"``), so a dispatch key narrowed by them loses no match."""
    if isinstance(expr, Predicate):
        name = aliases.get(expr.field, expr.field) if expr.field is not None else None
        value = expr.value
        if name == id_field and expr.kind is Kind.EQ and type(value) is int:
            return {key_text(value)}
        return None
    if isinstance(expr, And):
        for arg in expr.args:
            found = required_ids(arg, aliases, id_field)
            if found is not None:
                return found
        return None
    if isinstance(expr, Or):
        union: set[str] = set()
        for arg in expr.args:
            found = required_ids(arg, aliases, id_field)
            if found is None:
                return None
            union |= found
        return union
    return None


def _narrowed(
    keys: set[tuple[str, str | None]] | None, ids: set[str] | None
) -> set[tuple[str, str | None]] | None:
    """A log-source branch's ``(channel, id)`` keys with the ids its filter needs: an event
    both select has its channel and one of those ids among its keys (:func:`event_keys`)."""
    if keys is None or ids is None:
        return keys
    return {(channel, i) for channel, _ in keys for i in ids}


def required_fields(expr: Expr) -> frozenset[str] | None:
    """Fields of which an event must have at least one for ``expr`` to hold; ``None`` if no
    such set is known (a NOT, a field-less predicate, ``null``, ``exists: false``)."""
    if isinstance(expr, Predicate):
        if expr.field is None or expr.kind is Kind.NULL:
            return None
        if expr.kind is Kind.EXISTS and not expr.value:
            return None
        return frozenset({expr.field})
    if isinstance(expr, (Not, Condition)):
        return None
    parts = [required_fields(arg) for arg in expr.args]
    if isinstance(expr, And):
        known = [p for p in parts if p is not None]
        return min(known, key=len) if known else None
    if any(p is None for p in parts):
        return None
    return frozenset().union(*(p for p in parts if p is not None))


def field_keys(name: str) -> list[str]:
    """The top-level keys through which an event can hold ``name`` (``a.b`` via ``a`` too)."""
    return [name[:i] for i, char in enumerate(name) if char == "."] + [name]


@dataclass
class _Branch:
    guard: Matcher
    body: Matcher
    keys: set[tuple[str, str | None]] | None


@dataclass
class CompiledRule:
    """A rule ready to run: one (guard, body) pair per log-source branch; ``unmapped`` rules
    have none (their log source selects none of the profile's events)."""

    rule: Rule
    branches: list[_Branch]
    unmapped: bool = False
    dispatch: set[tuple[str, str | None]] | None = field(default=None)
    needs: frozenset[str] | None = None
    fields: FieldProfile | None = None
    #: the fields ``dispatch`` keys are values of: ``Channel``/``EventID`` of the event for
    #: log-source branches, :data:`SPL_KEY_FIELDS` through ``fields`` for a search
    key_fields: tuple[str, str] = ("Channel", "EventID")
    #: literals the rule cannot match without (:mod:`ir.prefilter`), ``None`` if none known
    literals: Requirement | None = None
    #: the predicate matchers it shares with other rules, memoised per event
    shared: SharedPredicates | None = None

    @property
    def key_profile(self) -> FieldProfile | None:
        """The field profile through which an event's ``dispatch`` keys are read (a search
        keyed by ``source``/``EventCode``), else ``None`` (the event's own keys)."""
        if self.dispatch is None or self.fields is None:
            return None
        return None if self.key_fields == ("Channel", "EventID") else self.fields

    def matches(self, event: Event) -> bool:
        if self.shared is not None:
            self.shared.next_event()
        return self.run(event)

    def run(self, event: Event) -> bool:
        """:meth:`matches` without moving the shared predicates' clock: for a caller that
        shows one event to many rules and has moved it once (:meth:`RuleSet.match`)."""
        if self.fields is not None:
            event = self.fields.apply(event)
        for branch in self.branches:  # noqa: SIM110 - no generator per event on the hot path
            if branch.guard(event) and branch.body(event):
                return True
        return False


def _always(_: Event) -> bool:
    return True


def _filter_body(
    rule: Rule,
    aliases: Mapping[str, str],
    shared: SharedPredicates | None = None,
    scope: Hashable = None,
) -> Matcher:
    stages = []
    for stage in rule.stages:
        if not isinstance(stage, Filter):
            raise RuleglotError(
                f"stage {type(stage).__name__} is not a filter",
                category="unsupported",
                construct=type(stage).__name__,
            ).at(stage.span)
        stages.append(compile_expr(stage.expr, aliases, shared=shared, scope=scope))
    if len(stages) == 1:
        return stages[0]
    return _all_of(tuple(stages))


def compile_rule(
    rule: Rule,
    profile: LogSourceProfile = NO_PROFILE,
    fields: FieldProfile | None = None,
    shared: SharedPredicates | None = None,
) -> CompiledRule:
    """Compile ``rule`` once; raises :class:`RuleglotError` for what cannot be evaluated.

    ``fields`` (a field profile: SPL rules name fields as Splunk extracts them) is applied to
    each event before the rule reads it. A rule without a log source (an SPL search, which
    selects its events itself with ``source=``/``sourcetype=`` terms) runs on every event.
    Rules compiled with one ``shared`` cache evaluate each distinct predicate once per event
    (:class:`SharedPredicates`).
    """
    filters = [s.expr for s in rule.stages if isinstance(s, Filter)]
    if not profile.mappings or rule.logsource.is_empty():
        needs = required_fields(And(tuple(filters))) if filters else None
        search_keys = None
        if needs is not None and fields is not None:
            needs = needs.union(*(fields.sources_of(name) for name in needs))
        if fields is not None and filters:
            search_keys = filter_dispatch_keys(And(tuple(filters)), *SPL_KEY_FIELDS)
        return CompiledRule(
            rule,
            [_Branch(_always, _filter_body(rule, {}, shared, fields), None)],
            dispatch=search_keys,
            needs=needs,
            fields=fields,
            key_fields=SPL_KEY_FIELDS,
            literals=requirement(And(tuple(filters))) if filters else None,
            shared=shared,
        )
    resolved = profile.resolve(rule.logsource)
    if resolved is None:
        _filter_body(rule, {})  # still compiled, so that errors in the rule are reported
        return CompiledRule(rule, [], unmapped=True, dispatch=set())
    whole = And(tuple(filters))
    branches = [
        _Branch(
            compile_expr(b.condition, shared=shared, scope=fields),
            _filter_body(rule, b.alias_map(), shared, fields),
            _narrowed(dispatch_keys(b.condition), required_ids(whole, b.alias_map())),
        )
        for b in resolved
    ]
    keys: set[tuple[str, str | None]] | None = set()
    for b in branches:
        if b.keys is None or keys is None:
            keys = None
        else:
            keys |= b.keys
    literals = any_of([requirement(whole, b.alias_map()) for b in resolved])
    return CompiledRule(
        rule, branches, dispatch=keys, fields=fields, literals=literals, shared=shared
    )


class RuleSet:
    """Many compiled rules; each event is shown only to the rules it could match.

    Rules with a mapped log source are indexed by the ``(Channel, EventID)`` keys their branches
    require; searches read with a field profile by the ``(source, EventCode)`` keys their filter
    requires, taken from each event through that profile; the others by the fields their
    filter requires (:func:`required_fields`); what is left runs on every event. The index
    only narrows: every candidate is still fully evaluated.
    """

    def __init__(self, rules: Iterable[CompiledRule]) -> None:
        self.rules = list(rules)
        self._by_key: dict[tuple[str, str | None], list[int]] = {}
        #: per (field profile, key fields): that profile's index (searches in Splunk's names)
        self._by_profile_key: dict[
            tuple[str, tuple[str, str]],
            tuple[FieldProfile, dict[tuple[str, str | None], list[int]]],
        ] = {}
        self._by_field: dict[str, list[int]] = {}
        self._always: list[int] = []
        #: rule index -> the error that stopped it while matching
        self.failures: dict[int, RuleglotError] = {}
        #: the predicate caches of the rules, each moved to the next event once per match
        self._shared = list({id(c.shared): c.shared for c in self.rules if c.shared}.values())
        for index, compiled in enumerate(self.rules):
            if compiled.key_profile is not None and compiled.dispatch is not None:
                group = (compiled.key_profile.name, compiled.key_fields)
                profile, by_key = self._by_profile_key.setdefault(group, (compiled.key_profile, {}))
                if profile != compiled.key_profile:  # two profiles with one name: no index
                    self._always.append(index)
                    continue
                for key in compiled.dispatch:
                    by_key.setdefault(key, []).append(index)
            elif compiled.dispatch is not None:
                for key in compiled.dispatch:
                    self._by_key.setdefault(key, []).append(index)
            elif compiled.needs:
                for name in compiled.needs:
                    for field_key in field_keys(name):
                        self._by_field.setdefault(field_key, []).append(index)
            else:
                self._always.append(index)
        #: the literal prefilter over the rules that read the event as it is (no field profile)
        self.prefilter = Prefilter(
            (index, c.literals)
            for index, c in enumerate(self.rules)
            if c.literals and c.fields is None
        )
        #: per field profile, the literal prefilter of the rules that read the event through
        #: it (SPL searches: ``source=... OR sourcetype=...`` macros have no dispatch keys but
        #: literals), searched on the event as that profile shows it, as the rules read it
        grouped: dict[str, tuple[FieldProfile, list[int]]] = {}
        for index, compiled in enumerate(self.rules):
            if compiled.literals and compiled.fields is not None:
                chosen, members = grouped.setdefault(
                    compiled.fields.name, (compiled.fields, [])
                )
                if chosen == compiled.fields:  # two profiles with one name: not prefiltered
                    members.append(index)
        self.profile_prefilters: list[tuple[FieldProfile, Prefilter]] = []
        for chosen, members in grouped.values():
            literals = ((i, self.rules[i].literals) for i in members)
            self.profile_prefilters.append(
                (chosen, Prefilter((i, r) for i, r in literals if r))
            )

    def candidates(self, event: Event) -> list[int]:
        """The rules ``event`` is shown to, in rule order: those its keys or fields select,
        less those whose required literals it lacks (:mod:`ir.prefilter`)."""
        found: set[int] = set(self._always)
        for key in event_keys(event):
            found.update(self._by_key.get(key, ()))
        for (_, key_fields), (profile, by_key) in self._by_profile_key.items():
            for key in event_keys(profile.apply(event), *key_fields):
                found.update(by_key.get(key, ()))
        if self._by_field:
            for name in event_field_keys(event):
                found.update(self._by_field.get(name, ()))
        prefilter = self.prefilter
        if prefilter.indexed:
            screened = found & prefilter.indexed
            if screened:
                found -= screened
                found |= screened & prefilter.alive(event)
        for fields, by_profile in self.profile_prefilters:
            screened = found & by_profile.indexed
            if screened:
                found -= screened
                found |= screened & by_profile.alive(fields.apply(event))
        return sorted(found)

    def match(self, event: Event) -> list[int]:
        """Indices of the rules that match ``event``, in rule order.

        A rule that fails while matching (a regex past its time budget, :mod:`ir.regexrun`) is
        recorded in :attr:`failures` and not run again; the other rules go on."""
        found: list[int] = []
        for shared in self._shared:
            shared.next_event()
        for i in self.candidates(event):
            if i in self.failures:
                continue
            try:
                if self.rules[i].run(event):
                    found.append(i)
            except RuleglotError as err:
                self.failures[i] = err
        return found
