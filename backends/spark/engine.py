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

Jobs: each rule is one ``CASE WHEN candidate AND rule THEN index`` cell of an array column,
exploded into ``(event, rule)`` rows. Rules are ordered by their dispatch (so that rules of one
log source sit together) and cut into jobs of at most :data:`CHUNK` rules; each job reads only
the rows its rules can match (its channels pushed down to Parquet, then the union of its
rules' dispatch keys) and only the columns they read. What the rules of a job share is
computed once per row in a projection before theirs: each distinct dispatch test and each
distinct log-source guard (``Channel`` and ``EventID`` of a branch) becomes one boolean column
the rules refer to, instead of being repeated inside every rule. Why jobs and not one
projection of all rules: Spark ships a stage's whole plan with every task, and the plan of
SigmaHQ's 3,121 compiled rules ran the driver out of heap while tasks were deserialised
(measured, issue 9); a job of a few hundred rules does not, and one log source's rows are read
by the jobs of its rules only. Never a job per rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from backends.spark.events import View, dispatch_key
from backends.spark.predicates import FieldView, PredicateCompiler, Reads, sql_string
from ir.errors import unsupported
from ir.evaluator import compile_rule, field_keys
from ir.fieldprofiles import FieldProfile
from ir.logsources import NO_PROFILE, LogSourceProfile
from ir.nodes import Filter, Rule

#: Rules per job at most (:meth:`SparkRuleSet.jobs`).
CHUNK = 500


@dataclass
class SparkRule:
    """A rule as Spark SQL: its log-source ``branches`` (``guard`` SQL, ``None`` when the rule
    runs on every event, and ``body`` SQL; ``None``: unmapped, matches nothing) and the
    evaluator's dispatch for it (``dispatch``: (channel, event id) keys; ``needs``: top-level
    fields)."""

    rule: Rule
    branches: tuple[tuple[str | None, str], ...] | None
    dispatch: set[tuple[str, str | None]] | None
    needs: frozenset[str] | None
    fields: FieldProfile | None = None
    #: the field profile whose ``source``/``EventCode`` the dispatch keys are values of (a
    #: search read through one: :attr:`ir.evaluator.CompiledRule.key_profile`), else ``None``
    #: (the event's own ``Channel``/``EventID``)
    profile_keyed: str | None = None

    @property
    def unmapped(self) -> bool:
        return self.branches is None

    def sql(self, guards: Mapping[str, str] | None = None) -> str:
        """The rule as one Spark SQL boolean: its branches ``guard AND body``, OR-ed; a guard
        found in ``guards`` is replaced by the column named there (computed once per row)."""
        assert self.branches is not None, "an unmapped rule has no SQL"
        parts = []
        for guard, body in self.branches:
            if guard is None:
                parts.append(body)
            else:
                parts.append(f"({(guards or {}).get(guard, guard)} AND {body})")
        return " OR ".join(parts)

    def candidate(self) -> str | None:
        """SQL: the event is one :class:`ir.evaluator.RuleSet` shows this rule (``None``:
        every event)."""
        if self.dispatch is not None:
            if not self.dispatch:
                return "false"
            keys = sorted(dispatch_key(c, i, self.profile_keyed) for c, i in self.dispatch)
            return f"arrays_overlap(_dkeys, array({', '.join(sql_string(k) for k in keys)}))"
        if self.needs:
            keys = sorted({key for name in self.needs for key in field_keys(name)})
            return f"arrays_overlap(_keys, array({', '.join(sql_string(k) for k in keys)}))"
        return None


def _body(rule: Rule, view: FieldView) -> str:
    compiler = PredicateCompiler(view)
    out: str | None = None
    for stage in rule.stages:
        if not isinstance(stage, Filter):
            raise unsupported(
                construct=type(stage).__name__,
                message=f"stage {type(stage).__name__} is not a filter: "
                "a pipeline returns rows, not "
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
    branches: list[tuple[str | None, str]] = []
    if not profile.mappings or rule.logsource.is_empty():
        branches.append((None, _body(rule, FieldView({}, fields, mine))))
    else:
        resolved = profile.resolve(rule.logsource)
        if resolved is None:
            _body(rule, FieldView({}, fields, Reads()))  # Spark's refusals reported all the same
            return SparkRule(rule, None, set(), None, fields)
        for branch in resolved:
            guard = PredicateCompiler(FieldView({}, fields, mine)).expr(branch.condition)
            body = _body(rule, FieldView(branch.alias_map(), fields, mine))
            branches.append((guard, body))
    if reads is not None:
        reads.merge(mine)
    return SparkRule(
        rule,
        tuple(branches),
        compiled.dispatch,
        compiled.needs,
        fields,
        None if compiled.key_profile is None else compiled.key_profile.name,
    )


class SparkRuleSet:
    """Compiled rules, evaluated in a few jobs of many rules each (module docstring);
    ``reads``: what they read, so that events are ingested with exactly those columns."""

    def __init__(self, rules: Iterable[SparkRule], reads: Reads | None = None) -> None:
        self.rules = list(rules)
        self.reads = reads or Reads()

    @property
    def views(self) -> list[View]:
        """The canonical columns the events must carry for these rules."""
        return self.reads.views()

    def pushdown(self, indices: Sequence[int] | None = None) -> Column | None:
        """The filter every event a rule (of ``indices``, default all) matches passes, when all
        those rules are keyed by channel: Parquet skips the rest."""
        channels: set[str] = set()
        for index in range(len(self.rules)) if indices is None else indices:
            rule = self.rules[index]
            if rule.unmapped:
                continue
            if rule.dispatch is None or rule.profile_keyed:  # ``_channel`` is the event's own
                return None
            channels |= {channel for channel, _ in rule.dispatch}
        return F.col("_channel").isNull() | F.col("_channel").isin(sorted(channels))

    def jobs(self, chunk: int = CHUNK) -> list[list[int]]:
        """The compiled rules' indices cut into jobs of at most ``chunk`` rules, rules with the
        same dispatch side by side (module docstring)."""
        live = [i for i, rule in enumerate(self.rules) if not rule.unmapped]
        live.sort(key=lambda i: (self.rules[i].candidate() or "", i))
        return [live[i : i + chunk] for i in range(0, len(live), chunk)]

    def job_frame(self, events: DataFrame, indices: Sequence[int]) -> DataFrame:
        """``(_file, _index, rule)`` rows of the rules ``indices`` (one job, at least one
        compiled rule)."""
        candidates = [self.rules[i].candidate() for i in indices]
        pushed = self.pushdown(indices)
        frame = events if pushed is None else events.where(pushed)
        if None not in candidates:
            frame = frame.where(" OR ".join(sorted({c for c in candidates if c})))
        uses = Counter(
            test
            for index, candidate in zip(indices, candidates, strict=True)
            for test in {candidate, *(g for g, _ in self.rules[index].branches or ())}
            if test
        )
        # a test used by several rules -> the name of the column computing it once per row
        shared = {
            t: f"_shared{n}" for n, t in enumerate(sorted(t for t, k in uses.items() if k > 1))
        }
        if shared:
            frame = frame.select("*", *(F.expr(test).alias(name) for test, name in shared.items()))
        cells = []
        for index, candidate in zip(indices, candidates, strict=True):
            hit = f"({self.rules[index].sql(shared)})"
            if candidate is not None:
                hit = f"{shared.get(candidate, candidate)} AND {hit}"
            cells.append(F.when(F.expr(hit), F.lit(index)))
        return frame.select("_file", "_index", F.explode(F.array(*cells)).alias("rule")).where(
            "rule IS NOT NULL"
        )

    def frames(self, events: DataFrame, chunk: int = CHUNK) -> list[DataFrame]:
        """One ``(_file, _index, rule)`` frame per job; together, one row per matching
        (event, rule) pair."""
        return [self.job_frame(events, job) for job in self.jobs(chunk)]

    def collect(self, events: DataFrame, chunk: int = CHUNK) -> list[tuple[str, int, int]]:
        """All matches as ``(events file, event index, rule index)``, unordered (each job reads
        ``events`` again: persist them first when reading them is costly)."""
        return [
            (r["_file"], r["_index"], r["rule"])
            for job in self.jobs(chunk)
            for r in self.job_frame(events, job).collect()
        ]
