"""Events as Spark rows: the evaluator's event model (:mod:`ir.events`), stored column-wise.

Spark must see exactly what the evaluator sees: the nested EVTX shape hoisted, dotted names
walked, lists multi-valued, numbers spelt as JSON spells them, ``str.lower`` for case folding.
Spark's own JSON reader would decide some of that differently (it infers one schema for all
files, so a field that is a number in one file and a string in another becomes a string; it
re-spells numbers; a free set of ``EventData`` keys becomes a wide sparse struct). So each
event is normalised once, by :class:`ir.events.Event` itself, into one *canonical row*; every
rule is then a native Spark expression over those columns, and no rule runs Python.

Canonical row (:func:`schema`)
    ``_file``, ``_index``
        The events file (as the caller named it) and the event's index in it (non-blank lines
        from 0, as :func:`translator.inputs.read_events` counts).
    ``_raw``
        :attr:`ir.events.Event.raw_text`, for SPL terms.
    ``_dkeys``, ``_keys``, ``_channel``
        What :class:`ir.evaluator.RuleSet` dispatches on, computed by the evaluator's own
        functions: the event's ``(channel, event id)`` keys (:func:`ir.evaluator.event_keys`,
        one per value, as ``channel\x1fid`` strings; for each view through a field profile,
        also the ``(source, EventCode)`` keys of the event as it extends it, prefixed
        ``<profile>\x1e``) and its field names
        (:func:`ir.evaluator.event_field_keys`). A rule is only evaluated on the events the
        evaluator would show it. ``_channel``: the channel key when the event has exactly one
        (else null), for a filter pushed down to Parquet.
    ``_fields:<name>``
        One column per field name the rules read (names differing only in case are distinct
        columns: the session is case-sensitive, :mod:`backends.spark.session`), so that Spark
        reads, caches and prunes each field on its own; each is
        :meth:`ir.events.Event.get` of that name (null when the event lacks it), so hoisting
        and dotted walks are the evaluator's. It holds ``isnull`` (a JSON ``null``) and
        ``vals``: one value struct per non-null scalar (:meth:`ir.events.Event.values`).
    ``_all``
        A value struct for every non-null scalar of the event (field-less predicates: Sigma
        keywords), :meth:`ir.events.Event.all_values`; empty when no rule needs it.
    ``_x_<profile>:<name>``, ``_xall_<profile>``
        The same two for the event as a field profile extends it
        (:meth:`ir.fieldprofiles.FieldProfile.apply`, the evaluator's own code): for rules
        read through that profile (SPL searches: ``splunk_windows_xml``).

A value struct is ``t`` (:func:`ir.events.text_of`), ``l`` (``t.lower()``, Python's),
``k`` (``s`` string, ``n`` number, ``b`` boolean, ``o`` object) and ``n``
(:func:`ir.evaluator.number_of`, a double).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import orjson

from ir.errors import RuleglotError
from ir.evaluator import SPL_KEY_FIELDS, event_field_keys, event_keys, number_of
from ir.events import MISSING, Event, scalars, text_of
from ir.fieldprofiles import FieldProfile

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType


@dataclass(frozen=True)
class View:
    """One way rules read events: without a field profile (``profile=None``: columns
    ``_fields``/``_all``) or through one (``_x_<name>``/``_xall_<name>``). ``names``: the field
    names the rules read; ``leaves``: whether a rule has a field-less predicate."""

    profile: FieldProfile | None = None
    names: frozenset[str] = field(default_factory=frozenset)
    leaves: bool = False

    @property
    def fields_column(self) -> str:
        """The prefix of this view's field columns (and its key in a Parquet store's note)."""
        return "_fields" if self.profile is None else f"_x_{self.profile.name}"

    def column(self, name: str) -> str:
        """The column holding field ``name`` in this view."""
        return f"{self.fields_column}:{name}"

    @property
    def all_column(self) -> str:
        return "_all" if self.profile is None else f"_xall_{self.profile.name}"

    @property
    def ordered(self) -> list[str]:
        """The struct's members, sorted (``_raw`` when none: Parquet stores no empty struct)."""
        return sorted(self.names) or ["_raw"]


def _value(v: Any) -> tuple[str, str, str, float | None]:
    text = text_of(v)
    if isinstance(v, bool):
        kind = "b"
    elif isinstance(v, (int, float)):
        kind = "n"
    elif isinstance(v, str):
        kind = "s"
    else:
        kind = "o"
    number = number_of(v)
    return (text, text.lower(), kind, None if number is None else float(number))


def _field(value: Any) -> tuple[bool, list[Any]] | None:
    if value is MISSING:
        return None
    return (value is None, [_value(v) for v in scalars(value)])


def dispatch_key(channel: str, event_id: str | None, profile: str | None = None) -> str:
    """One ``(channel, event id)`` key of :func:`ir.evaluator.event_keys` as one string; with
    ``profile``, a key of the event as that field profile extends it (``source``/``EventCode``,
    :data:`ir.evaluator.SPL_KEY_FIELDS`: how :class:`ir.evaluator.RuleSet` keys searches)."""
    key = f"{channel}\x1f{event_id or ''}"
    return key if profile is None else f"{profile}\x1e{key}"


def canonical_row(
    file: str, index: int, event: Event, views: Sequence[View] = (View(),)
) -> tuple[Any, ...]:
    """The canonical row of one event (module docstring), in :func:`schema` order."""
    keys = event_keys(event)
    channels = {channel for channel, _ in keys}
    channel = next(iter(channels)) if len(channels) == 1 else None  # for the pushdown only
    dkeys = [dispatch_key(c, i) for c, i in keys]
    columns: list[Any] = []
    for view in views:
        seen = event if view.profile is None else view.profile.apply(event)
        if view.profile is not None:
            extended = event_keys(seen, *SPL_KEY_FIELDS)
            dkeys.extend(dispatch_key(c, i, view.profile.name) for c, i in extended)
        columns.extend(_field(seen.get(name)) for name in view.ordered)
        columns.append([_value(v) for v in seen.all_values()] if view.leaves else [])
    names = sorted(event_field_keys(event))
    return (file, index, event.raw_text, channel, sorted(dkeys), names, *columns)


def schema(views: Sequence[View] = (View(),)) -> StructType:
    """The canonical row's Spark schema."""
    from pyspark.sql.types import (
        ArrayType,
        BooleanType,
        DoubleType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    value = StructType(
        [
            StructField("t", StringType()),
            StructField("l", StringType()),
            StructField("k", StringType()),
            StructField("n", DoubleType()),
        ]
    )
    member = StructType(
        [StructField("isnull", BooleanType()), StructField("vals", ArrayType(value))]
    )
    columns = [
        StructField("_file", StringType()),
        StructField("_index", LongType()),
        StructField("_raw", StringType()),
        StructField("_channel", StringType()),
        StructField("_dkeys", ArrayType(StringType())),
        StructField("_keys", ArrayType(StringType())),
    ]
    for view in views:
        columns.extend(StructField(view.column(name), member) for name in view.ordered)
        columns.append(StructField(view.all_column, ArrayType(value)))
    return StructType(columns)


def events_of(name: str, data: bytes) -> Iterator[tuple[int, Event]]:
    """``(index, event)`` of a JSON Lines file's bytes, as :func:`translator.inputs.read_events`
    reads them: blank lines skipped, a line that is not a JSON object skipped but counted."""
    index = 0
    for line in io.BytesIO(data):
        if not line.strip():
            continue
        try:
            parsed = orjson.loads(line)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            yield index, Event(parsed, line.decode("utf-8", "replace"))
        index += 1


def hadoop_path(path: str | Path) -> str:
    """An absolute path as Hadoop reads one entry of a comma-separated list: its glob and list
    characters escaped, so a file name is only ever itself."""
    return re.sub(r"([\\{}\[\]*?,])", r"\\\1", str(Path(path).resolve()))


def read_json_events(
    spark: SparkSession, paths: Iterable[Path], views: Sequence[View] = (View(),)
) -> DataFrame:
    """JSON Lines files as canonical rows. Spark reads the files (``binaryFiles``, spread over
    the executors) and each line is normalised there by :class:`ir.events.Event`."""
    paths = list(paths)
    names = {str(Path(p).resolve()): str(p) for p in paths}
    views = tuple(views)

    def rows(item: tuple[str, bytes]) -> Iterator[tuple[Any, ...]]:
        uri, data = item
        local = unquote(uri[len("file:") :]) if uri.startswith("file:") else uri
        shown = names.get("/" + local.lstrip("/"), uri)
        for index, event in events_of(shown, data):
            yield canonical_row(shown, index, event, views)

    if not paths:
        return spark.createDataFrame([], schema(views))
    if type(spark).__module__.startswith("pyspark.sql.connect"):
        raise RuleglotError(
            "JSON Lines events are normalised with Spark's RDD API, which Spark Connect "
            "(sc://) does not offer: store them as Parquet with a classic session "
            "(backends.spark.events.write_parquet) and pass the Parquet folder",
            category="unsupported",
            construct="spark connect json",
        )
    parallelism = max(1, spark.sparkContext.defaultParallelism)
    files = spark.sparkContext.binaryFiles(",".join(hadoop_path(p) for p in paths))
    # small files are packed into few splits; spread them so every core normalises events
    slices = min(len(paths), 4 * parallelism)
    if files.getNumPartitions() < slices:
        files = files.repartition(slices)
    return spark.createDataFrame(files.flatMap(rows), schema(views))


#: The file beside the Parquet parts that says which views and names were stored.
STORED = "_ruleglot_views.json"


def _stored_views(path: Path) -> dict[str, Any]:
    try:
        return dict(orjson.loads((path / STORED).read_bytes()))
    except (OSError, orjson.JSONDecodeError, TypeError, ValueError):
        return {}


def read_parquet_events(
    spark: SparkSession, paths: Iterable[str | Path], views: Sequence[View] = (View(),)
) -> DataFrame:
    """Canonical rows stored as Parquet by :func:`write_parquet`, read natively by Spark (only
    the members the rules read: Parquet prunes the others); refused when the store lacks a
    view or a field name the rules read (it would read as a missing field: a silent
    difference)."""
    from pyspark.sql import functions as F

    folders = [Path(p) for p in paths]
    for path in folders:
        stored = _stored_views(path)
        for view in views:
            entry = stored.get(view.fields_column)
            lacking = set(view.ordered) - set(entry["names"]) if entry else {"(not stored)"}
            if entry and view.leaves and not entry["leaves"]:
                lacking |= {"(every value, for field-less predicates)"}
            if entry and view.profile is not None and not entry.get("profile_keys"):
                lacking |= {"(the profile's source/EventCode keys: stored by an older ruleglot)"}
            if lacking:
                raise RuleglotError(
                    f"the Parquet events lack what the rules read ({view.fields_column}: "
                    f"{', '.join(sorted(lacking))}): store them with these rules' views",
                    category="events",
                    path=str(path),
                )
    frame = spark.read.parquet(*(str(p) for p in folders))
    return frame.select(*(F.col(quoted(name)) for name in schema(views).fieldNames()))


def quoted(name: str) -> str:
    """A Spark SQL identifier (any characters) in backquotes."""
    return "`" + name.replace("`", "``") + "`"


#: Rows per Parquet file: Spark reads a file in one task at least, so files this size keep
#: a task's memory small whatever the store's size (a 100x store written as two files ran a
#: 2 GiB driver out of heap).
ROWS_PER_FILE = 50_000


def write_parquet(
    frame: DataFrame, path: str | Path, views: Sequence[View], mode: str = "overwrite"
) -> None:
    """Store canonical rows as Parquet (the event model applied once, at ingestion), with a
    note of the views and names stored."""
    frame.write.mode(mode).option("maxRecordsPerFile", ROWS_PER_FILE).parquet(str(path))
    note = {
        v.fields_column: {"names": v.ordered, "leaves": v.leaves, "profile_keys": True}
        for v in views
    }
    (Path(path) / STORED).write_bytes(orjson.dumps(note))
