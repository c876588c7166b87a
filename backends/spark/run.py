"""A whole Spark run: compile rules, read events (JSON Lines or Parquet), collect the matches.

The entry points the library (``translator.api.evaluate(..., engine="spark")``) and the CLI
(``ruleglot eval --engine spark``) call. Results come back in the evaluator's order: events
file, event index, rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from backends.spark.engine import SparkRule, SparkRuleSet, compile_spark_rule
from backends.spark.events import (
    View,
    canonical_row,
    read_json_events,
    read_parquet_events,
    schema,
)
from backends.spark.predicates import Reads
from ir.errors import RuleglotError
from ir.events import Event
from ir.fieldprofiles import FieldProfile
from ir.logsources import LogSourceProfile
from ir.nodes import Rule

PARQUET_SUFFIXES = (".parquet",)


@dataclass
class SparkRun:
    """Compiled rules (``compiled[i]`` is rule ``indices[i]`` of the input) and the refusals."""

    ruleset: SparkRuleSet
    indices: list[int]
    errors: list[tuple[int, RuleglotError]] = field(default_factory=list)


def compile_all(
    rules: Sequence[Rule],
    profile: LogSourceProfile,
    fields_for: Callable[[Rule], FieldProfile | None],
) -> SparkRun:
    """Every rule that compiles; the others' errors, by input position."""
    compiled: list[SparkRule] = []
    indices: list[int] = []
    errors: list[tuple[int, RuleglotError]] = []
    reads = Reads()
    for index, rule in enumerate(rules):
        try:
            compiled.append(compile_spark_rule(rule, profile, fields_for(rule), reads))
            indices.append(index)
        except RuleglotError as err:
            errors.append((index, err))
    return SparkRun(SparkRuleSet(compiled, reads), indices, errors)


def is_parquet(path: str | Path) -> bool:
    path = Path(path)
    return path.suffix in PARQUET_SUFFIXES or (path.is_dir() and any(path.glob("*.parquet")))


def read_events(
    spark: SparkSession, paths: Sequence[Path], views: Sequence[View] = (View(),)
) -> DataFrame:
    """Canonical rows of JSON Lines files and Parquet folders (written by
    :func:`backends.spark.events.write_parquet` with at least the columns ``views`` need)."""
    parquet = [p for p in paths if is_parquet(p)]
    jsonl = [p for p in paths if not is_parquet(p)]
    frames = []
    if jsonl:
        frames.append(read_json_events(spark, jsonl, views))
    if parquet:
        frames.append(read_parquet_events(spark, parquet, views))
    if not frames:
        return spark.createDataFrame([], schema(views))
    frame = frames[0]
    for other in frames[1:]:
        frame = frame.unionByName(other)
    return frame


def match_paths(
    spark: SparkSession, run: SparkRun, paths: Sequence[Path], count: bool = False
) -> tuple[list[tuple[str, int, int]], int | None]:
    """``(events file, event index, input rule index)`` of every match, in the evaluator's
    order (files as given, events, rules); and, with ``count``, how many events were read
    (one more pass over the canonical rows)."""
    events = read_events(spark, paths, run.ruleset.views)
    # JSON Lines are normalised in Python: once, kept for every job; Parquet is read by each
    # job, only the columns and row groups it needs
    costly = any(not is_parquet(p) for p in paths)
    if costly:
        events = events.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        total = events.count() if count else None
        found = run.ruleset.collect(events)
    finally:
        if costly:
            events.unpersist()
    order = {str(p): i for i, p in enumerate(paths)}
    rows = [(file, index, run.indices[rule]) for file, index, rule in found]
    rows.sort(key=lambda r: (order.get(r[0], len(order)), r[0], r[1], r[2]))
    return rows, total


def match_events(
    spark: SparkSession, run: SparkRun, events: Iterable[Event | dict[str, Any]]
) -> list[tuple[int, int]]:
    """``(input rule index, event index)`` for in-memory events (shipped from the driver)."""
    views = run.ruleset.views
    rows = [
        canonical_row("", i, e if isinstance(e, Event) else Event(e), views)
        for i, e in enumerate(events)
    ]
    frame = spark.createDataFrame(rows, schema(views))
    found = run.ruleset.collect(frame)  # rows shipped in the plan: nothing to read again
    return sorted((run.indices[rule], index) for _, index, rule in found)
