"""``tstats ... from datamodel=D.S``: a data set's rows, its ``where``, its aggregation.

A leading :class:`ir.nodes.DataModel`, then ``Filter(command="tstats")``, then
``Stats(command="tstats")`` is read once, by :func:`tstats_plan`, into the data-set read
(:func:`datamodel_rows`: events become the rows of the data set through a data-model profile,
:mod:`ir.datamodels`) and plain stages (the ``where`` as an ordinary filter, ``bin``,
``fillnull``, ``stats``) that every engine runs. ``DataModel`` must be the first stage (tstats
is a generating command). ``tstats`` without ``from datamodel=`` (index-time fields),
``prestats``/``append`` and options not modelled are refused by name.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from ir.datamodels import DataModelProfile, DataSet
from ir.errors import RuleglotError, unsupported
from ir.events import Event
from ir.functions import (
    tidy_number,
)
from ir.nodes import (
    And,
    Bin,
    DataModel,
    Expr,
    FillNull,
    Filter,
    Predicate,
    Stage,
    Stats,
    conjuncts,
    predicates,
)
from ir.stages.rows import (
    TRUE_TEXTS,
    Row,
    RowsFn,
    event_time,
    invalid,
)

#: tstats options that do not change the rows when the data set is built from the events
#: themselves (Search Reference, "tstats"): ``summariesonly`` limits tstats to the accelerated
#: summaries and ``allow_old_summaries`` admits summaries built by an older data-model
#: definition; ruleglot reads every event through the current profile, which is a complete,
#: current summary, so both read the same rows. ``chunk_size`` and ``local`` tune how the
#: search runs. ``fillnull_value`` is modelled in :func:`_tstats`.
TSTATS_NO_EFFECT = frozenset(
    {"summariesonly", "allow_old_summaries", "chunk_size", "local", "include_reduced_buckets"}
)
TSTATS_MODELLED = frozenset({"fillnull_value"})


def _check_tstats_options(stage: DataModel) -> None:
    """``prestats=t`` and ``append=t`` (tstats feeding another tstats or stats) are refused
    by name, as is any option not in :data:`TSTATS_NO_EFFECT` / :data:`TSTATS_MODELLED`."""
    for key, value in stage.options:
        name = key.lower()
        if name in ("prestats", "append"):
            if value.lower() in TRUE_TEXTS:
                raise unsupported(
                    construct=f"tstats:{name}",
                    message=f"tstats {name}={value} is not supported",
                    span=stage.span,
                )
        elif name not in TSTATS_NO_EFFECT and name not in TSTATS_MODELLED:
            raise unsupported(
                construct=f"tstats:{name}",
                message=f"tstats option {key} is not supported",
                span=stage.span,
            )


def _dataset_fields(event: Event, dataset: DataSet, profile: DataModelProfile) -> Any:
    fields = profile.row_fields(event, dataset)
    if fields is not None:
        stamp = event_time(event)
        if stamp is not None:
            fields["_time"] = tidy_number(stamp)
    return fields


def dataset_row_fields(
    event: Event, dataset: DataSet, profile: DataModelProfile
) -> dict[str, Any] | None:
    """The fields of the row ``event`` makes in ``dataset`` (its data-set fields and its
    ``_time``), or ``None``: computed once per event and data set (a batch runs hundreds of
    tstats on the same events, ``translator.onepass`` selects their events with it); rows
    share the dict, which no stage changes in place."""
    source = (event.source if isinstance(event, Row) else None) or event
    memo_key = (f"datamodel:{profile.name}", dataset.name)
    found: dict[str, Any] | None = source.memo(
        memo_key, functools.partial(_dataset_fields, source, dataset, profile)
    )
    return found


def datamodel_rows(dataset: DataSet, profile: DataModelProfile) -> RowsFn:
    """``tstats ... from datamodel=D.S``: each event a source of the data set selects becomes
    one row holding the data set's fields (``Processes.process_name``...) and its ``_time``
    (:mod:`ir.datamodels`, "Row semantics"); other events are no rows."""

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in rows:
            fields = dataset_row_fields(event, dataset, profile)
            if fields is not None:
                out.append(Row(fields))
        return out

    return run


def tstats_where(stage: Filter, dataset: DataSet) -> Filter | None:
    """tstats' ``where`` without its ``nodename=<object>`` conjunct, which names the data set
    rather than filtering its rows (Search Reference, "tstats": ``nodename``). A nodename that
    is the data set read is dropped; so is a child of a data set with no sources
    (``All_Sessions.DHCP``): a child's events meet its parents' constraints too (CIM manual,
    "How to use the CIM data model reference tables"), so it has no rows either. Another one
    (``Authentication.Failed_Authentication``) is refused by name: the CIM manual lists only
    the children's tags, and its other constraints are not in the profile."""
    kept: list[Expr] = []
    for conjunct in conjuncts(stage.expr):
        if isinstance(conjunct, Predicate) and conjunct.field == "nodename":
            lineage = str(conjunct.value).lower().split(".")
            node = lineage[-1]
            if node in (dataset.prefix.lower(), dataset.name.rsplit(".", 1)[-1].lower()):
                continue
            if not dataset.sources and len(lineage) > 1 and lineage[0] == dataset.prefix.lower():
                continue
            raise unsupported(
                construct="tstats:nodename",
                message=f"tstats nodename={conjunct.value} (a child data set) is not "
                    f"in the data-model profile",
                span=conjunct.span,
            )
        if any(p.field == "nodename" for p in predicates(conjunct)):
            raise unsupported(
                construct="tstats:nodename",
                message="tstats nodename inside OR/NOT is not supported",
                span=stage.span,
            )
        kept.append(conjunct)
    if not kept:
        return None
    expr = kept[0] if len(kept) == 1 else And(tuple(kept))
    return Filter(expr, "tstats", span=stage.span)


def _tstats_aggregation(stage: Stats, options: Mapping[str, str]) -> list[Stage]:
    """``tstats <aggs> ... by F [span=S]`` as plain stages on the data set's rows: ``span``
    bins ``_time`` first (``bin _time span=S``); ``fillnull_value=V`` is ``fillnull value=V F``
    (Search Reference, "tstats": fillnull_value "substitutes for null values for any field
    within its group-by field list"); then ``stats``. Other options are refused by name."""
    out: list[Stage] = []
    for key, value in stage.options:
        if key.lower() != "span":
            raise unsupported(
                construct=f"tstats:{key}",
                message=f"tstats option {key} is not supported",
                span=stage.span,
            )
        out.append(Bin("_time", value, span=stage.span))
    fill = next((v for k, v in options.items() if k.lower() == "fillnull_value"), None)
    if fill is not None and stage.by:
        out.append(FillNull(fill, stage.by, span=stage.span))
    out.append(Stats(stage.aggregations, stage.by, "stats", span=stage.span))
    return out


def tstats_plan(
    stages: Sequence[Stage], profile: DataModelProfile
) -> tuple[DataModel, DataSet, list[Stage], int] | None:
    """A leading ``DataModel [Filter(command="tstats")] Stats(command="tstats")`` as: the
    data-model read, its data set, the plain stages that run on the data set's rows (the
    ``where`` without its ``nodename``, ``bin``, ``fillnull``, ``stats``) and how many stages
    it was; ``None`` when ``stages`` does not start with a data-model read. Raises the named
    ``unsupported`` errors of what does not run. The one reading of tstats for every engine."""
    if not stages or not isinstance(stages[0], DataModel):
        return None
    model = stages[0]
    _check_tstats_options(model)
    try:
        dataset = profile.dataset(model.name)
    except RuleglotError as err:
        raise err.at(model.span) from None
    plain: list[Stage] = []
    index = 1
    where = stages[index] if index < len(stages) else None
    if isinstance(where, Filter) and where.command == "tstats":
        kept = tstats_where(where, dataset)
        if kept is not None:
            plain.append(kept)
        index += 1
    last = stages[index] if index < len(stages) else None
    if not (isinstance(last, Stats) and last.command == "tstats"):
        raise invalid("a data-model read must be followed by its tstats aggregation",
                       "tstats", model.span)
    try:
        plain.extend(_tstats_aggregation(last, dict(model.options)))
    except RuleglotError as err:
        raise err.at(last.span) from None
    return model, dataset, plain, index + 1
