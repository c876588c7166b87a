"""What the Sigma writer does with a search's pipeline stages, as functions: for
:mod:`backends.sigma.emit` (its module docstring, "Stages", says what each stage becomes).

* Before writing, filters after an aggregation that test only its group keys, and filters
  after column-shaping stages, move before them (:func:`group_filters_moved`, through
  :mod:`ir.pushdown` and :mod:`ir.hoist`: the same rows), so they join the detection.
* ``eval f=g`` copies (:func:`copy_pairs`) are read through (:func:`substitute`), a
  ``table``/``fields`` is checked for the fields later stages read (:func:`read_fields`,
  :func:`kept`), and a dropped ``stats``' by-fields are traced back through the stages
  before it (:func:`renamed_back`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from functools import partial

from backends.spl.buildsearch import where_tree
from ir.datamodels import cim_windows
from ir.fieldprofiles import FieldProfile
from ir.hoist import hoist_filters
from ir.nodes import (
    Bin,
    Convert,
    DataModel,
    Eval,
    Expr,
    FieldValue,
    FillNull,
    Filter,
    Rename,
    Rex,
    Rule,
    Sort,
    Stage,
    Stats,
    Table,
    map_fields,
    predicates,
)
from ir.pushdown import push_group_filters, written_fields

__all__ = [
    "LIST_FIELDS",
    "copy_pairs",
    "group_filters_moved",
    "kept",
    "lands_after_a_drop",
    "multivalued",
    "read_fields",
    "renamed_back",
    "substitute",
]


def group_filters_moved(rule: Rule, profile: FieldProfile | None) -> tuple[Stage, ...]:
    """The stages with the filters after an aggregation that test only its group keys moved
    before it (:mod:`ir.pushdown`: the same rows), so they join the detection instead of
    being dropped with the stats. A raw search keeps its stages when a moved filter would
    land after a stage the writer drops (``rename``...): it would be dropped there too, and
    the stats after it would no longer count every matched event."""
    stages = push_group_filters(rule.stages, partial(multivalued, profile), cim_windows())
    if stages and isinstance(stages[0], DataModel):
        return stages  # moved into tstats' where clause
    if lands_after_a_drop(stages, rule.stages):
        stages = rule.stages
    # filters after column-shaping stages move before them (ir.hoist: the same rows), so
    # they join the detection instead of being dropped after a stage Sigma has no form for
    # (a filter that stops after a dropped stage was after it before, and is dropped alike)
    return hoist_filters(stages, where_tree)


def lands_after_a_drop(stages: Sequence[Stage], original: Sequence[Stage]) -> bool:
    """Whether a filter :mod:`ir.pushdown` moved lands after a stage the writer drops: it
    would be dropped there too, and a stats after it would no longer count every matched
    event (so the original stages are written)."""
    before = {id(stage) for stage in original}
    stopped = False
    for stage in stages:
        if id(stage) not in before and stopped:
            return True
        if not isinstance(stage, (Filter, Table)) and copy_pairs(stage) is None:
            stopped = True
    return False


#: Event fields that are lists in the shared events: ``Data``, a Windows event's unnamed
#: ``EventData`` items (1,307 events), ``tags``, the security-datasets shipper's tags (14,229),
#: and ``resources`` (14); no other top-level field is (``translator.inputs.read_events`` over
#: ``../shared/corpus/events``, counting ``list`` values per field).
LIST_FIELDS = frozenset({"Data", "resources", "tags"})


def multivalued(profile: FieldProfile | None, name: str) -> bool:
    """Whether a raw event field may hold several values (:mod:`ir.pushdown` moves no test of
    such a group key): a field the profile splits into values, a JSON array's items as
    Splunk names them (``items{}.id``, Search Reference "spath"), or one of
    :data:`LIST_FIELDS`. Other fields are one value: a Windows event's manifest names each
    named ``EventData`` item once."""
    split = profile is not None and any(
        x.target == name and x.transform == "split" for x in profile.extractions
    )
    return split or "{}" in name or name in LIST_FIELDS


def renamed_back(name: str, stages: Sequence[Stage]) -> str | None:
    """The field ``name`` was called before ``stages`` (renames undone), or ``None`` when one
    of them computes it (an ``eval``, ``rex``, ``lookup``... writing it)."""
    for stage in reversed(stages):
        if isinstance(stage, Rename):
            for old, new in reversed(stage.pairs):
                if new == name:
                    name = old
                    break
                if new.endswith("*") and old.endswith("*") and name.startswith(new[:-1]):
                    # ``rename P* AS Q*`` moves only the fields it finds: ``QX`` is ``PX``
                    # when the event has it, else the event's own ``QX`` (ir.stages.fields),
                    # so no one field is required
                    return None
                if old == name:
                    return None  # renamed away: the stats reads a field no event keeps
        elif isinstance(stage, Eval):
            if any(target == name for target, _ in stage.assignments):
                return None
        elif isinstance(stage, (Table, Convert, FillNull, Sort, Bin)):
            if isinstance(stage, Convert) and any((a or f) == name for _, f, a in
                                                  stage.conversions):  # fmt: skip
                return None
            if isinstance(stage, FillNull):
                return None  # fillnull writes empty fields: not required, not known
        elif isinstance(stage, Rex):
            written = written_fields(stage)  # its named groups
            if written is None or name in written:
                return None
        else:
            return None  # lookup, commands: may write any field
    return name


def copy_pairs(stage: Stage) -> tuple[tuple[str, str], ...] | None:
    """The (copy, source) pairs of an ``eval`` whose every assignment copies a field."""
    if not isinstance(stage, Eval):
        return None
    pairs = tuple(
        (name, value.name) for name, value in stage.assignments if isinstance(value, FieldValue)
    )
    return pairs if len(pairs) == len(stage.assignments) else None


def read_fields(stages: Sequence[Stage]) -> list[str]:
    """The fields filters, ``bin`` and ``stats`` among ``stages`` read, in order, once."""
    seen: dict[str, None] = {}
    for stage in stages:
        if isinstance(stage, Filter):
            for p in predicates(stage.expr):
                if p.field is not None:
                    seen.setdefault(p.field, None)
        elif isinstance(stage, Bin):
            seen.setdefault(stage.field, None)
        elif isinstance(stage, Stats):
            for name in stage.by:
                seen.setdefault(name, None)
            for agg in stage.aggregations:
                if isinstance(agg.argument, str) and "*" not in agg.argument:
                    seen.setdefault(agg.argument, None)
    return list(seen)


def kept(table: Table, name: str) -> bool:
    """Whether ``name`` is still there after ``table`` (``fields`` keeps ``_raw``/``_time``)."""
    matched = any(fnmatch.fnmatchcase(name, pattern) for pattern in table.fields)
    if table.remove:
        return not matched
    return matched or (table.command == "fields" and name in ("_raw", "_time"))


def substitute(expr: Expr, copies: dict[str, str]) -> Expr:
    """``expr`` reading each copied field's source (``eval f=g`` before it: ``f`` is ``g``)."""
    if not copies:
        return expr
    return map_fields(expr, lambda name: copies.get(name, name))
