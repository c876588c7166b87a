"""``ruleglot eval --engine spark``: the same JSON lines as the default engine, from Spark.

Kept out of ``translator/cli.py`` so that the CLI imports nothing of PySpark unless asked.
Every rule is compiled to Spark (:mod:`backends.spark`): filter rules all in one job, SPL
pipelines (:mod:`backends.spark.pipeline`) one job each. One the Spark engine cannot run with
the evaluator's meaning (an IPv6 ``cidr``, a stage or eval function not compiled...) is
reported as a positioned ``unsupported`` error naming the construct, and the exit status is
then 2, as for any input error. Matches are printed in the default engine's order (events
file, event, rule), then each pipeline's rows in its order, as the default engine prints them.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from backends.spark import require_pyspark, spark_session
from backends.spark.failures import failure_cause, failure_text, spark_errors
from ir.errors import RuleglotError
from ir.nodes import Rule
from translator import api
from translator.cli_common import EXIT_INPUT_ERROR
from translator.inputs import EVENT_SUFFIXES, expand_paths


def event_inputs(paths: Sequence[str]) -> list[Path]:
    """JSON Lines files (folders scanned as the default engine scans them) and Parquet folders
    or files, which Spark reads as they are."""
    # pyspark, an optional dependency, is imported by it
    from backends.spark.run import is_parquet

    out: list[Path] = []
    for raw in paths:
        if is_parquet(raw):
            out.append(Path(raw))
        else:
            out.extend(expand_paths([raw], EVENT_SUFFIXES))
    return out


def eval_spark(
    run: Any, loaded: list[tuple[Path, Rule]], event_paths: Sequence[str], master: str,
    started: float, verbose: bool = False,
) -> None:  # fmt: skip
    """Run ``loaded`` rules on Spark, writing through the CLI's ``_Eval`` ``run``; a failure
    inside Spark is one ``error: Spark failed: <cause>`` line and exit status 2, after the
    whole Java stack trace when ``verbose``."""
    try:
        require_pyspark()
    except RuleglotError as err:
        click.echo(f"error: {err.message}", err=True)
        sys.exit(EXIT_INPUT_ERROR)

    try:
        _eval_spark(run, loaded, event_paths, master, started, verbose)
    except spark_errors() as err:
        if verbose:
            click.echo(failure_text(err), err=True)
        click.echo(f"error: Spark failed: {failure_cause(err)}", err=True)
        sys.exit(EXIT_INPUT_ERROR)


def _eval_spark(
    run: Any, loaded: list[tuple[Path, Rule]], event_paths: Sequence[str], master: str,
    started: float, verbose: bool,
) -> None:  # fmt: skip
    # pyspark, an optional dependency, is imported by it
    from backends.spark.run import compile_all, match_paths

    # rules become Spark columns: a session must be active
    spark = spark_session(master, verbose=verbose)
    pipelines = [(p, r) for p, r in loaded if not api.is_filter_only(r)]
    loaded = [(p, r) for p, r in loaded if api.is_filter_only(r)]
    rules = [rule for _, rule in loaded]
    compiled = compile_all(
        rules, api.profile(run.profile_name), lambda r: api.fields_for(r, run.fields)
    )
    for index, refused in compiled.errors:
        run._fail(refused, loaded[index][0])
    files = event_inputs(event_paths)
    matches, events = match_paths(spark, compiled, files, count=True)
    for events_file, event_index, rule_index in matches:
        rule_path, rule = loaded[rule_index]
        run.matches += 1
        run.matched_rules.add(f"{rule_path}#{rule_index}")
        run._write(
            {
                "rule_id": rule.id,
                "rule_path": str(rule_path),
                "events_file": events_file,
                "event_index": event_index,
            }
        )
    ran = _pipelines(spark, run, pipelines, files) if pipelines else 0
    unmapped = Counter(
        "/".join(filter(None, (r.rule.logsource.product, r.rule.logsource.category,
                               r.rule.logsource.service)))
        for r in compiled.ruleset.rules
        if r.unmapped
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    click.echo(
        f"{len(compiled.indices)} filter rule(s) and {ran} pipeline(s) run on Spark ({master}) "
        f"on {events} event(s) from {len(files)} input(s): {run.matches} match(es), "
        f"{run.rows} row(s), by {len(run.matched_rules)} rule(s); {len(run.errors)} input "
        f"error(s); {elapsed:.1f}s",
        err=True,
    )
    if unmapped:
        click.echo(
            f"warning: {sum(unmapped.values())} rule(s) not run: their log source selects "
            f"none of the '{run.profile_name}' profile's events: "
            + ", ".join(f"{k} ({v})" for k, v in unmapped.most_common()),
            err=True,
        )
    if run.errors:
        sys.exit(EXIT_INPUT_ERROR)


def _pipelines(
    spark: Any, run: Any, rules: list[tuple[Path, Rule]], files: list[Path]
) -> int:  # fmt: skip
    """SPL pipelines (rules with stages other than filters) on Spark, one job per rule, each
    printing the default engine's ``{"rule_id", "rule_path", "row"}`` lines in its order; a
    stage or function not compiled is the rule's positioned ``unsupported`` error."""
    import time as _time

    # pyspark, an optional dependency, is imported by these
    from backends.spark.pipeline import collect, compile_pipeline, read_pipeline_events

    # pyspark, an optional dependency, is imported by it
    from backends.spark.run import is_parquet

    now = _time.time()  # the search's start time, one for every rule (as the default engine)
    plans = []
    for path, rule in rules:
        try:
            plan = compile_pipeline(rule, api.fields_for(rule, run.fields), now)
            plans.append((path, rule, plan))
        except RuleglotError as err:
            run._fail(err, path)
    parquet = [f for f in files if is_parquet(f)]
    if parquet and plans:
        for path, _, _ in plans:
            run._fail(
                RuleglotError(
                    "pipelines run on Spark from JSON Lines events only (Parquet stores hold "
                    "the filters' columns, not the pipelines' fields)",
                    category="unsupported",
                    construct="parquet pipeline",
                ),
                path,
            )
        return 0
    by_profile: dict[int, list[Any]] = {}
    for item in plans:
        by_profile.setdefault(id(item[2].profile), []).append(item)
    results: dict[int, list[dict[str, Any]]] = {}
    for group in by_profile.values():
        frame = read_pipeline_events(spark, files, [p for _, _, p in group], group[0][2].profile)
        frame = frame.persist()
        for item in group:
            results[id(item)] = collect(item[2], frame)
        frame.unpersist()
    for item in plans:
        path, rule, _ = item
        for row in results[id(item)]:
            run.rows += 1
            run.matched_rules.add(str(path))
            run._write({"rule_id": rule.id, "rule_path": str(path), "row": row})
    return len(plans)
