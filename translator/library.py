"""The batch API a migration script uses: read a folder, translate each rule, check each
translation on events, write a report.

In the spirit of pySigma's ``SigmaCollection`` (a collection that keeps the errors of the rules it
could not read instead of raising them) and sqlglot's ``transpile`` (languages by name): nothing
here raises for a bad input file or an untranslatable rule. Each outcome is a value with a
``to_dict()`` that is exactly the JSON the command line prints for it (``ruleglot translate
--report``, ``ruleglot check --format json``), so a script and the CLI report the same facts.

The objects:

* :func:`read_rules` -> :class:`RuleCollection` (rules, and an :class:`Issue` per file that failed);
* :func:`translate_rule` -> :class:`TranslationResult` (text, status, warnings, errors);
* :func:`read_events` -> :class:`EventSet` (events, where each came from, bad lines);
* :func:`check_rules` -> one :class:`~translator.check.CheckResult` per rule (verdict and
  counterexample).

Macros and profiles are arguments: ``macros=`` takes a security_content ``macros/`` folder or a
:class:`~backends.spl.MacroTable` (:func:`load_macros`); ``logsources=``/``fields=`` name the
log-source and field profiles (:data:`LOGSOURCE_PROFILES`, :data:`FIELD_PROFILES`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from backends.sigma.logsources import PROFILES as _LOGSOURCE_PROFILES
from backends.spl import MacroTable
from backends.spl.field_profile import FIELD_PROFILES as _FIELD_PROFILES
from ir.errors import RuleglotError
from ir.events import Event
from ir.nodes import Rule
from translator import api
from translator.check import CheckResult, Pair, check_pairs, translate_pair
from translator.inputs import (
    EVENT_SUFFIXES,
    LANGUAGE_NAMES,
    RULE_SUFFIXES,
    expand_event_paths,
    expand_paths,
    guess_language,
    read_text,
)
from translator.inputs import read_events as _read_event_file
from translator.results import Issue, TranslationResult

__all__ = [
    "FIELD_PROFILES",
    "LOGSOURCE_PROFILES",
    "EventSet",
    "Issue",
    "LoadedRule",
    "RuleCollection",
    "TranslationResult",
    "check_rules",
    "load_macros",
    "read_events",
    "read_rules",
    "translate_rule",
]

#: Log-source profile names ``logsources=`` accepts: how a Sigma rule's ``logsource`` selects
#: events (``none``: every rule on every event, and no log-source terms in SPL).
LOGSOURCE_PROFILES: tuple[str, ...] = ("none", *sorted(_LOGSOURCE_PROFILES))
#: Field profile names ``fields=`` accepts: Splunk's names for Windows event fields.
FIELD_PROFILES: tuple[str, ...] = ("none", *sorted(_FIELD_PROFILES))

Language = Literal["sigma", "spl", "ir"]


@dataclass(frozen=True)
class LoadedRule:
    """A rule and the file it was read from (a file may hold several rules)."""

    path: str
    rule: Rule
    language: str

    @property
    def title(self) -> str:
        return self.rule.title

    @property
    def id(self) -> str | None:
        return self.rule.id


@dataclass
class RuleCollection:
    """The rules read from files and folders, and one :class:`Issue` per file that could not
    be read (never raised: a batch goes on past a bad file, as ``ruleglot`` does)."""

    rules: list[LoadedRule] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)

    def __iter__(self) -> Iterator[LoadedRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)


def load_macros(folder: str | Path) -> MacroTable:
    """The search macros of a security_content ``macros/`` folder (one YAML file a macro)."""
    return MacroTable.from_folder(folder)


def _reader_options(
    language: str,
    macros: MacroTable | str | Path | None,
    undefined_macros: str,
    search_precedence: str,
    pipelines: Sequence[str],
) -> dict[str, Any]:
    if language == "sigma":
        return {"pipeline": api.pipeline(pipelines)} if pipelines else {}
    if language != "spl":
        return {}
    table = macros if isinstance(macros, MacroTable) or macros is None else load_macros(macros)
    return {
        "macros": table,
        "undefined_macros": undefined_macros,
        "search_precedence": search_precedence,
    }


def read_rules(
    paths: str | Path | Iterable[str | Path],
    language: Language = "sigma",
    *,
    macros: MacroTable | str | Path | None = None,
    undefined_macros: Literal["error", "empty"] = "error",
    search_precedence: Literal["manual", "and-first"] = "manual",
    pipelines: Sequence[str] = (),
) -> RuleCollection:
    """Every rule in ``paths`` (files, or folders searched for the language's suffixes:
    ``.yml``/``.yaml`` for Sigma, also ``.spl`` for SPL, ``.json`` for IR), in path order.

    SPL files are plain searches or security_content detection YAML (the ``search:`` string);
    ``macros`` expands their macros (a ``macros/`` folder or a :class:`MacroTable`).
    ``pipelines`` are pySigma processing pipelines applied to Sigma rules (installed names or
    YAML files). A file that cannot be read or parsed becomes an :class:`Issue` in
    ``errors``; a bad option (an unknown pipeline) raises :class:`RuleglotError`.
    """
    if language not in RULE_SUFFIXES:
        raise RuleglotError(
            f"no reader for {language!r} (have: {', '.join(RULE_SUFFIXES)})",
            category="invalid",
            construct=language,
        )
    options = _reader_options(language, macros, undefined_macros, search_precedence, pipelines)
    collection = RuleCollection()
    named = [paths] if isinstance(paths, str | Path) else list(paths)
    for path in expand_paths(named, RULE_SUFFIXES[language]):
        try:
            text = read_text(path)
            rules = api.parse(text, language, str(path), **options)
        except RuleglotError as err:
            err.path = err.path or str(path)
            guess = guess_language(text, path) if err.category != "io" else None
            if guess is not None and guess != language:
                err.message += (
                    f" (this file looks like {LANGUAGE_NAMES[guess]}: read it with "
                    f"language={guess!r})"
                )
            collection.errors.append(Issue.from_error(err))
            continue
        collection.rules.extend(LoadedRule(str(path), rule, language) for rule in rules)
    return collection


def translate_rule(
    rule: LoadedRule | Rule,
    to: Language,
    *,
    lossy: bool = False,
    fields: str | None = None,
    logsources: str = "windows",
    format: Literal["plain", "savedsearches"] = "plain",
) -> TranslationResult:
    """``rule`` written in ``to``; never raises for the rule (an untranslatable construct is
    ``status="error"`` with a positioned :class:`Issue` naming it).

    Strict unless ``lossy``: with ``lossy=True`` what cannot be carried over is dropped and
    named in ``warnings``. ``fields`` is the field profile of SPL output (default
    ``splunk_windows``), ``logsources`` the log-source profile whose terms select a Sigma rule's
    events in SPL (``none``: no terms), ``format`` SPL's ``plain`` search or a
    ``savedsearches.conf`` stanza.
    """
    loaded = rule if isinstance(rule, LoadedRule) else None
    plain = loaded.rule if loaded else rule
    assert isinstance(plain, Rule)
    path = loaded.path if loaded else None
    entry = {"path": path, "rule_id": plain.id, "title": plain.title}
    options = {"lossy": lossy, "fields": fields, "format": format, "logsources": logsources}
    try:
        done: api.Translation | RuleglotError = api.emit_translation(plain, to, **options)
    except RuleglotError as err:
        err.path = err.path or path
        done = err
    return TranslationResult.of(entry, done)


@dataclass
class EventSet:
    """Events read from JSON Lines files, where each came from (``file#index``), and one
    :class:`Issue` per line that is not a JSON object."""

    events: list[Event] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.events)


def read_events(paths: str | Path | Iterable[str | Path]) -> EventSet:
    """The events of JSON Lines files, folders (``.jsonl``/``.ndjson`` below them) and glob
    patterns (``logs/*.jsonl``), in order. A pattern that matches nothing is an ``io`` issue."""
    named = [paths] if isinstance(paths, str | Path) else list(paths)
    found = EventSet()
    for item in expand_event_paths(named, EVENT_SUFFIXES):
        if isinstance(item, RuleglotError):
            found.errors.append(Issue.from_error(item))
            continue
        for read in _read_event_file(item):
            if isinstance(read, RuleglotError):
                found.errors.append(Issue.from_error(read))
                continue
            index, event = read
            found.events.append(event)
            found.origins.append(f"{item}#{index}")
    return found


def check_rules(
    rules: Iterable[LoadedRule],
    to: Language | None = None,
    events: EventSet | Sequence[Event | dict[str, Any]] = (),
    *,
    lossy: bool = False,
    fields: str | None = None,
    logsources: str = "windows",
    generated: bool = True,
    seed: int = 0,
    generated_limit: int = 200,
    jobs: int = 1,
) -> list[CheckResult]:
    """Translate each rule to ``to`` (default: Sigma for SPL, SPL otherwise), read the
    translation back, and compare the two on ``events`` and on events generated from both
    rules: one :class:`~translator.check.CheckResult` per rule, in order, whose ``status`` is the
    verdict (``equivalent``, ``lossy``, ``differs``, ``refused``, ``unmapped``, ``error``) and
    whose ``counterexample`` is the smallest event found on which the two disagree.

    ``events``: an :class:`EventSet` (counterexamples then name ``file#index``), or events as
    :class:`~ir.events.Event` or plain dicts (``event N``). ``to_dict()`` of each result is the
    entry ``ruleglot check --format json`` prints.
    ``jobs`` > 1 forks worker processes (POSIX).
    """
    loaded = list(rules)
    given = (
        events.events if isinstance(events, EventSet)
        else [e if isinstance(e, Event) else Event(e) for e in events]
    )
    origins = events.origins if isinstance(events, EventSet) else None
    options = {"fields": fields, "logsources": logsources}
    pairs: list[Pair] = []
    for item in loaded:
        write = to or ("spl" if item.language != "spl" else "sigma")
        pairs.append(
            translate_pair(item.path, item.rule, item.language, write, lossy=lossy,
                           options=options)
        )
    return check_pairs(
        pairs, given, generated=generated, seed=seed, limit=generated_limit, origins=origins,
        jobs=jobs,
    )
