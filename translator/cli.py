"""The ``ruleglot`` command line (click): ``parse`` and ``eval``.

Conventions every command keeps (DEVELOPERS.md, principle 4): results on stdout, one JSON
object per line; errors as ``path:line:col: category: message`` with a caret line on stderr; the
batch goes on past a bad input and the exit status is 2 when any input failed; a summary on
stderr; a progress bar only when stderr is a terminal.
"""

from __future__ import annotations

import datetime
import gc
import importlib
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
import orjson

from backends.spl.emit import Deployment, StanzaNames
from backends.spl.field_profile import CLASSIC_PREFIX, XML_PREFIX
from ir.datamodels import cim_windows
from ir.errors import RuleglotError
from ir.evaluator import CompiledRule, RuleSet, SharedPredicates, compile_rule
from ir.events import Event
from ir.fielduse import fields_from_events
from ir.lookups import LookupProvider
from ir.nodes import DataModel, Pattern, Rule, Subsearch, signed_predicates
from ir.pipeline import suppressed_writes
from ir.timerange import parse_now, restrict, window
from translator import api
from translator.cases import CaseResult, run_cases
from translator.cli_common import (
    EXIT_INPUT_ERROR,
    OutputError,
    SeveralValuesCommand,
    collect_event_files,
    guard_output,
    joined_translations,
    lenient_option,
    load_rules,
    parse_rule_file,
    progress,
    read_options,
    reader_options,
    report_error,
    report_warnings,
    warning_summary,
    write_atomically,
)
from translator.gc_policy import tune_for_batch
from translator.inputs import RULE_SUFFIXES, expand_paths, read_events, read_stdin_first
from translator.onepass import iter_searches
from translator.parallel import available_cores, fork_map, match_files
from translator.results import TranslationResult
from translator.spark_eval import eval_spark

if TYPE_CHECKING:
    pass

class _Commands(click.Group):
    """The command group; ``explain``, ``catalog`` and ``check`` live in their own modules,
    imported when one of them is run or listed (``ruleglot --help``), never for another
    command."""

    #: command name -> (module, attribute)
    LAZY = {
        "attack-layer": ("translator.catalog_cli", "attack_layer_command"),
        "catalog": ("translator.catalog_cli", "catalog_command"),
        "check": ("translator.check_cli", "check_command"),
        "explain": ("translator.catalog_cli", "explain_command"),
        "serve": ("translator.serve", "serve_command"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.LAZY})

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            finally:  # what is still buffered meets a closed pipe here, not at exit
                sys.stdout.flush()
        except BrokenPipeError:
            closed_pipe()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.LAZY:
            module, attribute = self.LAZY[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)


def closed_pipe() -> NoReturn:
    """Standard output's reader went away (``ruleglot translate ... | head -1``): end quietly
    with the status of a process killed by SIGPIPE, 128 + 13, as ``git`` does (click's own
    handler exits 1, which reads as a failure). Standard output is pointed at ``/dev/null``
    first so that the interpreter's final flush cannot fail again (Python's ``signal``
    documentation, "Note on SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(128 + signal.SIGPIPE)


#: The libraries whose versions decide ruleglot's behaviour: the Sigma reader (pySigma), the
#: reference Sigma-to-SPL backend that translations are measured against, the SPL parser.
VERSIONED = ("pySigma", "pySigma-backend-splunk", "lark")


def version_text() -> str:
    """``ruleglot X`` and the versions of :data:`VERSIONED` it runs with (a bug report needs
    them: the pySigma version decides how a Sigma rule reads)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    parts = ", ".join(f"{name} {installed(name)}" for name in VERSIONED)
    return f"ruleglot {installed('ruleglot')} ({parts}; Python {sys.version.split()[0]})"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit()


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show ruleglot's version and those of pySigma, pySigma-backend-splunk and lark.",
)
def main() -> None:
    """Translate detection rules between Sigma and SPL through one IR, and run them on events."""
    tune_for_batch()


@main.command("parse")
@click.argument("rules", nargs=-1, required=True)
@reader_options
@click.option(
    "--to",
    "write",
    type=click.Choice(sorted(api.WRITERS)),
    default="ir",
    show_default=True,
    help="What to print for each rule.",
)
@lenient_option
def parse_command(
    rules: tuple[str, ...],
    read: str,
    macros: str | None,
    undefined_macros: str,
    search_precedence: str,
    pipelines: tuple[str, ...],
    write: str,
    lenient: bool,
) -> None:
    """Read RULES (files or folders) and print each rule in the --to form."""
    errors: list[RuleglotError] = []
    options = read_options(read, macros, undefined_macros, search_precedence, pipelines, errors)
    if read == "sigma":
        options["lenient"] = lenient
    warnings: Counter[str] = Counter()
    texts = [api.emit(rule, write) for _path, rule in load_rules(
        rules, read, errors, warnings, **options)]  # fmt: skip
    if texts:
        click.echo(joined_translations(texts, write))
    if summary := warning_summary(warnings):
        click.echo(summary, err=True)
    if errors:
        click.echo(f"{len(errors)} input(s) failed", err=True)
        sys.exit(EXIT_INPUT_ERROR)


def _eval_cases(case_paths: tuple[str, ...], profile_name: str) -> None:
    passed = failed = 0
    errors = 0
    for raw in case_paths:
        for result in run_cases(Path(raw), profile_name):
            if isinstance(result, RuleglotError):
                errors += 1
                report_error(result)
                continue
            assert isinstance(result, CaseResult)
            passed += result.ok
            failed += not result.ok
            click.echo(
                orjson.dumps(
                    {"case": result.name, "ok": result.ok, "detail": result.detail}
                ).decode()
            )
    click.echo(f"cases: {passed} passed, {failed} failed, {errors} error(s)", err=True)
    if failed or errors:
        sys.exit(1 if not errors else EXIT_INPUT_ERROR)


def _unmapped_fields(rules: Iterable[Rule], fields: str | None, seen: set[str]) -> Counter[str]:
    """Fields the rules read that neither any event had nor their field profile extracts (a
    field the rule's own stages make before reading it, by ``eval`` or ``rex``, is not one)."""
    missing: Counter[str] = Counter()
    for rule in rules:
        profile = api.fields_for(rule, fields)
        if profile is not None:
            known = seen | {"_raw", "_time"} | _data_set_fields(rule)
            missing.update(profile.unmapped(fields_from_events(rule.stages), known))
    return missing


def _classic_source_searches(
    rules: Iterable[Rule], fields: str | None, fields_seen: set[str]
) -> int:
    """How many SPL searches read with the default field profile (``splunk_windows_xml``,
    whose events have ``XmlWinEventLog:<channel>`` sources) test only classic
    ``WinEventLog:<channel>`` sources, as ``translate --to spl`` writes them (after
    pySigma-backend-splunk): such a search matches none of those events (QA: a rule
    translated and then evaluated matched nothing, with no hint)."""
    if fields is not None or "source" in fields_seen:  # events that name their own source
        return 0
    count = 0
    for rule in rules:
        if rule.language != "spl":
            continue
        prefixes = set()
        for pred, negated in (p for f in rule.filters for p in signed_predicates(f.expr)):
            if negated:  # NOT source="WinEventLog:..." holds on every XML event
                continue
            value = pred.value
            text = value.parts[0] if isinstance(value, Pattern) and value.parts else value
            if (pred.field or "").lower() == "source" and isinstance(text, str):
                lowered = text.lower()
                prefixes |= {
                    p for p in (CLASSIC_PREFIX, XML_PREFIX) if lowered.startswith(p.lower())
                }
        count += prefixes == {CLASSIC_PREFIX}
    return count


def _data_set_fields(rule: Rule) -> set[str]:
    """The fields of the data sets a rule's ``tstats`` read, in subsearches too (the
    data-model profile makes them, not the field profile), with and without their object
    prefix (``drop_dm_object_name`` removes it)."""
    out: set[str] = set()
    pending = list(rule.stages)
    while pending:
        stage = pending.pop()
        if isinstance(stage, Subsearch):
            pending.extend(stage.stages)
        elif isinstance(stage, DataModel):
            dataset = cim_windows().find(stage.name)
            if dataset is not None:
                out.update(dataset.fields)
                out.update(dataset.field_name(f) for f in dataset.fields)
    return out


def _logsource_name(rule: Rule) -> str:
    """``product/category/service`` of a rule's log source, for ``eval``'s not-run count."""
    ls = rule.logsource
    return "/".join(filter(None, (ls.product, ls.category, ls.service)))


class _Eval:
    """One ``ruleglot eval`` run: compiles, matches, runs pipelines, counts, reports."""

    def __init__(
        self, profile_name: str, fields: str | None, lookups: LookupProvider | None, jobs: int
    ) -> None:
        self.profile_name, self.fields, self.lookups, self.jobs = (
            profile_name,
            fields,
            lookups,
            jobs,
        )
        self.errors: list[RuleglotError] = []
        self.out = sys.stdout.buffer
        #: the searches' start time for relative time ranges (--now; ir.timerange)
        self.now: datetime.datetime | None = None
        self.matches = self.rows = self.events_read = 0
        self.matched_rules: set[str] = set()
        self.fields_seen: set[str] = set()

    def _fail(self, err: RuleglotError, path: Path) -> None:
        err.path = err.path or str(path)
        self.errors.append(err)
        report_error(err)

    def _write(self, record: dict[str, Any]) -> None:
        self.out.write(orjson.dumps(record, default=str) + b"\n")

    def filters(self, rules: list[tuple[Path, Rule]], event_files: list[Path]) -> int:
        chosen = api.profile(self.profile_name)
        compiled: list[tuple[Path, CompiledRule]] = []
        shared = SharedPredicates()  # each distinct predicate once per event
        for path, rule in rules:
            try:
                one = compile_rule(rule, chosen, api.fields_for(rule, self.fields), shared=shared)
                compiled.append((path, restrict(one, window(rule.timerange, self.now))))
            except RuleglotError as err:
                self._fail(err, path)
        ruleset = RuleSet(c for _, c in compiled)
        failed_rules: set[int] = set()
        for result in progress(
            match_files(ruleset, event_files, self.jobs), len(event_files), "evaluating"
        ):
            self.events_read += result.events
            self.fields_seen |= result.fields_seen
            for bad_line in result.errors:
                self._fail(bad_line, result.path)
            for rule_index, rule_error in result.rule_errors:
                if rule_index not in failed_rules:  # once per rule, whichever worker saw it
                    failed_rules.add(rule_index)
                    self._fail(rule_error, compiled[rule_index][0])
            for event_index, rule_indices in result.matches:
                for rule_index in rule_indices:
                    rule_path, matched = compiled[rule_index]
                    self.matches += 1
                    self.matched_rules.add(f"{rule_path}#{rule_index}")
                    self._write(
                        {
                            "rule_id": matched.rule.id,
                            "rule_path": str(rule_path),
                            "events_file": str(result.path),
                            "event_index": event_index,
                        }
                    )
        self.unmapped = Counter(_logsource_name(c.rule) for _, c in compiled if c.unmapped)
        return len(compiled)

    def pipelines(self, rules: list[tuple[Path, Rule]], event_files: list[Path]) -> int:
        events: list[Event] = []
        for events_file in event_files:
            for item in read_events(events_file):
                if isinstance(item, RuleglotError):
                    self._fail(item, events_file)
                else:
                    events.append(item[1])
        self.events_read = max(self.events_read, len(events))
        for event in events:
            self.fields_seen.update(event.fields)
        # the events live to the end: the collector need not walk them again and again
        gc.freeze()
        ran = 0
        # one pass: each pipeline runs on the events its leading filter (or its tstats'
        # where) keeps, on -j processes (translator.onepass); the runner gives each search its
        # log source and time range (event by event, as a filter rule's), or declines it
        def runner(rule: Rule) -> Callable[[Iterable[Event]], list[Event]] | None:
            return api.compile_sourced_run(
                rule, self.profile_name, self.fields, self.lookups, now=self.now
            )

        outcomes = iter_searches(
            [rule for _, rule in rules], events, self.fields, self.lookups, self.jobs,
            runner=runner,
        )  # fmt: skip
        for index, outcome in progress(outcomes, len(rules), "running pipelines"):
            path, rule = rules[index]
            if outcome is None:  # declined: a log source the profile does not map
                self.unmapped[_logsource_name(rule)] += 1
                continue
            if isinstance(outcome, RuleglotError):
                self._fail(outcome, path)
                continue
            ran += 1
            for row in outcome:
                self.rows += 1
                self.matched_rules.add(str(path))
                self._write({"rule_id": rule.id, "rule_path": str(path), "row": row})
        return ran


@main.command("eval", cls=SeveralValuesCommand)
@click.argument("rules", nargs=-1)
@click.option(
    "--events",
    "event_paths",
    multiple=True,
    help="JSON Lines event files, folders or glob patterns ('-': standard input); takes "
    "every value up to the next option (RULES go before it, or after --).",
)
@reader_options
@click.option(
    "--profile",
    "profile_name",
    default="windows",
    show_default=True,
    help="Log-source profile: how a rule's logsource selects events ('none': all).",
)
@click.option(
    "--fields",
    "fields",
    default=None,
    help="Field profile (Splunk's names for event fields): splunk_windows, "
    "splunk_windows_xml or none. Default: splunk_windows_xml for SPL, none for "
    "Sigma.",
)
@click.option(
    "--lookups",
    type=click.Path(exists=True, file_okay=False),
    help="SPL: a folder of CSV lookup tables (security_content's lookups/).",
)
@click.option(
    "-j",
    "--jobs",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Processes to match event files on (rules are compiled once), or to run SPL "
    "pipelines on (each takes a share of the searches).",
)
@click.option(
    "--cases",
    "case_paths",
    multiple=True,
    help="Instead: run expectation cases (corpus/cases, SigmaHQ cases.jsonl).",
)
@click.option(
    "--engine",
    type=click.Choice(["python", "spark"]),
    default="python",
    show_default=True,
    help="spark: run the rules on Apache Spark, same matches (needs 'ruleglot[spark]' and "
    "Java 17); --events may also name Parquet folders written by ruleglot.",
)
@click.option(
    "--master",
    default="local[2]",
    show_default=True,
    help="Spark master URL for --engine spark: local[N], spark://HOST:PORT, sc://HOST.",
)
@click.option(
    "--verbose",
    is_flag=True,
    help="--engine spark: Spark's own log lines and progress bars, and a failure's Java stack "
    "trace, on stderr.",
)
@click.option(
    "--now",
    "now_text",
    default=None,
    help="The searches' start time (ISO 8601, UTC unless it names a zone), against which SPL "
    "relative time ranges (earliest=-24h) are resolved; without it they are not applied "
    "(absolute ones always are) and a note says which.",
)
def eval_command(
    rules: tuple[str, ...],
    event_paths: tuple[str, ...],
    read: str,
    macros: str | None,
    undefined_macros: str,
    search_precedence: str,
    pipelines: tuple[str, ...],
    profile_name: str,
    fields: str | None,
    lookups: str | None,
    jobs: int,
    case_paths: tuple[str, ...],
    engine: str,
    master: str,
    verbose: bool,
    now_text: str | None,
) -> None:
    """Run RULES (files or folders) on events.

    A rule that only filters prints one JSON line per matching event
    (rule_id, rule_path, events_file, event_index); an SPL pipeline prints one line per result
    row (rule_id, rule_path, row).
    """
    if case_paths:
        _eval_cases(case_paths, profile_name)
        return
    if not rules or not event_paths:
        hint = (
            " (--events takes every path up to the next option: put RULES before it, or "
            "after --)" if event_paths and not rules else ""
        )
        raise click.UsageError(f"give RULES and at least one --events (or --cases){hint}")
    started = time.perf_counter()
    run = _Eval(profile_name, fields, LookupProvider(lookups) if lookups else None, jobs)
    options = read_options(
        read, macros, undefined_macros, search_precedence, pipelines, run.errors
    )
    reader_warnings: Counter[str] = Counter()
    loaded = load_rules(rules, read, run.errors, reader_warnings, **options)
    if summary := warning_summary(reader_warnings):
        click.echo(summary, err=True)
    run.now = _now_option(now_text)
    loaded = _time_ranges(run, loaded, engine)
    if engine == "spark":

        eval_spark(run, loaded, event_paths, master, started, verbose)
        return
    event_files = collect_event_files(event_paths, run.errors)
    filter_rules = [(p, r) for p, r in loaded if api.is_filter_only(r)]
    pipeline_rules = [(p, r) for p, r in loaded if not api.is_filter_only(r)]
    run.unmapped = Counter()
    compiled = run.filters(filter_rules, event_files) if filter_rules else 0
    ran = run.pipelines(pipeline_rules, event_files) if pipeline_rules else 0
    elapsed = time.perf_counter() - started
    click.echo(
        f"{compiled} filter rule(s) and {ran} pipeline(s) run on {run.events_read} event(s) from "
        f"{len(event_files)} file(s): {run.matches} match(es), {run.rows} row(s), by "
        f"{len(run.matched_rules)} rule(s); {len(run.errors)} input error(s); {elapsed:.1f}s",
        err=True,
    )
    if run.unmapped:
        click.echo(
            f"warning: {sum(run.unmapped.values())} rule(s) not run: their log source selects "
            f"none of the '{profile_name}' profile's events (--profile none runs every rule "
            "on every event): " + ", ".join(f"{k} ({v})" for k, v in run.unmapped.most_common()),
            err=True,
        )
    writes = Counter(c.name for _, r in pipeline_rules for c in suppressed_writes(r.stages))
    if writes:
        click.echo(
            "warning: writes not performed (evaluation has no side effects; the rows pass "
            "through): " + ", ".join(f"{k} ({v})" for k, v in writes.most_common()),
            err=True,
        )
    unmapped_fields = _unmapped_fields((r for _, r in loaded), fields, run.fields_seen)
    if unmapped_fields:
        click.echo(
            "warning: fields the rules read that no event has and no field profile extracts "
            "(not guessed; such predicates cannot match): "
            + ", ".join(f"{k} ({v})" for k, v in unmapped_fields.most_common(30))
            + (" ..." if len(unmapped_fields) > 30 else ""),
            err=True,
        )
    classic = _classic_source_searches((r for _, r in loaded), fields, run.fields_seen)
    if classic:
        click.echo(
            f"warning: {classic} search(es) test only classic source=\"{CLASSIC_PREFIX}...\" "
            "(what translate --to spl writes), but the default field profile "
            f"{api.DEFAULT_FIELDS['spl']} gives the events {XML_PREFIX}... sources, so those "
            "terms match nothing: run with --fields splunk_windows to read the events as "
            "classic inputs",
            err=True,
        )
    if run.errors:
        sys.exit(EXIT_INPUT_ERROR)


def _now_option(text: str | None) -> datetime.datetime | None:
    if text is None:
        return None
    try:
        return parse_now(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--now") from None


def _time_ranges(
    run: _Eval, loaded: list[tuple[Path, Rule]], engine: str
) -> list[tuple[Path, Rule]]:
    """Say which rules' time-range bounds are not applied (ir.timerange: relative without
    --now, index time); on Spark, which applies none, a rule whose range applies is an error."""
    kept: list[tuple[Path, Rule]] = []
    for path, rule in loaded:
        keep = window(rule.timerange, run.now)
        if engine == "spark" and keep.applies:
            try:
                api.refuse_spark_ranges([rule], run.now)
            except RuleglotError as err:
                run._fail(err, path)
                continue
        for skipped in keep.skipped:
            click.echo(f"note: {path}: time range bound not applied: {skipped}", err=True)
        kept.append((path, rule))
    return kept


OUTPUT_SUFFIXES = {"spl": ".spl", "sigma": ".yml", "ir": ".json"}


def _refuse_collisions(targets: dict[Path, Path], report_path: str | None = None) -> None:
    """Two inputs that would be written to one output file, or the ``--report`` written over
    an input's translation: refused, naming both (one of them was silently lost before)."""
    seen: dict[Path, Path] = {}
    for source, target in targets.items():
        if target in seen:
            raise OutputError(
                target,
                f"{seen[target]} and {source} would both be written here; translate them "
                "separately or give their common parent folder",
            )
        seen[target] = source
    if report_path:
        report = Path(report_path).resolve()
        for source, target in targets.items():
            if target.resolve() == report:
                raise OutputError(
                    Path(report_path),
                    f"refusing to write --report {report_path}: the translation of {source} "
                    "is written there; choose a report path outside the -o folder's outputs",
                )


def _interrupted(
    translated: list[_FileTranslation], total: int, out_dir: str | None, report_path: str | None
) -> NoReturn:
    """Ctrl-C during ``translate``: each write already removed its temporary file
    (:func:`write_atomically`); say what was done, keep a report of it, exit 130."""
    written = [item.path for item in translated if item.written]
    report = [
        TranslationResult.of(entry, done).to_dict()  # the entries of the full report
        for item in translated for entry, done in item.rules
    ]
    if report_path:
        write_atomically(
            Path(report_path),
            orjson.dumps({"interrupted": True, "files": total, "rules": report},
                         option=orjson.OPT_INDENT_2).decode(),
        )
    where = f", {len(written)} written to {out_dir}" if out_dir is not None else ""
    click.echo(
        f"interrupted: {len(translated)} of {total} file(s) translated{where}; "
        "no temporary files left"
        + (f"; what was done is in {report_path}" if report_path else ""),
        err=True,
    )
    sys.exit(130)


def _output_path(out_dir: Path, source: Path, roots: list[Path], write: str) -> Path:
    for root in roots:
        if root.is_dir() and source.is_relative_to(root):
            relative = source.relative_to(root)
            break
    else:
        relative = Path(source.name)
    return out_dir / relative.with_suffix(OUTPUT_SUFFIXES[write])


@dataclass
class _FileTranslation:
    """What translating one input file gave: its read error, or one (report entry, translation
    or error) pair per rule."""

    path: Path
    read_error: RuleglotError | None = None
    rules: list[tuple[dict[str, Any], api.Translation | RuleglotError]] = field(
        default_factory=list
    )
    #: the output file was written (by the worker), and holds the translations' texts
    written: bool = False
    #: what the reader read leniently (Sigma reader warnings, with a ``kind``)
    reader_warnings: list[dict[str, Any]] = field(default_factory=list)


#: Output folders this process has made during one ``translate -o DIR`` (a forked worker has its
#: own copy): a folder is made once, not walked again for each of its files (issue 24).
_FOLDERS_MADE: set[Path] = set()


def _translate_file(
    path: Path,
    read: str,
    options: dict[str, Any],
    write: str,
    emit: dict[str, Any],
    out_path: Path | None = None,
) -> _FileTranslation:
    """Read one file and translate each of its rules (in a worker process when ``-j`` > 1);
    with ``out_path``, write the translations there (as the sequential loop would)."""
    warnings: list[dict[str, Any]] = []
    if read == "sigma":
        options = {**options, "warnings": warnings}
    try:
        rules = parse_rule_file(path, read, **options)
    except RuleglotError as err:
        err.path = err.path or str(path)
        return _FileTranslation(path, err)
    done = _FileTranslation(path, reader_warnings=warnings)
    for rule in rules:
        entry: dict[str, Any] = {"path": str(path), "rule_id": rule.id, "title": rule.title}
        try:
            done.rules.append((entry, api.emit_translation(rule, write, **emit)))
        except RuleglotError as err:
            err.path = err.path or str(path)
            done.rules.append((entry, err))
    texts = [t.text for _, t in done.rules if isinstance(t, api.Translation)]
    if out_path is not None and texts:
        folder = out_path.parent
        write_atomically(
            out_path, joined_translations(texts, write), make_parents=folder not in _FOLDERS_MADE
        )
        _FOLDERS_MADE.add(folder)
        done.written = True
    return done


#: Below this many input files, ``translate`` does not fork (a worker costs more than it saves).
PARALLEL_MIN_FILES = 64


@main.command("translate")
@click.argument("paths", nargs=-1, required=True)
@reader_options
@click.option(
    "--to",
    "write",
    type=click.Choice(sorted(api.WRITERS)),
    required=True,
    help="Language to write.",
)
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write one file per input here (folders mirrored); default: stdout.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["plain", "savedsearches"]),
    default="plain",
    show_default=True,
    help="SPL: a search, or savedsearches.conf.",
)
@click.option(
    "--schedule",
    "cron",
    default=None,
    help="savedsearches: enable scheduling with this cron schedule (default: written as "
    "*/15 * * * * with enableSched = 0).",
)
@click.option("--earliest", default="-15m", show_default=True,
              help="savedsearches: dispatch.earliest_time.")
@click.option("--latest", default="now", show_default=True,
              help="savedsearches: dispatch.latest_time.")
@click.option(
    "--alert-action",
    "alert_actions",
    multiple=True,
    help="savedsearches: an alert action to fire on any result (email, notable, ...); "
    "repeatable.",
)
@click.option(
    "--fields",
    "fields",
    default=None,
    help="Field profile for Splunk names (splunk_windows, splunk_windows_xml).",
)
@click.option(
    "--logsources",
    default=None,
    help="SPL: the log-source profile whose terms select a rule's events (default: windows; "
    "'none': no terms, the rule on every event). With -p, default none: the pySigma pipeline "
    "has already written the log source and the field names.",
)
@click.option(
    "--data-model",
    "data_model",
    default=None,
    help="SPL: write each rule as tstats over the CIM data set of its log source, through "
    "this data-model profile (cim_windows).",
)
@click.option(
    "--summariesonly",
    is_flag=True,
    help="SPL with --data-model: tstats summariesonly=true (only accelerated summaries).",
)
@click.option(
    "--lossy",
    is_flag=True,
    help="Drop what cannot be carried over, with a warning per construct, instead of "
    "failing (strict is the default).",
)
@click.option(
    "--keep-macros",
    is_flag=True,
    help="SPL to SPL: write each macro call back (`sysmon`, `<name>_filter`) where the stages "
    "it expanded into are unchanged, instead of the expanded text.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    help="Write a JSON report: per rule ok, lossy (with constructs) or error.",
)
@click.option(
    "-j",
    "--jobs",
    default=0,
    type=click.IntRange(0),
    help="Processes to read and translate files on (0, the default: one per core, for "
    f"{PARALLEL_MIN_FILES} files or more). Output and messages are the same whatever the "
    "number.",
)
@lenient_option
def translate_command(
    paths: tuple[str, ...],
    read: str,
    macros: str | None,
    undefined_macros: str,
    search_precedence: str,
    pipelines: tuple[str, ...],
    write: str,
    out_dir: str | None,
    output_format: str,
    cron: str | None,
    earliest: str,
    latest: str,
    alert_actions: tuple[str, ...],
    fields: str | None,
    logsources: str | None,
    data_model: str | None,
    summariesonly: bool,
    lossy: bool,
    keep_macros: bool,
    report_path: str | None,
    jobs: int,
    lenient: bool,
) -> None:
    """Translate rules in PATHS (files or folders) to the --to language.

    Strict by default: any construct that cannot be carried over with the same meaning is an
    error naming it and its position, and the exit status is 2.
    """
    errors: list[RuleglotError] = []
    read_inputs = (*paths, *([macros] if macros else []))
    if out_dir is not None:
        guard_output(out_dir, read_inputs, folder=True)
    if report_path:
        guard_output(report_path, read_inputs, folder=False, option="--report")
    options = read_options(read, macros, undefined_macros, search_precedence, pipelines, errors)
    if read == "sigma":
        options["lenient"] = lenient
    files = list(expand_paths(paths, RULE_SUFFIXES[read]))
    read_stdin_first(files)
    if pipelines and write == "spl":
        # pySigma's Splunk pipelines add the log source's own terms (source=...) and rename the
        # fields, as they do before pySigma-backend-splunk converts: the profiles would add the
        # same terms again (and read the renamed fields as Windows ones)
        logsources = logsources or "none"
        fields = fields or "none"
    logsources = logsources or "windows"
    emit: dict[str, Any] = {
        "lossy": lossy, "fields": fields, "format": output_format, "logsources": logsources,
        "keep_macros": keep_macros, "macros": options.get("macros"),
        "deployment": Deployment(
            cron=cron or Deployment.cron, earliest=earliest, latest=latest,
            schedule=cron is not None, actions=alert_actions,
        ),
    }
    if data_model is not None:
        emit.update(data_model=data_model, summariesonly=summariesonly)
    if jobs == 0:
        jobs = available_cores() if len(files) >= PARALLEL_MIN_FILES else 1
    roots = [Path(p) for p in paths]
    # Each file's output is written where it is translated (input-relative paths mirrored);
    # two inputs with one output path are refused by name before anything is written.
    targets: dict[Path, Path] = {}
    if out_dir is not None:
        targets = {f: _output_path(Path(out_dir), f, roots, write) for f in files}
        _refuse_collisions(targets, report_path)
        _FOLDERS_MADE.clear()

    def translate_one(path: Path) -> _FileTranslation:
        return _translate_file(path, read, options, write, emit, targets.get(path))

    if jobs > 1:  # what the reader loads on first use, loaded once for every worker
        api.prepare(read)
    # What is loaded by now (modules, pipelines, macros) lives to the end: the collector need
    # not scan it again and again while thousands of rules are read (and forked workers share
    # its pages instead of copying them when the collector touches them).
    gc.freeze()

    # Files are read and translated on ``jobs`` processes; everything else happens here, in
    # input order: read errors first (as a sequential read reports them), then each rule.
    chunk = max(1, min(32, len(files) // (8 * jobs)))
    translated: list[_FileTranslation] = []
    try:
        for item in progress(fork_map(translate_one, files, jobs, chunk), len(files),
                             "translating"):
            translated.append(item)
    except KeyboardInterrupt:
        _interrupted(translated, len(files), out_dir, report_path)
    warning_counts: Counter[str] = Counter()
    for item in translated:
        if item.read_error is not None:
            errors.append(item.read_error)
            report_error(item.read_error)
        report_warnings(item.path, item.reader_warnings, warning_counts)
    report: list[dict[str, Any]] = [
        {"path": err.path, "status": "error", "errors": [err.to_dict()]} for err in errors
    ]
    outputs: dict[Path, list[str]] = {}
    written = {item.path for item in translated if item.written}
    stanzas = StanzaNames()
    for source, entry, done in (
        (item.path, entry, done) for item in translated for entry, done in item.rules
    ):
        if isinstance(done, RuleglotError):
            err = done
            errors.append(err)
            report_error(err)
            report.append(TranslationResult.of(entry, err).to_dict())
            continue
        for warning in done.warnings:
            line, col = warning.get("line"), warning.get("col")
            where = ":".join(str(p) for p in (source, line, col) if p is not None)
            click.echo(
                f"{where}: lossy: {warning.get('construct') or '-'}: {warning.get('message')}",
                err=True,
            )
        report.append(TranslationResult.of(entry, done).to_dict())
        if source not in written:
            text = done.text
            if output_format == "savedsearches" and write == "spl":
                text = stanzas.unique(text)
            outputs.setdefault(source, []).append(text)
    if out_dir is None:
        if outputs:
            click.echo(joined_translations(
                (joined_translations(texts, write) for texts in outputs.values()), write
            ))  # fmt: skip
    else:
        for source, texts in outputs.items():
            text = joined_translations(texts, write)
            write_atomically(_output_path(Path(out_dir), source, roots, write), text)
    if report_path:
        write_atomically(
            Path(report_path),
            orjson.dumps(report, option=orjson.OPT_INDENT_2, default=str).decode(),
        )
    counts = Counter(item["status"] for item in report)
    shaping = sum(1 for item in report if item.get("effect") == "shaping")
    click.echo(
        f"translated to {write}: {counts.get('ok', 0)} ok, {counts.get('lossy', 0)} lossy"
        + (f" ({shaping} only in output shaping)" if shaping else "")
        + f", {counts.get('error', 0)} error(s)",
        err=True,
    )
    if summary := warning_summary(warning_counts):
        click.echo(summary, err=True)
    stale = [
        str(target) for source, target in targets.items()
        if source not in written and source not in outputs and target.exists()
    ]  # fmt: skip
    if stale:
        click.echo(
            f"warning: {len(stale)} output(s) were not written because their input failed, and "
            "still hold an earlier run's translation: " + ", ".join(stale[:10])
            + (" ..." if len(stale) > 10 else ""),
            err=True,
        )
    if errors:
        sys.exit(EXIT_INPUT_ERROR)


# ``explain`` and ``catalog`` (issue 6) and ``check`` (issue 5) live in their own modules, which
# ``_Commands`` imports when one of them is asked for.
