"""SPL reader coverage on the shared corpus: splunk/security_content detections, and optionally
(``--pysigma``) every query pySigma-backend-splunk writes for the SigmaHQ rules.

Run from the project root::

    python benchmarks/spl_corpus.py [--corpus ../shared/corpus] [--pysigma] [--failures N]

It prints how many detections parse into IR, the failures by category and construct, a table
per command (searches using it, how many of those parse, occurrences read into a modelled
stage vs a generic ``Command``), and the first failure messages. Exit status 0 always: this is a
report, not a test (``tests/test_spl_reader.py`` holds the thresholds that must stay green).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from backends.spl import MacroTable, read_spl, read_spl_search  # noqa: E402
from backends.spl.macros import expand  # noqa: E402
from backends.yaml_loaders import SAFE_LOADER  # noqa: E402
from ir.errors import RuleglotError  # noqa: E402
from ir.nodes import Command, Stage, Stats, Subsearch  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
LOADER = SAFE_LOADER

#: Every command name the reader models, as SPL spells it.
MODELLED = {
    "search", "where", "eval", "regex", "rex", "rename", "table", "fields", "stats",
    "eventstats", "streamstats", "tstats", "bin", "bucket", "dedup", "sort", "head", "tail",
    "lookup", "inputlookup", "fillnull", "convert", "makemv", "mvexpand", "join", "append",
    "appendpipe",
}  # fmt: skip

#: Command names the IR does not tell apart.
ALIASES = {"bucket": "bin"}


def commands_of(spl: str, macros: MacroTable) -> list[str]:
    """The command names a search uses (after macro expansion), found by a quote- and
    bracket-aware scan; the implicit first ``search`` counts when a pipeline's first stage has
    terms. ``bucket`` counts as ``bin`` (the IR's Bin does not keep which one was written)."""
    try:
        text = expand(spl, macros, undefined="empty").text
    except Exception:
        text = spl
    names: list[str] = []
    quoted = False
    start = 0  # where the current stage's text starts (None: after a subsearch, not a new stage)
    first = [True]  # per pipeline: is the current stage its first one
    index = 0
    while index <= len(text):
        char = text[index] if index < len(text) else "|"
        if quoted:
            if char == "\\":
                index += 1
            elif char == '"':
                quoted = False
        elif char == "\\":
            index += 1
        elif char == '"':
            quoted = True
        elif char in "|[]" or index == len(text):
            chunk = text[start:index].strip() if start >= 0 else ""
            word = re.match(r"[A-Za-z_][A-Za-z0-9_]*", chunk)
            if chunk and first[-1]:
                names.append("search")
            elif word:
                name = word.group(0).lower()
                names.append(ALIASES.get(name, name))
            if char == "[":
                first.append(True)
                start = index + 1
            elif char == "]":
                if len(first) > 1:
                    first.pop()
                start = -1  # the rest belongs to the stage that holds the subsearch
            else:
                first[-1] = False
                start = index + 1
        index += 1
    return names


def stage_commands(stages: tuple[Stage, ...] | list[Stage]) -> Iterator[tuple[str, bool]]:
    """(command name, modelled?) for every stage, subsearches included."""
    for stage in stages:
        if isinstance(stage, Command):
            yield stage.name, False
            continue
        name = getattr(stage, "command", None) or type(stage).__name__.lower()
        if isinstance(stage, Stats):
            name = stage.command
        yield str(name), True
        if isinstance(stage, Subsearch):
            yield from stage_commands(stage.stages)


def detections(corpus: Path) -> None:
    macros = MacroTable.from_folder(corpus / "spl" / "macros")
    files = sorted((corpus / "spl" / "detections").rglob("*.yml"))
    parsed = 0
    failures: list[RuleglotError] = []
    by_kind: Counter[tuple[str, str | None]] = Counter()
    uses: Counter[str] = Counter()  # searches using each command
    uses_ok: Counter[str] = Counter()  # ... that parse
    modelled: Counter[str] = Counter()  # occurrences read into a modelled stage
    generic: Counter[str] = Counter()  # occurrences read into a Command
    started = time.perf_counter()
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            spl = yaml.load(text, Loader=LOADER).get("search") or ""
        except Exception:
            spl = ""
        used = set(commands_of(str(spl), macros))
        uses.update(used)
        try:
            rules = read_spl(text, str(path), macros=macros)
        except RuleglotError as exc:
            failures.append(exc)
            by_kind[(exc.category, exc.construct)] += 1
            continue
        except Exception as exc:  # the reader promises never to do this
            failures.append(RuleglotError(f"NOT A RULEGLOT ERROR: {exc!r}", "invalid", str(path)))
            by_kind[("ESCAPED", type(exc).__name__)] += 1
            continue
        parsed += 1
        uses_ok.update(used)
        for rule in rules:
            for name, is_modelled in stage_commands(rule.stages):
                (modelled if is_modelled else generic)[name] += 1
    elapsed = time.perf_counter() - started
    total = len(files)
    print(f"security_content detections: {total} files in {elapsed:.1f}s")
    print(f"  parsed into IR: {parsed} ({100 * parsed / max(total, 1):.2f}%)")
    print(f"  failed: {len(failures)}")
    for (category, construct), count in by_kind.most_common():
        print(f"    {count:5d}  {category}: {construct}")
    positioned = sum(1 for f in failures if f.line is not None and f.col is not None)
    print(f"  failures with a position: {positioned}/{len(failures)}")
    print()
    print("  per command (* = the reader models it; other commands become a generic Command):")
    print(f"  {'command':<20}{'searches':>9}{'parse':>7}{'modelled':>10}{'Command':>9}")
    names = sorted(set(uses) | set(modelled) | set(generic), key=lambda n: (-uses[n], n))
    for name in names:
        shown = f"{name}{' *' if name in MODELLED else ''}{'/bucket' if name == 'bin' else ''}"
        counts = f"{uses[name]:>9}{uses_ok[name]:>7}{modelled[name]:>10}{generic[name]:>9}"
        print(f"  {shown:<20}{counts}")
    print()
    print_failures(failures, "detections")


def print_failures(failures: list[RuleglotError], what: str, limit: int = 20) -> None:
    if not failures:
        return
    print(f"  first {min(limit, len(failures))} {what} failures:")
    for exc in failures[:limit]:
        for line in str(exc).splitlines():
            print(f"    {line[:220]}")


def pysigma(corpus: Path) -> None:
    from sigma.backends.splunk import SplunkBackend
    from sigma.collection import SigmaCollection

    files = sorted((corpus / "sigma" / "rules").rglob("*.yml"))
    backend = SplunkBackend()
    converted = 0
    not_converted = 0
    queries = 0
    parsed = 0
    failures: list[RuleglotError] = []
    started = time.perf_counter()
    for path in files:
        try:
            outputs = backend.convert(SigmaCollection.from_yaml(path.read_text(encoding="utf-8")))
        except Exception:
            not_converted += 1
            continue
        converted += 1
        for query in outputs:
            queries += 1
            try:
                read_spl_search(str(query), f"{path.name}:query")
                parsed += 1
            except RuleglotError as exc:
                failures.append(exc)
            except Exception as exc:
                message = f"NOT A RULEGLOT ERROR: {exc!r}"
                failures.append(RuleglotError(message, "invalid", str(path)))
    elapsed = time.perf_counter() - started
    print(f"pySigma-backend-splunk on SigmaHQ rules: {len(files)} rules in {elapsed:.1f}s")
    print(f"  converted: {converted}, refused by pySigma: {not_converted}")
    print(f"  queries: {queries}, parsed by read_spl_search: {parsed}, failed: {len(failures)}")
    print_failures(failures, "pySigma query")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--pysigma", action="store_true", help="also check pySigma's queries")
    args = parser.parse_args(argv)
    detections(args.corpus)
    if args.pysigma:
        print()
        pysigma(args.corpus)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
