"""Events into the canonical rows a Spark :class:`~backends.spark.stages.Plan` reads: the
rows of a CIM data set (for a leading ``tstats``), each event's pipeline row and schema,
JSON Lines read by Spark, and running or collecting a plan.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
from pyspark.sql import DataFrame
from pyspark.sql.types import (
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    _parse_datatype_string,
)

from backends.spark.events import View, canonical_row, events_of, hadoop_path
from backends.spark.events import schema as event_schema
from backends.spark.predicates import Reads
from backends.spark.rowsql import bin_number
from backends.spark.stages import Plan
from backends.spark.values import (
    VALUE,
    encode_raw,
    load_column,
    source_column,
    source_value,
    time_column,
)
from ir.datamodels import DataModelProfile, DataSet
from ir.events import MISSING, Event
from ir.fieldprofiles import FieldProfile
from ir.functions import (
    field_value,
    tidy_number,
)
from ir.pipeline import (
    Row,
    event_time,
)


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


