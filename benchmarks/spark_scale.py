"""Scale: the default evaluator and Spark ``local[2]`` on the shared events replicated 1x, 10x...

    python benchmarks/spark_scale.py [--scales 1 10 100] [--rules-limit N] [--evaluator-max 10]

1. Ingestion (once): every event of ``../shared/corpus/events`` read by Spark and normalised by
   the evaluator's event model into canonical rows (:mod:`backends.spark.events`) with the
   columns SigmaHQ's ``rules/`` read, written as Parquet; then replicated 10x, 100x (each copy
   its own ``_file``) as Parquet too. Timed separately: it is done once per data set.
2. For each scale, all rules of ``sigma/rules/`` (or ``--rules``; windows profile):
   * Spark ``local[2]`` over the Parquet: time to first result (the rows of the first job
     that matched anything back: rules run in jobs of a few hundred,
     :mod:`backends.spark.engine`), total time to collect all matches, events per second,
     the JVM's peak resident memory;
   * the default evaluator (``RuleSet``, one process, as ``ruleglot eval -j1``) over the same
     events as JSON Lines, up to ``--evaluator-max`` (beyond, its time is extrapolated
     linearly from the largest measured scale, and the table says so); peak memory of this
     Python process (``ru_maxrss``).
3. Prints a Markdown table and where Spark overtakes (the first scale where its events per
   second beat the evaluator's).
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyspark.sql import functions as F  # noqa: E402

from backends.spark import spark_session  # noqa: E402
from backends.spark.events import read_parquet_events, write_parquet  # noqa: E402
from backends.spark.run import compile_all, read_events  # noqa: E402
from ir.errors import RuleglotError  # noqa: E402
from ir.evaluator import RuleSet, compile_rule  # noqa: E402
from ir.nodes import Rule  # noqa: E402
from translator.api import parse, profile  # noqa: E402
from translator.inputs import EVENT_SUFFIXES, expand_paths  # noqa: E402
from translator.inputs import read_events as read_jsonl  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"


def load_rules(folder: Path, limit: int | None) -> list[Rule]:
    rules: list[Rule] = []
    for path in sorted(folder.rglob("*.yml"))[:limit]:
        with contextlib.suppress(RuleglotError):
            rules.extend(parse(path.read_text(encoding="utf-8"), "sigma", str(path)))
    return rules


def jvm_peak_kib(spark) -> int:
    """VmHWM of the driver JVM (local mode: the executors run in it)."""
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def evaluator_rate(rules: list[Rule], files: list[Path]) -> tuple[float, int, int]:
    """(seconds, events, matches) of the default evaluator over the JSON Lines files once."""
    windows = profile("windows")
    compiled = []
    for rule in rules:
        with contextlib.suppress(RuleglotError):
            compiled.append(compile_rule(rule, windows))
    ruleset = RuleSet(compiled)
    started = time.perf_counter()
    events = matches = 0
    for path in files:
        for item in read_jsonl(path):
            if isinstance(item, RuleglotError):
                continue
            events += 1
            matches += len(ruleset.match(item[1]))
    return time.perf_counter() - started, events, matches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--rules", type=Path, default=SHARED / "sigma" / "rules")
    parser.add_argument("--rules-limit", type=int, default=None)
    parser.add_argument("--evaluator-max", type=int, default=10)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ruleglot-scale")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()

    rules = load_rules(args.rules, args.rules_limit)
    files = list(expand_paths([SHARED / "events"], EVENT_SUFFIXES))
    spark = spark_session(args.master)
    run = compile_all(rules, profile("windows"), lambda r: None)
    views = run.ruleset.views
    print(
        f"rules: {len(rules)} read, {len(run.indices)} compiled to Spark, {len(run.errors)} refused"
    )

    started = time.perf_counter()
    base = args.work / "x1"
    write_parquet(read_events(spark, files, views), base, views)
    ingest = time.perf_counter() - started
    print(f"ingestion (JSON -> canonical Parquet, 1x): {ingest:.1f}s")
    stores = {1: base}
    for scale in sorted(s for s in args.scales if s > 1):
        started = time.perf_counter()
        one = read_parquet_events(spark, [base], views)
        copies = spark.range(scale).withColumnRenamed("id", "_copy")
        frame = (
            one.crossJoin(copies)
            .withColumn(
                "_file", F.concat(F.col("_file"), F.lit("#"), F.col("_copy").cast("string"))
            )
            .drop("_copy")
        )
        stores[scale] = args.work / f"x{scale}"
        write_parquet(frame, stores[scale], views)
        print(f"replicated {scale}x in {time.perf_counter() - started:.1f}s")

    measured: dict[int, tuple[float, int]] = {}
    rows = []
    overtakes: int | None = None
    for scale in sorted(args.scales):
        events = read_parquet_events(spark, [stores[scale]], views)
        total_events = events.count()
        started = time.perf_counter()
        found, first = 0, None
        for frame in run.ruleset.frames(events):
            found += len(frame.collect())
            if first is None and found:
                first = time.perf_counter() - started
        spark_time = time.perf_counter() - started
        first = spark_time if first is None else first
        peak = jvm_peak_kib(spark)
        if scale <= args.evaluator_max:
            same = [rules[i] for i in run.indices]
            seconds, counted, expected = evaluator_rate(same, files * scale)
            measured[scale] = (seconds, counted)
            note = ""
            if expected != found:
                note = f" (evaluator {expected} matches, Spark {found}!)"
        else:
            base_scale = max(measured)
            seconds = measured[base_scale][0] * scale / base_scale
            counted = total_events
            note = f" (evaluator extrapolated from {base_scale}x)"
        if overtakes is None and total_events / spark_time > counted / seconds:
            overtakes = scale
        eval_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rows.append(
            f"| {scale}x | {total_events:,} | {counted / seconds:,.0f} | {seconds:.1f}s | "
            f"{total_events / spark_time:,.0f} | {spark_time:.1f}s | {first:.1f}s | "
            f"{found:,} | {eval_peak / 1024:,.0f} MiB | {peak / 1024:,.0f} MiB |{note}"
        )
        print(rows[-1], flush=True)
    print()
    print(
        "| scale | events | evaluator ev/s | evaluator time | Spark ev/s | Spark time (all "
        "matches) | Spark first result | matches | evaluator peak RSS | Spark JVM peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    if overtakes is None:
        print("Spark does not overtake the evaluator at the scales measured")
    else:
        print(f"Spark overtakes the evaluator (events per second) at {overtakes}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
