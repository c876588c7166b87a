"""The ``ruleglot`` command line (click): ``parse`` and ``eval``.

Conventions every command keeps (DEVELOPERS.md, principle 4): results on stdout, one JSON
object per line; errors as ``path:line:col: category: message`` with a caret line on stderr; the
batch goes on past a bad input and the exit status is 2 when any input failed; a summary on
stderr; a progress bar only when stderr is a terminal.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import click
import orjson
from rich.console import Console
from rich.progress import Progress

from ir.errors import RuleglotError
from ir.evaluator import CompiledRule, RuleSet, compile_rule
from ir.nodes import Rule
from translator import api
from translator.cases import CaseResult, run_cases
from translator.inputs import EVENT_SUFFIXES, RULE_SUFFIXES, expand_paths, read_text
from translator.parallel import match_files

T = TypeVar("T")
EXIT_INPUT_ERROR = 2

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _progress(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    """``items``, with a progress bar on a terminal only (never in pipes or CI logs)."""
    if not sys.stderr.isatty():
        yield from items
        return
    with Progress(console=stderr, transient=True) as progress:
        task = progress.add_task(label, total=total)
        for item in items:
            yield item
            progress.advance(task)


def _report(err: RuleglotError) -> None:
    click.echo(str(err), err=True)


def load_rules(
    paths: Iterable[str], read: str, errors: list[RuleglotError]
) -> list[tuple[Path, Rule]]:
    """Every rule under ``paths``; errors are appended to ``errors`` and the batch goes on."""
    files = list(expand_paths(paths, RULE_SUFFIXES[read]))
    loaded: list[tuple[Path, Rule]] = []
    for path in _progress(files, len(files), "reading rules"):
        try:
            for rule in api.parse(read_text(path), read, str(path)):
                loaded.append((path, rule))
        except RuleglotError as err:
            err.path = err.path or str(path)
            errors.append(err)
            _report(err)
    return loaded


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ruleglot")
def main() -> None:
    """Translate detection rules between Sigma and SPL through one IR, and run them on events."""


@main.command("parse")
@click.argument("rules", nargs=-1, required=True)
@click.option(
    "--from",
    "read",
    type=click.Choice(sorted(api.READERS)),
    default="sigma",
    show_default=True,
    help="Language of the input rules.",
)
@click.option(
    "--to",
    "write",
    type=click.Choice(sorted(api.WRITERS)),
    default="ir",
    show_default=True,
    help="What to print for each rule.",
)
def parse_command(rules: tuple[str, ...], read: str, write: str) -> None:
    """Read RULES (files or folders) and print each rule in the --to form."""
    errors: list[RuleglotError] = []
    for _path, rule in load_rules(rules, read, errors):
        click.echo(api.emit(rule, write))
    if errors:
        click.echo(f"{len(errors)} input(s) failed", err=True)
        sys.exit(EXIT_INPUT_ERROR)


def _compile_all(
    loaded: list[tuple[Path, Rule]], profile_name: str, errors: list[RuleglotError]
) -> list[tuple[Path, CompiledRule]]:
    chosen = api.profile(profile_name)
    compiled: list[tuple[Path, CompiledRule]] = []
    for path, rule in loaded:
        try:
            compiled.append((path, compile_rule(rule, chosen)))
        except RuleglotError as err:
            err.path = err.path or str(path)
            errors.append(err)
            _report(err)
    return compiled


def _eval_cases(case_paths: tuple[str, ...], profile_name: str) -> None:
    passed = failed = 0
    errors = 0
    for raw in case_paths:
        for result in run_cases(Path(raw), profile_name):
            if isinstance(result, RuleglotError):
                errors += 1
                _report(result)
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


@main.command("eval")
@click.argument("rules", nargs=-1)
@click.option(
    "--events", "event_paths", multiple=True, help="JSON Lines event file or folder (repeatable)."
)
@click.option(
    "--from", "read", type=click.Choice(sorted(api.READERS)), default="sigma", show_default=True
)
@click.option(
    "--profile",
    "profile_name",
    default="windows",
    show_default=True,
    help="Log-source profile: how a rule's logsource selects events ('none': all).",
)
@click.option(
    "-j",
    "--jobs",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Processes to match event files on (rules are compiled once).",
)
@click.option(
    "--cases",
    "case_paths",
    multiple=True,
    help="Instead: run expectation cases (corpus/cases, SigmaHQ cases.jsonl).",
)
def eval_command(
    rules: tuple[str, ...],
    event_paths: tuple[str, ...],
    read: str,
    profile_name: str,
    jobs: int,
    case_paths: tuple[str, ...],
) -> None:
    """Run RULES (files or folders) on events; print one JSON line per match."""
    if case_paths:
        _eval_cases(case_paths, profile_name)
        return
    if not rules or not event_paths:
        raise click.UsageError("give RULES and at least one --events (or --cases)")
    started = time.perf_counter()
    errors: list[RuleglotError] = []
    compiled = _compile_all(load_rules(rules, read, errors), profile_name, errors)
    ruleset = RuleSet(c for _, c in compiled)
    event_files = list(expand_paths(event_paths, EVENT_SUFFIXES))
    events_read = matches = 0
    matched_rules: set[int] = set()
    out = sys.stdout.buffer
    for result in _progress(
        match_files(ruleset, event_files, jobs), len(event_files), "evaluating"
    ):
        events_read += result.events
        for err in result.errors:
            errors.append(err)
            _report(err)
        for event_index, rule_indices in result.matches:
            for rule_index in rule_indices:
                path, rule = compiled[rule_index]
                matches += 1
                matched_rules.add(rule_index)
                out.write(
                    orjson.dumps(
                        {
                            "rule_id": rule.rule.id,
                            "rule_path": str(path),
                            "events_file": str(result.path),
                            "event_index": event_index,
                        }
                    )
                    + b"\n"
                )
    out.flush()
    unmapped = Counter(
        "/".join(
            filter(
                None,
                (c.rule.logsource.product, c.rule.logsource.category, c.rule.logsource.service),
            )
        )
        for _, c in compiled
        if c.unmapped
    )
    elapsed = time.perf_counter() - started
    click.echo(
        f"{len(compiled)} rule(s) run on {events_read} event(s) from {len(event_files)} file(s): "
        f"{matches} match(es) by {len(matched_rules)} rule(s); {len(errors)} input error(s); "
        f"{elapsed:.1f}s",
        err=True,
    )
    if unmapped:
        click.echo(
            f"warning: {sum(unmapped.values())} rule(s) not run: their log source selects "
            f"none of the '{profile_name}' profile's events (--profile none runs every rule "
            "on every event): " + ", ".join(f"{k} ({v})" for k, v in unmapped.most_common()),
            err=True,
        )
    if errors:
        sys.exit(EXIT_INPUT_ERROR)
