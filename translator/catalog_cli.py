"""``ruleglot explain`` and ``ruleglot catalog``: a rule's page, and a static site of pages.

Registered on the main command group in :mod:`translator.cli`; kept apart so that the commands
that show rules do not grow the commands that translate and run them. Conventions as there:
pages on stdout (or in ``-o``), errors as ``path:line:col: category: message`` on stderr, exit
status 2 when an input failed, a progress bar on a terminal.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import click
import orjson
from rich.progress import Progress, TaskID

from ir.errors import RuleglotError
from ir.nodes import Rule
from translator import api
from translator.catalog import (
    COUNTS_FILE,
    Verify,
    build_site,
    detect_language,
    load_rules,
    read_counts,
    rule_keys,
)
from translator.cli_common import (
    EXIT_INPUT_ERROR,
    guard_output,
    stderr_console,
    write_atomically,
)
from translator.explain import Counts, rule_page
from translator.indicators import IndicatorKey
from translator.inputs import read_text
from translator.library import read_events
from translator.navigator import layer, layers_by
from translator.pages import FORMATS, page_dict, render


class ProgressReporter:
    """A rich progress bar per build step on a terminal; one line per step elsewhere."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start(self, label: str, total: int) -> None:
        if self.progress is None:
            click.echo(f"{label}: {total}", err=True)
            return
        if self.task is not None:
            self.progress.update(self.task, visible=False)
        self.task = self.progress.add_task(label, total=total)

    def advance(self, count: int = 1) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task, count)


def _corpus_counts(
    sources: tuple[str, ...], rule_path: Path, rules: list[Rule], macros: str | None
) -> tuple[Counts | None, int]:
    """Counts over ``--corpus`` (catalog folders, through their ``indicators.json``, or rule
    files) of the rules *other* than the explained file's own."""
    if not sources:
        return None, 0
    own = str(rule_path.resolve())
    counts: Counter[IndicatorKey] = Counter()
    counted = 0
    paths: list[str] = []
    for source in sources:
        stored_file = Path(source) / COUNTS_FILE
        if not stored_file.is_file():
            paths.append(source)
            continue
        stored = read_counts(stored_file)
        counts.update(stored.counts)
        counted += stored.rules
        if own in stored.files:  # the catalog holds the explained rules: not "other" rules
            for rule in rules:
                counts.subtract(rule_keys(rule))
            counted -= len(rules)
    if paths:
        for entry in load_rules(paths, api.macros(macros), jobs=2).entries:
            if str(Path(entry.path).resolve()) != own:
                counts.update(rule_keys(entry.rule))
                counted += 1
    return Counts(counts, includes_rule=False), counted


@click.command("explain")
@click.argument("rule", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format",
    "form",
    type=click.Choice(FORMATS),
    default="md",
    show_default=True,
    help="Page format.",
)
@click.option(
    "--from",
    "read",
    type=click.Choice(["auto", "sigma", "spl"]),
    default="auto",
    show_default=True,
    help="Language of RULE (auto: from its keys).",
)
@click.option(
    "--macros",
    type=click.Path(exists=True, file_okay=False),
    help="SPL: a macros/ folder; undefined macros expand to nothing (explaining never needs them).",
)
@click.option(
    "--corpus",
    "corpus",
    multiple=True,
    type=click.Path(exists=True),
    help="Count indicators over these rules (folders or files) or a catalog built by "
    "'ruleglot catalog' (its folder); repeatable.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here, not stdout.")
def explain_command(
    rule: str,
    form: str,
    read: str,
    macros: str | None,
    corpus: tuple[str, ...],
    output: str | None,
) -> None:
    """Print the page of RULE (Sigma or SPL): ATT&CK and event coverage, body, stages,
    exclusions, indicators with corpus counts, SPL search terms."""
    path = Path(rule)
    if output:
        guard_output(output, (rule, *corpus, *([macros] if macros else [])), folder=False)
    try:
        text = read_text(path)
        language = detect_language(text, path) if read == "auto" else read
        if language is None:
            raise RuleglotError(
                "not a Sigma rule or SPL search (use --from)", category="invalid", path=rule
            )
        options = (
            {"macros": api.macros(macros), "undefined_macros": "empty"} if language == "spl" else {}
        )
        rules = api.parse(text, language, rule, **options)
    except RuleglotError as err:
        click.echo(str(err), err=True)
        sys.exit(EXIT_INPUT_ERROR)
    counts, counted = _corpus_counts(corpus, path, rules, macros)
    pages = [rule_page(r, text, rule, counts, None) for r in rules]
    if form == "json":
        data = [page_dict(p) for p in pages]
        out = orjson.dumps(data[0] if len(data) == 1 else data, option=orjson.OPT_INDENT_2)
        result = out.decode()
    else:
        result = "\n".join(render(p, form, counted or None) for p in pages)
    if output:
        write_atomically(Path(output), result)
    else:
        click.echo(result)


@click.command("catalog")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="The site's folder (created; its rules/ and indicators/ are replaced).",
)
@click.option(
    "--macros",
    type=click.Path(exists=True, file_okay=False),
    help="SPL: a security_content macros/ folder (undefined macros expand to nothing).",
)
@click.option("-j", "--jobs", type=int, default=2, show_default=True, help="Processes.")
@click.option("--title", default="Detection rules", show_default=True, help="Index title.")
@click.option(
    "--translate-to",
    "translate_to",
    type=click.Choice(["other", "spl", "sigma"]),
    default=None,
    help="Translate each rule (other: Sigma to SPL, SPL to Sigma) and prove it with "
    "'ruleglot check': each page shows the translation and its verdict, the index filters "
    "by verdict.",
)
@click.option(
    "--events",
    "event_paths",
    multiple=True,
    help="With --translate-to: JSON Lines events (files, folders, globs) to compare on, "
    "besides the generated ones; repeatable.",
)
@click.option(
    "--generated-limit",
    type=int,
    default=200,
    show_default=True,
    help="With --translate-to: at most this many generated events per rule and side.",
)
def catalog_command(
    paths: tuple[str, ...],
    out_dir: str,
    macros: str | None,
    jobs: int,
    title: str,
    translate_to: str | None,
    event_paths: tuple[str, ...],
    generated_limit: int,
) -> None:
    """Build a static site for the rules under PATHS (Sigma and SPL together): an index to
    filter by language, tactic, technique, log source, level (and verdict); a page per rule;
    a page per indicator two or more rules share; ATT&CK Navigator layers."""
    started = time.perf_counter()
    # the site's rules/ and indicators/ are replaced: never where an input lives
    guard_output(out_dir, (*paths, *([macros] if macros else [])), folder=True)
    verification = None
    if translate_to is not None:

        found = read_events(event_paths) if event_paths else None
        for issue in found.errors if found else []:
            click.echo(str(issue), err=True)
        verification = Verify(
            to=translate_to,
            events=tuple(found.events) if found else (),
            origins=tuple(found.origins) if found else None,
            limit=generated_limit,
        )
    interactive = sys.stderr.isatty()
    with Progress(console=stderr_console(), transient=True, disable=not interactive) as progress:
        report = build_site(
            paths,
            out_dir,
            api.macros(macros),
            jobs=jobs,
            reporter=ProgressReporter(progress if interactive else None),
            title=title,
            verification=verification,
        )
    for err in report.errors:
        click.echo(str(err), err=True)
    elapsed = time.perf_counter() - started
    size = sum(p.stat().st_size for p in Path(out_dir).rglob("*") if p.is_file())
    checked = ", ".join(f"{n} {v}" for v, n in sorted(report.verdicts.items()))
    click.echo(
        f"catalog: {report.rules} rules, {report.rule_pages} rule pages, "
        f"{report.indicator_pages} indicator pages, {len(report.errors)} file(s) failed, "
        f"{len(report.skipped)} skipped (not rules)"
        + (f"; verdicts: {checked}" if checked else "")
        + f"; {report.files} files, {size / 1e6:.1f} MB in {elapsed:.1f}s -> "
        f"{Path(out_dir) / 'index.html'}",
        err=True,
    )
    if report.errors:
        sys.exit(EXIT_INPUT_ERROR)


@click.command("attack-layer")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--macros",
    type=click.Path(exists=True, file_okay=False),
    help="SPL: a security_content macros/ folder (undefined macros expand to nothing).",
)
@click.option(
    "--by",
    type=click.Choice(["none", "language"]),
    default="none",
    show_default=True,
    help="One layer for all rules, or one per language (a JSON list of layers, as the "
    "Navigator's 'download all layers' writes).",
)
@click.option("--name", default="ruleglot rules", show_default=True, help="Layer name.")
@click.option("-j", "--jobs", type=int, default=2, show_default=True, help="Processes.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here, not stdout.")
def attack_layer_command(
    paths: tuple[str, ...], macros: str | None, by: str, name: str, jobs: int, output: str | None
) -> None:
    """Write an ATT&CK Navigator layer (format 4.5) for the rules under PATHS (Sigma and SPL):
    each technique scored by the number of rules tagged with it."""
    if output:
        guard_output(output, (*paths, *([macros] if macros else [])), folder=False)
    loaded = load_rules(paths, api.macros(macros), jobs=jobs)
    for err in loaded.errors:
        click.echo(str(err), err=True)
    if by == "language":
        grouped = ((e.rule.language or "sigma", e.rule) for e in loaded.entries)
        made = list(layers_by(grouped, name).values())
    else:
        made = [layer((e.rule for e in loaded.entries), name)]
    data = made if by == "language" else made[0]
    text = orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
    if output:
        write_atomically(Path(output), text + "\n")
    else:
        click.echo(text)
    techniques = sum(len(d["techniques"]) for d in made)
    click.echo(
        f"attack-layer: {len(loaded.entries)} rules, {techniques} techniques, "
        f"{len(loaded.errors)} file(s) failed",
        err=True,
    )
    if loaded.errors:
        sys.exit(EXIT_INPUT_ERROR)
