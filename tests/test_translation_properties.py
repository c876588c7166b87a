"""The equivalence harness: translations decide every event as their source does (issue 5).

Three properties, each over random rules and events (strategies in :mod:`tests.strategies`):

(a) a random IR filter (every kind, nested and/or/not, exclusions, keywords, terms) emitted to
    SPL and read back decides like the IR;
(b) the same IR emitted to Sigma YAML and read back decides like the IR;
(c) a random Sigma detection (selections, modifiers, condition shapes) read, emitted to SPL and
    read back decides like the Sigma rule, and the Sigma rule decides like its condition says
    (each selection read alone, combined by the condition tree the text was rendered from);

and two focused ones: escaping corners (values of backslashes, ``*``/``?``, quotes, ``OR``,
through SPL and Sigma, with near-miss events) and ``search`` precedence (ORs of ANDs, which
``search``'s OR-before-AND reading gets wrong unless parenthesised). Breaking any one of the
emitters' escaping or parenthesising rules on purpose (SPL quote without ``\\`` or ``"``
escapes, compound search/where operands or ``NOT (...)`` unparenthesised, Sigma values or
conditions unescaped/unparenthesised) makes these properties fail within the thorough profile.

Compared apart (documented differences, not emitter bugs): events with a JSON ``null`` when
the SPL emitter warned (exists written as isnotnull), events with ``_raw`` when a rule has a
keyword (``foreach *`` skips ``_`` fields), and events or rules with a whole float such as
``0.0`` for SPL (``test_whole_float_event_values_in_spl``).

A strict emitter may refuse (``RuleglotError``) what it cannot say with the same meaning; the
refusal is counted (``hypothesis.event``) and must not be the common case (each property
asserts it after its run, and that translations match events), but whatever is emitted must
decide every event as the source does. Each property takes a share of the profile's examples
(conftest.py: ``fast`` by default, ``thorough`` in CI), so the file stays within ~15 s (fast)
and ~60 s (thorough).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
import yaml
from hypothesis import assume, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from backends.sigma import read_sigma
from backends.sigma.emit import emit_sigma
from backends.sigma.logsources import windows_profile
from backends.spl import read_spl_search
from backends.spl.emit import emit_spl_result
from ir.errors import RuleglotError
from ir.events import Event
from ir.nodes import (
    Expr,
    FieldRef,
    Filter,
    Kind,
    LogSource,
    Pattern,
    Predicate,
    Rule,
    Wildcard,
    predicates,
)
from tests import strategies as s
from translator.api import compile_rules, compile_run

Decide = Callable[[dict[str, Any]], bool]


def rule_of(expr: Expr) -> Rule:
    return Rule(title="property", stages=(Filter(expr),), logsource=LogSource(category="test"))


def ir_decider(rule: Rule, profile: str = "none") -> Decide:
    """The rule as the evaluator decides it with a log-source profile (``none``: on every
    event)."""
    (compiled,) = compile_rules([rule], profile, fields="none")
    return lambda fields: compiled.matches(Event(fields))


def _note(text: str) -> None:
    """``hypothesis.note`` inside a property; nothing in a plain test."""
    if currently_in_test_context():
        note(text)


class Refused(Exception):
    """The emitter refused the rule (strict mode): allowed, counted, never a failure."""


def spl_decider(rule: Rule, windows: bool = False) -> tuple[Decide, str, bool]:
    """The rule emitted to SPL and read back, run as a pipeline (keywords are a ``foreach``);
    the SPL text, and whether the emitter warned (exists in where: JSON null differs).
    ``windows``: log-source terms from the ``windows`` profile, Splunk's field names. Raises
    :class:`Refused` when the emitter refuses; an error reading its output back is a failure."""
    fields = "splunk_windows" if windows else "none"
    logsources = windows_profile() if windows else None
    try:
        emitted = emit_spl_result(rule, logsources=logsources, fields=fields)
    except RuleglotError as err:
        raise Refused(f"SPL refuses {err.construct}") from err
    _note(emitted.text)
    translated = Rule("spl", read_spl_search(emitted.text), language="spl")
    run = compile_run(translated, fields=fields)
    return lambda fields: bool(run([Event(fields)])), emitted.text, bool(emitted.warnings)


def sigma_decider(rule: Rule) -> tuple[Decide, str]:
    """The rule emitted to Sigma YAML and read back (:class:`Refused` as above)."""
    try:
        text = emit_sigma(rule).yaml
    except RuleglotError as err:
        raise Refused(f"Sigma refuses {err.construct}") from err
    _note(text)
    (back,) = read_sigma(text)
    return ir_decider(back), text


def _has_null(fields: dict[str, Any]) -> bool:
    return any(v is None or (isinstance(v, list) and None in v) for v in fields.values())


def _integral_float(value: Any) -> bool:
    if isinstance(value, list):
        return any(_integral_float(v) for v in value)
    return isinstance(value, float) and value.is_integer()


def _has_integral_float(fields: dict[str, Any]) -> bool:
    return any(_integral_float(v) for v in fields.values())


def _has_keyword(expr: Expr) -> bool:
    return any(p.field is None and p.kind is not Kind.TERM for p in predicates(expr))


def check_same(
    expected: Decide, actual: Decide, events: Sequence[dict[str, Any]], text: str,
    skip_nulls: bool = False, skip_raw: bool = False, spl: bool = False,
) -> int:  # fmt: skip
    """Assert both decide every event alike; the number of matching events. ``skip_nulls``:
    events with a JSON null are not compared (exists written as isnotnull, the documented
    approximation); ``skip_raw``: events with ``_raw`` are not (a keyword's ``foreach *`` does
    not visit ``_``-prefixed fields, documented in backends/spl/emit.py); ``spl``: nor events
    with a whole JSON float (``0.0``), whose text SPL reads differently from the IR's number
    (see ``test_whole_float_event_values_in_spl``)."""
    hits = 0
    for fields in events:
        if (skip_nulls and _has_null(fields)) or (skip_raw and "_raw" in fields):
            continue
        if spl and _has_integral_float(fields):
            continue
        verdict = expected(fields)
        hits += verdict
        assert actual(fields) == verdict, f"{text}\non {fields!r}: source says {verdict}"
    event("some event matches" if hits else "no event matches")
    return hits


def _events(data: st.DataObject, expr: Expr) -> list[dict[str, Any]]:
    """Events from the rule's literals and witnesses, and a few random ones."""
    rule_events = data.draw(st.lists(s.events_for(expr), min_size=4, max_size=10), "events")
    return rule_events + data.draw(st.lists(s.translation_events, max_size=3), "random events")


# --- (a) IR -> SPL -> IR ----------------------------------------------------------------------


def ir_to_spl_agrees(expr: Expr, events: Sequence[dict[str, Any]]) -> bool | None:
    """``None`` when the emitter refuses; else whether some event matched (asserting agreement)."""
    # a whole float in the rule (EQ 0.0) is the same number-vs-text corner as in events
    assume(not any(_integral_float(p.value) for p in predicates(expr)))
    rule = rule_of(expr)
    try:
        actual, text, warned = spl_decider(rule)
    except Refused as refused:
        event(str(refused))
        return None
    hits = check_same(
        ir_decider(rule), actual, events, text, skip_nulls=warned, skip_raw=_has_keyword(expr),
        spl=True,
    )  # fmt: skip
    return hits > 0


# --- (b) IR -> Sigma -> IR --------------------------------------------------------------------


def ir_to_sigma_agrees(expr: Expr, events: Sequence[dict[str, Any]]) -> bool | None:
    rule = rule_of(expr)
    try:
        actual, text = sigma_decider(rule)
    except Refused as refused:
        event(str(refused))
        return None
    return check_same(ir_decider(rule), actual, events, text) > 0


# --- (c) Sigma -> SPL -> IR, and the Sigma condition's own precedence ---------------------------


def _condition_decider(cond: s.Cond, selections: dict[str, Decide]) -> Decide:
    """The condition tree as written, over each selection's own verdict."""
    kind = cond[0]
    if kind == "id":
        return selections[cond[1]]
    if kind == "of":
        prefix = "" if cond[2] == "them" else cond[2].rstrip("*")
        chosen = [d for n, d in selections.items() if n.startswith(prefix)]
        assume(chosen)  # '1 of filter*' without a filter is invalid Sigma: not generated here
        combine = any if cond[1] == "1" else all
        return lambda f: combine(d(f) for d in chosen)
    if kind == "not":
        inner = _condition_decider(cond[1], selections)
        return lambda f: not inner(f)
    parts = [_condition_decider(c, selections) for c in cond[1]]
    combine = all if kind == "and" else any
    return lambda f: combine(p(f) for p in parts)


def read_one(text: str) -> Rule | None:
    try:
        (rule,) = read_sigma(text)
    except RuleglotError as err:
        event(f"Sigma reader refuses {err.construct}")
        return None
    return rule


SigmaCase = tuple[dict[str, Any], s.Cond, bool]


def sigma_to_spl_agrees(case: SigmaCase, data: st.DataObject, windows: bool = False) -> bool | None:
    """``case``: selections, condition tree, redundant parentheses or not. ``windows``: the rule
    has a Windows log source, emitted with the ``windows`` profile and the ``splunk_windows``
    field profile (log-source terms, per-branch field aliases)."""
    detection, cond, extra_parens = case
    condition = s.render_condition(cond, extra_parens)
    logsource = data.draw(st.sampled_from(s.WINDOWS_LOGSOURCES)) if windows else None
    text = s.sigma_rule_text(detection, condition, logsource)
    note(text)
    rule = read_one(text)
    if rule is None:
        return None
    events = _events(data, rule.filters[0].expr)
    if windows:
        envelopes = data.draw(st.lists(s.windows_envelopes, min_size=len(events),
                                       max_size=len(events)))  # fmt: skip
        events = [s.in_envelope(e, env) for e, env in zip(events, envelopes, strict=True)]
    source = ir_decider(rule, "windows" if windows else "none")
    if not windows:  # (with a log source, each selection alone would be guarded by it too)
        selections = {}
        for name in detection:
            alone = read_one(s.sigma_rule_text(detection, name))
            assert alone is not None, name  # the whole rule was read, so each selection is
            selections[name] = ir_decider(alone)
        oracle = _condition_decider(cond, selections)
        check_same(oracle, source, events, f"condition {condition}")
    try:
        actual, spl, warned = spl_decider(rule, windows)
    except Refused as refused:
        event(str(refused))
        return None
    skip_raw = _has_keyword(rule.filters[0].expr)
    hits = check_same(source, actual, events, spl, skip_nulls=warned, skip_raw=skip_raw, spl=True)
    return hits > 0


# --- the properties: each run counts its outcomes, so that it can tell it was not vacuous -------


def _examples(share: float) -> int:
    """This property's part of the profile's examples (``fast``: 100, ``thorough``: 500, see
    conftest.py): reading SPL back costs ~40 ms, so the SPL properties take fewer."""
    return max(20, int(settings.default.max_examples * share))


def check_property(
    run: Callable[[Any, st.DataObject], bool | None], strategy: Any, share: float, what: str,
    matching: int = 10,
) -> None:  # fmt: skip
    """Run ``run`` as a property over ``strategy``, then assert it was not vacuous: at least a
    quarter of the examples emit, and at least 1 in ``matching`` translations (and one at
    all) match some event. The bounds sit well below the usual rates (half or more), so that
    they do not fail by chance on the fast profile's few examples."""
    outcomes: list[bool | None] = []

    @settings(max_examples=_examples(share))
    @given(strategy, st.data())
    def prop(case: Any, data: st.DataObject) -> None:
        outcomes.append(run(case, data))

    prop()
    emitted = [o for o in outcomes if o is not None]
    assert len(emitted) >= len(outcomes) // 4, f"{what}: refusals are the common case"
    hits = sum(bool(o) for o in emitted)
    assert hits >= max(1, len(emitted) // matching), f"{what}: translations rarely match events"


def test_ir_through_spl_decides_like_the_ir() -> None:
    """(a) random IR filters -> SPL -> read back: the same verdict on every event."""
    check_property(lambda e, d: ir_to_spl_agrees(e, _events(d, e)), s.filter_exprs, 0.4, "IR->SPL")


def test_ir_through_sigma_decides_like_the_ir() -> None:
    """(b) random IR filters -> Sigma YAML -> read back: the same verdict on every event."""
    check_property(
        lambda e, d: ir_to_sigma_agrees(e, _events(d, e)), s.sigma_filter_exprs, 0.4, "IR->Sigma"
    )


def test_sigma_through_spl_decides_like_the_sigma_rule() -> None:
    """(c) random Sigma detections: the condition decides as written, and -> SPL -> read back
    decides like the Sigma rule."""
    check_property(sigma_to_spl_agrees, s.sigma_detections(), 0.25, "Sigma->SPL")


def test_windows_sigma_through_spl_decides_like_the_sigma_rule() -> None:
    """(c) with Windows log sources: log-source terms, per-branch field aliases. About half
    of the translations match an event, but hypothesis's examples within one run are alike:
    over 25 runs of 20 examples the hits went from 3 to 16 (once 1 in the whole suite, which
    failed the 1-in-10 bound), over 25 runs of 30 from 3 to 23; so this property takes 30
    examples and asks for 1 hit in 20."""
    check_property(
        lambda c, d: sigma_to_spl_agrees(c, d, windows=True), s.sigma_detections(), 0.3,
        "Sigma (windows)->SPL", matching=20,
    )  # fmt: skip


def test_escaping_corners_through_spl_and_sigma() -> None:
    """(a) and (b) on hazardous values alone (quotes, backslashes before ``*``/``?``, a trailing
    backslash, operator words), with near-miss events (wildcard characters read as wildcards,
    backslashes dropped, doubled or halved)."""

    def both(expr: Expr, data: st.DataObject) -> bool | None:
        events = _events(data, expr)
        spl, sigma = ir_to_spl_agrees(expr, events), ir_to_sigma_agrees(expr, events)
        return None if spl is None and sigma is None else bool(spl or sigma)

    check_property(both, s.escaping_exprs, 0.2, "escaping")


def test_search_precedence() -> None:
    """(a) on ORs of ANDs of search terms, the shape ``search``'s OR-before-AND precedence
    reads wrongly without parentheses."""
    check_property(
        lambda e, d: ir_to_spl_agrees(e, _events(d, e)), s.search_dnf, 0.1, "search precedence"
    )  # fmt: skip


def test_rendered_conditions_follow_sigma_precedence() -> None:
    """The oracle's renderer: ``not`` > ``and`` > ``or``, parentheses only where needed."""
    a, b, c = ("id", "a"), ("id", "b"), ("id", "c")
    assert s.render_condition(("and", [("or", [a, b]), ("not", c)])) == "(a or b) and not c"
    assert s.render_condition(("or", [("and", [a, b]), c])) == "a and b or c"
    assert s.render_condition(("not", ("and", [a, b]))) == "not (a and b)"
    assert s.render_condition(("or", [("and", [a, b]), c]), True) == "(a and b) or c"
    assert yaml.safe_load(s.sigma_rule_text({"a": {"x": 1}}, "a"))["detection"]["condition"] == "a"


# --- what the properties found: shrunk counterexamples as plain regression tests ---------------


def test_whole_float_eq_is_refused_by_the_sigma_emitter() -> None:
    """Found by (b): ``Image eq 0.0`` was written ``Image: 0.0``, which pySigma reads as the
    integer 0, and 0 does not equal the event text "0.0" (the IR's 0.0 does)."""
    rule = rule_of(Predicate("Image", Kind.EQ, 0.0))
    assert ir_decider(rule)({"Image": "0.0"})
    with pytest.raises(RuleglotError) as err:
        emit_sigma(rule)
    assert err.value.construct == "number"
    lossy = emit_sigma(rule, lossy=True)
    assert [w["construct"] for w in lossy.warnings] == ["number"]
    assert yaml.safe_load(lossy.yaml)["detection"]["selection"] == {"Image": 0}


WHOLE_FLOATS = (
    "ir.functions.to_text formats a float event value 0.0 as '0' while ir.events.text_of (the "
    "IR's predicates) reads it as '0.0'"
)


@pytest.mark.xfail(strict=True, reason=WHOLE_FLOATS)
def test_whole_float_event_values_in_spl() -> None:
    """Found by (a): a keyword ``*??*`` holds on ``{"Image": 0.0}`` ("0.0" has three
    characters) but its ``foreach``/``match`` form sees "0". Outside the emitters (the eval
    functions' number text), so the SPL properties skip events with whole floats."""
    keyword = Predicate(None, Kind.WILDCARD, Pattern((Wildcard.MANY, Wildcard.ONE,
                                                      Wildcard.ONE, Wildcard.MANY)))  # fmt: skip
    rule = rule_of(keyword)
    actual, _, _ = spl_decider(rule)
    assert actual({"Image": 0.0}) == ir_decider(rule)({"Image": 0.0})


@pytest.mark.parametrize("network", ["10.0.0.0/8", "fe80::/10"])
def test_network_text_eq_is_not_written_as_a_search_cidr(network: str) -> None:
    """Found by (a) with values naming a network: ``Image eq "10.0.0.0/8"`` was written
    ``Image="10.0.0.0/8"``, which ``search`` reads as CIDR matching (true on 10.1.2.3, false
    on the text itself); the emitter now leaves it to ``where``."""
    for expr in (
        Predicate("Image", Kind.EQ, network),
        Predicate("Image", Kind.WILDCARD, Pattern((network,))),
    ):
        rule = rule_of(expr)
        actual, text, _ = spl_decider(rule)
        assert text.startswith("| where"), text
        for fields in ({"Image": network}, {"Image": "10.1.2.3"}, {"Image": "fe80::1"}):
            assert actual(fields) == ir_decider(rule)(fields), (text, fields)


@pytest.mark.parametrize("target", ["a*b", "a?b", "a\\\\b"])
def test_field_reference_to_a_wildcard_name_is_refused_by_the_sigma_emitter(target: str) -> None:
    """Found by (b): ``Image fieldref a*b`` was written ``Image|fieldref: a*b``, which pySigma
    (and so the Sigma reader) rejects; escaped (``a\\*b``) it reads back as another name."""
    rule = rule_of(Predicate("Image", Kind.FIELDREF, FieldRef(target, "eq")))
    with pytest.raises(RuleglotError) as err:
        emit_sigma(rule)
    assert err.value.construct == "fieldref"
    plain = rule_of(Predicate("Image", Kind.FIELDREF, FieldRef("a\\b", "eq")))
    actual, _ = sigma_decider(plain)
    assert actual({"Image": "x", "a\\b": "x"}) and not actual({"Image": "x", "a\\b": "y"})


def test_windows_keyword_matches_extracted_source() -> None:
    """Found by (c) with Windows log sources: keyword ``IN`` is not in the Security 4688
    event's own values, but the emitted ``foreach *`` also tested the ``source`` field the
    ``splunk_windows`` profile adds ("WinEventLog:Security" holds "in"); the template now
    skips the fields the profile computes (``source``, the ``*_name`` basenames)."""
    text = s.sigma_rule_text({"sel1": ["IN"]}, "sel1", dict(s.WINDOWS_LOGSOURCES[0]))
    (rule,) = read_sigma(text)
    actual, _, _ = spl_decider(rule, windows=True)
    fields = {"Channel": "Security", "EventID": 4688}
    assert actual(fields) == ir_decider(rule, "windows")(fields)
