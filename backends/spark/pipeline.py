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
    ``stats``/``eventstats`` (every function of :mod:`ir.pipeline` but
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
      (``_b:<name>``, :func:`bin_number`), for a value stages computed by a Python UDF on the
      executors where it is not one number. Spans in ``s m h d w`` floor epoch seconds,
      ``mon``/``q``/``y`` calendar months from January (UTC dates, no session time zone).
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

Known differences (not yet refused by name; none showed in the corpus differential)
    * a JSON ``null`` field is not told apart from a missing one inside eval expressions;
    * Java's text for floats in exponent notation can differ from Python's (``1e+20``);
    * ``sort`` over a column mixing IPv4 addresses and other text may order differently;
    * ``lower``/``upper`` follow Java's Unicode tables, the evaluator Python's.
    * ``tostring(X, "hex")`` of a number beyond a signed 64-bit integer (Spark's ``BIGINT``).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    _parse_datatype_string,
)

from backends.spark.evalexpr import (
    CONDITION_LOWERINGS,
    FUNCTION_LOWERINGS,
    UNSUPPORTED_FUNCTIONS,
    EvalCompiler,
)
from backends.spark.events import View, canonical_row, events_of, hadoop_path, quoted
from backends.spark.events import schema as event_schema
from backends.spark.predicates import FieldView, PredicateCompiler, Reads, sql_string
from backends.spark.values import (
    SQL_EMPTY,
    SQL_NULL,
    VALUE,
    State,
    as_multivalue,
    decode,
    decode_scalar,
    encode,
    encode_raw,
    let_in,
    load_column,
    number_scalar,
    read_value,
    source_column,
    source_value,
    sql_double,
    sql_literal,
    string_scalar,
    time_column,
)
from ir.datamodels import DataModelProfile, DataSet, cim_windows
from ir.errors import RuleglotError, Span, unsupported
from ir.events import MISSING, Event
from ir.fieldprofiles import FieldProfile
from ir.functions import (
    field_value,
    tidy_number,
    time_unit,
)
from ir.nodes import (
    STAGE_TYPES,
    Aggregation,
    Bin,
    Condition,
    Convert,
    DataModel,
    Dedup,
    Eval,
    Expr,
    FieldValue,
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
    PERCENTILE,
    Row,
    bin_time_number,
    event_time,
    fill_wildcards,
    tstats_plan,
)
from ir.pipeline import aggregate as evaluator_aggregate

#: The number ``bin`` floors in a ``_time`` value: the evaluator's own reading.
bin_number = bin_time_number


def _cell_bin_number(cell: Any) -> float | None:
    """:func:`bin_number` of a :data:`VALUE` cell (a Python UDF: values stages computed)."""
    value = decode(cell)
    return bin_number(None if value is MISSING else field_value(value))


def _cell_aggregate(function: str, cells: Any) -> Any:
    """The evaluator's own aggregation (``ir.pipeline.aggregate``) of the values of a group
    (a Python UDF, one call per group: its arithmetic is Python's, exactly)."""
    values = [decode_scalar(s) for s in cells or ()]
    result = evaluator_aggregate(function, values, [], len(values))
    cell = encode(result)
    return None if cell is None else [(*scalar, None) for scalar in cell]


# --- filters over pipeline rows ----------------------------------------------------------------


class _RowFields(FieldView):
    """Predicates over pipeline values: a field's struct (``isnull``, ``vals``) as the
    evaluator's event model sees a row's value (``text_of``, ``str.lower``, ``number_of``)."""

    def __init__(self, state: State) -> None:
        super().__init__({}, None, Reads())
        self.state = state

    def column(self, name: str) -> str:
        v = self.state.column(name)
        text = "IF(s.k = 'f' AND s.j IS NULL, CAST(s.n AS STRING), s.t)"
        kind = "CASE s.k WHEN 'i' THEN 'n' WHEN 'f' THEN 'n' ELSE s.k END"
        number = "IF(s.k = 'b', CAST(NULL AS DOUBLE), s.n)"
        return (
            f"IF({v} IS NULL, NULL, named_struct('isnull', exists({v}, s -> s.k = 'z' AND s.j = "
            f"'null'), 'vals', transform(filter({v}, s -> s.k <> 'z'), s -> "
            f"named_struct('t', {text}, 'l', lower({text}), 'k', {kind}, 'n', {number}))))"
        )

    def all_values(self) -> str:
        raise RuleglotError(
            "a field-less predicate after a pipeline stage is not compiled to Spark",
            category="unsupported",
            construct="field-less predicate",
        )


class _Predicates(PredicateCompiler):
    """Filters with :class:`~ir.nodes.Condition` leaves compiled by :class:`EvalCompiler`."""

    def __init__(self, view: FieldView, evals: EvalCompiler) -> None:
        super().__init__(view)
        self.evals = evals

    def _expr(self, expr: Expr) -> str:
        if isinstance(expr, Condition):
            try:
                return self.evals.cond(expr.expr)
            except RuleglotError as err:
                raise err.at(expr.span) from None
        return super()._expr(expr)


# --- stages --------------------------------------------------------------------------------------

Step = Callable[[DataFrame], DataFrame]
_STATS = {
    "count",
    "c",
    "dc",
    "distinct_count",
    "estdc",
    "values",
    "list",
    "min",
    "max",
    "sum",
    "avg",
    "mean",
    "earliest",
    "latest",
    "first",
    "last",
    "range",
}


#: Aggregations computed by the evaluator's own code on each group's collected values (a
#: Python UDF): their float arithmetic (``statistics``' exact variance, interpolation) is
#: Python's, which Spark's SQL would only approximate.
_PYTHON_STATS = {"stdev", "stdevp", "var", "varp", "median", "mode", "sumsq"}
#: ``Stats.options`` that are notes, not options (a Sigma correlation's, see
#: :mod:`backends.sigma.correlation`): the evaluator's ``stats`` reads none of them.
_NOTE_OPTIONS = {"timespan", "approximation"}


def _python_aggregation(function: str) -> bool:
    return function in _PYTHON_STATS or PERCENTILE.fullmatch(function) is not None


def _finisher(agg: Aggregation, column: str) -> Any:
    """The column of an aggregation's value from its collected ``(o, m, v)`` structs."""
    function = agg.function.lower()
    if _python_aggregation(function):
        udf = F.udf(_cell_aggregate, VALUE)
        values = F.expr(f"flatten(transform(array_sort(`{column}`), r -> r.v))")
        return udf(F.lit(function), values).alias(column)
    return F.expr(_finish(function, column, agg.argument is None)).alias(column)


@dataclass
class Plan:
    """A compiled pipeline: the steps over canonical rows (``_ord``, ``_pfields``, ``_raw``,
    the ``views`` columns and ``_p:<name>`` for ``loads``), and how to read the result."""

    rule: Rule
    profile: FieldProfile | None
    reads: Reads
    steps: list[Step]
    state: State

    @property
    def views(self) -> list[View]:
        return self.reads.views()

    def rows(self, frame: DataFrame) -> DataFrame:
        needed = ["_file", "_index", "_raw", "_ord", "_pfields"]
        for view in self.views:
            needed.extend(view.column(n) for n in sorted(view.names))
            if view.leaves:
                needed.append(view.all_column)
        needed.extend(load_column(n) for n in sorted(self.state.loads))
        needed.extend(time_column(n) for n in sorted(self.state.times))
        needed.extend(source_column(n) for n in sorted(self.state.sources))
        present = set(frame.columns)
        frame = frame.select(*(quoted(c) for c in dict.fromkeys(needed) if c in present))
        for step in self.steps:
            frame = step(frame)
        return frame

    def result_columns(self) -> list[str]:
        if self.state.open:
            return ["_ord", "_pfields", *self.state.cols.values()]
        return ["_ord", *(self.state.cols[n] for n in self.state.order)]

    def decode(self, row: Any) -> dict[str, Any]:
        state = self.state
        if state.open:
            out = dict(orjson.loads(row["_pfields"]))
            for name, column in state.cols.items():
                value = decode(row[column])
                if value is MISSING:
                    out.pop(name, None)
                else:
                    out[name] = value
            return out
        fields: dict[str, Any] = {}
        for name in state.order:
            value = decode(row[state.cols[name]])
            if value is not MISSING:
                fields[name] = value
        return fields


class _Compiler:
    def __init__(self, rule: Rule, profile: FieldProfile | None, now: float) -> None:
        self.rule = rule
        self.profile = profile
        self.now = now
        self.state = State()
        self.reads = Reads()
        self.steps: list[Step] = []
        self.fresh = itertools.count()
        self.pending: dict[str, str] = {}

    def project(self, column: str, sql: str) -> None:
        """Add a column; consecutive independent columns are added in one projection (each
        ``withColumn`` costs one analysis of the whole plan)."""
        if any(f"`{c}`" in sql for c in self.pending):
            self.flush()
        self.pending[column] = sql

    def flush(self) -> None:
        if self.pending:
            columns = {c: F.expr(sql) for c, sql in self.pending.items()}
            self.steps.append(lambda frame: frame.withColumns(columns))
            self.pending = {}

    def step(self, step: Step) -> None:
        self.flush()
        self.steps.append(step)

    def new_column(self) -> str:
        return f"_c{next(self.fresh)}"

    def evals(self) -> EvalCompiler:
        return EvalCompiler(self.state, self.now)

    def set_field(self, name: str, column: str) -> None:
        self.state.cols[name] = column
        if not self.state.open and name not in self.state.order:
            self.state.order.append(name)

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

    # filters
    def filter(self, stage: Filter, leading: bool) -> None:
        view = FieldView({}, self.profile, self.reads) if leading else _RowFields(self.state)
        sql = _Predicates(view, self.evals()).expr(stage.expr)
        self.step(lambda frame: frame.where(F.expr(sql)))

    def eval(self, stage: Eval) -> None:
        for name, expr in stage.assignments:
            sql = self.evals().value(expr)
            column = self.new_column()
            self.project(column, sql)
            self.set_field(name, column)

    def rename(self, stage: Rename) -> None:
        for old, new in stage.pairs:
            if "*" in old or "*" in new:
                if self.state.open:
                    raise unsupported(
                        construct="rename:wildcard",
                        message="rename with wildcards on events is "
                        "not compiled to Spark (it needs every field name)",
                        span=stage.span,
                    )
                pattern = re.compile("(.*?)".join(re.escape(p) for p in old.split("*")), re.DOTALL)
                for name in list(self.state.order):
                    found = pattern.fullmatch(name)
                    if found is None or (name in ("_raw", "_time") and not old.startswith("_")):
                        continue
                    target = fill_wildcards(new, found.groups())
                    self._move(name, target)
                continue
            self._move(old, new)

    def _move(self, old: str, new: str) -> None:
        source = self.state.column(old)
        column = self.new_column()
        self.project(column, source)
        removed = self.new_column()
        self.project(removed, SQL_NULL)
        if old != new:
            self.state.cols[old] = removed
            if not self.state.open and old in self.state.order:
                self.state.order.remove(old)
        if not self.state.open and new in self.state.order:
            self.state.order.remove(new)
        self.set_field(new, column)

    def table(self, stage: Table) -> None:
        if stage.command == "fields" and stage.remove:
            if self.state.open:
                raise unsupported(
                    construct="fields:remove",
                    message="fields - on events is not compiled to Spark "
                    "(it needs every field name)",
                    span=stage.span,
                )
            for name in [n for n in self.state.order if any(_wild(p, n) for p in stage.fields)]:
                self.state.order.remove(name)
            return
        chosen: list[str] = []
        for pattern in stage.fields:
            if "*" in pattern:
                if self.state.open:
                    raise unsupported(
                        construct="table:wildcard",
                        message="a table wildcard on events is not "
                        "compiled to Spark (it needs every field name)",
                        span=stage.span,
                    )
                chosen.extend(sorted(n for n in self.state.order if _wild(pattern, n)))
            else:
                chosen.append(pattern)
        chosen = list(dict.fromkeys(chosen))
        columns = {name: self.state.column(name) for name in chosen}
        # ``fields`` keeps the row's event (its _raw and _time); ``table`` makes plain rows
        self._close(columns, keep_event=stage.command == "fields")

    def _close(self, columns: dict[str, str], keep_event: bool = False) -> None:
        """Rows become rows holding only these fields (SQL of their values)."""
        self.flush()
        named = {name: self.new_column() for name in columns}
        selection = [F.expr(sql).alias(named[name]) for name, sql in columns.items()]
        fallback = {}
        if keep_event:
            time = self.state.column("_time")
            fallback = {"_time": self.new_column()}
            selection.append(F.expr(time).alias(fallback["_time"]))
        raw = F.col("_raw") if keep_event else F.lit("").alias("_raw")
        self.step(lambda frame: frame.select("_ord", raw, *selection))
        self.state.open = False
        self.state.cols = dict(named)
        self.state.order = list(named)
        self.state.fallback = fallback

    # stats
    def stats(self, stage: Stats) -> None:
        if stage.command not in ("stats", "eventstats"):
            raise unsupported(
                construct=stage.command,
                message=f"{stage.command} is not compiled to Spark",
                span=stage.span,
            )
        # a Sigma correlation's stats carries its timespan and approximation as notes; the
        # evaluator's stats reads no option, other options stay refused
        if any(key not in _NOTE_OPTIONS for key, _ in stage.options):
            raise unsupported(
                construct=f"{stage.command}:options",
                message=f"{stage.command} options are not compiled to Spark",
                span=stage.span,
            )
        named: dict[str, Aggregation] = {}
        for agg in stage.aggregations:
            found, alias = self._aggregation(agg, stage)
            named.pop(alias, None)  # a later aggregation of the same name wins
            named[alias] = found
        aggs = list(named.items())
        by = list(stage.by)
        evals = self.evals()
        by_values = [evals.value(FieldValue(name)) for name in by]
        time_sql = self.state.column("_time")
        arg_sql: list[str | None] = []
        for _, agg in aggs:
            if agg.argument is None:
                arg_sql.append(None)
            elif isinstance(agg.argument, str):
                arg_sql.append(evals.value(FieldValue(agg.argument)))
            else:
                inner = evals.value(agg.argument)
                # false counts as null
                arg_sql.append(
                    let_in(
                        inner,
                        lambda a: (
                            f"IF(size({a}) = 1 AND {a}[0].k = 'b' AND {a}[0].t = 'false', {SQL_NULL}, {a})"  # noqa: E501
                        ),
                    )
                )
        eventstats = stage.command == "eventstats"
        keys = [f"_k{i}" for i in range(len(by))]
        shown = [f"_s{i}" for i in range(len(by))]
        spots = [f"_q{i}" for i in range(len(by))]
        results = {alias: self.new_column() for alias, _ in aggs}
        # by-names win over aggregation names (the evaluator sets them last)
        outputs = [(alias, results[alias]) for alias, _ in aggs if alias not in by]
        time = f"IF(size({time_sql}) = 1 AND {time_sql}[0].k <> 'b', {time_sql}[0].n, NULL)"
        by_columns = [self.new_column() for _ in by]
        finishers = [_finisher(agg, results[alias]) for alias, agg in aggs]

        def grouped(frame: DataFrame) -> tuple[DataFrame, DataFrame]:
            exploded = frame
            for i, by_sql in enumerate(by_values):
                exploded = exploded.select(
                    "*", F.posexplode(F.expr(by_sql)).alias(spots[i], shown[i])
                ).withColumn(keys[i], F.col(shown[i]).getField("t"))
            packed = exploded.withColumn("_time_n", F.expr(time))
            collected = []
            for (alias, _), sql in zip(aggs, arg_sql, strict=True):
                name = results[alias]
                if sql is None:
                    collected.append(F.count(F.lit(1)).cast("double").alias(name))
                else:
                    collected.append(
                        F.collect_list(
                            F.expr(
                                f"named_struct('o', _ord, 'm', _time_n, 'v', coalesce({sql}, {SQL_EMPTY}))"  # noqa: E501
                            )
                        ).alias(name)
                    )
            first = F.min(
                F.struct(F.col("_ord"), *(F.col(p) for p in spots), *(F.col(s) for s in shown))
            ).alias("_first")
            if keys:
                summary = packed.groupBy(*keys).agg(first, *collected)
            else:
                summary = packed.agg(first, *collected)
            return exploded, summary.select(*keys, "_first", *finishers)

        def stats_step(frame: DataFrame) -> DataFrame:
            _, finished = grouped(frame)
            with_by = finished.select(
                "*",
                *(
                    F.array(F.col("_first").getField(s)).alias(c)
                    for s, c in zip(shown, by_columns, strict=True)
                ),
            )
            order = [k.asc_nulls_first() for c in by_columns for k in _value_keys(f"`{c}`[0]")]
            window = Window.orderBy(*order, F.col("_first._ord").asc())
            return with_by.select(
                F.row_number().over(window).cast("long").alias("_ord"),
                F.lit("").alias("_raw"),
                *by_columns,
                *(c for _, c in outputs),
            )

        def eventstats_step(frame: DataFrame) -> DataFrame:
            exploded, finished = grouped(frame)
            results_only = finished.drop("_first")
            if not keys:
                return frame.crossJoin(results_only)
            firsts = exploded.groupBy("_ord").agg(
                F.min(F.struct(*(F.col(p) for p in spots), *(F.col(k) for k in keys))).alias("_g")
            )
            firsts = firsts.select("_ord", *(F.col("_g").getField(k).alias(k) for k in keys))
            joined = frame.join(firsts, on="_ord", how="left").join(
                results_only, on=keys, how="left"
            )
            return joined.drop(*keys)

        if eventstats:
            self.step(eventstats_step)
            for alias, column in outputs:
                current = self.state.column(alias)
                merged = self.new_column()
                self.project(merged, f"coalesce(`{column}`, {current})")
                self.set_field(alias, merged)
            return
        self.step(stats_step)
        self.state.open = False
        self.state.fallback = {}
        self.state.cols = dict(zip(by, by_columns, strict=True))
        for alias, column in outputs:
            self.state.cols[alias] = column
        self.state.order = [*by, *(a for a, _ in outputs)]

    def _aggregation(self, agg: Aggregation, stage: Stats) -> tuple[Aggregation, str]:
        function = agg.function.lower()
        if function not in _STATS and not _python_aggregation(function):
            raise unsupported(
                construct=f"stats:{agg.function}",
                message=f"stats function {agg.function}() is not compiled to Spark",
                span=stage.span,
            )
        if agg.argument is None:
            if function not in ("count", "c"):
                raise RuleglotError(
                    f"{agg.function}() needs an argument", construct=f"stats:{agg.function}"
                ).at(stage.span)
            return agg, agg.alias or "count"
        if isinstance(agg.argument, str):
            if "*" in agg.argument:
                raise unsupported(
                    construct="stats:wildcard",
                    message="a wildcard stats argument is not compiled to Spark",
                    span=stage.span,
                )
            return agg, agg.alias or f"{agg.function}({agg.argument})"
        if agg.alias is None:
            raise RuleglotError(
                f"{agg.function}(eval(...)) needs an AS name", construct=f"stats:{agg.function}"
            ).at(stage.span)
        return agg, agg.alias

    def bin(self, stage: Bin) -> None:
        if stage.span_text is None:
            raise unsupported(
                construct="bin:bins", message="bin without span= is not supported", span=stage.span
            )
        found = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)", stage.span_text.strip())
        if found is None:
            raise unsupported(
                construct="bin:span",
                message=f"bin span={stage.span_text} is not supported",
                span=stage.span,
            )
        amount, unit_word = float(found.group(1)), found.group(2)
        unit = time_unit(unit_word) if unit_word else "s"
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
        months = {"mon": 1, "q": 3, "y": 12}
        if stage.field != "_time" or unit not in (*seconds, *months) or amount <= 0:
            raise unsupported(
                construct="bin",
                message="bin is compiled to Spark on _time with a positive span in seconds, "
                "minutes, "
                "hours, days, weeks, months, quarters or years only",
                span=stage.span,
            )
        name = stage.field
        event_field = self.state.open and name not in self.state.cols
        current = self.state.column(name)
        if event_field:
            # the event's value: its number, timestamp text read, computed at ingestion
            self.state.times.add(name)
            number = f"`{time_column(name)}`"
        else:
            value = read_value(current)
            udf = F.udf(_cell_bin_number, "double")
            number_column = self.new_column()
            self.flush()
            self.step(
                lambda frame: frame.withColumn(
                    number_column,
                    F.when(
                        F.expr(f"size({value}) = 1 AND {value}[0].n IS NOT NULL"),
                        F.expr(f"{value}[0].n"),
                    ).otherwise(udf(F.expr(value))),
                )
            )
            number = f"`{number_column}`"
        if unit in seconds:
            width = sql_double(amount * seconds[unit])
            floored = f"floor({number} / {width}) * {width}"
        else:
            # calendar months from January (UTC), the evaluator's datetime arithmetic
            step = int(amount) * months[unit]
            if step <= 0:
                raise unsupported(
                    construct="bin", message="bin with a span under one month", span=stage.span
                )
            day = f"date_from_unix_date(CAST(floor({number} / 86400D) AS INT))"
            index = f"(year({day}) * 12 + month({day}) - 1)"
            start = f"CAST(floor({index} / {step}) * {step} AS INT)"
            first = f"make_date(CAST(floor({start} / 12) AS INT), pmod({start}, 12) + 1, 1)"
            floored = f"CAST(unix_date({first}) AS DOUBLE) * 86400D"

        def body(f: str) -> str:
            kind = f"IF({f} = floor({f}) AND abs({f}) < 9007199254740992D, 'i', 'f')"
            return f"IF({number} IS NULL, {current}, array({number_scalar(f, kind)}))"

        sql = let_in(floored, body)
        target = stage.alias or stage.field
        column = self.new_column()
        self.project(column, sql)
        self.set_field(target, column)

    def dedup(self, stage: Dedup) -> None:
        options = {k.lower(): str(v).lower() for k, v in stage.options}
        if any(k != "keepempty" for k in options):
            raise unsupported(
                construct="dedup:" + next(k for k in options if k != "keepempty"),
                message="this dedup option is not compiled to Spark",
                span=stage.span,
            )
        keep_empty = options.get("keepempty") in ("true", "t", "1")
        values = [read_value(self.state.column(f)) for f in stage.fields]
        missing = " OR ".join(f"{v} IS NULL" for v in values) or "false"
        keys = [F.expr(f"transform({v}, s -> s.t)") for v in values]
        count = stage.count

        def step(frame: DataFrame) -> DataFrame:
            window = Window.partitionBy(*keys).orderBy("_ord")
            ranked = frame.withColumn("_dd", F.row_number().over(window))
            empty = F.expr(missing)
            kept = ranked.where((~empty & (F.col("_dd") <= count)) | (empty & F.lit(keep_empty)))
            return kept.drop("_dd")

        self.step(step)

    def sort(self, stage: Sort) -> None:
        limit = 10000 if stage.limit is None else stage.limit
        orders = []
        for name, descending in stage.keys:
            orders.append((read_value(self.state.column(name)), descending))

        def step(frame: DataFrame) -> DataFrame:
            cols = []
            for value, descending in orders:
                first = f"{value}[0]"
                cols.append(F.expr(f"{value} IS NULL").asc())
                for key in _value_keys(first):
                    cols.append(key.desc_nulls_last() if descending else key.asc_nulls_first())
            cols.append(F.col("_ord").asc())
            window = Window.orderBy(*cols)
            ranked = frame.withColumn("_ord", F.row_number().over(window).cast("long"))
            return ranked.where(F.col("_ord") <= limit) if limit else ranked

        self.step(step)
        self.state.ordered = True

    def head(self, stage: Head) -> None:
        if stage.command != "head":
            raise unsupported(
                construct=stage.command,
                message=f"{stage.command} is not compiled to Spark",
                span=stage.span,
            )
        count = max(stage.count, 0)

        def step(frame: DataFrame) -> DataFrame:
            window = Window.orderBy("_ord")
            ranked = frame.withColumn("_hd", F.row_number().over(window))
            return ranked.where(F.col("_hd") <= count).drop("_hd")

        self.step(step)
        self.state.ordered = True

    def fillnull(self, stage: FillNull) -> None:
        names = list(stage.fields)
        if not names:
            if self.state.open:
                raise unsupported(
                    construct="fillnull",
                    message="fillnull without a field list on events is not "
                    "compiled to Spark (it needs every field name)",
                    span=stage.span,
                )
            names = [n for n in self.state.order if n not in ("_raw", "_time")]
        filler = sql_literal(stage.value)
        for name in names:
            current = self.state.column(name)
            test = read_value(current)
            column = self.new_column()
            self.project(column, f"IF({test} IS NULL, {filler}, {current})")
            self.set_field(name, column)

    def convert(self, stage: Convert) -> None:
        options = {k.lower(): v for k, v in stage.options}
        if set(options) - {"timeformat"}:
            raise unsupported(
                construct="convert",
                message="convert options other than timeformat are not compiled to Spark",
                span=stage.span,
            )
        timeformat = options.get("timeformat", "%m/%d/%Y %H:%M:%S")
        for function, name, alias in stage.conversions:
            if function.lower() != "ctime":
                raise unsupported(
                    construct=f"convert:{function}",
                    message=f"convert {function}() is not compiled to Spark",
                    span=stage.span,
                )
            if "*" in name:
                raise unsupported(
                    construct="convert:wildcard",
                    message="convert with wildcards is not compiled to Spark",
                    span=stage.span,
                )
            java = _java_time_format(timeformat, stage.span)
            current = self.state.column(name)
            value = read_value(current)
            text = (
                f"date_format(timestamp_micros(CAST(floor(s.n * 1000000D) AS BIGINT)), "
                f"{sql_string(java)})"
            )
            each = (
                f"CASE WHEN s.n IS NULL OR s.k = 'b' THEN s WHEN isnan(s.n) OR "
                f"abs(s.n) >= 253402300800D THEN NULL ELSE {string_scalar(text)} END"
            )
            converted = as_multivalue(
                f"filter(transform({value}, s -> {each}), y -> y IS NOT NULL)"
            )
            sql = f"IF({value} IS NULL, {current}, {converted})"
            column = self.new_column()
            self.project(column, sql)
            self.set_field(alias or name, column)


#: Each IR stage lowered to Spark, by the :class:`_Compiler` method that adds its steps
#: (``Filter`` is lowered by :meth:`_Compiler.filter`, leading or not).
STAGE_LOWERINGS: dict[type, Callable[[Any, Any], None]] = {
    Eval: _Compiler.eval, Rename: _Compiler.rename, Table: _Compiler.table,
    Stats: _Compiler.stats, Bin: _Compiler.bin, Dedup: _Compiler.dedup, Sort: _Compiler.sort,
    Head: _Compiler.head, FillNull: _Compiler.fillnull, Convert: _Compiler.convert,
}  # fmt: skip

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


def _wild(pattern: str, name: str) -> bool:
    if name in ("_raw", "_time") and not pattern.startswith("_"):
        return False
    rx = re.compile("(.*?)".join(re.escape(p) for p in pattern.split("*")), re.DOTALL)
    return rx.fullmatch(name) is not None


_TIME_VARS = {
    "Y": "yyyy",
    "m": "MM",
    "d": "dd",
    "H": "HH",
    "M": "mm",
    "S": "ss",
    "T": "HH:mm:ss",
    "F": "yyyy-MM-dd",
}


def _java_time_format(fmt: str, span: Span | None) -> str:
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            text = "".join(literal).replace("'", "''")
            out.append(f"'{text}'")
            literal.clear()

    i = 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            var = fmt[i + 1]
            if var == "%":
                literal.append("%")
            elif var in _TIME_VARS:
                flush()
                out.append(_TIME_VARS[var])
            else:
                raise unsupported(
                    construct="convert:timeformat",
                    message=f"time format variable %{var} is not compiled to Spark",
                    span=span,
                )
            i += 2
            continue
        literal.append(fmt[i])
        i += 1
    flush()
    return "".join(out)


def _value_keys(scalar: str) -> list[Any]:
    """Sort keys of SPL's order for one scalar: numbers first (numerically), then IPv4
    addresses (as addresses), then texts (by code point)."""
    ipv4 = "'^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$'"  # noqa: E501
    ipnum = (
        f"IF({scalar}.t RLIKE {ipv4}, aggregate(split({scalar}.t, '\\\\.'), 0L, "
        f"(acc, o) -> acc * 256 + CAST(o AS BIGINT)), NULL)"
    )
    return [
        F.expr(f"IF({scalar}.n IS NOT NULL AND {scalar}.k <> 'b', 0, 1)"),
        F.expr(f"IF({scalar}.k <> 'b', {scalar}.n, NULL)"),
        F.expr(ipnum),
        F.expr(f"{scalar}.t"),
    ]


def _finish(function: str, column: str, no_argument: bool) -> str:
    """The aggregation's value from the collected ``(o: row order, m: _time, v: values)``."""
    c = f"`{column}`"
    if no_argument:
        return f"array({number_scalar(f'{c}', repr('i'))})"
    values = f"flatten(transform(array_sort({c}), r -> r.v))"
    timed = (
        f"flatten(transform(array_sort({c}), r -> transform(r.v, v -> "
        f"named_struct('m', r.m, 'v', v))))"
    )
    nums = "filter(__L__, x -> x.n IS NOT NULL AND x.k <> 'b')"
    strs = "filter(__L__, x -> NOT (x.n IS NOT NULL AND x.k <> 'b'))"

    def over(body: str, source: str = values) -> str:
        return let_in(source, lambda a: body.replace("__L__", a))

    def first_by(array: str, better: str) -> str:
        return f"aggregate({array}, {array}[0], (acc, x) -> IF({better}, x, acc))"

    def total(array: str) -> str:
        return f"aggregate({array}, 0D, (acc, x) -> acc + x.n)"

    def tidy(n: str) -> str:
        kind = f"IF({n} = floor({n}) AND abs({n}) < 9007199254740992D, 'i', 'f')"
        return f"array({number_scalar(n, kind)})"

    if function in ("count", "c"):
        return over(f"array({number_scalar('CAST(size(__L__) AS DOUBLE)', repr('i'))})")
    if function in ("dc", "distinct_count", "estdc"):
        return over(
            f"array({number_scalar('CAST(size(array_distinct(transform(__L__, x -> x.t))) AS DOUBLE)', repr('i'))})"  # noqa: E501
        )
    if function == "values":
        indexed = "transform(__L__, (x, i) -> named_struct('t', x.t, 'i', i, 'x', x))"
        return over(
            let_in(
                f"array_sort({indexed})",
                lambda s: as_multivalue(
                    f"transform(filter({s}, (y, j) -> j = 0 OR {s}[j - 1].t <> y.t), y -> y.x)"
                ),
            )
        )
    if function == "list":
        return over(as_multivalue("slice(__L__, 1, 100)"))
    if function in ("first", "last"):
        return over(
            f"IF(size(__L__) = 0, {SQL_NULL}, array(element_at(__L__, {1 if function == 'first' else -1})))"  # noqa: E501
        )
    if function in ("min", "max"):
        if function == "max":
            body = (
                f"CASE WHEN size({strs}) > 0 THEN array({first_by(strs, 'x.t > acc.t')}) "
                f"WHEN size({nums}) > 0 THEN array({first_by(nums, 'x.n > acc.n')}) "
                f"ELSE {SQL_NULL} END"
            )
        else:
            body = (
                f"CASE WHEN size({nums}) > 0 THEN array({first_by(nums, 'x.n < acc.n')}) "
                f"WHEN size({strs}) > 0 THEN array({first_by(strs, 'x.t < acc.t')}) "
                f"ELSE {SQL_NULL} END"
            )
        return over(body)
    if function in ("earliest", "latest"):
        sign = "<" if function == "earliest" else ">"
        pick = first_by("filter(__L__, x -> x.m IS NOT NULL)", f"x.m {sign} acc.m")
        timed_value = f"IF(exists(__L__, x -> x.m IS NOT NULL), array(({pick}).v), {SQL_NULL})"
        return over(timed_value, timed)
    if function == "sum":
        return over(f"IF(size({nums}) > 0, {let_in(total(nums), tidy)}, {SQL_NULL})")
    if function in ("avg", "mean"):
        mean = let_in(f"{total(nums)} / size({nums})", tidy)
        return over(f"IF(size({nums}) > 0, {mean}, {SQL_NULL})")
    if function == "range":
        return over(
            f"IF(size({nums}) > 0, {let_in(f'array_max(transform({nums}, x -> x.n)) - array_min(transform({nums}, x -> x.n))', tidy)}, {SQL_NULL})"  # noqa: E501
        )
    raise AssertionError(function)


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
    return _Compiler(rule, fields, time.time() if now is None else now).compile()


class DataSetRows(FieldProfile):
    """The rows of a CIM data set as a field profile, so that ingestion reads them where it
    reads events (:func:`ir.pipeline.tstats_plan` says what runs after): an event the data
    set's sources select becomes its row's fields (:meth:`DataModelProfile.row_fields`, with
    ``_time``) and :attr:`MEMBER`, on which the plan's first filter keeps it; any other event
    becomes an empty row, which that filter drops."""

    MEMBER = "_datamodel_row"

    def __init__(self, profile: DataModelProfile, dataset: DataSet) -> None:
        super().__init__(f"datamodel:{profile.name}:{dataset.name}", ())
        object.__setattr__(self, "datamodels", profile)
        object.__setattr__(self, "dataset", dataset)

    def apply(self, event: Event) -> Event:
        return event.memo((self.name, None), lambda: self._row(event))

    def _row(self, event: Event) -> Event:
        fields = self.datamodels.row_fields(event, self.dataset)  # type: ignore[attr-defined]
        if fields is None:
            return Event.from_fields({})
        stamp = event_time(event)
        if stamp is not None:
            fields["_time"] = tidy_number(stamp)
        fields[self.MEMBER] = True
        return Event.from_fields(fields)


@functools.cache
def data_set_rows(profile: DataModelProfile, dataset: DataSet) -> DataSetRows:
    """One :class:`DataSetRows` per data set (searches of one data set share ingestion)."""
    return DataSetRows(profile, dataset)


def pipeline_row(
    plan_names: Sequence[str], views: Sequence[View], profile: FieldProfile | None,
    file: str, index: int, order: int, event: Event, with_fields: bool,
    time_names: Sequence[str] = (), source_names: Sequence[str] = (),
) -> tuple[Any, ...]:  # fmt: skip
    """The canonical row of an event for a pipeline: :func:`canonical_row`, then ``_ord``,
    ``_pfields``, one encoded value per field the pipeline reads and the :func:`bin_number`
    of each field ``bin`` reads."""
    base = canonical_row(file, index, event, views)
    seen = event if profile is None else profile.apply(event)
    row = Row.of(seen)
    cells: list[Any] = []
    for name in plan_names:
        raw = row.get(name)
        cells.append(encode_raw(raw))
    for name in time_names:
        raw = row.get(name)
        cells.append(bin_number(None if raw is MISSING else field_value(raw)))
    for name in source_names:
        cells.append(encode_raw(source_value(row, name)))
    pfields = (
        orjson.dumps({k: v for k, v in row.fields.items() if k != "Event"}).decode()
        if with_fields
        else None
    )
    return (*base, order, pfields, *cells)


def pipeline_schema(
    names: Sequence[str], views: Sequence[View], time_names: Sequence[str] = (),
    source_names: Sequence[str] = (),
) -> Any:  # fmt: skip
    value = _parse_datatype_string(VALUE)
    base = event_schema(views)
    return StructType(
        [
            *base.fields,
            StructField("_ord", LongType()),
            StructField("_pfields", StringType()),
            *(StructField(load_column(n), value) for n in names),
            *(StructField(time_column(n), DoubleType()) for n in time_names),
            *(StructField(source_column(n), value) for n in source_names),
        ]
    )


@dataclass(frozen=True)
class Ingestion:
    """What ingestion computes for some plans: the fields they read, those ``bin`` reads a
    time in, the canonical views of their leading filters, and whether one needs the events'
    fields (it ends open)."""

    names: list[str]
    time_names: list[str]
    source_names: list[str]
    views: list[View]
    with_fields: bool

    def schema(self) -> Any:
        return pipeline_schema(self.names, self.views, self.time_names, self.source_names)

    def row(
        self, profile: FieldProfile | None, file: str, index: int, order: int, event: Event
    ) -> tuple[Any, ...]:
        return pipeline_row(
            self.names, self.views, profile, file, index, order, event, self.with_fields,
            self.time_names, self.source_names,
        )  # fmt: skip


def merged(plans: Sequence[Plan]) -> Ingestion:
    """What ingestion computes for these plans (:class:`Ingestion`)."""
    names = sorted({n for plan in plans for n in plan.state.loads})
    times = sorted({n for plan in plans for n in plan.state.times})
    sources = sorted({n for plan in plans for n in plan.state.sources})
    reads = Reads()
    for plan in plans:
        reads.merge(plan.reads)
    open_ = any(plan.state.open for plan in plans)
    return Ingestion(names, times, sources, reads.views(), open_)


#: ``_ord`` of an event: the file's position in the input, then the event's index in it.
FILE_SHIFT = 32


def events_frame(
    spark: Any, plans: Sequence[Plan], events: Sequence[Event], profile: FieldProfile | None
) -> DataFrame:
    """In-memory events (shipped from the driver) as rows for ``plans``."""
    ingestion = merged(plans)
    rows = [ingestion.row(profile, "", index, index, event) for index, event in enumerate(events)]
    return spark.createDataFrame(rows, ingestion.schema())


def read_pipeline_events(
    spark: Any, paths: Sequence[Any], plans: Sequence[Plan], profile: FieldProfile | None
) -> DataFrame:
    """JSON Lines files as rows for ``plans`` (normalised on the executors, as
    :func:`backends.spark.events.read_json_events` does)."""
    ingestion = merged(plans)
    schema = ingestion.schema()
    paths = list(paths)
    if not paths:
        return spark.createDataFrame([], schema)
    shown = {str(Path(p).resolve()): (rank, str(p)) for rank, p in enumerate(paths)}

    def rows(item: tuple[str, bytes]) -> Any:
        uri, data = item
        local = unquote(uri[len("file:") :]) if uri.startswith("file:") else uri
        rank, name = shown.get("/" + local.lstrip("/"), (len(shown), uri))
        for index, event in events_of(name, data):
            order = (rank << FILE_SHIFT) | index
            yield ingestion.row(profile, name, index, order, event)

    files = spark.sparkContext.binaryFiles(",".join(hadoop_path(p) for p in paths))
    parallelism = max(1, spark.sparkContext.defaultParallelism)
    slices = min(len(paths), 4 * parallelism)
    if files.getNumPartitions() < slices:
        files = files.repartition(slices)
    return spark.createDataFrame(files.flatMap(rows), schema)


def run_plan(spark: Any, plan: Plan, events: Sequence[Event]) -> list[dict[str, Any]]:
    """The plan's result rows on in-memory events, in the evaluator's order."""
    return collect(plan, events_frame(spark, [plan], events, plan.profile))


def collect(plan: Plan, frame: DataFrame) -> list[dict[str, Any]]:
    """The plan's result rows over ingested rows, in the evaluator's order."""
    result = plan.rows(frame)
    got = sorted(result.select(*plan.result_columns()).collect(), key=lambda r: r["_ord"])
    return [plan.decode(r) for r in got]


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
