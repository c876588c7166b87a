"""Filters after an aggregation that test only its group keys, moved before it.

``... | stats <aggs> by F1 F2 | <column-shaping stages> | where <test of F1, F2>`` keeps the
result rows whose group keys pass the test. A group's row holds, in each by-field, the value
that every event in the group has there (Search Reference, "stats": one row per distinct
combination of the by-field values; the evaluator's ``ir.stages.stats``). So the same test,
applied to each event just before the aggregation, keeps every event of the groups it keeps
and none of the others: the groups that remain, hence every aggregate of each remaining row,
are unchanged, and the rows are exactly the original's. Writers for languages without an
aggregation (Sigma: the match is the event) then carry the test in the detection instead of
dropping it with the stats. :func:`group_filters` finds such filters, :func:`push_group_filters`
moves them. ``docs/semantics.md`` ("Filters on group keys") states the rule with its sources.

Exact conditions (each one a way the rows could differ otherwise)

* The aggregation is ``stats`` or ``tstats`` (not ``eventstats``/``streamstats``: they keep
  every row, and a filter moved before them changes the other rows' aggregates) with
  by-fields; the filter is any :class:`~ir.nodes.Filter` (``search``, ``where``, ``regex``:
  each predicate carries its own case rule, ``cased``, so moving it changes neither the
  ``where`` nor the ``search`` comparison).
* Every leaf is a :class:`~ir.nodes.Predicate` on a field (a bare term reads ``_raw``, which a
  group row does not have; an eval :class:`~ir.nodes.Condition` is left where it is, as no
  writer this serves can say it) whose field, and a field reference's other field, is a
  by-field under its current name.
* A by-field is one value per row reaching the aggregation (``multivalued`` says which may
  not be, for the events' own fields; a by-field is traced back to them through renames, and
  one an ``eval``/``lookup``/aggregate wrote may be several). A multivalue by-field puts an
  event in one group per value (Search Reference, "stats": one row "for each distinct value
  specified in the BY clause"; its ``dedup_splitvals`` option is about the duplicate values a
  multivalued by-field splits into; ``_group_keys`` in ``ir.stages.stats``), and the test on
  the row reads that one value, while the IR's predicate on the event holds when *any* value
  does (``ir.nodes``): ``process!="a"`` on ``[a, b]`` keeps the ``b`` row but not the event,
  ``process="*a*" process="*b*"`` keeps the event but neither row. Not moved.
* ``_time`` is not a group key here: ``tstats ... span=``/``bin _time`` group by the bucket,
  not the event's time.
* A by-field that an aggregation also names (``values(dest) as dest by dest``) is not taken
  as the group key (Splunk does not document which one the row keeps).
* Between the aggregation and the filter only stages that keep every row and whose written
  fields are known: ``rename`` (the test reads the old name; wildcards as
  ``drop_dm_object_name``'s ``rename Processes.* as *``; a field renamed *onto* a by-field's
  name hides it), ``eval``/``convert``/``bin``/``rex``/``fillnull``/``lookup ... OUTPUT`` of
  other fields (one that writes a by-field's name takes it out: the row then holds another
  value), ``table``/``fields`` (a by-field they remove is out), ``sort 0``, and other filters
  (filters are row-wise; two of them commute). Anything else (``head``, a ``sort`` with its
  10,000-row limit, ``dedup``, ``eventstats``, another ``stats``, ``join``...) ends the run;
  :func:`push_group_filters` repeats until nothing moves, so a filter after a second ``stats``
  that groups by the first one's by-fields moves through both.
* ``tstats ... fillnull_value=V`` makes a missing by-field the text ``V`` in its group's row
  (``ir.stages.tstats``): the moved test becomes ``(F present and test) or (F missing and
  test("V"))`` per predicate, decided by the evaluator (:func:`ir.extractions.decide`); a
  field reference is not moved there. Without it, an event missing a by-field makes no row,
  before or after the move, whatever the test says of a missing field.

Known limit: the evaluator groups by-field values by their text (``ir.functions.to_text``)
while predicates read an event value through ``ir.events.text_of``; the two differ on a whole
float (``0.0``: ``"0"`` against ``"0.0"``, the xfail in ``tests/test_translation_properties``),
so a group holding both ``0`` and ``0.0`` could be split differently by a moved test on that
text. The property test draws strings and integers only; the fix belongs to that one text rule.

Where the filter goes: right before the aggregation, under the names the aggregation reads;
for ``tstats``, ANDed into its ``where`` (``Filter(command="tstats")``, created when absent),
which is the only filter a data-model read has before its aggregation (``ir.stages.tstats``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from ir.datamodels import DataModelProfile
from ir.extractions import Tree, decide, simplify, simplify_and, simplify_or
from ir.fielduse import rex_field_names
from ir.nodes import (
    Aggregation,
    And,
    Bin,
    Condition,
    Convert,
    DataModel,
    Dedup,
    Eval,
    Expr,
    FieldRef,
    FillNull,
    Filter,
    Head,
    Kind,
    Lookup,
    Not,
    Or,
    Predicate,
    Rename,
    Rex,
    Sort,
    Stage,
    Stats,
    Table,
    all_of,
    map_fields,
    predicates,
)
from ir.stages.rows import fill_wildcards, wild_match

__all__ = ["GroupFilter", "group_filters", "push_group_filters", "written_fields"]

#: Whether a field may hold several values in the rows reaching an aggregation.
Multivalued = Callable[[str], bool]

@dataclass(frozen=True)
class GroupFilter:
    """A filter stage (index ``at``) after the aggregation at ``stats_at`` that tests only its
    group keys; ``expr`` is the test as it reads on the rows entering the aggregation."""

    at: int
    stats_at: int
    expr: Expr


def _never(_name: str) -> bool:
    return False


def group_filters(
    stages: Sequence[Stage],
    multivalued: Multivalued = _never,
    datamodels: DataModelProfile | None = None,
) -> list[GroupFilter]:
    """Every filter of ``stages`` that :func:`push_group_filters` may move one aggregation up
    (module docstring). ``multivalued`` answers for raw events; a ``tstats`` data set's
    multivalue fields (``split`` extractions) are read from ``datamodels``."""
    out: list[GroupFilter] = []
    for at, stage in enumerate(stages):
        if isinstance(stage, Stats) and stage.command in ("stats", "tstats") and stage.by:
            out.extend(_after(stages, at, _multi_of(stages, at, multivalued, datamodels)))
    return out


def push_group_filters(
    stages: Sequence[Stage],
    multivalued: Multivalued = _never,
    datamodels: DataModelProfile | None = None,
) -> tuple[Stage, ...]:
    """``stages`` with each filter on group keys moved before its aggregation, repeated until
    none moves. The result gives the same rows as ``stages`` (module docstring)."""
    current = tuple(stages)
    for _ in range(len(current) + 1):
        found = group_filters(current, multivalued, datamodels)
        if not found:
            return current
        current = _moved(current, found)
    return current


def _moved(stages: tuple[Stage, ...], found: list[GroupFilter]) -> tuple[Stage, ...]:
    moving = {g.at for g in found}
    before: dict[int, list[GroupFilter]] = {}
    for g in found:
        before.setdefault(g.stats_at, []).append(g)
    out: list[Stage] = []
    for at, stage in enumerate(stages):
        if at in moving:
            continue
        groups = before.get(at, [])
        if groups and isinstance(stage, Stats) and stage.command == "tstats":
            where = out[-1] if out and isinstance(out[-1], Filter) else None
            exprs = [g.expr for g in groups]
            if where is not None and where.command == "tstats":
                out[-1] = Filter(all_of([where.expr, *exprs]), "tstats", span=where.span)
            else:
                out.append(Filter(all_of(exprs), "tstats", span=stages[groups[0].at].span))
        elif groups:
            read = {name for g in groups for name in _fields(g.expr)}
            # before the ``bin`` that makes the time buckets, too: ``bin | stats`` stays one
            # shape for writers that read it as a time window (a bin of another field moves
            # nothing the filter reads)
            bins: list[Stage] = []
            while out and isinstance(out[-1], Bin) and (out[-1].alias or out[-1].field) not in read:
                bins.insert(0, out.pop())
            for g in groups:
                moved = stages[g.at]
                assert isinstance(moved, Filter)
                out.append(Filter(g.expr, moved.command, span=moved.span))
            out.extend(bins)
        out.append(stage)
    return tuple(out)


def _fields(expr: Expr) -> set[str]:
    """The fields a filter tree reads (predicate fields and field references)."""
    out: set[str] = set()
    for p in predicates(expr):
        if p.field is not None:
            out.add(p.field)
        if isinstance(p.value, FieldRef):
            out.add(p.value.field)
    return out


def _multi_of(
    stages: Sequence[Stage],
    at: int,
    multivalued: Multivalued,
    datamodels: DataModelProfile | None,
) -> Multivalued:
    """Whether a by-field of the aggregation at ``at`` may be several values in a row reaching
    it: traced back through the stages before it (module docstring)."""
    return partial(_may_be_multi, stages, at, multivalued, datamodels)


def _may_be_multi(
    stages: Sequence[Stage],
    at: int,
    multivalued: Multivalued,
    datamodels: DataModelProfile | None,
    name: str,
) -> bool:
    """Back from the aggregation: a rename gives the field's earlier name; a filter, table,
    sort, ``bin``/``fillnull`` of other fields leave it as it is; the by-field of an earlier
    ``stats`` is one value per row; the events' own fields are ``multivalued``'s, a data
    set's its ``split`` extractions. Any stage that writes it otherwise (``eval``, ``lookup``,
    ``rex``, ``makemv``, an aggregate, a command not modelled) may make it several."""
    for stage in reversed(stages[:at]):
        if isinstance(stage, Rename):
            for old, new in reversed(stage.pairs):
                match = wild_match(new, name) if "*" in new else None
                if match is not None and "*" in old:
                    name = fill_wildcards(old, match.groups())
                elif name == new:
                    name = old
        elif isinstance(stage, DataModel):
            dataset = datamodels.find(stage.name) if datamodels is not None else None
            if dataset is None:
                return True  # a data set nobody describes: any field may be several
            return any(
                f"{dataset.prefix}.{x.target}" == name and x.transform == "split"
                for source in dataset.sources
                for x in source.extractions
            )
        elif isinstance(stage, Stats) and stage.command == "stats":
            return name not in stage.by or name in {_agg_name(a) for a in stage.aggregations}
        elif isinstance(stage, (Filter, Sort, Table, Head, Dedup)):
            continue
        elif not (isinstance(stage, _ROW_WRITERS) and not _writes(stage, name)):
            return True
    return multivalued(name)


#: Stages that keep every row and write only the fields :func:`written_fields` names.
_ROW_WRITERS = (Bin, FillNull, Eval, Convert, Rex, Lookup)


def _writes(stage: Stage, name: str) -> bool:
    written = written_fields(stage)
    return written is None or any(wild_match(w, name) for w in written)


def _after(stages: Sequence[Stage], at: int, multivalued: Multivalued) -> list[GroupFilter]:
    stats = stages[at]
    assert isinstance(stats, Stats)
    named = {_agg_name(a) for a in stats.aggregations}
    # the name a group key has in the rows now -> the name the aggregation reads
    keys = {
        f: f
        for f in stats.by
        if f != "_time" and "*" not in f and f not in named and not multivalued(f)
    }
    fill = _fill(stages, at)
    out: list[GroupFilter] = []
    for later in range(at + 1, len(stages)):
        if not keys:
            break
        stage = stages[later]
        if isinstance(stage, Filter):
            expr = _on_keys(stage.expr, keys, fill)
            if expr is not None:
                out.append(GroupFilter(later, at, expr))
        elif isinstance(stage, Rename):
            keys = _renamed(keys, stage.pairs)
        elif isinstance(stage, Table):
            keys = {
                k: v for k, v in keys.items()
                if any(wild_match(p, k) for p in stage.fields) != stage.remove
            }  # fmt: skip
        elif isinstance(stage, Sort) and stage.limit == 0:
            continue
        else:
            written = written_fields(stage)
            if written is None:
                break
            keys = {k: v for k, v in keys.items() if not any(wild_match(w, k) for w in written)}
    return out


def _agg_name(agg: Aggregation) -> str:
    if agg.alias:
        return agg.alias
    return agg.function if agg.argument is None else f"{agg.function}({agg.argument})"


def _fill(stages: Sequence[Stage], at: int) -> str | None:
    """``fillnull_value`` of a ``tstats`` (its :class:`DataModel`'s option)."""
    stats = stages[at]
    head = stages[0]
    if isinstance(stats, Stats) and stats.command == "tstats" and isinstance(head, DataModel):
        return next((v for k, v in head.options if k.lower() == "fillnull_value"), None)
    return None


def _on_keys(expr: Expr, keys: dict[str, str], fill: str | None) -> Expr | None:
    """``expr`` under the names the aggregation reads, or ``None`` when it tests anything but
    group keys (or a field reference under ``fillnull_value``)."""
    if not _only_keys(expr, keys, fill is not None):
        return None
    mapped = map_fields(expr, partial(_key, keys))
    if fill is None:
        return mapped
    filled = simplify(mapped, partial(_filled, fill))
    if isinstance(filled, bool):  # the test decides every row alike: keep it as written
        return mapped
    return filled


def _only_keys(expr: Expr, keys: dict[str, str], filled: bool) -> bool:
    if isinstance(expr, Predicate):
        if expr.field is None or expr.field not in keys or expr.kind is Kind.TERM:
            return False
        if isinstance(expr.value, FieldRef):
            return not filled and expr.value.field in keys
        return True
    if isinstance(expr, Not):
        return _only_keys(expr.arg, keys, filled)
    if isinstance(expr, (And, Or)):
        return all(_only_keys(a, keys, filled) for a in expr.args)
    assert isinstance(expr, Condition)
    return False


def _key(keys: dict[str, str], name: str) -> str:
    return keys[name]


def _filled(fill: str, p: Predicate) -> Tree:
    """``p`` on a group row where a missing by-field reads as the ``fillnull_value`` text."""
    assert p.field is not None
    null = Predicate(p.field, Kind.NULL, None, span=p.span)
    return simplify_or([
        simplify_and([Not(null, span=p.span), p]),
        simplify_and([null, decide(p, fill)]),
    ])  # fmt: skip


def _renamed(keys: dict[str, str], pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The keys after ``rename`` (``ir.stages.fields``: pairs in order; the new name replaces
    a field of that name, and a field whose old name is missing removes it)."""
    for old, new in pairs:
        out: dict[str, str] = {}
        if "*" in old:
            for name, original in keys.items():
                match = wild_match(old, name)
                if match is not None:
                    out[fill_wildcards(new, match.groups())] = original
            for name, original in keys.items():
                # kept unless some other field may be renamed onto it
                if wild_match(old, name) is None and wild_match(new, name) is None:
                    out.setdefault(name, original)
        else:
            for name, original in keys.items():
                if name == old:
                    out[new] = original
                elif name != new:
                    out.setdefault(name, original)
        keys = out
    return keys


def written_fields(stage: Stage) -> list[str] | None:
    """The fields a row-keeping stage writes (patterns), or ``None`` for any other stage.
    ``fillnull`` without a field list is one of those others: it fills every field some row of
    the results has (Search Reference, "fillnull"), so what it writes in one row depends on
    which other rows there are, and no filter may move past it."""
    if isinstance(stage, Eval):
        return [name for name, _ in stage.assignments]
    if isinstance(stage, Convert):
        return [alias or name for _, name, alias in stage.conversions]
    if isinstance(stage, FillNull):
        return list(stage.fields) or None
    if isinstance(stage, Bin):
        return [stage.alias or stage.field]
    if isinstance(stage, Rex):
        if stage.mode == "sed":
            return [stage.field]
        names = rex_field_names(stage.pattern)
        # Splunk's _KEY_n/_VAL_n groups name fields from the text: any field may be written
        return None if any(n.startswith("_KEY_") for n in names) else names
    if isinstance(stage, Lookup) and stage.command == "lookup" and stage.outputs:
        return [name for _, name in stage.outputs]
    return None
