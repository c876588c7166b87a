"""SPL emitter: an IR rule -> a Splunk search that means the same, read back by the SPL reader.

The contract (tested in ``tests/test_spl_emit.py``, measured by ``benchmarks/sigma_to_spl.py``):
``read_spl_search(emit_spl(rule))`` wrapped in a rule of language ``spl`` and evaluated through the
field profile ``fields`` selects the same events as ``rule`` evaluated with the log-source profile
``logsources``. The reading of SPL is :mod:`backends.spl.reader`'s (its module docstring); the
facts behind it are in ``../shared/docs/SEMANTICS.md``.

The one SPL writer
    :class:`SplWriter` writes every IR stage, one ``<node>_spl`` method per stage class looked
    up in ``SplWriter.TRANSFORMS`` (sqlglot's generator shape); translations, rule pages
    (``translator/stagetext.py``) and ``ruleglot check`` all write SPL through it. Whatever the
    SPL reader builds it writes back so that it reads to an equal IR (measured on
    security_content by ``benchmarks/spl_to_spl.py``; a property in
    ``tests/test_spl_writer.py``): arguments quoted where a bare word would read otherwise,
    strings escaped as the reader unescapes them, ``tstats`` from its ``DataModel``
    [+ ``Filter(command="tstats")``] + ``Stats(command="tstats")`` stages, a ``Command`` from
    its tokens. Macro calls are kept by :mod:`backends.spl.keepmacros`.

Modules
    This module writes a rule (log source, keywords, the first stage, saved searches); the
    writer is :mod:`backends.spl.writer` (one method per stage class) over
    :mod:`backends.spl.spltext` (the text of field names, search terms, ``where`` and ``eval``).
    Their public names stay importable from here.

Log source
    The rule's log source is resolved with the profile; each branch's condition (``Channel``,
    ``EventID`` predicates) is written in Splunk's names: ``Channel`` X is
    ``source="WinEventLog:X"`` (the prefix the field profile extracts ``source`` with;
    ``XmlWinEventLog:`` for ``splunk_windows_xml``), ``EventID`` is ``EventCode``. The rule's own
    predicates are written with the branch's field aliases (``Image`` -> ``NewProcessName`` for
    Security 4688). Several branches whose aliased filters differ are
    ``(cond1 AND filter1) OR (cond2 AND filter2)``, ANDed with the plain ``cond1 OR cond2`` so that
    the search part always selects the log source.

    A log source the profile does not map (zeek, aws, linux...: the windows profile describes
    Windows event logs only) is written as a search macro named after it,
    :func:`logsource_macro` (``sigma_linux_process_creation``, ``sigma_aws_cloudtrail``): SPL's
    own way of binding a search to a data source (security_content starts every search with
    one), at the same level of abstraction as Sigma's log source, so nothing is lost; the user
    defines the macro for their data. :attr:`Emitted.macros` lists the macros a search needs.
    For running the emitted search with ruleglot, :func:`logsource_macro_definitions` defines
    them as the profile reads the log source: the events of no source (``NOT _raw=*``), since
    the profile selects none of its events for an unmapped log source.

Field names
    Kept as the rule writes them, except ``EventID`` -> ``EventCode`` (the Splunk field profiles
    only *add* fields, so every other event field is read as is). A log source left to a macro
    keeps even ``EventID``: the field profile describes the profile's Windows events, not the
    user's data. A field the rule names that the profile also *extracts from other fields*
    (Sigma ``process`` vs the add-on's ``process`` <- ``CommandLine``) is written as is, with a
    warning: on an event without it, Splunk reads the extraction.

search first, then one where
    The filter's top-level conjuncts that ``search`` can say exactly are written in the search;
    the others are ANDed into one ``| where`` (``A | where B`` is ``A AND B``). A conjunct goes to
    ``where`` when any of its leaves needs it: ``search`` has no ``?`` wildcard, cannot escape a
    literal ``*``, is case-insensitive only, has no regex, field reference or null test, and
    reads a value naming a network (``f="10.0.0.0/8"``) as CIDR matching.
    In ``where`` every string test is ``match(f, "...")``, which the reader lifts back into a
    ``regex`` predicate (so missing fields and multivalues behave exactly as the IR says):
    ``(?i)`` for case-insensitive kinds (Python's and PCRE's case folding agree with
    ``str.lower`` on everything but a few non-ASCII letters), ``^``/``$(?!\\n)`` anchors (``$``
    alone also matches before a final newline, in Python and in PCRE), ``(?s)`` when a
    ``*``/``?`` wildcard must also match newlines.

Keywords
    A field-less Sigma keyword means "this text in any value of the event". An SPL bare term is
    an indexed-term match of ``_raw``, and ``match(_raw, ...)`` sees the raw text, whose
    escaping (JSON, XML) and field names differ from the values, so neither keeps the meaning.
    What does is testing every field's values: one ``foreach * [eval _kw1=if(match('<<FIELD>>',
    "<regex>"), 1, _kw1), ...]`` before the ``where``, and ``_kw1=1`` in place of keyword 1.
    ``match`` on a multivalue field tests each value (``match`` in
    :mod:`ir.functions.conditional`), like the evaluator's keywords. The flags start unset
    (null), so they are not among the fields ``foreach *`` iterates when it starts; their ``_``
    prefix keeps them off the event's own names. Not covered by this form: values Splunk holds
    in ``_``-prefixed internal fields.
    Under a field profile the template skips the fields the profile *computes* from other
    values (``source`` = ``WinEventLog:`` + ``Channel``, ``sourcetype``, the ``*_name``
    basenames): ``NOT "<<FIELD>>" IN ("file_name", ...) AND match(...)``. They are not the
    event's values (the Sigma rule's event has no ``source``, and ``"WinEventLog:Security"``
    holds the keyword ``in``); the copies the profile makes (``process`` <- ``CommandLine``)
    hold the same values as their originals, so visiting them changes nothing. Left: an event
    carrying a field of its own under one of those names (not a Windows event's field) has
    that field skipped too.

Not expressible (``unsupported`` errors, by ``construct``)
    ``keyword`` of a kind ``match`` cannot say (a number compared as a number).
    ``fieldref`` other than equality (the other
    field's value would have to become a pattern). ``timepart``. ``term`` inside a ``where``.
    ``field``: a field name ``search`` cannot write when the predicate must be in search.

Approximations (reported in :attr:`Emitted.warnings`, never silent)
    ``exists`` inside a ``where`` is ``isnotnull(f)``/``isnull(f)``, which differ from the IR
    for a field holding JSON ``null`` (Splunk has no such value; ruleglot's events can).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from backends.sigma.logsources import windows_profile
from backends.spl.field_profile import FIELD_PROFILES
from backends.spl.spltext import (  # noqa: F401 - importable from here
    STRING_KINDS,
    Names,
    Warnings,
    joined,
    pcre_text,
    quote,
    rename,
    rename_stage,
    search_expressible,
    search_text,
    source_condition,
    write_eval,
    write_where,
)
from backends.spl.timerange import dispatch_times, with_time_range
from backends.spl.writer import (  # noqa: F401 - importable from here
    SplWriter,
    aggregation_text,
    options_text,
)
from ir.errors import RuleglotError, Span, lossy_warning, unsupported
from ir.evaluator import string_regex
from ir.logsources import LogSourceProfile, SourceBranch
from ir.nodes import (
    FOREACH_FIELD,
    And,
    BinOp,
    Condition,
    Expr,
    FieldValue,
    Filter,
    Kind,
    Literal,
    LogSource,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
    Rule,
    Stage,
    all_of,
    any_of,
    conjuncts,
    predicates,
)

__all__ = [
    "Emitted",
    "SplWriter",
    "emit_spl",
    "emit_spl_result",
    "logsource_macro",
    "logsource_macro_definitions",
]

FORMATS = ("plain", "savedsearches")


@dataclass
class Emitted:
    """An emitted search and what it could only approximate."""

    text: str
    #: :func:`ir.errors.lossy_warning` dicts: construct, message and where the rule wrote it
    warnings: Warnings = field(default_factory=list)
    #: the text of each command (the first one without a leading ``search``)
    commands: list[str] = field(default_factory=list)
    #: the log-source macros the search calls (see :func:`logsource_macro`)
    macros: list[str] = field(default_factory=list)


# --- the rule --------------------------------------------------------------------------------


def _extraction_collisions(rule: Rule, fields: str | None) -> Warnings:
    """Warnings for the rule's fields that the field profile also extracts from other event
    fields (Sigma ``process`` vs the add-on's ``process`` <- ``CommandLine``): written as they
    are, Splunk reads the extraction on an event that lacks the field itself."""
    if fields in (None, "none") or fields not in FIELD_PROFILES:
        return []
    profile = FIELD_PROFILES[fields]()
    used: dict[str, Span | None] = {}  # field -> where the rule first names it
    for stage in rule.stages:
        if isinstance(stage, Filter):
            for p in predicates(stage.expr):
                if p.field is not None:
                    used.setdefault(p.field, p.span or stage.span or rule.span)
    out = []
    for name in sorted(used.keys() & profile.targets):
        sources = [s for s in profile.sources_of(name) if s != name]
        if sources:
            message = (
                f"field {name!r} is also the name the {fields} field profile extracts from "
                f"{', '.join(sources)}: on an event without {name!r}, Splunk reads that instead"
            )
            out.append(lossy_warning("field", message, used[name]))
    return out


def logsource_macro(logsource: LogSource) -> str:
    """The search macro standing for a log source the profile does not map: ``sigma_`` and
    its product, category and service (those it has), each reduced to letters, digits and
    ``_`` (``gcp.audit`` -> ``gcp_audit``)."""
    parts = (logsource.product, logsource.category, logsource.service)
    return "sigma_" + "_".join(re.sub(r"[^A-Za-z0-9_]", "_", p) for p in parts if p)


#: What :func:`logsource_macro_definitions` defines an unmapped log source's macro as: no
#: event (``_raw`` is always there), which is what the profile selects for it.
NO_EVENTS = "NOT _raw=*"


def logsource_macro_definitions(macros: Sequence[str]) -> dict[str, str]:
    """Definitions of log-source macros for running emitted searches over the events a
    log-source profile describes: each unmapped log source selects none of them."""
    return {name: NO_EVENTS for name in macros}


def _branches(
    rule: Rule, logsources: LogSourceProfile | None
) -> tuple[SourceBranch, ...] | str | None:
    """The profile's branches for the rule's log source, its macro name when unmapped, or
    ``None`` when there is nothing to select (no profile, or no log source)."""
    if logsources is None or not logsources.mappings or rule.logsource.is_empty():
        return None
    resolved = logsources.resolve(rule.logsource)
    return logsource_macro(rule.logsource) if resolved is None else resolved


def _selection(body: Expr | None, branches: tuple[SourceBranch, ...], names: Names) -> Expr:
    """The log-source conditions ANDed with the filter (aliased per branch)."""
    conds = [source_condition(b.condition, names) for b in branches]
    if body is None:
        return any_of(conds)
    bodies = [rename(body, {**names.renames, **_aliases(b, names)}) for b in branches]
    if all(b == bodies[0] for b in bodies):
        return all_of([any_of(conds), bodies[0]])
    per_branch = any_of([all_of([c, b]) for c, b in zip(conds, bodies, strict=True)])
    if all(search_expressible(b) for b in bodies):
        return per_branch
    return all_of([any_of(conds), per_branch])


def _aliases(branch: SourceBranch, names: Names) -> dict[str, str]:
    return {k: names.renames.get(v, v) for k, v in branch.field_aliases}


def _keyword_regex(pred: Predicate) -> str:
    """The regex ``match`` needs to decide a keyword on one value, as the evaluator does."""
    if pred.kind is Kind.REGEX:
        assert isinstance(pred.value, Regex)
        return pcre_text(pred.value)
    if pred.kind in STRING_KINDS and isinstance(pred.value, (Pattern, str)):
        return string_regex(pred)
    raise unsupported(
        construct="keyword",
        message=f"a keyword of kind {pred.kind} with value {pred.value!r} has no exact SPL form",
    ).at(pred.span)


def _keyword_flags(expr: Expr, skipped: Sequence[str] = ()) -> tuple[Expr, str | None]:
    """``expr`` with each keyword (field-less predicate) replaced by the test of a flag field,
    and the one ``foreach`` command that sets the flags: ``_kwN`` becomes 1 when any field's
    value matches keyword N, fields named in ``skipped`` aside (see the module docstring)."""
    assignments: list[str] = []
    guard = ""
    if skipped:
        names = ", ".join(quote(name) for name in skipped)
        guard = f'NOT "{FOREACH_FIELD}" IN ({names}) AND '

    def replace(node: Expr) -> Expr:
        if isinstance(node, Predicate):
            if node.field is not None or node.kind is Kind.TERM:
                return node
            flag = f"_kw{len(assignments) + 1}"
            regex = quote(_keyword_regex(node))
            test = f"{guard}match('{FOREACH_FIELD}', {regex})"
            assignments.append(f"{flag}=if({test}, 1, {flag})")
            return Condition(BinOp("=", FieldValue(flag), Literal(1)))
        if isinstance(node, Not):
            return Not(replace(node.arg))
        if isinstance(node, (And, Or)):
            return type(node)(tuple(replace(a) for a in node.args))
        return node

    replaced = replace(expr)
    if not assignments:
        return expr, None
    return replaced, f"foreach * [eval {', '.join(assignments)}]"


def _first_stage(expr: Expr, warnings: Warnings, derived: Sequence[str] = ()) -> list[str]:
    """Search terms for the search-expressible conjuncts, one where for the rest (after the
    foreach that decides its keywords, if it has any; it skips the ``derived`` fields)."""
    whole = search_text(expr)
    if whole is not None:
        return [whole]
    parts = [(c, search_text(c)) for c in conjuncts(expr)]  # conjuncts are never ANDs
    in_search = [(c, t) for c, t in parts if t is not None]
    rest = all_of([c for c, t in parts if t is None])
    in_where, foreach = _keyword_flags(rest, derived)
    if len(in_search) == 1:  # what all_of(one conjunct) writes: the conjunct itself
        search = in_search[0][1]
    else:
        search = joined([c for c, _ in in_search], [t for _, t in in_search], conjunction=True)
    return [search, *([foreach] if foreach else []), f"where {write_where(in_where, warnings)}"]


def emit_spl_result(
    rule: Rule,
    *,
    logsources: LogSourceProfile | None = windows_profile(),  # noqa: B008 (cached, immutable)
    fields: str = "splunk_windows",
) -> Emitted:
    """``rule`` as one SPL search line, with its warnings; see the module docstring."""
    try:
        return _emit(rule, logsources, fields)
    except RuleglotError as err:  # what has no position of its own points at the rule
        raise err.at(rule.span) from None


def _emit(rule: Rule, logsources: LogSourceProfile | None, fields: str) -> Emitted:
    warnings: Warnings = []
    branches = _branches(rule, logsources)
    macro = branches if isinstance(branches, str) else None
    # the field profile describes the profile's (Windows) events: a log source left to a
    # macro is the user's data, whose fields the rule names as they are
    names = Names.of(None if macro is not None else fields)
    if isinstance(branches, tuple):
        warnings += _extraction_collisions(rule, fields)
    stages = list(rule.stages)
    first: Expr | None = None
    if stages and isinstance(stages[0], Filter) and stages[0].command == "search":
        first = stages.pop(0).expr  # type: ignore[union-attr]
    if isinstance(branches, tuple):
        first = _selection(first, branches, names)
    elif first is not None:
        first = rename(first, names.renames)
    renamed: list[Stage] = []
    for stage in stages:
        renamed.append(rename_stage(stage, names.renames))
    commands = _first_stage(first, warnings, names.derived) if first is not None else [""]
    if macro is not None:
        commands[0] = f"`{macro}` {commands[0]}".rstrip()
    commands += SplWriter(warnings).commands(renamed)
    if rule.timerange is not None:
        with_time_range(commands, rule.stages, rule.timerange)
    if commands == [""]:
        commands = ["*"]
    return Emitted(" | ".join(commands).lstrip(), warnings, commands, [macro] if macro else [])


def emit_spl(
    rule: Rule,
    *,
    logsources: LogSourceProfile | None = windows_profile(),  # noqa: B008 (cached, immutable)
    fields: str = "splunk_windows",
    format: str = "plain",
) -> str:
    """``rule`` as an SPL search (``format="plain"``) or a ``savedsearches.conf`` stanza
    (``format="savedsearches"``). Raises :class:`RuleglotError` (``unsupported``) for what SPL
    cannot say with the same meaning; see the module docstring."""
    if format not in FORMATS:
        raise RuleglotError(
            f"format must be one of {', '.join(FORMATS)}, not {format!r}",
            category="invalid",
            construct="format",
        )
    emitted = emit_spl_result(rule, logsources=logsources, fields=fields)
    if format == "plain":
        return emitted.text
    return savedsearch(rule, emitted.commands)


_ATTACK_ID = re.compile(r"^attack\.(t\d{4}(?:\.\d{3})?)$", re.IGNORECASE)


def _conf_value(text: str, what: str = "value") -> str:
    """A ``savedsearches.conf`` value: every line break in it is written as Splunk's line
    continuation, a backslash ending the line (Admin Manual, "Configuration file structure";
    ``savedsearches.conf.spec`` allows multi-line ``search`` strings), so no text of the value
    can start a line of its own and end the stanza or set another key. Only ``\\n``, ``\\r\\n``
    and ``\\r`` break lines in a .conf file; other characters Python calls line breaks stay.

    A value line that itself ends with a backslash would be read as a continuation and joined
    with what follows: refused (``unsupported``, construct ``savedsearches``), never written.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if any(line.endswith("\\") for line in lines):
        raise RuleglotError(
            f"the {what} has a line ending with a backslash, which savedsearches.conf reads as "
            "a line continuation",
            category="unsupported",
            construct="savedsearches",
        )
    return "\\\n".join(lines)


@dataclass(frozen=True)
class Deployment:
    """What a ``savedsearches.conf`` stanza needs beyond its search to run as an alert
    (``savedsearches.conf.spec``, Splunk Admin Manual): when it runs (``cron_schedule``, and
    ``enableSched``: off unless ``schedule`` is asked for, so that a file of translations is
    reviewed before anything runs), over which window (``dispatch.earliest_time`` /
    ``dispatch.latest_time``; the default window is the default schedule's interval, so each
    event is searched once), and what fires (``actions``, comma-separated, with
    ``action.<name> = 1`` each; ``counttype``/``relation``/``quantity``: more than 0 events)."""

    cron: str = "*/15 * * * *"
    earliest: str = "-15m"
    latest: str = "now"
    schedule: bool = False
    actions: tuple[str, ...] = ()
    name: str | None = None  # the stanza's name; default: the rule's title


_ACTION_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def stanza_name(title: str) -> str:
    """A stanza header Splunk reads back as the same name: no line break, no square bracket
    (the header ends at the first ``]``), no leading or trailing space (trimmed), one space
    between words."""
    return " ".join(re.sub(r"[\[\]\r\n\t]", " ", title).split()) or "ruleglot rule"


class StanzaNames:
    """One stanza per rule in one ``savedsearches.conf``: Splunk merges stanzas of the same
    name (the later keys win), so two rules titled alike would deploy as one search. The
    second ``[T]`` becomes ``[T (2)]``, the third ``[T (3)]`` (names compared as Splunk's
    stanza lookup does, exactly)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def unique(self, stanza: str) -> str:
        header, _, rest = stanza.partition("\n")
        name = header[1:-1]
        candidate, n = name, 1
        while candidate in self.used:
            n += 1
            candidate = f"{name} ({n})"
        self.used.add(candidate)
        return f"[{candidate}]\n{rest}"


def savedsearch(
    rule: Rule, commands: Sequence[str], deployment: Deployment | None = None
) -> str:
    """A ``savedsearches.conf`` stanza for the search made of ``commands`` (one per line,
    continued with a trailing backslash), its ATT&CK ids as Enterprise Security's
    ``action.correlationsearch.annotations`` and the ``deployment`` settings."""
    deploy = deployment or Deployment()
    for action in deploy.actions:
        if not _ACTION_NAME.match(action):
            raise RuleglotError(
                f"alert action {action!r} is not a Splunk alert action name (letters, digits, _)",
                category="invalid",
                construct="savedsearches",
            )
    title = stanza_name(deploy.name or rule.title)
    first, *rest = commands
    pieces = ([first] if first else []) + [f"| {c}" for c in rest]
    lines = [f"[{title}]", "search = " + " \\\n".join(_conf_value(p, "search") for p in pieces)]
    if rule.description:
        # a description line ending with a backslash gets a space: prose, not a continuation
        text = rule.description.strip().replace("\r\n", "\n").replace("\r", "\n")
        text = "\n".join(f"{line} " if line.endswith("\\") else line for line in text.split("\n"))
        lines.append("description = " + _conf_value(text, "description"))
    attack = [m.group(1).upper() for t in rule.tags if (m := _ATTACK_ID.match(t))]
    if attack:
        lines.append(
            'action.correlationsearch.annotations = {"mitre_attack": ['
            + ", ".join(f'"{a}"' for a in dict.fromkeys(attack))
            + "]}"
        )
    earliest, latest = dispatch_times(rule.timerange, deploy.earliest, deploy.latest)
    lines += [
        f"dispatch.earliest_time = {_conf_value(earliest, 'dispatch.earliest_time')}",
        f"dispatch.latest_time = {_conf_value(latest, 'dispatch.latest_time')}",
        f"cron_schedule = {_conf_value(deploy.cron, 'cron_schedule')}",
        f"enableSched = {1 if deploy.schedule else 0}",
    ]
    if deploy.actions:
        lines += [
            "counttype = number of events",
            "relation = greater than",
            "quantity = 0",
            "alert.track = 1",
            f"actions = {','.join(dict.fromkeys(deploy.actions))}",
            *(f"action.{a} = 1" for a in dict.fromkeys(deploy.actions)),
        ]
    lines.append("disabled = 0")
    return "\n".join(lines) + "\n"
