"""``ruleglot eval --engine spark``: the same JSON lines as the default engine, from Spark.

Kept out of ``translator/cli.py`` so that the CLI imports nothing of PySpark unless asked.
Every rule is compiled to Spark (:mod:`backends.spark`); one the Spark engine cannot run with
the evaluator's meaning (an SPL pipeline, an IPv6 ``cidr``...) is reported as a positioned
``unsupported`` error naming the construct, and the exit status is then 2, as for any input
error. Matches are printed in the default engine's order: events file, event, rule.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ir.errors import RuleglotError
from ir.nodes import Rule
from translator import api
from translator.inputs import EVENT_SUFFIXES, expand_paths

EXIT_INPUT_ERROR = 2


def event_inputs(paths: Sequence[str]) -> list[Path]:
    """JSON Lines files (folders scanned as the default engine scans them) and Parquet folders
    or files, which Spark reads as they are."""
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
    started: float,
) -> None:  # fmt: skip
    """Run ``loaded`` rules on Spark, writing through the CLI's ``_Eval`` ``run``."""
    from backends.spark import require_pyspark

    try:
        require_pyspark()
    except RuleglotError as err:
        click.echo(f"error: {err.message}", err=True)
        sys.exit(EXIT_INPUT_ERROR)
    from backends.spark import spark_session
    from backends.spark.run import compile_all, match_paths

    spark = spark_session(master)  # rules become Spark columns: a session must be active
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
    unmapped = Counter(
        "/".join(filter(None, (r.rule.logsource.product, r.rule.logsource.category,
                               r.rule.logsource.service)))
        for r in compiled.ruleset.rules
        if r.unmapped
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    click.echo(
        f"{len(compiled.indices)} filter rule(s) run on Spark ({master}) on {events} event(s) "
        f"from {len(files)} input(s): {run.matches} match(es) by {len(run.matched_rules)} "
        f"rule(s); {len(run.errors)} input error(s); {elapsed:.1f}s",
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
