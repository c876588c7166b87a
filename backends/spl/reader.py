"""SPL reader: Splunk searches (``.spl``) and splunk/security_content detection YAML -> IR rules.

What this module owns
    * The entry points :func:`read_spl` (rules) and :func:`read_spl_search` (stages).
    * Finding the SPL: a whole ``.spl`` text, or the ``search:`` (else ``logic:``) scalar of a
      YAML detection, whose metadata fills the rule (``name`` -> title, ``id``,
      ``description``, ``status``, ``author``, ``date``, ``references``,
      ``tags.mitre_attack_id`` (or ``technique_id``) -> tags ``attack.t1021.002``,
      ``known_false_positives`` -> falsepositives, ``how_to_implement`` -> the log source's
      free-text definition).
    * The pipeline: comments blanked and macros expanded (:mod:`backends.spl.macros`), the text
      parsed with the LALR grammar ``spl.lark`` (contextual lexer; positions from tokens), the
      tree built into stages (:mod:`backends.spl.builder`). Every node's span is the line/column in
      the ORIGINAL input (inside the YAML for a detection file; text from a macro points at the
      backtick of its call).
    * Errors: only :class:`~ir.errors.RuleglotError` leaves: ``syntax`` (YAML, or lark's
      unexpected input: position, expected tokens, caret line), ``invalid`` (undefined macro,
      wrong arguments), ``unsupported`` (what the IR cannot hold).

SPL semantics encoded here (sources: Splunk Search Manual 9.x and Search Reference; SPL2 Search
Manual where SPL1's pages are silent; ``docs/SEMANTICS.md`` in ../shared)

search (the implicit first command, ``| search``, and the where clauses of tstats/inputlookup)
    * Terms are ANDed implicitly. Precedence: parentheses, NOT, then OR, then AND (Search
      Manual, "Boolean expressions with logical operators": ``A=1 B=2 OR C=3`` is
      ``A=1 AND (B=2 OR C=3)``); ``search_precedence="and-first"`` reads NOT, AND, OR instead
      (the reading of pySigma-backend-splunk issue #73 and other third-party parsers). NOT
      applies to the next term only. Operators are upper case only: ``or`` is a term.
    * ``field=value`` is case-insensitive; ``*`` is the only wildcard and ``?`` a literal. The
      value becomes ``eq`` (no wildcard), ``contains`` (``*x*``), ``startswith`` (``x*``),
      ``endswith`` (``*x``) or a ``wildcard`` pattern of ``Wildcard.MANY`` parts, as the Sigma
      reader chooses; an unquoted whole number is the number (``EventCode=4688`` -> 4688), as
      Sigma's ``EventID: 4688``. ``field=*`` is ``exists``. ``CASE(v)`` makes it
      case-sensitive; ``field=TERM(v)`` is read as ``field=v``.
    * Escapes (Search Manual, "Backslashes"): ``\\\\`` is one backslash and ``\\"`` a double
      quote, quoted or not; a backslash before anything else is kept with it. ``*`` cannot be
      escaped, so ``\\*`` is a backslash and a wildcard.
    * A value that is an IPv4/IPv6 network (``10.0.0.0/8``) is ``cidr`` (Search Reference,
      "search": CIDR matching).
    * ``field!=value`` is ``exists AND NOT value`` (only events that have the field); ``NOT
      field=value`` is ``NOT value`` (events without the field too) (Search Manual,
      "Difference between NOT and !=").
    * ``field IN (a, "b", c*)`` is the OR of the value predicates (wildcards honoured: the
      manual does not say; pySigma-backend-splunk relies on it). ``field>5`` (``>= < <=``)
      with a number is ``gt``/``gte``/``lt``/``lte``; with text it is ``unsupported``.
    * Bare words and quoted phrases are ``term`` predicates on ``_raw`` (indexed terms, not
      substrings), ``*`` kept as written; ``TERM(x)`` is the one term ``x``
      (``TERM(EventCode=4688)`` is ``EventCode=4688``). A search that is only ``*`` (or an
      empty stage, what `` | `x_filter` `` leaves) filters nothing and makes no stage.
    * ``index``, ``sourcetype``, ``source``, ``host``, ``eventtype`` are read as field
      predicates; all but ``host`` are Splunk's search settings, the search's data source
      (``ir.nodes.SEARCH_SETTINGS``), which writers map to a log source and never write as
      event fields. The time modifiers (``earliest``/``latest``/``_index_earliest``/
      ``_index_latest``, ``ir.nodes.TIME_MODIFIERS``) of the base search are the rule's
      ``timerange`` (:mod:`backends.spl.timerange`; elsewhere a positioned ``unsupported``).
    * ``NOT [subsearch]`` ANDed with the rest is a :class:`~ir.nodes.Subsearch` with command
      ``ir.nodes.EXCLUDE``: the rows its result rows' terms do not match.
    * A ``[subsearch]`` among the terms becomes a :class:`~ir.nodes.Subsearch` stage
      (``command="search"``) after the filter, which is its meaning when it is ANDed with the
      rest; under OR (or ``NOT NOT``) it is ``unsupported``.

where and eval (SPL reference, "where", "eval"; Search Manual, "Boolean expressions")
    * Precedence, loosest first: XOR, OR, AND, NOT, comparisons (``= == != < <= > >=``,
      ``LIKE``, ``IN``), ``+ - .``, ``* / %``, unary minus. (The manual's table orders NOT, AND,
      OR, XOR for eval; that comparisons bind tighter than NOT is read from its examples,
      ``NOT x="a"``.) Boolean keywords are read in any case (``or`` in the seed rule's where).
    * Strings are double-quoted (escapes as above); an unquoted name or a ``'single quoted'``
      one is a field; numbers are int or float; ``true``/``false`` are booleans (SPL2's
      literals; SPL1 writes ``true()``), ``null()`` is ``Literal(None)``. Function names are
      lower-cased. ``!x`` is ``NOT x`` (observed, not in the operator table).
    * A regex (``regex``, ``rex``, ``match()``, ``replace()``) that Python's ``re`` cannot run
      after ``ir.functions.pcre_to_python`` (``\\C``, ``(?R)``) is ``unsupported`` where read.
    * ``rex``/``regex`` arguments may join quoted and unquoted pieces (``(?<n>"re")``): one
      argument, quotes removed (Splunk's tokenizer, observed; docs/semantics.md).
    * Comparisons are case-sensitive. A where expression becomes predicates wherever one kind
      means exactly that, else a :class:`~ir.nodes.Condition`: ``f="x"``/``f=="x"`` -> ``eq``
      cased; ``f=g`` (two fields) -> ``fieldref`` cased; ``f>5`` (``>= < <=``, a number) ->
      ``gt``...; ``match(f, "re")`` -> ``regex`` (inline ``(?i)`` kept; PCRE named groups
      ``(?<n>`` written ``(?P<n>``; a pattern Python cannot compile stays a Condition);
      ``like(f, "a%b_")``/``f LIKE ...`` -> ``%`` many, ``_`` one, narrowest kind, cased;
      ``isnull(f)`` -> ``null``; ``isnotnull(f)`` -> ``NOT null``; ``cidrmatch("net", f)`` ->
      ``cidr``; ``in(f, "a", "b")``/``f IN ("a", "b")`` -> OR of cased ``eq``; AND/OR/NOT ->
      And/Or/Not. ``f=5`` (numeric equality: ``5.0`` equals it) and ``f!="x"`` (false for a
      null ``f``, and its multivalue reading is not documented) stay Conditions. ``NOT`` over a
      predicate is the IR's ``Not`` (true for a missing field); whether where's NOT of a
      comparison with null is true is not documented by Splunk.
    * ``regex [field=|field!=]"re"`` is a ``regex`` filter on the field (``_raw`` by default);
      ``!=`` negates it.

Other commands: ``rex``, ``rename``, ``table``/``fields``, ``stats``/``eventstats``/
``streamstats``/``tstats``, ``bin``/``bucket``, ``dedup``, ``sort``, ``head``/``tail``,
``lookup``/``inputlookup``, ``fillnull``, ``convert``, ``makemv``/``mvexpand``,
``join``/``append``/``appendpipe`` are modelled (see :mod:`ir.nodes`); any other command is a
:class:`~ir.nodes.Command` with its arguments as written.

What it must not do
    Evaluate, translate or emit; define predicate semantics (that is :mod:`ir.nodes`).
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import yaml

from backends.spl.macros import Expansion, MacroError, MacroTable, expand
from backends.spl.source import scalar_offsets
from backends.spl.timerange import take as take_time_range
from backends.yaml_loaders import SAFE_LOADER
from ir.errors import RuleglotError, SourceText, unsupported
from ir.nodes import LogSource, Rule, Stage

if TYPE_CHECKING:  # lark and the builder are imported when the first search is read
    import lark

    from backends.spl.builder import Builder
    from backends.spl.parsing import SplParser

__all__ = ["prepare", "read_spl", "read_spl_search"]

_UNDEFINED = ("error", "empty")


@functools.cache
def _parser() -> SplParser:
    """The LALR parser of ``spl.lark``, run by :class:`~backends.spl.parsing.SplParser` (lark's
    tables in one loop; lark itself for the errors). Positions are read from tokens
    (``buildcore.bounds``). The grammar analysis is cached on disk (:func:`_grammar_cache`):
    building it costs about 0.2 s of CPU in every process that reads SPL (each worker of a
    parallel run)."""
    from lark import Lark

    # loaded on the first SPL read (the TYPE_CHECKING block)
    from backends.spl.parsing import SplParser

    return SplParser(
        Lark.open_from_package(
            "backends.spl",
            "spl.lark",
            parser="lalr",
            lexer="contextual",
            propagate_positions=False,  # positions come from the tokens (buildcore.bounds)
            maybe_placeholders=True,
            cache=_grammar_cache(),
        )
    )


def prepare() -> None:
    """Load now what reading SPL loads on first use (the builder, the parser's tables). A process
    about to fork workers that read SPL calls it once: the workers inherit both instead of each
    loading them (about 0.05-0.1 s of CPU a worker)."""
    import backends.spl.builder  # noqa: F401 - imported for its side effect: loaded once

    _parser()


def _grammar_cache() -> str | bool:
    """Where lark keeps the analysed grammar: a file in ruleglot's own folder of the user's
    cache (``$XDG_CACHE_HOME/ruleglot``, else ``~/.cache/ruleglot``), never a shared temporary
    folder (the cache is a pickle). ``False`` (no cache) when that folder cannot be made
    private or ``RULEGLOT_NO_CACHE`` is set. lark checks the file against the grammar text,
    the options and its own version, and rebuilds (and rewrites) a stale or broken one."""
    if os.environ.get("RULEGLOT_NO_CACHE"):
        return False
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "ruleglot")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.stat(folder)
    except OSError:
        return False
    getuid = getattr(os, "getuid", None)
    if getuid is not None and (info.st_uid != getuid() or info.st_mode & 0o022):
        return False
    import lark

    version = f"{lark.__version__}-py{sys.version_info[0]}.{sys.version_info[1]}"
    return os.path.join(folder, f"spl-grammar-{version}.lark")


def read_spl(
    text: str,
    path: str | None = None,
    *,
    macros: MacroTable | None = None,
    search_precedence: str = "manual",
    undefined_macros: str = "error",
) -> list[Rule]:
    """The rule(s) in ``text``: a plain SPL search, or a security_content detection YAML.

    YAML is recognised by the path (``.yml``/``.yaml``) or, without one, by being a mapping with
    a ``search`` (or ``logic``) key. ``macros`` defines the macros (none: every macro is
    undefined); ``undefined_macros="empty"`` expands undefined macros to nothing instead of
    failing. Raises :class:`RuleglotError` and nothing else.
    """
    source = SourceText(text, path)
    try:
        _check_options(source, search_precedence, undefined_macros)
        docs = _yaml_documents(source)
        if docs is None:
            stages = _read_pipeline(source, text, None, macros, search_precedence, undefined_macros)
            stages, timerange = take_time_range(stages)
            title = PurePath(path).stem if path else "SPL search"
            return [
                Rule(
                    title,
                    tuple(stages),
                    timerange=timerange,
                    language="spl",
                    source_text=text,
                    span=source.offset_span(0),
                )
            ]
        return [
            _read_detection(doc, source, macros, search_precedence, undefined_macros)
            for doc in docs
        ]
    except RuleglotError as exc:
        raise source.clamp(exc) from None
    except RecursionError:
        raise source.error("input nested too deeply to read", "invalid") from None
    except Exception as exc:  # last resort: never let a library's exception out
        raise source.error(f"cannot read SPL input: {exc}", "invalid") from exc


def read_spl_search(
    text: str,
    path: str | None = None,
    *,
    macros: MacroTable | None = None,
    search_precedence: str = "manual",
    undefined_macros: str = "error",
) -> tuple[Stage, ...]:
    """The stages of one SPL search (plain SPL text, never YAML)."""
    source = SourceText(text, path)
    try:
        _check_options(source, search_precedence, undefined_macros)
        stages = _read_pipeline(source, text, None, macros, search_precedence, undefined_macros)
        stages, timerange = take_time_range(stages)
        if timerange is not None:  # stages alone cannot hold it: never dropped silently
            raise unsupported(
                construct="earliest",
                message=f"the search has a time range ({timerange.text()}), which a rule "
                "holds, not its stages: read it with read_spl",
                span=timerange.span,
            )
        return tuple(stages)
    except RuleglotError as exc:
        raise source.clamp(exc) from None
    except RecursionError:
        raise source.error("input nested too deeply to read", "invalid") from None
    except Exception as exc:  # last resort: never let a library's exception out
        raise source.error(f"cannot read SPL input: {exc}", "invalid") from exc


def _check_options(source: SourceText, precedence: str, undefined: str) -> None:
    # loaded on the first SPL read (the TYPE_CHECKING block)
    from backends.spl.builder import PRECEDENCES

    if precedence not in PRECEDENCES:
        raise source.error(
            f"search_precedence must be one of {', '.join(PRECEDENCES)}, not {precedence!r}",
            "invalid",
            construct="option",
        )
    if undefined not in _UNDEFINED:
        raise source.error(
            f"undefined_macros must be one of {', '.join(_UNDEFINED)}, not {undefined!r}",
            "invalid",
            construct="option",
        )


# --- the pipeline ----------------------------------------------------------------------------


def _read_pipeline(
    source: SourceText,
    spl: str,
    base: Sequence[int] | None,
    macros: MacroTable | None,
    precedence: str,
    undefined: str,
) -> list[Stage]:
    """Stages of the SPL text ``spl``; ``base[i]`` is the file offset of ``spl[i]`` (identity
    when ``spl`` is the whole file)."""
    import lark

    # loaded on the first SPL read (the TYPE_CHECKING block)
    from backends.spl.builder import Builder

    def file_offset(index: int) -> int:
        if base is None:
            return index
        return base[min(max(index, 0), len(base) - 1)]

    try:
        expansion = expand(spl, macros, undefined=undefined)
    except MacroError as exc:
        raise source.error(
            exc.message, exc.category, source.offset_span(file_offset(exc.offset)), "macro"
        ) from None
    offsets = list(expansion.origin) if base is None else [base[i] for i in expansion.origin]
    builder = Builder(source, offsets, expansion.text, precedence)
    try:
        tree = _parser().parse(expansion.text)
    except lark.exceptions.UnexpectedInput as exc:
        raise _syntax_error(exc, expansion, builder) from None
    pipeline = tree.children[0]
    assert isinstance(pipeline, lark.Tree)
    return builder.pipeline(pipeline)


#: How lark's terminal names read in an error message.
_TERMINALS = {
    "_PIPE": "'|'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "EQUAL": "'='",
    "QUOTED": 'a "quoted string"',
    "SQFIELD": "a 'quoted field'",
    "WORD": "a search term",
    "INWORD": "a value",
    "SEARCH_CMP": "field=value",
    "TERM_FN": "TERM(...)",
    "CASE_FN": "CASE(...)",
    "FIELD": "a field name",
    "SFIELD": "a field name",
    "NAME": "a function name",
    "NUMBER": "a number",
    "ARG": "an argument",
    "ARG_KEY": "option=",
    "MIXED": 'an argument of "quoted" and unquoted pieces',
    "EBANG": "'!'",
    "RAW": "arguments",
    "CMD_NAME": "a command name",
    "CMP": "a comparison",
    "ADD": "'+' or '.'",
    "MINUS": "'-'",
    "MUL": "'*', '/' or '%'",
    "$END": "the end of the search",
}


def _describe(name: str) -> str:
    if name in _TERMINALS:
        return _TERMINALS[name]
    if name.startswith("E") and name[1:] in ("AND", "OR", "NOT", "XOR", "LIKE", "IN"):
        return name[1:]
    return name if name.isupper() else name.lower()


def _syntax_error(
    exc: lark.exceptions.UnexpectedInput, expansion: Expansion, builder: Builder
) -> RuleglotError:
    import lark

    text = expansion.text
    offset = exc.pos_in_stream if exc.pos_in_stream is not None else len(text)
    at_end = False
    if isinstance(exc, lark.exceptions.UnexpectedToken):
        token = exc.token
        at_end = token.type == "$END"
        found = "end of search" if at_end else repr(str(token))
        if not at_end and token.start_pos is not None:
            offset = token.start_pos
        expected = exc.expected
    elif isinstance(exc, lark.exceptions.UnexpectedCharacters):
        char = text[offset] if 0 <= offset < len(text) else ""
        found = "unterminated quoted string" if char == '"' else f"character {char!r}"
        expected = exc.allowed or set()
    else:  # UnexpectedEOF
        at_end = True
        found = "end of search"
        expected = getattr(exc, "expected", set()) or set()
    if at_end:  # just past the last character; at the call when a macro wrote that character
        last = len(text.rstrip()) - 1
        offset = last if last >= 0 and expansion.call_at(last) is not None else len(text)
    names = sorted({_describe(str(e)) for e in expected})
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    message = f"unexpected {found}" + (f"; expected {shown}" if shown else "")
    macro = expansion.call_at(offset) if offset < len(text) else None
    if macro is not None:
        message += f" (in the expansion of macro `{macro}`)"
    error = builder.error(message, "syntax", offset, _command_at(text, offset))
    if macro is not None:
        error.notes.append(f"expanded search: {text}")
    return error


def _command_at(text: str, offset: int) -> str:
    """The name of the command whose text holds ``offset`` (``search`` for a first stage)."""
    stack = [(0, True)]  # (where the current stage starts, is it a pipeline's first stage)
    quoted = False
    index = 0
    while index < min(offset, len(text)):
        char = text[index]
        if quoted:
            if char == "\\":
                index += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "[":
            stack.append((index + 1, True))
        elif char == "]" and len(stack) > 1:
            stack.pop()
        elif char == "|":
            stack[-1] = (index + 1, False)
        index += 1
    start, first = stack[-1]
    words = text[start:].split(None, 1)
    if first or not words:
        return "search"
    return "".join(c for c in words[0].lower() if c.isalnum() or c == "_") or "search"


# --- YAML detections -------------------------------------------------------------------------


@dataclass
class _Doc:
    node: yaml.MappingNode
    spl_node: yaml.ScalarNode
    data: dict[str, Any]


_SPL_KEYS = ("search", "logic")


def _yaml_documents(source: SourceText) -> list[_Doc] | None:
    """The detection documents, or ``None`` when the input is plain SPL."""
    suffix = PurePath(source.path).suffix.lower() if source.path else ""
    if suffix == ".spl":
        return None
    try:
        nodes = [n for n in yaml.compose_all(source.text, Loader=SAFE_LOADER) if n is not None]
    except yaml.MarkedYAMLError as exc:
        if suffix not in (".yml", ".yaml"):
            return None
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc)
        offset = mark.index if mark is not None else 0
        raise source.error(f"YAML: {message}", "syntax", source.offset_span(offset)) from None
    except yaml.YAMLError as exc:
        if suffix not in (".yml", ".yaml"):
            return None
        raise source.error(f"YAML: {exc}", "syntax") from None
    docs: list[_Doc] = []
    for node in nodes:
        spl = _spl_node(node)
        if spl is None:
            if suffix in (".yml", ".yaml"):
                offset = node.start_mark.index
                raise source.error(
                    "no SPL in this YAML document: expected a 'search' (or 'logic') string",
                    "invalid",
                    source.offset_span(offset),
                    "search",
                )
            return None
        docs.append(_Doc(node, spl, _construct(node, source)))  # type: ignore[arg-type]
    if not docs:
        if suffix in (".yml", ".yaml"):
            raise source.error("empty YAML file: no detection in it", "invalid")
        return None
    return docs


def _spl_node(node: yaml.Node) -> yaml.ScalarNode | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    found: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value in _SPL_KEYS:
            found.setdefault(key.value, value)
    for key in _SPL_KEYS:
        value = found.get(key)
        if isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:str":
            return value
    return None


def _construct(node: yaml.Node, source: SourceText) -> dict[str, Any]:
    try:
        data = _plain_data(node, set())
    except Exception:  # noqa: S110 - anything unusual: PyYAML's constructor, below, decides
        pass
    else:
        return data if isinstance(data, dict) else {}
    try:
        data = yaml.constructor.SafeConstructor().construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise source.error(
            f"YAML: {exc}", "syntax", source.offset_span(mark.index) if mark else None
        ) from None
    except Exception as exc:  # e.g. a date with month 13
        span = source.offset_span(node.start_mark.index)
        raise source.error(f"YAML: {exc}", "invalid", span) from None
    return data if isinstance(data, dict) else {}


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
#: PyYAML's safe constructors of the other plain scalars (pure functions of the node).
_SCALARS: dict[str, Any] = {
    tag: yaml.constructor.SafeConstructor.yaml_constructors[tag]
    for tag in (
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:timestamp",
    )
}
_SCALAR_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class _Unusual(Exception):
    """A node :func:`_plain_data` leaves to PyYAML's constructor."""


def _plain_data(node: yaml.Node, seen: set[int]) -> Any:
    """What ``SafeConstructor().construct_document(node)`` makes of a document of plain
    mappings, sequences and scalars, several times faster. Raises on anything else (another
    tag, a merge key, an alias of a collection, a scalar PyYAML refuses), which the caller then
    leaves to PyYAML."""
    kind = type(node)
    if kind is yaml.ScalarNode:
        tag = node.tag
        if tag == _STR:
            return node.value
        construct = _SCALARS.get(tag)
        if construct is None:
            raise _Unusual(tag)
        return construct(_SCALAR_CONSTRUCTOR, node)
    if id(node) in seen:  # an alias (PyYAML shares the object; recursion is possible)
        raise _Unusual("alias")
    seen.add(id(node))
    if kind is yaml.SequenceNode and node.tag == _SEQ:
        return [_plain_data(item, seen) for item in node.value]
    if kind is yaml.MappingNode and node.tag == _MAP:
        data: dict[Any, Any] = {}
        for key, value in node.value:
            if type(key) is not yaml.ScalarNode:
                raise _Unusual("key")
            data[_plain_data(key, seen)] = _plain_data(value, seen)
        return data
    raise _Unusual(node.tag)


def _read_detection(
    doc: _Doc,
    source: SourceText,
    macros: MacroTable | None,
    precedence: str,
    undefined: str,
) -> Rule:
    spl = doc.spl_node.value
    base = scalar_offsets(source.text, doc.spl_node)
    stages = _read_pipeline(source, spl, base, macros, precedence, undefined)
    stages, timerange = take_time_range(stages)
    data = doc.data
    title = _text(data.get("name")) or _text(data.get("title"))
    if not title:
        title = PurePath(source.path).stem if source.path else "SPL detection"
    tags_data = data.get("tags")
    attack: list[Any] = []
    if isinstance(tags_data, dict):
        attack.extend(_list(tags_data.get("mitre_attack_id")))
    attack.extend(_list(data.get("technique_id")))
    tags = tuple(dict.fromkeys(f"attack.{str(t).strip().lower()}" for t in attack if t))
    definition = _text(data.get("how_to_implement"))
    return Rule(
        title,
        tuple(stages),
        logsource=LogSource(definition=definition),
        id=_text(data.get("id")),
        description=_text(data.get("description")),
        status=_text(data.get("status")),
        author=_text(data.get("author")),
        date=_text(data.get("date")),
        references=tuple(str(r) for r in _list(data.get("references")) if r is not None),
        falsepositives=tuple(
            str(f) for f in _list(data.get("known_false_positives")) if f is not None
        ),
        tags=tags,
        timerange=timerange,
        language="spl",
        custom=_data_sources(data),
        source_text=spl,
        span=source.offset_span(doc.node.start_mark.index),
    )


def _data_sources(data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """security_content's ``data_source`` list (the detection's declared data sources, as
    named in its ``data_sources/*.yml``), kept as custom metadata: the Sigma writer reads the
    log source from it where the search's own settings name none."""
    names = [str(n) for n in _list(data.get("data_source")) if n is not None]
    return (("data_source", json.dumps(names)),) if names else ()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
