"""An SPL search's time modifiers read into, and written from, ``Rule.timerange``.

Splunk reads ``earliest``/``latest``/``_index_earliest``/``_index_latest`` in a search as the
search's time range, not as fields (Search Reference, "Time modifiers"; ``ir.nodes``, "Search
settings"). The builder reads them as predicates like any ``field=value``; :func:`take` then
moves the base search's top-level ones into an :class:`~ir.nodes.TimeRange` (parsed by
:func:`ir.timerange.parse_bound`). A modifier Splunk applies to the whole search but that sits
where the IR cannot say so is a positioned ``unsupported`` error, never a predicate:

* inside ``OR``/``NOT``, or with another operator than ``=`` (``earliest!=x``, ``earliest>x``):
  the range is the whole search's, not a condition on some events;
* in a later ``| search``, an ``inputlookup ... where``, a ``tstats`` where clause or an
  ``appendpipe`` (none is a base search);

A subsearch's own base search has its own range (``Subsearch.timerange``): "time ranges
specified directly in the base search do not apply to subsearches".
* given twice in one search.
"""

from __future__ import annotations

from dataclasses import replace

from ir.errors import RuleglotError, Span, unsupported
from ir.nodes import (
    TIME_MODIFIERS,
    And,
    Expr,
    Filter,
    Kind,
    Not,
    Or,
    Predicate,
    Stage,
    Subsearch,
    TimeRange,
    all_of,
    conjuncts,
    predicates,
    stage_command,
)
from ir.timerange import parse_bound

#: SPL modifier -> ``TimeRange`` field
_FIELDS = {
    "earliest": "earliest",
    "latest": "latest",
    "_index_earliest": "index_earliest",
    "_index_latest": "index_latest",
}


def _is_modifier(pred: Predicate) -> bool:
    return pred.field in TIME_MODIFIERS


def _refuse(pred: Predicate, where: str) -> RuleglotError:
    return unsupported(
        construct=str(pred.field),
        message=f"time modifier {pred.field} {where}: Splunk applies it to the whole base "
        "search, which the IR's time range (Rule.timerange) cannot say here",
        span=pred.span,
    )


def _check_none(stages: tuple[Stage, ...] | list[Stage], where: str) -> None:
    """A positioned error for any time-modifier predicate in search filters of ``stages``
    (an ``appendpipe``'s too: it has no base search of its own)."""
    for stage in stages:
        if isinstance(stage, Filter) and stage.command in ("search", "tstats"):
            for pred in predicates(stage.expr):
                if _is_modifier(pred):
                    raise _refuse(pred, where)
        elif isinstance(stage, Subsearch) and stage.command == "appendpipe":
            _check_none(stage.stages, "in appendpipe, which has no base search")


def _own_range(stage: Stage) -> Stage:
    """A subsearch with its own base search's range taken (Search Reference, "Time
    modifiers": a range in a subsearch applies to that subsearch only)."""
    if not isinstance(stage, Subsearch) or stage.command == "appendpipe":
        return stage
    inner, timerange = take(list(stage.stages))
    return replace(stage, stages=tuple(inner), timerange=timerange)


def _bound_text(pred: Predicate) -> str | None:
    """The modifier's value as written, when ``pred`` is ``modifier=value``."""
    if pred.kind is not Kind.EQ or isinstance(pred.value, bool):
        return None
    return pred.value_text() if not isinstance(pred.value, str) else pred.value


def take(stages: list[Stage], span: Span | None = None) -> tuple[list[Stage], TimeRange | None]:
    """``stages`` without the base search's time modifiers, and the range they make (each
    subsearch's own in its ``Subsearch.timerange``)."""
    stages = [_own_range(stage) for stage in stages]
    if not stages or not isinstance(stages[0], Filter) or stages[0].command != "search":
        _check_none(stages, "outside the base search")
        return stages, None
    first = stages[0]
    _check_none(stages[1:], "after the first command")
    kept: list[Expr] = []
    bounds: dict[str, object] = {}
    where: Span | None = None
    for part in conjuncts(first.expr):
        if isinstance(part, Predicate) and _is_modifier(part):
            text = _bound_text(part)
            if text is None:
                raise _refuse(part, f"with operator {part.kind}")
            name = _FIELDS[str(part.field)]
            if name in bounds:
                raise unsupported(
                    construct=str(part.field),
                    message=f"{part.field} is given twice in one search",
                    span=part.span,
                )
            try:
                bounds[name] = parse_bound(text)
                where = where or part.span
            except ValueError as exc:
                raise RuleglotError(str(exc), category="invalid", construct=str(part.field)).at(
                    part.span
                ) from None
            continue
        if isinstance(part, (And, Or, Not, Predicate)):
            for pred in predicates(part):
                if _is_modifier(pred):
                    raise _refuse(pred, "inside OR or NOT")
        kept.append(part)
    if not bounds:
        return stages, None
    rest = stages[1:]
    if kept:
        rest.insert(0, replace(first, expr=all_of(kept)))
    return rest, TimeRange(**bounds, span=where or span or first.span)  # type: ignore[arg-type]


def search_terms(timerange: TimeRange) -> str:
    """The range as search terms (``earliest=-24h@h latest=now``), quoted where a bare word
    would not read back as the same text (an absolute ``10/15/2019:20:00:00`` has ``/`` and
    ``:``, which the search grammar reads as a term of its own)."""
    return " ".join(f"{name}={_quoted(bound.text)}" for name, bound in timerange.bounds())


#: commands that generate their rows (Search Reference, "Command types": generating
#: commands), before which no search terms can stand
_GENERATING = frozenset(
    {"tstats", "mstats", "inputlookup", "makeresults", "datamodel", "from", "rest",
     "metadata", "dbinspect", "pivot", "mcatalog", "inputcsv"}
)  # fmt: skip


def with_time_range(commands: list[str], stages: tuple[Stage, ...], timerange: TimeRange) -> None:
    """Put the range's terms in front of the written search's first command (``commands[0]``,
    the base search's terms, ``""`` when it has none). A search that starts with a generating
    command has no base search to hold them: ``unsupported``."""
    terms = search_terms(timerange)
    first = commands[0]
    if not first and stages and stage_command(stages[0]) in _GENERATING:
        raise unsupported(
            construct="earliest",
            message=f"the time range ({timerange.text()}) has no base search to stand in: the "
            f"search starts with {stage_command(stages[0])}",
            span=timerange.span,
        )
    if " OR " in first:  # terms ANDed in front: the same under either search precedence
        first = f"({first})"
    commands[0] = f"{terms} {first}".rstrip()


def dispatch_times(timerange: TimeRange | None, earliest: str, latest: str) -> tuple[str, str]:
    """``dispatch.earliest_time``/``dispatch.latest_time`` of a saved search: the rule's own
    range where it gives one (a range in the search string overrides the dispatch window
    anyway: Search Manual, "Specify time modifiers in your search"; writing the same window
    keeps the stanza from saying two things), else the deployment's."""
    if timerange is None:
        return earliest, latest
    return (
        timerange.earliest.text if timerange.earliest else earliest,
        timerange.latest.text if timerange.latest else latest,
    )


def _quoted(text: str) -> str:
    if text and all(c.isalnum() or c in "+-@." for c in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["dispatch_times", "search_terms", "take", "with_time_range"]
