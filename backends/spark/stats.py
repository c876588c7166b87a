"""The Spark lowering of the stages that aggregate: ``stats``/``eventstats`` (every function
of :mod:`ir.stages.stats` but ``earliest_time``/``latest_time``) and ``bin`` on ``_time``.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from backends.spark.rowsql import (
    NOTE_OPTIONS,
    STATS,
    cell_bin_number,
    finisher,
    python_aggregation,
    value_keys,
)
from backends.spark.stages import StageLowering
from backends.spark.values import (
    SQL_EMPTY,
    SQL_NULL,
    let_in,
    number_scalar,
    read_value,
    sql_double,
    time_column,
)
from ir.errors import RuleglotError, unsupported
from ir.functions import UNIT_MONTHS, UNIT_SECONDS, time_unit
from ir.nodes import (
    Aggregation,
    Bin,
    FieldValue,
    Stats,
)
from ir.stages.stats import parse_bin_span


class StatsLowering(StageLowering):
    """``stats``, ``eventstats`` and ``bin`` (see the module docstring)."""

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
        if any(key not in NOTE_OPTIONS for key, _ in stage.options):
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
        finishers = [finisher(agg, results[alias]) for alias, agg in aggs]

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
            order = [k.asc_nulls_first() for c in by_columns for k in value_keys(f"`{c}`[0]")]
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
        if function not in STATS and not python_aggregation(function):
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
        amount, unit_word = parse_bin_span(stage)
        unit = time_unit(unit_word) if unit_word else "s"
        if stage.field != "_time" or unit not in (*UNIT_SECONDS, *UNIT_MONTHS) or amount <= 0:
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
            udf = F.udf(cell_bin_number, "double")
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
        if unit in UNIT_SECONDS:
            width = sql_double(amount * UNIT_SECONDS[unit])
            floored = f"floor({number} / {width}) * {width}"
        else:
            # calendar months from January (UTC), the evaluator's datetime arithmetic
            step = int(amount) * UNIT_MONTHS[unit]
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
