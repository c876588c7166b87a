"""What the Sigma writer does with a search's pipeline stages: for :mod:`backends.sigma.emit`,
whose ``_Emitter`` the :class:`StageWriter` mixin is part of (split from it by job; the module
docstring of :mod:`backends.sigma.emit`, "Stages", says what each stage becomes).

* :meth:`StageWriter.prefix`: the filters before a correlation (or of the whole rule) join the
  detection; an ``eval`` copy or a ``table`` is reported and passed, any other stage is
  dropped with every stage after it (lossy), :meth:`StageWriter.refuse` drops a refused
  correlation's stages, and :meth:`StageWriter.required_by_fields` keeps a dropped ``stats``'
  by-fields required.

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

from backends.sigma.emit_correlation import Refusal
from backends.sigma.emit_problems import ProblemReporter
from backends.sigma.lossy_effects import EVENT_FIELDS, stage_effects
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
    Kind,
    Pattern,
    Predicate,
    Rename,
    Rex,
    Rule,
    Sort,
    Stage,
    Stats,
    Table,
    Wildcard,
    map_fields,
    predicates,
    stage_command,
)
from ir.pushdown import push_group_filters, written_fields

__all__ = [
    "LIST_FIELDS",
    "StageWriter",
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


class StageWriter(ProblemReporter):
    """The stage part of the Sigma writer (a mixin of ``backends.sigma.emit._Emitter``, which
    sets these attributes and reports through ``problem``): which stages before a correlation
    join the detection, which are dropped, and with which warning."""

    rule: Rule
    copies: dict[str, str]  # eval f=g before: f reads g
    #: dropped stage runs, each with the fields every row reaching it has (lossy_effects)
    dropped: list[tuple[Sequence[Stage], set[str]]]
    dropped_at: int | None  # index of the first stage prefix() dropped

    def prefix(self, stages: Sequence[Stage]) -> tuple[list[Expr], list[Expr], str | None]:
        """The filters before a correlation (or of the whole rule): as in the IR, and with the
        field copies of ``eval`` substituted; and the stage that stopped them (lossy)."""
        raw: list[Expr] = []
        exprs: list[Expr] = []
        dropping: str | None = None
        for index, stage in enumerate(stages):
            name = stage_command(stage)
            pairs = copy_pairs(stage)
            if dropping is not None:
                self.problem(name, f"'{name}' after the dropped '{dropping}' is dropped too",
                             stage.span, stage=stage)  # fmt: skip
            elif isinstance(stage, Filter):
                raw.append(stage.expr)
                exprs.append(substitute(stage.expr, self.copies))
            elif pairs is not None:
                for target, source in pairs:
                    self.copies[target] = self.copies.get(source, source)
                text = ", ".join(f"{t}={s}" for t, s in pairs)
                self.problem(
                    "eval",
                    f"eval {text} only copies fields: the filters after it read the source "
                    "fields instead; the copies are not in Sigma's output",
                    stage.span,
                    reason="copy-eval",
                )
            elif isinstance(stage, Table):
                lost = [f for f in read_fields(self.rule.stages[index + 1 :]) if
                        not kept(stage, f)]  # fmt: skip
                self.problem(
                    name,
                    f"'{name}' drops {', '.join(lost)}, which the stages after it read: "
                    "dropped, and Sigma reads them from the event"
                    if lost
                    else f"'{name}' only chooses output columns: dropped (a Sigma rule has none)",
                    stage.span,
                    reason="table-read" if lost else "table-columns",
                )
            else:
                dropping = name
                self.dropped_at = index
                self.problem(name, f"SPL command '{name}' has no Sigma equivalent", stage.span,
                             stage=stage)  # fmt: skip
        return raw, exprs, dropping

    def refuse(self, refusal: Refusal) -> None:
        """A stats-and-where Sigma cannot say: the refusal, then its other stages dropped."""
        self.problem(refusal.construct, refusal.message, refusal.span)
        self.dropped.append((self.rule.stages[refusal.start :], set()))
        for stage in self.rule.stages[refusal.start :]:
            if stage is refusal.stage:
                continue
            name = stage_command(stage)
            self.problem(name, f"'{name}' of the refused correlation is dropped too", stage.span,
                         stage=stage)  # fmt: skip

    def required_by_fields(self, dropped: Sequence[Stage], exprs: list[Expr]) -> set[str]:
        """The first ``stats ... by F`` of the dropped stages, when only stages that keep every
        row come before it: Splunk makes no row of an event without a by-field ("stats": events
        without a value in a by-field are not counted), so the detection requires each by-field
        (``f=*``, ANDed to ``exprs``; a by-field a ``rename`` made is required under its old
        name), which keeps the matched events exactly those a result row counts. A by-field an
        earlier stage computes is not required (the stats then changes meaning: lossy_effects
        says so).
        Returns the fields required, as the first dropped stage sees them."""
        before: list[Stage] = []
        for stage in dropped:
            if isinstance(stage, Stats) and stage.command == "stats":
                break
            if stage_effects([stage])[0][0] != "shaping":
                return set()
            before.append(stage)
        else:
            return set()
        required: set[str] = set()
        for name in stage.by:
            if name in EVENT_FIELDS or "*" in name:
                continue
            original = renamed_back(name, before)
            if original is not None:
                required.add(original)
        # ``f=*``: a value, as the pipeline counts one (not null, not an empty multivalue)
        for name in sorted(required):
            source = self.copies.get(name, name)
            exprs.append(Predicate(source, Kind.WILDCARD, Pattern((Wildcard.MANY,)),
                                   span=stage.span))  # fmt: skip
        return required
