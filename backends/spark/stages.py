"""The Spark lowering's base: :class:`Plan` (a compiled pipeline and how to read its rows) and
:class:`StageLowering`, which adds columns and steps, with the stages that keep or reshape rows
(``search``/``where`` filters, ``eval``, ``rename``, ``table``/``fields``, ``dedup``, ``sort``,
``head``, ``fillnull``, ``convert``).

The meaning of each stage is :mod:`ir.pipeline`'s; :mod:`backends.spark.pipeline` holds the
table of lowerings (``STAGE_LOWERINGS``) and documents what differs.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import orjson
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from backends.spark.evalexpr import (
    EvalCompiler,
)
from backends.spark.events import View, quoted
from backends.spark.predicates import FieldView, Reads, sql_string
from backends.spark.rowsql import (
    Predicates,
    RowFields,
    Step,
    java_time_format,
    value_keys,
    wildcard_matches,
)
from backends.spark.values import (
    SQL_NULL,
    State,
    as_multivalue,
    decode,
    load_column,
    read_value,
    source_column,
    sql_literal,
    string_scalar,
    time_column,
)
from ir.errors import Span, unsupported
from ir.events import MISSING
from ir.fieldprofiles import FieldProfile
from ir.nodes import (
    Convert,
    Dedup,
    Eval,
    FillNull,
    Filter,
    Head,
    Rename,
    Rule,
    Sort,
    Table,
)
from ir.pipeline import (
    fill_wildcards,
)


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


class StageLowering:
    """Adds a rule's stages as Spark steps over canonical rows (see :class:`Plan`)."""

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

    # filters
    def filter(self, stage: Filter, leading: bool) -> None:
        view = FieldView({}, self.profile, self.reads) if leading else RowFields(self.state)
        sql = Predicates(view, self.evals()).expr(stage.expr)
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
                self.needs_field_names(
                    "rename:wildcard", "rename with wildcards on events", stage.span
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

    def needs_field_names(self, construct: str, what: str, span: Span | None) -> None:
        """Refuse ``what`` (by ``construct``) while the rows are still open events, whose field
        names a compiled query cannot list."""
        if self.state.open:
            raise unsupported(
                construct=construct,
                message=f"{what} is not compiled to Spark (it needs every field name)",
                span=span,
            )

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
            self.needs_field_names("fields:remove", "fields - on events", stage.span)
            dropped = [
                n for n in self.state.order if any(wildcard_matches(p, n) for p in stage.fields)
            ]
            for name in dropped:
                self.state.order.remove(name)
            return
        chosen: list[str] = []
        for pattern in stage.fields:
            if "*" in pattern:
                self.needs_field_names("table:wildcard", "a table wildcard on events", stage.span)
                chosen.extend(sorted(n for n in self.state.order if wildcard_matches(pattern, n)))
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
                for key in value_keys(first):
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
            self.needs_field_names(
                "fillnull", "fillnull without a field list on events", stage.span
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
            java = java_time_format(timeformat, stage.span)
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
