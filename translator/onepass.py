"""SPL pipelines over one pass of the events (issue 24): the leading filter of every pipeline is
dispatched like a Sigma rule, so a pipeline's later stages see only its own events.

A search's first stages that only filter (``search``, ``where``) keep or drop each event on its
own; running the whole pipeline on the events they keep gives the rows it gives on all events.
So the leading filters of all pipelines go into one :class:`ir.evaluator.RuleSet`, keyed by the
``source``/``EventCode`` they require through the field profile (:func:`ir.evaluator.
filter_dispatch_keys`) and narrowed by their literals (:mod:`ir.prefilter`), and each event is
shown only to the filters that can keep it. The pipeline then runs on its own events, its
leading filter included (evaluated again, on few events: no second implementation of it).

Not narrowed (the pipeline runs on every event, as before): a pipeline with a subsearch (the
subsearch searches all events), one that does not start with a filter (``tstats``, generating
commands), a filter-only search (``ruleglot eval`` matches those as rules), and one whose
filter failed while matching (the full run reports the error in its place).
"""

from __future__ import annotations

from collections.abc import Sequence

from ir.errors import RuleglotError
from ir.evaluator import CompiledRule, RuleSet, compile_rule
from ir.events import Event
from ir.logsources import NO_PROFILE
from ir.nodes import Filter, Rule, Stage, Subsearch
from translator import api


def leading_filter(rule: Rule) -> Rule | None:
    """The rule made of the filter stages that start ``rule``'s pipeline, or ``None`` when its
    events cannot be chosen by them alone (see the module docstring)."""
    if any(isinstance(stage, Subsearch) for stage in rule.stages):
        return None
    lead: list[Stage] = []
    for stage in rule.stages:
        if not isinstance(stage, Filter):
            break
        lead.append(stage)
    if not lead or len(lead) == len(rule.stages):
        return None
    return Rule(title=rule.title, stages=tuple(lead), language=rule.language)


def select_events(
    rules: Sequence[Rule], events: Sequence[Event], fields: str | None = None
) -> list[list[Event] | None]:
    """For each rule, the events its leading filter keeps, in order (one pass over
    ``events`` for all rules), or ``None``: run it on every event."""
    compiled: list[tuple[int, CompiledRule]] = []
    for index, rule in enumerate(rules):
        lead = leading_filter(rule)
        if lead is None:
            continue
        try:
            compiled.append((index, compile_rule(lead, NO_PROFILE, api.fields_for(rule, fields))))
        except RuleglotError:
            continue  # the whole pipeline's compilation reports it
    ruleset = RuleSet(c for _, c in compiled)
    kept: list[list[Event]] = [[] for _ in compiled]
    for event in events:
        for position in ruleset.match(event):
            kept[position].append(event)
    chosen: list[list[Event] | None] = [None] * len(rules)
    for position, (index, _) in enumerate(compiled):
        if position not in ruleset.failures:
            chosen[index] = kept[position]
    return chosen
