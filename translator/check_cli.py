"""``ruleglot check``: the equivalence harness on the command line (:mod:`translator.check`).

For people, a table of every rule that is not equivalent and a summary; for scripts, the JSON
report (``--report FILE`` or ``--format json``). Exit status: 1 when any rule differs (or its
translation did not read back: a ruleglot bug); otherwise 2 when some input could not be read;
otherwise 0.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
import orjson
from rich.table import Table

from ir.errors import RuleglotError
from ir.events import Event
from translator.check import CheckResult, Pair, check_pairs, translate_pair
from translator.cli_common import (
    EXIT_INPUT_ERROR,
    SeveralValuesCommand,
    collect_event_files,
    guard_output,
    load_rules,
    progress,
    read_options,
    reader_options,
    report_error,
    stdout_console,
    write_atomically,
)
from translator.inputs import read_events

EXIT_DIFFERS = 1
#: Statuses that fail a check run (exit 1).
FAILING = ("differs", "error")


def _load_events(
    paths: Iterable[str], errors: list[RuleglotError]
) -> tuple[list[Event], list[str]]:
    events: list[Event] = []
    origins: list[str] = []
    files = collect_event_files(paths, errors)
    for path in progress(files, len(files), "reading events"):
        for item in read_events(path):
            if isinstance(item, RuleglotError):
                errors.append(item)
                report_error(item)
                continue
            index, event = item
            events.append(event)
            origins.append(f"{path}#{index}")
    return events, origins


def _table(results: list[CheckResult], show_all: bool) -> Table:
    table = Table(title="ruleglot check")
    for column in ("rule", "status", "compared", "source", "translation", "why"):
        table.add_column(column, overflow="fold")
    for result in results:
        quiet = result.status in ("equivalent", "unmapped") or (
            result.status == "lossy" and result.counterexample is None)
        if quiet and not show_all:
            continue
        example = result.counterexample
        verdicts = ("match" if example.source else "no match",
                    "match" if example.translation else "no match") if example else ("", "")
        why = f"counterexample from {example.origin}" if example else ""
        if result.error:
            why = f"{result.error.get('construct') or result.error.get('category')}: " + str(
                result.error.get("message", ""))[:160]
        table.add_row(result.path, result.status, result.compared, *verdicts, why)
    return table


def _print_people(results: list[CheckResult], show_all: bool) -> None:
    """The table, then each counterexample as one JSON line (copyable into an events file)."""
    console = stdout_console()
    if show_all or any(r.status != "equivalent" for r in results):
        console.print(_table(results, show_all))
    for result in results:
        if result.counterexample is not None:
            console.print(f"{result.path}: counterexample", highlight=False)
            console.print(orjson.dumps(result.counterexample.event, default=str).decode(),
                          highlight=False, markup=False)


@click.command("check", cls=SeveralValuesCommand)
@click.argument("paths", nargs=-1, required=True)
@reader_options
@click.option(
    "--to",
    "write",
    type=click.Choice(["sigma", "spl"]),
    default=None,
    help="Language to translate to (default: the other one).",
)
@click.option(
    "--events",
    "event_paths",
    multiple=True,
    help="JSON Lines event files, folders or glob patterns ('-': standard input) to evaluate "
    "both sides on; takes every value up to the next option (PATHS go before it).",
)
@click.option(
    "--generated/--no-generated",
    default=True,
    show_default=True,
    help="Also evaluate on events generated from both rules (hits and near misses).",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the event generator.")
@click.option(
    "--generated-limit",
    default=200,
    show_default=True,
    help="At most this many generated events per rule and side.",
)
@click.option(
    "--lossy",
    is_flag=True,
    help="Translate lossily and compare the part of each rule the translation carries.",
)
@click.option("--fields", default=None, help="Field profile of the SPL side.")
@click.option(
    "--logsources",
    default="windows",
    show_default=True,
    help="Log-source profile of the Sigma side ('none': every rule on every event).",
)
@click.option(
    "--data-model",
    "data_model",
    default=None,
    help="Sigma -> SPL: write tstats over the log source's CIM data set through this "
    "data-model profile (cim_windows), and compare its rows with the Sigma rule's events.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="stdout: a table of the rules that are not equivalent, or the JSON report.",
)
@click.option("--all", "show_all", is_flag=True, help="Table: list equivalent rules too.")
@click.option(
    "--jobs",
    default=os.cpu_count() or 1,
    show_default="the number of CPUs",
    type=click.IntRange(1),
    help="Processes to compare on (forked; rules are compiled once).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    help="Write the JSON report (one entry per rule) here.",
)
def check_command(
    paths: tuple[str, ...],
    read: str,
    macros: str | None,
    undefined_macros: str,
    search_precedence: str,
    pipelines: tuple[str, ...],
    write: str | None,
    event_paths: tuple[str, ...],
    generated: bool,
    seed: int,
    generated_limit: int,
    lossy: bool,
    fields: str | None,
    logsources: str,
    data_model: str | None,
    output_format: str,
    show_all: bool,
    jobs: int,
    report_path: str | None,
) -> None:
    """Translate the rules in PATHS, read each translation back, and show that source and
    translation match the same events (given with --events, and generated); for each rule that
    does not, the smallest event found that tells them apart and the two verdicts."""
    started = time.perf_counter()
    write = write or ("spl" if read != "spl" else "sigma")
    errors: list[RuleglotError] = []
    if report_path:  # checked now: an unwritable report lost a finished run
        guard_output(
            report_path, (*paths, *event_paths, *([macros] if macros else [])), folder=False,
            option="--report",
        )  # fmt: skip
    options = read_options(read, macros, undefined_macros, search_precedence, pipelines, errors)
    loaded = load_rules(paths, read, errors, **options)
    events, origins = _load_events(event_paths, errors)
    write_options: dict[str, Any] = {"fields": fields, "logsources": logsources}
    if data_model is not None:
        write_options["data_model"] = data_model
    pairs: list[Pair] = [
        translate_pair(str(path), rule, read, write, lossy=lossy, options=write_options)
        for path, rule in progress(loaded, len(loaded), "translating")
    ]
    results = check_pairs(
        pairs,
        events,
        generated=generated,
        seed=seed,
        limit=generated_limit,
        origins=origins,
        jobs=jobs,
        progress=lambda xs: progress(xs, len(pairs), "comparing on generated events"),
    )
    report: list[dict[str, Any]] = [r.to_dict() for r in results]
    report += [{"path": e.path, "status": "input-error", "error": e.to_dict()} for e in errors]
    if report_path:
        write_atomically(
            Path(report_path), orjson.dumps(report, option=orjson.OPT_INDENT_2).decode()
        )
    if output_format == "json":
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    else:
        _print_people(results, show_all)
    counts = Counter(r.status for r in results)
    generated_total = sum(r.generated for r in results)
    click.echo(
        f"checked {len(results)} rule(s) {read} -> {write}: "
        + ", ".join(f"{counts.get(s, 0)} {s}"
                    for s in ("equivalent", "lossy", "differs", "refused", "unmapped", "error"))
        + f" ({sum(1 for r in results if r.status == 'lossy' and r.counterexample)} lossy ones"
        " differ on what they carry)"
        + f"; {len(events)} given event(s), {generated_total} generated; "
        f"{len(errors)} input error(s); {time.perf_counter() - started:.1f}s",
        err=True,
    )
    if any(r.status in FAILING for r in results):
        sys.exit(EXIT_DIFFERS)
    if errors:
        sys.exit(EXIT_INPUT_ERROR)
