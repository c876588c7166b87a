"""Events that tell rules apart: for each predicate, values that hit it and values that just miss.

Why: real events only test what they happen to contain. A translation that writes ``?`` as ``*``
or loses a case rule agrees with its source on every event that never puts a character where the
``?`` is. The equivalence harness (``ruleglot check``) therefore also evaluates both sides on
events built from the rules themselves:

* **witnesses** — for every branch of the boolean tree, an event that makes that branch decide
  the rule (an ``Or`` gets one witness per alternative; an ``And`` wants each conjunct true, or
  one conjunct false at a time; a top-level ``NOT`` conjunct — an exclusion — is exercised both
  ways: the rule's inclusions hold and the exclusion does, and does not);
* **near misses** — each witness with one field changed the way translations get wrong: case
  changed, one character more or less at a wildcard or pattern boundary, the field missing,
  ``null``, empty, a list of values, a number as a string (and back), a path with the other slash.

Generation proposes and the evaluator decides: a value is kept for a constraint only if the
evaluator's own predicate test agrees (:func:`ir.evaluator.compile_predicate`), so this module
holds no second copy of the semantics, and a generated event carries no assumed verdict — the
caller evaluates each side on it. Output is deterministic for a ``seed``.

Fields are named as the rule names them; for a rule read through a log-source profile the
branch conditions (``Channel``, ``EventID``) and field aliases are applied, and for an SPL rule
read through a field profile each Splunk field is written under the event field it is
extracted from (the transform undone where it can be: a ``prefix`` removed).
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import itertools
import json
import random
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ir.evaluator import compile_predicate
from ir.events import MISSING, Event
from ir.fieldprofiles import FieldProfile
from ir.logsources import LogSourceProfile
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
    map_fields,
)

#: Where a field-less predicate (a Sigma keyword, an SPL bare term) puts its text.
KEYWORD_FIELD = "Message"
#: A value no rule literal is expected to hold (the "other" value of a list).
OTHER = "zq0"

Constraint = tuple[Predicate, bool]
#: field -> what the value of that field must make true or false.
Witness = dict[str, list[Constraint]]


# --- values that hit one predicate ----------------------------------------------------------


def _instantiate(pattern: Pattern, many: str, one: str) -> str:
    out = []
    for part in pattern.parts:
        if part is Wildcard.MANY:
            out.append(many)
        elif part is Wildcard.ONE:
            out.append(one)
        else:
            out.append(str(part))
    return "".join(out)


@functools.cache
def _xeger_class() -> type:
    """rstr's regex-to-string generator (a maintained xeger), with every character it draws
    from chosen in a fixed order. rstr builds the characters of a negated class (``[^a]``) and
    of ``\\W`` from Python sets, whose order follows the per-process string hashing: the same
    seed gave different events in different processes (``ruleglot check``'s generated-event
    count moved by a few from run to run)."""
    import rstr  # imported when a regex is first sampled

    class SortedXeger(rstr.Rstr):  # type: ignore[misc, valid-type]
        def _handle_in(self, value: Any) -> Any:
            candidates = list(itertools.chain(*(self._handle_state(item) for item in value)))
            if candidates and candidates[0] is False:  # negated: printable minus the class
                candidates = sorted(set(string.printable).difference(candidates[1:]))
            return self._random.choice(candidates)

    return SortedXeger


#: rstr's ``\\W`` alphabet in a fixed order (rstr makes it from a set).
_NONWORD = "".join(
    sorted(set(string.printable) - set(string.ascii_letters + string.digits + "_"))
)


def _regex_samples(regex: Regex, rng: random.Random) -> list[str]:
    generator = _xeger_class()(rng, nonword=_NONWORD)
    pattern = f"(?{regex.flags})" + regex.pattern if regex.flags else regex.pattern
    samples: list[str] = []
    for _ in range(8):
        try:
            samples.append(generator.xeger(pattern))
        except Exception:  # noqa: BLE001 - lookarounds, back-references: no sample, no harm
            break
    samples.sort(key=len)
    return samples[:2]


def _term_text(term: str) -> str:
    return term.replace("*", "ab")


def _timestamp(part: TimePart) -> str:
    values = {"minute": 0, "hour": 0, "day": 1, "month": 1, "year": 2024, "week": 1}
    if part.unit == "week":
        return f"2024-01-{min(28, max(1, (part.number - 1) * 7 + 1)):02d}T00:00:00Z"
    values[part.unit] = part.number
    return (
        f"{values['year']:04d}-{values['month']:02d}-{values['day']:02d}"
        f"T{values['hour']:02d}:{values['minute']:02d}:00Z"
    )


def hit_values(pred: Predicate, rng: random.Random) -> list[Any]:
    """Values that should make ``pred`` true (proposals: the evaluator decides)."""
    value = pred.value
    kind = pred.kind
    if kind is Kind.EQ:
        if isinstance(value, str):
            return [value, value.upper(), value.swapcase()]
        if isinstance(value, bool):
            return [value, str(value).lower()]
        return [value, str(value)]
    if kind is Kind.CONTAINS:
        return [str(value), f"x{value}y"]
    if kind is Kind.STARTSWITH:
        return [str(value), f"{value}y"]
    if kind is Kind.ENDSWITH:
        return [str(value), f"x{value}"]
    if kind is Kind.WILDCARD and isinstance(value, Pattern):
        return [_instantiate(value, "", "x"), _instantiate(value, "ab", "y")]
    if kind is Kind.REGEX and isinstance(value, Regex):
        return _regex_samples(value, rng)
    if kind is Kind.CIDR:
        try:
            network = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            return []
        inside = [network.network_address + min(1, network.num_addresses - 1)]
        return [str(a) for a in (network.network_address, *inside, network.broadcast_address)]
    if kind is Kind.EXISTS:
        return ["x", ""] if value else [MISSING]
    if kind is Kind.NULL:
        return [None, MISSING]
    if kind in (Kind.LT, Kind.LTE, Kind.GT, Kind.GTE) and isinstance(value, int | float):
        step = 1 if kind in (Kind.GT, Kind.GTE) else -1
        return [value, value + step, str(value + step)]
    if kind is Kind.TIMEPART and isinstance(value, TimePart):
        return [_timestamp(value)]
    if kind is Kind.TERM:
        text = _term_text(str(value))
        return [text, f"x {text} y"]
    return []


def near_misses(value: Any) -> list[Any]:
    """The ways a translation gets a value wrong, applied to one value."""
    if value is MISSING:
        return ["", None]
    if isinstance(value, list):  # a list already: its values one by one, and fewer of them
        return [MISSING, None, [], *value, value[:1], value[1:]]
    out: list[Any] = [MISSING, None, "", [value, OTHER], [OTHER], [value]]
    if isinstance(value, bool):
        return out + [str(value).lower()]
    if isinstance(value, int | float):
        return out + [str(value), value + 1, value - 1]
    if not isinstance(value, str):
        return out
    out += [value.upper(), value.lower(), value.swapcase()]
    if value:
        out += [value[1:], value[:-1]]
    out += [f"x{value}", f"{value}x", f" {value}", f"{value} "]
    if "\\" in value or "/" in value:
        out += [value.replace("\\", "/"), value.replace("/", "\\")]
    with contextlib.suppress(ValueError):
        out.append(int(value))
    return out


# --- witnesses: constraint sets that decide each branch --------------------------------------


def _merge(left: Witness, right: Witness) -> Witness:
    merged = {name: list(cs) for name, cs in left.items()}
    for name, cs in right.items():
        merged.setdefault(name, []).extend(cs)
    return merged


def _combine(options: list[list[Witness]], limit: int) -> list[Witness]:
    """One witness per row, taking alternative ``j`` of every child (mod its count), so each
    alternative of each child appears at least once without a full product."""
    if any(not o for o in options):
        return []
    rows = max(len(o) for o in options)
    out: list[Witness] = []
    for j in range(min(rows, limit)):
        witness: Witness = {}
        for choices in options:
            witness = _merge(witness, choices[j % len(choices)])
        out.append(witness)
    return out


def witnesses(expr: Expr, want: bool = True, limit: int = 24) -> list[Witness]:
    """Constraint sets under which ``expr`` should come out ``want``, one per branch."""
    if isinstance(expr, Predicate):
        name = expr.field if expr.field is not None else KEYWORD_FIELD
        return [{name: [(expr, want)]}]
    if isinstance(expr, Not):
        return witnesses(expr.arg, not want, limit)
    if isinstance(expr, And | Or):
        conjunctive = isinstance(expr, And) == want  # all children must come out `want`
        children = [witnesses(a, want, limit) for a in expr.args]
        if conjunctive:
            return _combine(children, limit)
        # One child decides (comes out `want`); the others come out the other way, so that
        # each alternative is the reason for the verdict.
        others = [witnesses(a, not want, limit) for a in expr.args]
        # The others' alternatives are tried in turn (some contradict the deciding child; the
        # solver drops those), and last the deciding child alone, which is always kept.
        out: list[Witness] = []
        tries = 3 if len(children) <= 8 else 1  # long value lists: one try each
        for index, choices in enumerate(children):
            rest = [o[:tries] for i, o in enumerate(others) if i != index]
            for choice in choices[: max(1, limit // len(children))]:
                out.extend(_combine([[choice], *rest], tries) if rest else [])
                out.append(choice)
        return out[: limit * 2]
    if isinstance(expr, Condition):
        return [{}]
    return [{}]


def exclusion_witnesses(expr: Expr, limit: int = 24) -> list[Witness]:
    """For a filter with exclusions: its inclusions hold and each exclusion holds too (the
    rule is suppressed by exactly that exclusion), plus the plain positive witnesses."""
    parts = expr.args if isinstance(expr, And) else (expr,)
    inclusions = [p for p in parts if not isinstance(p, Not)]
    exclusions = [p.arg for p in parts if isinstance(p, Not)]
    out: list[Witness] = []
    base = _combine([witnesses(p, True, limit) for p in inclusions], limit) if inclusions else [{}]
    for exclusion in exclusions:
        for hit in witnesses(exclusion, True, limit)[:4]:
            out.extend(_merge(b, hit) for b in base[:2])
    return out


# --- solving a witness into an event ----------------------------------------------------------


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return ("list", tuple(_hashable(v) for v in value))
    return (type(value).__name__, value)


class _Oracle:
    """The evaluator's verdict for one predicate on one value, compiled and cached once per
    generation (rules repeat predicates and values across witnesses)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._tests: dict[Predicate, Callable[[Event], bool]] = {}
        self._verdicts: dict[tuple[Predicate, Any], bool] = {}
        self._hits: dict[Predicate, list[Any]] = {}

    def hits(self, pred: Predicate) -> list[Any]:
        found = self._hits.get(pred)
        if found is None:
            found = self._hits[pred] = hit_values(pred, self.rng)
        return found

    def holds(self, pred: Predicate, value: Any) -> bool:
        if isinstance(pred.value, FieldRef):
            return True  # decided once the whole event exists
        key = (pred, _hashable(value))
        verdict = self._verdicts.get(key)
        if verdict is None:
            test = self._tests.get(pred)
            if test is None:
                test = self._tests[pred] = compile_predicate(pred, {})
            name = pred.field if pred.field is not None else KEYWORD_FIELD
            verdict = test(Event.from_fields({} if value is MISSING else {name: value}))
            self._verdicts[key] = verdict
        return verdict


def _solve_field(constraints: list[Constraint], oracle: _Oracle) -> Any:
    positives = [p for p, want in constraints if want]
    proposals: list[Any] = []
    for pred in positives:
        proposals.extend(oracle.hits(pred))
    texts = [v for v in proposals if isinstance(v, str)]
    if len(positives) > 1 and texts:  # an AND on one field: concatenate (contains|all ...)
        firsts = [next((v for v in oracle.hits(p) if isinstance(v, str)), "") for p in positives]
        proposals.append("".join(firsts))
        proposals.append(list(dict.fromkeys(texts)))  # or a list: any value matches
    for pred, want in constraints:
        if not want:
            for hit in oracle.hits(pred)[:1]:
                proposals.extend(near_misses(hit))
    proposals += ["x", OTHER, MISSING]
    unique = list(dict.fromkeys(constraints))
    for proposal in proposals:
        if all(oracle.holds(pred, proposal) == want for pred, want in unique):
            return proposal
    return _UNSOLVED


_UNSOLVED = object()


def _fieldrefs(witness: Witness) -> list[tuple[str, Predicate, bool]]:
    return [
        (name, pred, want)
        for name, cs in witness.items()
        for pred, want in cs
        if isinstance(pred.value, FieldRef)
    ]


def solve(witness: Witness, oracle: _Oracle) -> dict[str, Any] | None:
    """A flat event (field -> value, :data:`MISSING` left out) meeting ``witness``, or None."""
    event: dict[str, Any] = {}
    for name, constraints in witness.items():
        value = _solve_field(constraints, oracle)
        if value is _UNSOLVED:
            return None
        if value is not MISSING:
            event[name] = value
    for name, pred, want in _fieldrefs(witness):
        ref = pred.value
        assert isinstance(ref, FieldRef)
        other = event.setdefault(ref.field, "abc")
        text = other if isinstance(other, str) else json.dumps(other)
        made = {"eq": text, "contains": f"x{text}y", "startswith": f"{text}y",
                "endswith": f"x{text}"}.get(ref.match, text)
        event[name] = made if want else f"{made}q"
    return event


# --- the rule-level entry points --------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """A generated event and how it was made (``witness`` or ``near-miss:<field>:<how>``)."""

    fields: dict[str, Any]
    origin: str

    def event(self) -> Event:
        return Event.from_fields(self.fields)


def _unprofile(fields: FieldProfile) -> Callable[[str], str]:
    """Splunk field name -> the event field it is extracted from (first source)."""

    def name(target: str) -> str:
        sources = fields.sources_of(target)
        return sources[0] if sources else target

    return name


def _invert_values(event: dict[str, Any], fields: FieldProfile) -> dict[str, Any]:
    prefixes = {
        x.sources[0]: x.argument for x in fields.extractions
        if x.transform == "prefix" and x.sources
    }
    out = {}
    for name, value in event.items():
        prefix = prefixes.get(name)
        if prefix and isinstance(value, str) and value.lower().startswith(prefix.lower()):
            value = value[len(prefix):]
        out[name] = value
    return out


def rule_expressions(
    rule: Rule, profile: LogSourceProfile | None = None, fields: FieldProfile | None = None
) -> list[Expr]:
    """The rule's filters as one expression per log-source branch, in event field names."""
    filters = [s.expr for s in rule.stages if isinstance(s, Filter)]
    if not filters:
        return []
    body: Expr = filters[0] if len(filters) == 1 else And(tuple(filters))
    if fields is not None:
        body = map_fields(body, _unprofile(fields))
    resolved = None
    if profile is not None and profile.mappings and not rule.logsource.is_empty():
        resolved = profile.resolve(rule.logsource)
    if not resolved:
        return [body]
    out: list[Expr] = []
    for branch in resolved:
        aliases = branch.alias_map()
        renamed = map_fields(body, lambda n, a=aliases: a.get(n, n))  # type: ignore[misc]
        out.append(And((branch.condition, renamed)))
    return out


def _key(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, default=str)


def generate(
    rule: Rule,
    *,
    profile: LogSourceProfile | None = None,
    fields: FieldProfile | None = None,
    seed: int = 0,
    limit: int = 400,
) -> list[Generated]:
    """Witness events for every branch and exclusion of ``rule``, then their near misses.

    Deterministic for ``seed``; at most ``limit`` events, witnesses first (near misses are
    sampled with the seeded generator when there are more).
    """
    rng = random.Random(seed)
    oracle = _Oracle(rng)
    found: dict[str, Generated] = {}

    def add(event: dict[str, Any], origin: str) -> None:
        if fields is not None:
            event = _invert_values(event, fields)
        found.setdefault(_key(event), Generated(event, origin))

    solved: list[dict[str, Any]] = []
    seen: set[str] = set()
    for expr in rule_expressions(rule, profile, fields):
        candidates = itertools.chain(
            witnesses(expr, True), exclusion_witnesses(_exclusion_view(expr)),
            witnesses(expr, False),
        )
        for witness in candidates:
            event = solve(witness, oracle)
            if event is not None and _key(event) not in seen:
                seen.add(_key(event))
                solved.append(event)
                add(event, "witness")
    misses = [miss for event in solved for miss in event_near_misses(event)]
    room = max(0, limit - len(found))
    if len(misses) > room:
        misses = rng.sample(misses, room)
    for event, origin in misses:
        add(event, origin)
    return list(found.values())[:limit]


def event_near_misses(event: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """``event`` with one field changed by each of :func:`near_misses`, and how."""
    out: list[tuple[dict[str, Any], str]] = []
    for name, value in event.items():
        for changed in near_misses(value):
            other = {k: v for k, v in event.items() if k != name}
            if changed is not MISSING:
                other[name] = changed
            out.append((other, f"near-miss:{name}"))
    return out


def _exclusion_view(expr: Expr) -> Expr:
    """The filter part of a branch expression (``And(condition, filter)``), flattened so its
    top-level ``NOT`` conjuncts are visible next to the branch condition."""
    if isinstance(expr, And):
        flat: list[Expr] = []
        for arg in expr.args:
            flat.extend(arg.args if isinstance(arg, And) else (arg,))
        return And(tuple(flat))
    return expr


def generate_events(
    rule: Rule,
    *,
    profile: LogSourceProfile | None = None,
    fields: FieldProfile | None = None,
    seed: int = 0,
    limit: int = 400,
) -> list[Event]:
    """:func:`generate` as evaluator events."""
    return [g.event() for g in generate(rule, profile=profile, fields=fields, seed=seed,
                                        limit=limit)]


def generated_events_strategy(
    rules: Iterable[Rule],
    *,
    profile: LogSourceProfile | None = None,
    fields: FieldProfile | None = None,
) -> Any:
    """A hypothesis strategy over the generated events of ``rules`` (each rule's seed-0 events,
    then any near miss of them), for property tests; hypothesis shrinks towards the first."""
    from hypothesis import strategies as st

    pool = [g.fields for rule in rules for g in generate(rule, profile=profile, fields=fields)]
    if not pool:
        return st.just(Event.from_fields({}))

    base = st.sampled_from(pool)
    mutated = base.flatmap(
        lambda ev: st.sampled_from([ev] + [miss for miss, _ in event_near_misses(ev)])
    )
    return mutated.map(Event.from_fields)
