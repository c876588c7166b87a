"""A static site for a whole corpus of rules: an index to filter, a page per rule, a page per
indicator, and the corpus counts behind every page's indicator table.

What this module owns
    * :func:`detect_language`: Sigma or SPL, from a file's name and top-level keys, so that one
      catalog takes both shared corpora at once.
    * :func:`load_rules`: every rule under the given paths (files that fail are reported, the
      batch goes on), read on up to ``jobs`` processes.
    * :func:`count_indicators`: indicator key -> number of rules using it
      (:func:`translator.indicators.indicator_key` decides when two predicates are the same).
    * :func:`build_site`: the files of the site, written under one folder.

What it must not do
    Print (progress goes through a :class:`Reporter`) or define what a page shows
    (:mod:`translator.explain`, :mod:`translator.pages`).
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from backends.spl import MacroTable
from ir.errors import RuleglotError
from ir.nodes import Rule
from translator import api
from translator.check import check_pairs, translate_pair
from translator.explain import Counts, RulePage, rule_page, rule_slug
from translator.indicators import IndicatorKey, indicator_key, rule_indicators
from translator.inputs import read_text
from translator.navigator import layer, layers_by
from translator.pages import environment, render_html
from translator.parallel import fork_map

_SPL_KEY = re.compile(r"^(?:search|logic)\s*:", re.MULTILINE)
_SIGMA_KEY = re.compile(r"^(?:detection|correlation)\s*:", re.MULTILINE)
SUFFIXES = (".yml", ".yaml", ".spl")
TOP_INDICATORS = 500


class Reporter(Protocol):
    """Where a long build says how far it is (the CLI draws a progress bar)."""

    def start(self, label: str, total: int) -> None: ...

    def advance(self, count: int = 1) -> None: ...


class _Silent:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass


def detect_language(text: str, path: str | Path) -> str | None:
    """``spl`` for ``.spl`` files and YAML with a top-level ``search``/``logic`` key (a
    security_content detection), ``sigma`` for YAML with ``detection``/``correlation``; ``None``
    for anything else (a README, SigmaHQ's ``tests/thor.yml``)."""
    name = str(path).lower()
    if name.endswith(".spl"):
        return "spl"
    if not name.endswith((".yml", ".yaml")):
        return None
    if _SIGMA_KEY.search(text):
        return "sigma"
    if _SPL_KEY.search(text):
        return "spl"
    return None


@dataclass
class Entry:
    """One rule of the catalog and the file it came from."""

    path: str
    text: str
    rule: Rule
    slug: str = ""
    source: str = ""  # the file as read (``path`` may be shown relative to its input root)


@dataclass
class Loaded:
    entries: list[Entry] = field(default_factory=list)
    errors: list[RuleglotError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def shown_path(path: str | Path, roots: Sequence[str | Path]) -> str:
    """``path`` as a page shows it: relative to the input root it was found under, prefixed
    with that root's own name (``rules/windows/x.yml``), never the machine's absolute path (a
    catalog built on one machine is published from another)."""
    file = Path(path).resolve()
    for raw in roots:
        root = Path(raw).resolve()
        if root == file:
            return root.name
        if root.is_dir() and file.is_relative_to(root):
            return (Path(root.name) / file.relative_to(root)).as_posix()
    return Path(path).name


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """Rule files named directly, and ``.yml``/``.yaml``/``.spl`` files below named folders."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES))
        else:
            out.append(path)
    return out


#: Fewer files than this are read (and pages written) in this process: forking costs more.
PARALLEL_MIN_ITEMS = 50


def _jobs_for(items: Sequence[Any], jobs: int) -> int:
    return jobs if len(items) >= PARALLEL_MIN_ITEMS else 1


def _read_one(
    path: Path, macros: MacroTable | None
) -> tuple[str, str, list[Rule] | RuleglotError | None]:
    try:
        text = read_text(path)
        language = detect_language(text, path)
        if language is None:
            return str(path), text, None
        options = {"undefined_macros": "empty", "macros": macros}
        return (
            str(path),
            text,
            api.parse(text, language, str(path), **(options if language == "spl" else {})),
        )
    except RuleglotError as err:
        err.path = err.path or str(path)
        return str(path), "", err


def load_rules(
    paths: Iterable[str | Path],
    macros: MacroTable | None = None,
    jobs: int = 1,
    reporter: Reporter | None = None,
    relative: bool = False,
) -> Loaded:
    """Every rule under ``paths``; SPL macros from ``macros`` (undefined ones expand to
    nothing: a page explains a search without running it). ``relative``: entries and errors
    name files by :func:`shown_path` (the file read stays in ``Entry.source``)."""
    reporter = reporter or _Silent()
    roots = list(paths)
    files = rule_files(roots)
    loaded = Loaded()
    reporter.start("reading rules", len(files))
    jobs = _jobs_for(files, jobs)
    if jobs > 1:
        api.prepare("spl")  # loaded once here, inherited by the workers

    def read_one(path: Path) -> tuple[str, str, list[Rule] | RuleglotError | None]:
        return _read_one(path, macros)

    for path, text, result in fork_map(read_one, files, jobs, chunksize=16):
        reporter.advance()
        shown = shown_path(path, roots) if relative else path
        if result is None:
            loaded.skipped.append(shown)
        elif isinstance(result, RuleglotError):
            result.path = shown_path(result.path, roots) if relative and result.path else shown
            loaded.errors.append(result)
        else:
            loaded.entries.extend(Entry(shown, text, rule, source=path) for rule in result)
    used: set[str] = set()
    for entry in loaded.entries:
        slug = rule_slug(entry.rule, entry.path)
        candidate, n = slug, 1
        while candidate in used:
            n += 1
            candidate = f"{slug}-{n}"
        used.add(candidate)
        entry.slug = candidate
    return loaded


def rule_keys(rule: Rule) -> set[IndicatorKey]:
    """The indicator keys a rule is counted under (each once)."""
    language = rule.language or "sigma"
    return {indicator_key(p, language) for p in rule_indicators(rule)}


def count_indicators(rules: Iterable[Rule]) -> Counter[IndicatorKey]:
    """How many rules use each indicator (a rule counts once per key)."""
    counts: Counter[IndicatorKey] = Counter()
    for rule in rules:
        counts.update(rule_keys(rule))
    return counts


COUNTS_FILE = "indicators.json"


@dataclass
class StoredCounts:
    """A catalog's counts: per indicator, the number of rules; the files they came from."""

    counts: Counter[IndicatorKey]
    rules: int
    files: frozenset[str]


def write_counts(counts: Counter[IndicatorKey], entries: Sequence[Entry], path: Path) -> None:
    """The corpus counts as JSON, so that ``explain --corpus SITE`` need not read the corpus."""
    rows = [[k.field, k.kind, k.value, n] for k, n in sorted(counts.items())]
    files = sorted({str(Path(e.source or e.path).resolve()) for e in entries})
    path.write_bytes(orjson.dumps({"rules": len(entries), "files": files, "indicators": rows}))


def read_counts(path: Path) -> StoredCounts:
    """Counts written by :func:`write_counts`."""
    data = orjson.loads(path.read_bytes())
    counts = Counter({IndicatorKey(f, k, v): n for f, k, v, n in data["indicators"]})
    return StoredCounts(counts, int(data["rules"]), frozenset(data["files"]))


# --- the site --------------------------------------------------------------------------------

#: The verdicts of ``check``, in the order the index counts them (``not-run``: no
#: ``translate_to``; ``unmapped``/``error``: check could not decide the pair).
VERDICTS = ("equivalent", "lossy", "differs", "refused", "unmapped", "error")
LAYER_FILE = "attack-layer.json"


@dataclass
class SiteReport:
    rules: int
    rule_pages: int
    indicator_pages: int
    errors: list[RuleglotError]
    skipped: list[str]
    verdicts: Counter[str] = field(default_factory=Counter)
    files: int = 0


@dataclass(frozen=True)
class Verify:
    """What the catalog proves: each rule translated to ``to`` (``other``: Sigma rules to SPL,
    SPL rules to Sigma) and compared with its translation by ``check`` on ``events`` and on
    events generated from both sides (at most ``limit`` per rule and side)."""

    to: str = "other"
    events: tuple[Any, ...] = ()
    origins: tuple[str, ...] | None = None
    limit: int = 200
    fields: str | None = None
    logsources: str = "windows"


def verify(entries: Sequence[Entry], how: Verify, jobs: int = 1) -> list[dict[str, Any]]:
    """Each entry's ``check`` entry (the JSON ``ruleglot check`` reports), in order."""
    options = {"fields": how.fields, "logsources": how.logsources}
    pairs, targets = [], []
    for entry in entries:
        read = entry.rule.language or "sigma"
        write = how.to if how.to != "other" else ("sigma" if read == "spl" else "spl")
        targets.append(write)
        pairs.append(
            translate_pair(entry.path, entry.rule, read, write, lossy=False, options=options)
        )
    results = check_pairs(
        pairs, list(how.events), limit=how.limit, origins=how.origins, jobs=jobs
    )
    return [{**r.to_dict(), "to": t} for r, t in zip(results, targets, strict=True)]


def _write_rule_page(
    entry: Entry,
    counts: Counter[IndicatorKey],
    out: Path,
    total: int,
    check: dict[str, Any] | None,
) -> tuple[dict[str, Any], list[tuple[IndicatorKey, str]]]:
    """Write one rule's page; returns its index row and (key, as written) per indicator."""
    page = rule_page(entry.rule, entry.text, entry.path, Counts(counts), entry.slug)
    html = render_html(page, root="../", link_indicators=True, counted=total, check=check)
    (out / "rules" / f"{entry.slug}.html").write_text(html, encoding="utf-8")
    uses = [(row.key, f"{row.field} {row.kind} {row.value}") for row in page.indicators]
    return _summary(page, check), uses


def _summary(page: RulePage, check: dict[str, Any] | None) -> dict[str, Any]:
    """The rule's row in the index; ``text`` is what the search box looks in: title, id,
    file, description, the fields and values of its indicators."""
    words = [page.title, page.rule_id or "", page.path or "", page.description or ""]
    for row in page.indicators:
        words += [row.field, row.value]
    return {
        "slug": page.slug,
        "title": page.title,
        "language": page.language,
        "level": page.level,
        "logsource": page.logsource or "(none)",
        "tactics": page.tactics,
        "techniques": page.techniques,
        "rule_id": page.rule_id,
        "path": page.path,
        "verdict": check["status"] if check else "",
        "text": " ".join(w for w in words if w).lower(),
    }


def _clear(out: Path) -> None:
    for sub in ("rules", "indicators", "layers"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
        (out / sub).mkdir(parents=True)


def build_site(
    paths: Iterable[str | Path],
    out_dir: str | Path,
    macros: MacroTable | None = None,
    jobs: int = 1,
    reporter: Reporter | None = None,
    title: str = "Detection rules",
    verification: Verify | None = None,
) -> SiteReport:
    """Read every rule under ``paths`` and write the catalog under ``out_dir``:
    ``index.html``, ``rules/<slug>.html``, ``indicators/<key>.html`` for each indicator two or
    more rules share (the others are shown on their rule's page only),
    ``indicators/index.html``, ATT&CK Navigator layers under ``layers/``, ``errors.txt``.
    With ``verification`` each rule is translated and checked, and its page shows both."""
    reporter = reporter or _Silent()
    out = Path(out_dir)
    roots = list(paths)
    loaded = load_rules(roots, macros, jobs, reporter, relative=True)
    entries = loaded.entries
    counts = count_indicators(e.rule for e in entries)
    _clear(out)
    checks: list[dict[str, Any] | None] = [None] * len(entries)
    if verification is not None:
        reporter.start("checking translations", len(entries))
        checks = list(verify(entries, verification, _jobs_for(entries, jobs)))
        reporter.advance(len(entries))
    uses: dict[IndicatorKey, list[dict[str, str]]] = {}
    summaries: list[dict[str, Any]] = []
    reporter.start("writing rule pages", len(entries))

    def write_page(index: int) -> tuple[dict[str, Any], list[tuple[IndicatorKey, str]]]:
        return _write_rule_page(entries[index], counts, out, len(entries), checks[index])

    pages = fork_map(write_page, range(len(entries)), _jobs_for(entries, jobs), chunksize=16)
    for index, (summary, rows) in enumerate(pages):
        reporter.advance()
        entry, slug = entries[index], summary["slug"]
        summaries.append(summary)
        for key, written in rows:
            if counts[key] < 2:
                continue
            listed = uses.setdefault(key, [])
            if not listed or listed[-1]["slug"] != slug:
                listed.append(
                    {
                        "slug": slug,
                        "title": entry.rule.title,
                        "language": entry.rule.language or "sigma",
                        "written": written,
                    }
                )
    env = environment(True)
    indicator_template = env.get_template("indicator.html.j2")
    reporter.start("writing indicator pages", len(uses))
    for key, listed in uses.items():
        html = indicator_template.render(key=key, uses=listed, root="../")
        (out / "indicators" / f"{key.slug}.html").write_text(html, encoding="utf-8")
        reporter.advance()
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_INDICATORS]
    (out / "indicators" / "index.html").write_text(
        env.get_template("indicators.html.j2").render(
            rows=top, total=len(counts), root="../", paged=uses.keys()
        ),
        encoding="utf-8",
    )
    layer_files = _write_layers(out, entries, checks, title, layer, layers_by)
    verdicts = Counter(s["verdict"] for s in summaries if s["verdict"])
    (out / "index.html").write_text(
        _index_html(summaries, len(counts), len(loaded.errors), title, verdicts, layer_files),
        encoding="utf-8",
    )
    write_counts(counts, entries, out / COUNTS_FILE)
    (out / "errors.txt").write_text("".join(f"{err}\n" for err in loaded.errors), "utf-8")
    files = sum(1 for p in out.rglob("*") if p.is_file())
    return SiteReport(
        len(entries), len(entries), len(uses), loaded.errors, loaded.skipped, verdicts, files
    )


def _write_layers(
    out: Path,
    entries: Sequence[Entry],
    checks: Sequence[dict[str, Any] | None],
    title: str,
    layer: Any,
    layers_by: Any,
) -> list[tuple[str, str]]:
    """Navigator layers: all rules, per language, and per verdict when rules were checked;
    returns (label, file relative to the site) for the index."""
    written: list[tuple[str, str]] = []

    def dump(name: str, data: dict[str, Any], label: str) -> None:
        (out / "layers" / name).write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        written.append((label, f"layers/{name}"))

    dump(LAYER_FILE, layer((e.rule for e in entries), title), "all rules")
    by_language = layers_by(((e.rule.language or "sigma", e.rule) for e in entries), title)
    for group, data in by_language.items():
        dump(f"language-{group}.json", data, group)
    if any(checks):
        grouped = ((c["status"], e.rule) for e, c in zip(entries, checks, strict=True) if c)
        for group, data in layers_by(grouped, title).items():
            dump(f"verdict-{group}.json", data, group)
    return written


def _index_html(
    summaries: list[dict[str, Any]],
    indicator_count: int,
    failed: int,
    title: str,
    verdicts: Counter[str],
    layer_files: list[tuple[str, str]],
) -> str:
    def values(name: str) -> list[str]:
        found: set[str] = set()
        for s in summaries:
            value = s[name]
            found.update(value if isinstance(value, tuple) else [value] if value else [])
        return sorted(found)

    facets = [
        ("language", "Language", values("language")),
        ("tactic", "Tactic", values("tactics")),
        ("technique", "Technique", values("techniques")),
        ("logsource", "Log source", values("logsource")),
        ("level", "Level", values("level")),
    ]
    if verdicts:
        facets.append(("verdict", "Verdict", [v for v in VERDICTS if v in verdicts]))
    languages = sorted(Counter(s["language"] for s in summaries).items())
    return (
        environment(True)
        .get_template("index.html.j2")
        .render(
            title=title,
            rules=summaries,
            facets=facets,
            languages=languages,
            indicator_count=indicator_count,
            failed=failed,
            verdicts=[(v, verdicts[v]) for v in VERDICTS if v in verdicts],
            layers=layer_files,
            root="",
        )
    )


__all__ = [
    "VERDICTS",
    "Entry",
    "Verify",
    "Reporter",
    "SiteReport",
    "build_site",
    "count_indicators",
    "detect_language",
    "load_rules",
    "shown_path",
    "verify",
]
