"""SPL pipelines over one pass of the events (issue 24): the leading filter of every pipeline is
dispatched like a Sigma rule, so a pipeline's later stages see only its own events.

A search's first stages that only filter (``search``, ``where``) keep or drop each event on its
own; running the whole pipeline on the events they keep gives the rows it gives on all events.
So the leading filters of all pipelines go into one :class:`ir.evaluator.RuleSet`, keyed by the
``source``/``EventCode`` they require through the field profile (:func:`ir.evaluator.
filter_dispatch_keys`) and narrowed by their literals (:mod:`ir.prefilter`), and each event is
shown only to the filters that can keep it. The pipeline then runs on its own events, its
leading filter included (evaluated again, on few events: no second implementation of it).

A ``tstats`` search (:func:`ir.pipeline.tstats_plan`) reads the rows of one data set, one row
per event a source of the data set selects, and its ``where`` keeps or drops each row on its
own; so it gives the same rows on the events whose row its ``where`` keeps. Each data set's
rows are built once per event (:func:`ir.stages.tstats.dataset_row_fields`, memoised on the event,
so the pipeline reuses them) and the ``where`` clauses of all searches over that data set go
into one :class:`ir.evaluator.RuleSet` over those rows (field-name index and literal
prefilter over the CIM fields); a search without ``where`` gets the data set's events.

Not narrowed (the pipeline runs on every event, as before): a pipeline with a subsearch (the
subsearch searches all events), one that does not start with a filter or a ``tstats``
(generating commands), a filter-only search (``ruleglot eval`` matches those as rules), one
whose filter failed while matching (the full run reports the error in its place), and a
``tstats`` the pipeline refuses (its compilation reports it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ir.datamodels import DataModelProfile, DataSet, cim_windows
from ir.errors import RuleglotError
from ir.evaluator import (
    CompiledRule,
    RuleSet,
    SharedPredicates,
    compile_rule,
    dispatch_keys,
    event_keys,
)
from ir.events import Event
from ir.logsources import NO_PROFILE
from ir.lookups import LookupProvider
from ir.nodes import DataModel, Filter, Rule, Stage, Subsearch
from ir.pipeline import Row, tstats_plan
from ir.stages.tstats import dataset_row_fields
from translator import api
from translator.parallel import fork_map


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


def tstats_filter(
    rule: Rule, profile: DataModelProfile
) -> tuple[DataSet, Rule | None] | None:
    """The data set a ``tstats`` search reads and the rule made of its ``where`` (``None``:
    it keeps every row), or ``None`` when the search is not a tstats that runs alone."""
    if not rule.stages or not isinstance(rule.stages[0], DataModel):
        return None
    if any(isinstance(stage, Subsearch) for stage in rule.stages):
        return None
    try:
        plan = tstats_plan(rule.stages, profile)
    except RuleglotError:
        return None  # the whole pipeline's compilation reports it
    if plan is None:
        return None
    _, dataset, plain, _ = plan
    where = plain[0] if plain and isinstance(plain[0], Filter) else None
    if where is None:
        return dataset, None
    return dataset, Rule(title=rule.title, stages=(where,), language=rule.language)


def _source_keys(dataset: DataSet) -> set[tuple[str, str | None]] | None:
    """The ``(Channel, EventID)`` keys one of which an event needs for a source of ``dataset``
    to select it, or ``None`` when some source is not keyed so."""
    keys: set[tuple[str, str | None]] = set()
    for source in dataset.sources:
        found = dispatch_keys(source.condition)
        if found is None:
            return None
        keys |= found
    return keys


def _select_tstats(
    rules: Sequence[Rule],
    events: Sequence[Event],
    profile: DataModelProfile,
    chosen: list[list[Event] | None],
) -> None:
    """Fill ``chosen`` for the tstats searches among ``rules``: one pass per data set."""
    by_dataset: dict[str, tuple[DataSet, list[tuple[int, Rule | None]]]] = {}
    for index, rule in enumerate(rules):
        found = tstats_filter(rule, profile)
        if found is not None:
            dataset, where = found
            by_dataset.setdefault(dataset.name, (dataset, []))[1].append((index, where))
    # an event makes a row only if one of the data set's sources selects it: those whose
    # (Channel, EventID) keys (ir.evaluator.dispatch_keys) it lacks are not looked at
    keys_of: list[set[tuple[str, str | None]]] | None = None
    for dataset, searches in by_dataset.values():
        wanted = _source_keys(dataset)
        if wanted is not None and keys_of is None:
            keys_of = [event_keys(event) for event in events]
        compiled: list[tuple[int, CompiledRule]] = []
        everything: list[int] = []
        shared = SharedPredicates()
        for index, where in searches:
            if where is None:
                everything.append(index)
                continue
            try:
                compiled.append((index, compile_rule(where, shared=shared)))
            except RuleglotError:
                continue
        ruleset = RuleSet(c for _, c in compiled)
        kept: list[list[Event]] = [[] for _ in compiled]
        with_rows: list[Event] = []
        for number, event in enumerate(events):
            if wanted is not None and keys_of is not None and wanted.isdisjoint(keys_of[number]):
                continue
            fields = dataset_row_fields(event, dataset, profile)
            if fields is None:
                continue
            with_rows.append(event)
            if compiled:
                for position in ruleset.match(Row(fields)):
                    kept[position].append(event)
        for index in everything:
            chosen[index] = with_rows
        for position, (index, _) in enumerate(compiled):
            if position not in ruleset.failures:
                chosen[index] = kept[position]


def select_events(
    rules: Sequence[Rule],
    events: Sequence[Event],
    fields: str | None = None,
    datamodels: DataModelProfile | None = None,
) -> list[list[Event] | None]:
    """For each rule, the events its leading filter (or its tstats' data set and ``where``)
    keeps, in order (one pass over ``events`` for all rules), or ``None``: run it on every
    event. ``datamodels`` is the data-model profile the pipelines run with (default:
    :func:`ir.datamodels.cim_windows`, as :func:`ir.pipeline.compile_pipeline`'s)."""
    compiled: list[tuple[int, CompiledRule]] = []
    shared = SharedPredicates()  # the source macros' predicates, once per event
    for index, rule in enumerate(rules):
        lead = leading_filter(rule)
        if lead is None:
            continue
        try:
            one = compile_rule(lead, NO_PROFILE, api.fields_for(rule, fields), shared=shared)
            compiled.append((index, one))
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
    _select_tstats(rules, events, datamodels or cim_windows(), chosen)
    return chosen


#: A search's outcome: its rows as JSON-ready fields (:func:`translator.api.row_dict`), the
#: error that stopped it, or ``None``: its runner declined it (a log source that selects none
#: of the profile's events).
Outcome = list[dict[str, Any]] | RuleglotError | None
#: How a search is compiled into ``events -> rows`` (``None``: not run); the default is
#: :func:`translator.api.compile_run` with the field profile and lookups given.
Runner = Callable[[Rule], Callable[[Iterable[Event]], list[Event]] | None]


def _run_share(
    rules: Sequence[Rule],
    events: Sequence[Event],
    fields: str | None,
    runner: Runner,
    share: int,
    shares: int,
) -> Iterator[tuple[int, Outcome]]:
    """The outcomes of every ``shares``-th search from ``share`` on, in rule order."""
    mine = list(range(share, len(rules), shares))
    chosen = select_events([rules[i] for i in mine], events, fields)
    for index, own in zip(mine, chosen, strict=True):
        try:
            run = runner(rules[index])
            if run is None:
                yield index, None
                continue
            rows = run(events if own is None else own)
        except RuleglotError as err:
            yield index, err
            continue
        yield index, [api.row_dict(row) for row in rows]


def iter_searches(
    rules: Sequence[Rule],
    events: Sequence[Event],
    fields: str | None = None,
    lookups: LookupProvider | None = None,
    jobs: int = 1,
    runner: Runner | None = None,
) -> Iterator[tuple[int, Outcome]]:
    """``(rule index, outcome)`` of every pipeline of ``rules`` on the events
    :func:`select_events` chooses for it, in rule order, on up to ``jobs`` forked processes
    (:func:`translator.parallel.fork_map`: each inherits the rules and events, takes every
    ``jobs``-th search, selects their events in its own pass and sends back only rows; with one
    job, each outcome as soon as it is known). ``runner`` compiles each search (default:
    :func:`translator.api.compile_run` with ``fields`` and ``lookups``); it must only narrow
    the events event by event (a log source, a time range), never depend on which others
    were selected."""
    compile_search: Runner = runner or (lambda rule: api.compile_run(rule, fields, lookups))
    shares = max(1, min(jobs, len(rules)))
    if shares == 1:
        yield from _run_share(rules, events, fields, compile_search, 0, 1)
        return

    def run(share: int) -> list[tuple[int, Outcome]]:
        return list(_run_share(rules, events, fields, compile_search, share, shares))

    found = [pair for part in fork_map(run, range(shares), shares) for pair in part]
    yield from sorted(found, key=lambda pair: pair[0])


def run_searches(
    rules: Sequence[Rule],
    events: Sequence[Event],
    fields: str | None = None,
    lookups: LookupProvider | None = None,
    jobs: int = 1,
    runner: Runner | None = None,
) -> list[Outcome]:
    """The outcomes of :func:`iter_searches`, in rule order."""
    found = iter_searches(rules, events, fields, lookups, jobs, runner)
    return [outcome for _, outcome in found]
