"""SPL pipelines and Sigma correlations (a rule's stages after its leading filters) as
DataFrame transformations.

:func:`compile_pipeline` compiles a rule's stages into transformations of canonical event rows
(:mod:`backends.spark.events`) with the exact meaning of :mod:`ir.pipeline` (each stage's
semantics and Splunk reference are there), eval expressions with that of :mod:`ir.evalexpr`
and :mod:`ir.functions`. What is not compiled is a positioned ``unsupported`` error naming
the construct (``eval:<function>``, ``stats:<function>``, the command...), raised before any
event is read.

What runs
    ``search``/``where`` filters, ``eval``, ``rename``, ``table``/``fields``,
    ``stats``/``eventstats`` (every function of :mod:`ir.stages.stats` but
    ``earliest_time``/``latest_time``), ``bin`` on ``_time``, ``dedup`` (``keepempty``),
    ``sort``, ``head``, ``fillnull``, ``convert ctime``. A Sigma correlation
    (:mod:`backends.sigma.correlation`: Filter, the temporal tag Eval, Bin, Stats, where) is
    such a pipeline: its Stats options ``timespan``/``approximation`` are notes the
    evaluator does not read, so they are accepted; any other ``stats`` option is refused
    (``stats:options``).

Values
    Every pipeline field is one column of type :data:`VALUE`: an array of scalars
    ``struct<k, t, n>`` (``k``: ``s`` string, ``i`` integer, ``f`` float, ``b`` boolean; ``t``:
    the text :func:`ir.functions.to_text` gives; ``n``: :func:`ir.functions.to_number`, a
    double, null for non-numbers), null for a missing field or SPL null; two or more scalars
    are a multivalue, as :func:`ir.functions.mv` builds them. Event fields are encoded once,
    at ingestion, by the evaluator's own functions (``Row.get`` then ``field_value``), as is
    ``_time`` (:func:`ir.pipeline.event_time`).

Rows
    While rows still stand for events ("open"), the fields no stage touched are the event's:
    they are carried as the event's JSON (``_pfields``) and overlaid at the end with the
    fields stages set. Once a stage removed ``_raw`` or ``_time`` (``eval _time=null()``,
    ``rename _time as t``) an open row reads its event's again (``Row.get``): that value is
    ingested too (``_e:<name>``). ``stats`` and ``table`` close the field set. ``_ord``
    orders rows as the evaluator does (events in input order; ``stats`` groups by their
    keys), so that ``dedup``, ``head`` and ``sort`` keep the evaluator's rows.

Exact by the evaluator's own code
    * ``bin`` reads ``_time`` as the evaluator does (a number, a timestamp text through
      :func:`ir.functions.parse_timestamp`, a multivalue's first value; anything else is left
      as it is): for the event's own value that number is computed at ingestion
      (``_b:<name>``, :func:`backends.spark.rowsql.bin_number`), for a value stages computed
      by a Python UDF on the executors where it is not one number. Spans in ``s m h d w``
      floor epoch seconds, ``mon``/``q``/``y`` calendar months from January (UTC dates, no
      session time zone).
    * ``stdev``/``stdevp``/``var``/``varp`` (``statistics``' exact variance: Splunk's stdev
      is the sample deviation, none for a single number, non-numbers ignored), ``median``,
      ``perc<N>``/``p<N>``/``exactperc<N>``/``upperperc<N>``, ``mode``, ``sumsq`` run the
      evaluator's ``aggregate`` in a Python UDF, once per group, on the group's values in
      row order: Spark's double arithmetic would round differently.

Refused, and why
    * ``fillnull`` without a field list, ``rename``/``table`` wildcards and ``fields -`` on
      open rows (``fillnull``, ``rename:wildcard``, ``table:wildcard``, ``fields:remove``):
      they need every field name of the events, which the plan does not know: it is built
      before any event is read, the events' fields travel as one JSON text, and the
      evaluator's ``fillnull`` fills the union of all rows' field names (a pass over every
      row before the first is written). On closed rows (after ``stats``/``table``) the names
      are known and these run.
    * ``stats:earliest_time``/``stats:latest_time`` and ``stats:wildcard``; ``bin`` on
      another field than ``_time`` or without a span (``bin``, ``bin:bins``, ``bin:span``);
      commands without a compiler here (``rex``, ``streamstats``, ``lookup``...), eval
      functions without one (``eval:<name>``), regexes Java cannot mean the same
      (:mod:`backends.spark.regex`).

Tables
    What is lowered is read from tables, never from a hand-kept list: eval functions and
    operators in :mod:`backends.spark.evalexpr` (``FUNCTION_LOWERINGS``,
    ``CONDITION_LOWERINGS``; arity is :func:`ir.functions.check_arity`'s, from
    :data:`ir.functions.FUNCTIONS`), stages in :data:`STAGE_LOWERINGS`. Whatever they lack is
    the declared unsupported set (``UNSUPPORTED_FUNCTIONS``, :data:`UNSUPPORTED_STAGES`), which
    :func:`lowering_summary` writes for README.md. Values and their SQL builders are
    :mod:`backends.spark.values`.

Modules
    This module holds the tables and :func:`compile_pipeline`; the stages are lowered in
    :mod:`backends.spark.stages` (:class:`~backends.spark.stages.Plan`, filters, ``eval``,
    field lists, ``dedup``/``sort``/``head``/``fillnull``/``convert``) and
    :mod:`backends.spark.stats` (``stats``, ``eventstats``, ``bin``), over
    :mod:`backends.spark.rowsql` (the SQL pieces they share); events become rows in
    :mod:`backends.spark.ingest`. Their public names stay importable from here.

Known differences (not yet refused by name; none showed in the corpus differential)
    * a JSON ``null`` field is not told apart from a missing one inside eval expressions;
    * Java's text for floats in exponent notation can differ from Python's (``1e+20``);
    * ``sort`` over a column mixing IPv4 addresses and other text may order differently;
    * ``lower``/``upper`` follow Java's Unicode tables, the evaluator Python's.
    * ``tostring(X, "hex")`` of a number beyond a signed 64-bit integer (Spark's ``BIGINT``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from backends.spark.evalexpr import (
    CONDITION_LOWERINGS,
    FUNCTION_LOWERINGS,
    UNSUPPORTED_FUNCTIONS,
)
from backends.spark.ingest import (  # noqa: F401 - importable from here
    DataSetRows,
    collect,
    data_set_rows,
    events_frame,
    read_pipeline_events,
    run_plan,
)
from backends.spark.stages import Plan
from backends.spark.stats import StatsLowering
from backends.spark.values import (
    VALUE,
    decode,
    encode,
)
from ir.datamodels import DataModelProfile, cim_windows
from ir.errors import RuleglotError, unsupported
from ir.fieldprofiles import FieldProfile
from ir.nodes import (
    STAGE_TYPES,
    Bin,
    Convert,
    DataModel,
    Dedup,
    Eval,
    FillNull,
    Filter,
    Head,
    Kind,
    Predicate,
    Rename,
    Rule,
    Sort,
    Stage,
    Stats,
    Table,
    stage_command,
)
from ir.pipeline import (
    tstats_plan,
)


class PipelineLowering(StatsLowering):
    """A rule's stages lowered in order: leading filters over events, then each stage by
    :data:`STAGE_LOWERINGS`."""

    def compile(self) -> Plan:
        leading = True
        for stage in self.rule.stages:
            try:
                if isinstance(stage, Filter):
                    self.filter(stage, leading)
                    continue
                leading = False
                self.stage(stage)
            except RuleglotError as err:
                raise err.at(stage.span) from None
        self.flush()
        return Plan(self.rule, self.profile, self.reads, self.steps, self.state)

    def stage(self, stage: Stage) -> None:
        handler = STAGE_LOWERINGS.get(type(stage))
        if handler is None:
            command = stage_command(stage)
            raise unsupported(
                construct=command,
                message=f"the {command} command is not compiled to Spark",
                span=stage.span,
            )
        handler(self, stage)


#: Each IR stage lowered to Spark, by the :class:`PipelineLowering` method that adds its steps
#: (``Filter`` is lowered by :meth:`PipelineLowering.filter`, leading or not).
STAGE_LOWERINGS: dict[type, Callable[[Any, Any], None]] = {
    Eval: PipelineLowering.eval,
    Rename: PipelineLowering.rename,
    Table: PipelineLowering.table,
    Stats: PipelineLowering.stats,
    Bin: PipelineLowering.bin,
    Dedup: PipelineLowering.dedup,
    Sort: PipelineLowering.sort,
    Head: PipelineLowering.head,
    FillNull: PipelineLowering.fillnull,
    Convert: PipelineLowering.convert,
}

#: Stages lowered only where they lead the pipeline: :func:`compile_pipeline` rewrites a
#: leading ``tstats`` (``DataModel``) to a ``Filter`` over its data set's rows.
LEADING_LOWERINGS: tuple[type, ...] = (DataModel,)

#: Every IR stage the Spark engine does not lower: derived from the IR's
#: :data:`ir.nodes.STAGE_TYPES`, never kept by hand.
UNSUPPORTED_STAGES: tuple[type, ...] = tuple(
    t
    for t in STAGE_TYPES
    if t not in STAGE_LOWERINGS and t is not Filter and t not in LEADING_LOWERINGS
)


# --- the whole run -----------------------------------------------------------------------------


def compile_pipeline(
    rule: Rule,
    fields: FieldProfile | None = None,
    now: float | None = None,
    datamodels: DataModelProfile | None = None,
) -> Plan:
    """``rule``'s stages as Spark steps (module docstring); raises the positioned
    ``unsupported`` error of the first construct not compiled. A leading ``tstats`` reads its
    data set's rows (:class:`DataSetRows`) instead of the events through ``fields``."""
    profile = datamodels or cim_windows()
    plan = tstats_plan(rule.stages, profile)
    if plan is not None:
        _, dataset, plain, used = plan
        member = Filter(Predicate(DataSetRows.MEMBER, Kind.EXISTS, True), "tstats")
        stages = (member, *plain, *rule.stages[used:])
        rule = dataclasses.replace(rule, stages=stages)
        fields = data_set_rows(profile, dataset)
    return PipelineLowering(rule, fields, time.time() if now is None else now).compile()


__all__ = [
    "VALUE", "Plan", "collect", "compile_pipeline", "decode", "encode", "events_frame",
    "read_pipeline_events", "run_plan",
]  # fmt: skip


def lowering_summary() -> str:
    """What the Spark engine lowers and what it declares unsupported, from the tables
    (README.md carries this text between ``spark-lowerings`` markers; a test keeps it so)."""
    lowered = sorted(set(FUNCTION_LOWERINGS) | set(CONDITION_LOWERINGS))
    stages = sorted(t.__name__.lower() for t in STAGE_LOWERINGS)
    unsupported_stages = sorted(t.__name__.lower() for t in UNSUPPORTED_STAGES)
    return "\n".join(
        [
            f"- eval functions lowered: `{' '.join(lowered)}`",
            f"- eval functions not lowered (`eval:<name>`): "
            f"`{' '.join(sorted(UNSUPPORTED_FUNCTIONS))}`",
            f"- stages lowered after the leading search: `{' '.join(stages)}`",
            f"- stages not lowered (IR classes): `{' '.join(unsupported_stages)}`",
        ]
    )
