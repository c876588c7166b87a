"""Running SPL stages: a rule's stages map a list of rows to a list of rows.

:func:`run_pipeline` compiles every stage once (:func:`compile_pipeline`) and runs them on the
events. The first rows are the events; a row is an :class:`ir.events.Event` (a :class:`Row`
once stages change fields), so filters run through the one evaluator
(:func:`ir.evaluator.compile_expr`) and eval expressions through :mod:`ir.evalexpr`. Each
stage's semantics and its Splunk source (Splunk Search Reference, the page of that command) are
in the docstring of the function that compiles it.

Where each stage lives
    This module is the driver: the table from stage class to builder (merged from each stage
    module's ``STAGE_BUILDERS``), :func:`compile_stage`, :func:`compile_pipeline` and
    :func:`run_pipeline`. The stages, one module per job, are in :mod:`ir.stages`: ``rows``
    (:class:`Row`, the event-time rule :func:`event_time`, wildcard field lists), ``fields``,
    ``text``, ``stats``, ``order``, ``lookup``, ``tstats`` and ``subsearch``. The names other
    packages import (``Row``, ``event_time``, ``aggregate``, ``tstats_plan``...) are re-exported
    here, so callers keep importing them from ``ir.pipeline``.

Rows
    A :class:`Row` holds a plain ``fields`` dict and, while it still stands for one event, that
    event (``source``); stages never change a row in place. ``_time`` follows the event-time
    rule (:mod:`ir.stages.rows`).

Field aliases
    ``aliases`` (rule field -> event field, as a log-source profile's alias map) are applied
    to each event before the first stage, as Splunk applies ``FIELDALIAS`` at search time: the
    rule's name gets the event field's value, or is removed when the event has no such field
    (Splunk 7.2.4 and later: Release Notes, "Field alias behavior change"). Later stages see
    the aliased names like any other field.

Wildcard field lists
    ``*`` in a field name is any run of characters, never matching ``_raw``/``_time`` unless
    the pattern starts with ``_`` (:func:`ir.stages.rows.wild_match`).

``tstats`` (:class:`ir.nodes.DataModel`, then ``Filter(command="tstats")``, then
``Stats(command="tstats")``)
    The events become the rows of the data set through a data-model profile
    (:mod:`ir.datamodels`, default ``cim_windows``; see
    :func:`ir.stages.tstats.datamodel_rows`), the ``where`` is an
    ordinary filter through the one evaluator, and the aggregation is ``stats`` with tstats'
    ``fillnull_value`` and ``span`` (:func:`tstats_plan`). ``DataModel`` must be the first stage
    (tstats is a generating command).

Not evaluated (``unsupported`` errors naming the construct, at the stage's position):
``tstats`` without ``from datamodel=`` (it reads index-time fields), ``prestats``/``append``,
subsearches other than ``join``/``append``/``appendpipe``/``search [...]`` (which run:
:mod:`ir.stages.subsearch`),
every :class:`ir.nodes.Command` but those in :data:`COMMANDS` (``addtotals``, ``replace``,
``transaction``, ``outputlookup``, ``timechart``: :mod:`ir.stages.commands`,
:mod:`ir.stages.timechart`), and options a stage does not model.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence

from ir.datamodels import DataModelProfile, cim_windows
from ir.errors import RuleglotError, unsupported
from ir.events import Event
from ir.lookups import LookupProvider
from ir.nodes import Command, DataModel, Lookup, Stage, Subsearch
from ir.stages import commands, fields, order, stats, text, timechart
from ir.stages.commands import suppressed_writes
from ir.stages.lookup import lookup_stage
from ir.stages.rows import (
    Row,
    RowsFn,
    StageBuilder,
    event_time,
    fill_wildcards,
)
from ir.stages.stats import PERCENTILE, aggregate, bin_time_number
from ir.stages.subsearch import SUBSEARCHES
from ir.stages.tstats import datamodel_rows, tstats_plan, tstats_where

#: Stage class -> builder, from the stage modules' tables.
_SIMPLE: dict[type, StageBuilder] = {
    **fields.STAGE_BUILDERS,
    **text.STAGE_BUILDERS,
    **stats.STAGE_BUILDERS,
    **order.STAGE_BUILDERS,
}
#: Command name -> builder, for the commands the IR keeps as text that still run.
COMMANDS: dict[str, Callable[[Command, float], RowsFn]] = {
    **commands.COMMAND_BUILDERS,
    **timechart.COMMAND_BUILDERS,
}


def compile_stage(
    stage: Stage, *, lookups: LookupProvider | None = None, now: float | None = None
) -> RowsFn:
    """One stage compiled into ``rows -> rows``; :class:`RuleglotError` for what cannot run."""
    when = _time.time() if now is None else now
    if isinstance(stage, Lookup):
        return lookup_stage(stage, lookups, when)
    if isinstance(stage, Subsearch):
        raise unsupported(
            construct=stage.command,
            message=f"{stage.command} with a subsearch is not supported",
            span=stage.span,
        )
    if isinstance(stage, Command) and stage.name in COMMANDS:
        try:
            return COMMANDS[stage.name](stage, when)
        except RuleglotError as err:
            raise err.at(stage.span) from None
    if isinstance(stage, Command):
        raise unsupported(
            construct=stage.name,
            message=f"the {stage.name} command is not supported",
            span=stage.span,
        )
    if isinstance(stage, DataModel):
        raise unsupported(
            construct="tstats",
            message="tstats is run only as the first command (it generates the rows)",
            span=stage.span,
        )
    builder = _SIMPLE.get(type(stage))
    if builder is None:
        raise TypeError(f"not an IR stage: {stage!r}")
    try:
        return builder(stage, when)
    except RuleglotError as err:
        raise err.at(stage.span) from None


def _tstats_stages(
    stages: Sequence[Stage], profile: DataModelProfile, now: float
) -> tuple[list[RowsFn], int]:
    """The compiled :func:`tstats_plan` of ``stages``, and how many stages it was."""
    plan = tstats_plan(stages, profile)
    if plan is None:
        return [], 0
    _, dataset, plain, used = plan
    compiled = [datamodel_rows(dataset, profile)]
    compiled.extend(compile_stage(s, now=now) for s in plain)
    return compiled, used


def compile_pipeline(
    stages: Iterable[Stage],
    *,
    lookups: LookupProvider | None = None,
    aliases: Mapping[str, str] | None = None,
    now: float | None = None,
    datamodels: DataModelProfile | None = None,
) -> Callable[[Iterable[Event]], list[Event]]:
    """The stages compiled once (every unsupported construct is reported here, before any
    event is read) into ``events -> rows``. ``now`` is the search's start time: ``now()`` in
    every expression (default: the time of this call). ``datamodels`` turns events into the
    rows a leading ``tstats`` reads (default: :func:`ir.datamodels.cim_windows`)."""
    when = _time.time() if now is None else now
    stage_list = list(stages)
    profile = datamodels or cim_windows()
    compiled, used = _tstats_stages(stage_list, profile, when)
    #: the events of the current run, which a ``join``/``append`` subsearch searches again
    searched: list[list[Event]] = [[]]
    for stage in stage_list[used:]:
        if isinstance(stage, Subsearch) and stage.timerange is not None:
            own = stage.timerange
            raise unsupported(
                construct="earliest",
                message=f"a subsearch's own time range ({own.text()}) is not run",
                span=own.span or stage.span,
            )  # fmt: skip
        if isinstance(stage, Subsearch) and stage.command in SUBSEARCHES:
            inner = compile_pipeline(stage.stages, lookups=lookups, aliases=aliases, now=when,
                                     datamodels=profile)  # fmt: skip
            try:
                compiled.append(SUBSEARCHES[stage.command](stage, inner, searched))
            except RuleglotError as err:
                raise err.at(stage.span) from None
        else:
            compiled.append(compile_stage(stage, lookups=lookups, now=when))
    alias_map = dict(aliases or {})

    def run(events: Iterable[Event]) -> list[Event]:
        searched[0] = events_list = list(events)
        # a data-model read takes the events as they are (its profile names their fields)
        rows: list[Event] = events_list if used else [Row.of(e, alias_map) for e in events_list]
        for stage in compiled:
            rows = stage(rows)
        return rows

    return run


def run_pipeline(
    stages: Iterable[Stage],
    events: Iterable[Event],
    *,
    lookups: LookupProvider | None = None,
    aliases: Mapping[str, str] | None = None,
    now: float | None = None,
) -> list[Event]:
    """Run ``stages`` on ``events`` (see the module docstring); returns the final rows."""
    return compile_pipeline(stages, lookups=lookups, aliases=aliases, now=now)(events)


__all__ = [
    "PERCENTILE",
    "Row",
    "aggregate",
    "bin_time_number",
    "compile_pipeline",
    "compile_stage",
    "event_time",
    "fill_wildcards",
    "run_pipeline",
    "suppressed_writes",
    "tstats_plan",
    "tstats_where",
]
