"""Many rules over many events in one Spark job: which (rule, event) pairs match.

:func:`compile_spark_rule` compiles each filter-only rule the way
:func:`ir.evaluator.compile_rule` does, from the same log-source profile
(:class:`ir.logsources.LogSourceProfile`) and field profile objects: one ``guard AND body``
per log-source branch, OR-ed; an unmapped log source matches nothing; no profile or no log
source runs the rule on every event. The evaluator compiles the rule too: a rule it rejects is
rejected here with the same error, and its :class:`~ir.evaluator.CompiledRule` gives the
dispatch keys. What only Spark cannot do is an ``unsupported`` error naming the construct.

Dispatch: a rule is evaluated on an event only when :class:`ir.evaluator.RuleSet` would show
it that event (the ``(Channel, EventID)`` keys of its log source, else the top-level fields
its filter requires), with the keys the evaluator's own functions give (``_dkeys``,
``_keys`` of the canonical rows). That dispatch only narrows (``tests/test_evaluator.py``), so
it never changes a result. When every rule has channel keys, their union is pushed down as one
``IN`` filter on single-channel events (Parquet skips what no rule reads).

One pass: each rule is one ``CASE WHEN dispatch AND rule THEN index`` cell of an array column,
exploded into ``(event, rule)`` rows. Spark's planner slows down more than linearly with the
size of one projection, so rules are projected :data:`CHUNK` at a time over the same persisted
events and the projections united: one job, one read of the events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from backends.spark.events import View, dispatch_key
from backends.spark.predicates import FieldView, PredicateCompiler, Reads, sql_string, unsupported
from ir.evaluator import _field_keys, compile_rule
from ir.fieldprofiles import FieldProfile
from ir.logsources import NO_PROFILE, LogSourceProfile
from ir.nodes import Filter, Rule

#: Rules per projection (:meth:`SparkRuleSet.matches`).
CHUNK = 500


@dataclass
class SparkRule:
    """A rule as one boolean column (``None``: unmapped, matches nothing) and the evaluator's
    dispatch for it (``dispatch``: (channel, event id) keys; ``needs``: top-level fields)."""

    rule: Rule
    column: Column | None
    dispatch: set[tuple[str, str | None]] | None
    needs: frozenset[str] | None
    fields: FieldProfile | None = None

    @property
    def unmapped(self) -> bool:
        return self.column is None

    def candidate(self) -> str | None:
        """SQL: the event is one :class:`ir.evaluator.RuleSet` shows this rule (``None``:
        every event)."""
        if self.dispatch is not None:
            if not self.dispatch:
                return "false"
            keys = sorted(dispatch_key(c, i) for c, i in self.dispatch)
            return f"arrays_overlap(_dkeys, array({', '.join(sql_string(k) for k in keys)}))"
        if self.needs:
            keys = sorted({key for name in self.needs for key in _field_keys(name)})
            return f"arrays_overlap(_keys, array({', '.join(sql_string(k) for k in keys)}))"
        return None


def _body(rule: Rule, view: FieldView) -> str:
    compiler = PredicateCompiler(view)
    out: str | None = None
    for stage in rule.stages:
        if not isinstance(stage, Filter):
            raise unsupported(
                type(stage).__name__,
                f"stage {type(stage).__name__} is not a filter: a pipeline returns rows, not "
                "matches (run it with translator.api.run_spark or ruleglot eval --engine spark)",
            ).at(stage.span)
        column = compiler.expr(stage.expr)
        out = column if out is None else f"({out} AND {column})"
    return out if out is not None else "true"


def compile_spark_rule(
    rule: Rule,
    profile: LogSourceProfile = NO_PROFILE,
    fields: FieldProfile | None = None,
    reads: Reads | None = None,
) -> SparkRule:
    """``rule`` as a Spark column, with the evaluator's log-source semantics (module doc);
    the fields it reads are added to ``reads``."""
    if any(not isinstance(stage, Filter) for stage in rule.stages):
        _body(rule, FieldView({}, fields))  # Spark's named refusal before the evaluator's
    compiled = compile_rule(rule, profile, fields)  # the evaluator's own errors first
    mine = Reads()  # merged into ``reads`` only once the whole rule compiled
    sql: list[str] = []
    if not profile.mappings or rule.logsource.is_empty():
        sql.append(_body(rule, FieldView({}, fields, mine)))
    else:
        resolved = profile.resolve(rule.logsource)
        if resolved is None:
            _body(rule, FieldView({}, fields, Reads()))  # Spark's refusals reported all the same
            return SparkRule(rule, None, set(), None, fields)
        for branch in resolved:
            guard = PredicateCompiler(FieldView({}, fields, mine)).expr(branch.condition)
            body = _body(rule, FieldView(branch.alias_map(), fields, mine))
            sql.append(f"({guard} AND {body})")
    if reads is not None:
        reads.merge(mine)
    column = F.expr(" OR ".join(sql))
    return SparkRule(rule, column, compiled.dispatch, compiled.needs, fields)


class SparkRuleSet:
    """Compiled rules, evaluated together in one pass (module docstring); ``reads``: what
    they read, so that events are ingested with exactly those columns."""

    def __init__(self, rules: Iterable[SparkRule], reads: Reads | None = None) -> None:
        self.rules = list(rules)
        self.reads = reads or Reads()

    @property
    def views(self) -> list[View]:
        """The canonical columns the events must carry for these rules."""
        return self.reads.views()

    def pushdown(self) -> Column | None:
        """The filter every matching event passes, when all rules are keyed by channel."""
        channels: set[str] = set()
        for rule in self.rules:
            if rule.column is None:
                continue
            if rule.dispatch is None:
                return None
            channels |= {channel for channel, _ in rule.dispatch}
        return F.col("_channel").isNull() | F.col("_channel").isin(sorted(channels))

    def matched_column(self, indices: Sequence[int] | None = None) -> Column:
        """``array<int>``: the indices of the rules (of ``indices``, default all) the row
        matches."""
        cells = []
        for index in range(len(self.rules)) if indices is None else indices:
            rule = self.rules[index]
            if rule.column is None:
                continue
            candidate = rule.candidate()
            hit = rule.column if candidate is None else F.expr(candidate) & rule.column
            cells.append(F.when(hit, F.lit(index)))
        if not cells:
            return F.array().cast("array<int>")
        return F.filter(F.array(*cells), lambda x: x.isNotNull())

    def matches(self, events: DataFrame, chunk: int = CHUNK) -> DataFrame:
        """``(_file, _index, rule)`` rows, one per matching (event, rule) pair."""
        pushed = self.pushdown()
        frame = events if pushed is None else events.where(pushed)
        live = [i for i, rule in enumerate(self.rules) if rule.column is not None]
        groups = [live[i : i + chunk] for i in range(0, len(live), chunk)] or [[]]
        if len(groups) > 1:
            frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
        parts = [
            frame.select("_file", "_index", F.explode(self.matched_column(g)).alias("rule"))
            for g in groups
        ]
        out = parts[0]
        for part in parts[1:]:
            out = out.unionAll(part)
        return out

    def collect(self, events: DataFrame) -> list[tuple[str, int, int]]:
        """All matches as ``(events file, event index, rule index)``, unordered."""
        return [(r["_file"], r["_index"], r["rule"]) for r in self.matches(events).collect()]
