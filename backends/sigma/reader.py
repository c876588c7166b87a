"""Sigma reader: Sigma YAML text in, ruleglot IR :class:`~ir.nodes.Rule` objects out.

What this module owns
    * Loading the YAML documents of one input (a single rule or a Sigma collection with
      ``action: global`` / ``reset`` / ``repeat``), with a position for every node.
    * Letting pySigma do Sigma's own work: modifiers (``contains``, ``base64offset``, ``windash``,
      ...), the condition grammar and its selectors (``1 of selection_*``, ``all of them``).
    * Mapping pySigma's parsed condition and value types onto IR predicates, following the kind
      table in :mod:`ir.nodes` (plain strings become ``eq``/``contains``/``startswith``/
      ``endswith`` when the wildcards allow it, ``wildcard`` patterns otherwise; keywords are
      field-less and match anywhere in a value).
    * Positions: pySigma fills no locations, so the same text is composed with PyYAML and every
      Predicate (its value node), Filter (its condition node) and Rule (its document) gets a
      :class:`~ir.errors.Span`.
    * Errors: whatever goes wrong leaves :func:`read_sigma` as a positioned
      :class:`~ir.errors.RuleglotError` (``syntax`` for YAML, ``invalid`` for rules pySigma
      rejects, ``unsupported`` for ``expand`` placeholders and filter documents). Correlation
      documents are read by :mod:`backends.sigma.correlation`.

What it must not do
    Define what a predicate means (that is :mod:`ir.nodes` and the evaluator), apply processing
    pipelines or field mappings, or write any output language.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import re
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NoReturn, TypeAlias

import yaml
from sigma.collection import deep_dict_update
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import (
    SigmaAuthorError,
    SigmaDateError,
    SigmaDescriptionError,
    SigmaFalsePositivesError,
    SigmaFieldsError,
    SigmaIdentifierError,
    SigmaLevelError,
    SigmaLicenseError,
    SigmaLogsourceError,
    SigmaModifiedError,
    SigmaNameError,
    SigmaReferencesError,
    SigmaRelatedError,
    SigmaScopeError,
    SigmaStatusError,
    SigmaTagError,
    SigmaTaxonomyError,
    SigmaTitleError,
)
from sigma.modifiers import modifier_mapping
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from backends.sigma.aggregation import LegacyAggregation, drop_timeframe, split_aggregation
from backends.sigma.correlation import Referenced, read_correlation
from backends.sigma.leniency import Loosened, loosen
from backends.sigma.yamldoc import (
    SELF,
    WARNING_KINDS,
    Doc,
    Loc,
    SeqLoc,
    SigmaSource,
    child_loc,
    drop_key,
    item_locs,
    key_of,
    rule_metadata,
    span_inside,
    span_of_key,
    span_of_loc,
    text_or_none,
)
from backends.yaml_loaders import FAST_LOADER, SLOW_LOADER
from ir.errors import RuleglotError, Span
from ir.nodes import (
    Expr,
    FieldRef,
    Filter,
    Kind,
    LogSource,
    Not,
    Pattern,
    Predicate,
    Regex,
    Rule,
    TimePart,
    Wildcard,
    all_of,
    any_of,
    string_kind,
)

__all__ = ["WARNING_KINDS", "read_sigma"]



def read_sigma(
    text: str,
    path: str | None = None,
    pipeline: ProcessingPipeline | None = None,
    *,
    warnings: list[dict[str, Any]] | None = None,
    lenient: bool = False,
) -> list[Rule]:
    """Every Sigma detection rule in ``text`` (one YAML document or a collection), as IR rules.

    ``path`` is only used in spans and error messages. ``pipeline`` (a pySigma processing
    pipeline: field mappings, added conditions...) is applied to each rule before it becomes IR,
    exactly as pySigma applies it before a backend converts; what a pipeline adds has the
    position of the rule or of the item it changed. Raises :class:`RuleglotError` and nothing
    else: ``syntax`` (malformed YAML), ``invalid`` (a rule pySigma rejects: unknown modifier,
    undefined identifier, bad condition, ...), ``unsupported`` (``expand`` placeholders,
    filter documents, correlation types or conditions :mod:`backends.sigma.correlation` does
    not read). Correlation rules become IR rules too (see that module).

    What is read leniently (Sigma 1.x aggregations, renamed log sources, keys outside the
    schema...) is appended to ``warnings`` (dicts of :func:`~ir.errors.lossy_warning`'s shape
    plus a ``kind``: :data:`WARNING_KINDS`). ``lenient`` reads duplicate YAML keys as PyYAML
    does (the last wins, with a warning) instead of refusing them.
    """
    source = SigmaSource(text, path, lenient)
    try:
        docs = _load_documents(source)
        rules = _read_collection(docs, source, pipeline)
    except RuleglotError as exc:
        raise source.clamp(exc) from None
    except RecursionError:
        raise source.error("input nested too deeply to read", "invalid", None) from None
    except Exception as exc:  # last resort: never let a library's exception out
        raise source.error(f"cannot read Sigma input: {exc}", "invalid", None) from exc
    if not rules:
        raise source.error("no Sigma rule in input", "invalid", None)
    if warnings is not None:
        warnings.extend(source.warnings)
    return rules


_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"


#: What YAML (and PyYAML's reader) counts as a line break.
_YAML_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _end_of_text(text: str) -> tuple[int, int] | None:
    """The 0-based (line, column) of the end of ``text`` if it does not end with a line break."""
    if not text or text[-1] in "\r\n\x85\u2028\u2029":
        return None
    lines = 0
    last = 0
    for found in _YAML_BREAKS.finditer(text):
        lines += 1
        last = found.end()
    return lines, len(text) - last


def _load_documents(source: SigmaSource) -> list[Doc]:
    """Compose every YAML document and build its data and location tree.

    libyaml composes when it is there; should it refuse the text, the pure-Python composer
    reads it again, so that syntax errors (messages and positions) are PyYAML's own whichever
    composer is installed."""
    if FAST_LOADER is not None:
        source.eof = _end_of_text(source.text)
        try:
            builder = _TreeBuilder(source)
            docs = []
            for node in yaml.compose_all(source.text, Loader=FAST_LOADER):
                if node is not None:
                    data, loc = builder.build(node)
                    docs.append(Doc(data, loc, source.span(node)))
            return docs
        except RuleglotError:
            raise
        except Exception:  # noqa: S110 - read again below, for PyYAML's own error
            pass
        finally:
            source.eof = None
    return _load_documents_slowly(source)


def _load_documents_slowly(source: SigmaSource) -> list[Doc]:
    """:func:`_load_documents` with PyYAML's pure-Python composer."""
    builder = _TreeBuilder(source)
    docs: list[Doc] = []
    try:
        for node in yaml.compose_all(source.text, Loader=SLOW_LOADER):
            if node is None:
                continue
            data, loc = builder.build(node)
            docs.append(Doc(data, loc, source.span(node)))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = source.span(mark) if mark is not None else None
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc)
        raise source.error(f"YAML: {message}", "syntax", span) from None
    except yaml.reader.ReaderError as exc:
        message = f"YAML: unacceptable character #x{exc.character:04x}"
        raise source.error(message, "syntax", source.offset_span(exc.position)) from None
    except yaml.YAMLError as exc:
        raise source.error(f"YAML: {exc}", "syntax", None) from None
    return docs


class _TreeBuilder:
    """Builds data exactly as ``yaml.safe_load`` does, plus a location tree of the same shape.

    Duplicate keys are refused (``safe_load`` silently keeps the last one, which would drop a
    selection without a word); recursive aliases are refused (no Sigma rule needs them).
    """

    def __init__(self, source: SigmaSource) -> None:
        self.source = source
        self.constructor = yaml.constructor.SafeConstructor()
        self.active: set[int] = set()

    def build(self, node: yaml.Node) -> tuple[Any, Loc]:
        if isinstance(node, yaml.ScalarNode):
            # a string is its node's text (SafeConstructor.construct_yaml_str)
            value = node.value if node.tag == _STR_TAG else self._scalar(node)
            return value, self._scalar_loc(node)
        if id(node) in self.active:
            raise self.source.error("recursive YAML alias", "invalid", self.source.span(node))
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
                return self._mapping(node)
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
                return self._sequence(node)
            return self._scalar(node), self.source.span(node)
        finally:
            self.active.discard(id(node))

    def _scalar_loc(self, node: yaml.ScalarNode) -> Span | yaml.ScalarNode:
        """The node itself (a span made on demand), unless its marks need moving
        (:meth:`SigmaSource.position`)."""
        eof = self.source.eof
        if eof is not None and node.end_mark.line > eof[0]:
            return self.source.span(node)
        return node

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # e.g. a timestamp with month 13
            raise self.source.error(
                f"YAML value {getattr(node, 'value', '')!r}: {exc}",
                "invalid",
                self.source.span(node),
            ) from None

    def _sequence(self, node: yaml.SequenceNode) -> tuple[list[Any], SeqLoc]:
        built = [self.build(item) for item in node.value]
        return [d for d, _ in built], SeqLoc(self.source.span(node), [loc for _, loc in built])

    def _mapping(self, node: yaml.MappingNode) -> tuple[dict[Any, Any], dict[Any, Any]]:
        data: dict[Any, Any] = {}
        loc: dict[Any, Any] = {SELF: self.source.span(node)}
        explicit = [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self._merge_into(data, loc, value_node)
        seen: dict[Any, yaml.Node] = {}
        for key_node, value_node in explicit:
            key = self._key(key_node, seen)
            data[key], loc[key] = self.build(value_node)
            loc[key_of(key)] = (
                self._scalar_loc(key_node)
                if isinstance(key_node, yaml.ScalarNode)
                else self.source.span(key_node)
            )
            if _names_a_field(key):
                data[key] = _field_names_as_written(data[key], value_node)
        return data, loc

    def _key(self, key_node: yaml.Node, seen: dict[Any, yaml.Node]) -> Any:
        """A mapping key. YAML forbids a key twice in one mapping and PyYAML silently keeps
        the last value, which drops a selection without a word: an error naming both
        positions, or (``lenient``) PyYAML's reading with a warning."""
        key, _ = self.build(key_node)
        if not isinstance(key, Hashable):
            span = self.source.span(key_node)
            raise self.source.error("YAML: unhashable mapping key", "syntax", span)
        if key in seen:
            span = self.source.span(key_node)
            first = self.source.span(seen[key])
            where = f"line {first.line} column {first.col}"
            if not self.source.lenient:
                message = (
                    f"duplicate key {key!r} (first at {where}): YAML forbids it and PyYAML "
                    "would keep only this one, dropping the first (--lenient reads it so)"
                )
                raise self.source.error(message, "invalid", span, "duplicate-key")
            message = f"duplicate key {key!r}: the value at {where} is dropped, as PyYAML does"
            self.source.warn("duplicate-key", str(key), message, span)
        seen[key] = key_node
        return key

    def _merge_into(self, data: dict[Any, Any], loc: dict[Any, Any], node: yaml.Node) -> None:
        """YAML merge keys (``<<: *base``): earlier sources win, explicit keys override later."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source_node in sources:
            merged, merged_loc = self.build(source_node)
            if not isinstance(merged, dict) or not isinstance(merged_loc, dict):
                span = self.source.span(source_node)
                raise self.source.error("YAML: merge key needs a mapping", "syntax", span)
            for key, value in merged.items():
                if key not in data:
                    data[key], loc[key] = value, merged_loc.get(key)
                    loc[key_of(key)] = merged_loc.get(key_of(key))


def _names_a_field(key: Any) -> bool:
    """A detection key whose values are field names (``field|fieldref``), not values."""
    return isinstance(key, str) and "fieldref" in key and "fieldref" in key.split("|")[1:]


def _field_names_as_written(value: Any, node: yaml.Node) -> Any:
    """Field names exactly as written: YAML reads ``f|fieldref: 3`` as the number 3, but the
    value names the field ``3`` (sigma-rust's ``test_match_fieldref_int``/``_float`` vectors)."""
    if isinstance(node, yaml.ScalarNode) and isinstance(value, (int, float)):
        return node.value
    if isinstance(node, yaml.SequenceNode) and isinstance(value, list):
        return [_field_names_as_written(v, n) for v, n in zip(value, node.value, strict=True)]
    return value


# --- Sigma collections --------------------------------------------------------------------------


def _merge(dest: Doc, src: Doc) -> Doc:
    """pySigma's ``deep_dict_update(dest, src)`` on the data, and the same on the locations."""
    data = deep_dict_update(dest.data, src.data)
    loc = _merge_locs(dest.loc, src.loc) if isinstance(src.loc, dict) else dest.loc
    return Doc(data, loc, dest.span)


def _merge_locs(dest: Any, src: dict[Any, Any]) -> dict[Any, Any]:
    """``deep_dict_update`` for location trees, tolerant of shapes that do not match."""
    target: dict[Any, Any] = dest if isinstance(dest, dict) else {}
    for key, value in src.items():
        target[key] = _merge_locs(target.get(key), value) if isinstance(value, dict) else value
    return target


def _rule_documents(docs: list[Doc], source: SigmaSource) -> Iterator[Doc]:
    """The rule documents of a collection, with ``global``/``reset``/``repeat`` applied as
    ``SigmaCollection.from_dicts`` applies them, except that several ``global`` documents
    accumulate, as the Sigma 1.x specification says ("Multiple *global* action documents are
    accumulated", sigma-specification ``archives/wiki.md``, "Rule Collections"; pySigma keeps
    only the last). Each is yielded before the next is merged; each rule of a collection gets
    a ``collection`` warning naming the documents (1-based positions) it was merged from."""
    empty = Span(1, 1, source.path)
    global_doc = Doc({}, {}, empty)
    previous = Doc({}, {}, empty)
    globals_: list[int] = []  # positions of the global documents in force
    origin: list[int] = []  # positions of the documents ``previous`` was made from
    collection = any(isinstance(d.data, dict) and "action" in d.data for d in docs)
    for position, doc in enumerate(docs, 1):
        if doc.data is None:  # empty document, e.g. after a trailing '---'
            continue
        if not isinstance(doc.data, dict):
            raise source.error("a Sigma document must be a YAML mapping", "invalid", doc.span)
        action = doc.data.get("action")
        if action is None:
            _refuse_meta_rules(doc, source)
            previous = _merge_doc(doc, global_doc, source)
            origin = [*globals_, position]
            if collection:
                _warn_collection(source, origin, doc.span)
            yield previous
        elif action == "global":
            drop_key(doc, "action")
            if globals_:
                doc = _merge_doc(
                    Doc(
                        copy.deepcopy(global_doc.data), _copy_loc(global_doc.loc), global_doc.span
                    ),
                    doc,
                    source,
                )
            global_doc = previous = doc
            globals_.append(position)
            origin = list(globals_)
        elif action == "reset":
            global_doc = Doc({}, {}, empty)
            globals_ = []
        elif action == "repeat":
            previous = _merge_doc(previous, doc, source)
            origin = [*origin, position]
            _warn_collection(source, origin, doc.span)
            yield Doc(previous.data, previous.loc, doc.span)
        else:
            span = span_of_loc(child_loc(doc.loc, "action"), doc.span)
            message = f"unknown Sigma collection action {action!r}"
            raise source.error(message, "invalid", span, "action")


def _warn_collection(source: SigmaSource, origin: list[int], span: Span) -> None:
    documents = " + ".join(str(p) for p in origin)
    message = f"rule of a Sigma 1.x collection, merged from document(s) {documents}"
    source.warn("collection", "action", message, span)


def _copy_loc(loc: Any) -> Any:
    """A copy of a location tree that a later merge cannot change; leaves are shared (YAML
    nodes are not copied: libyaml's marks do not survive ``copy.deepcopy``).

    Mappings lose their own span (``SELF``), as they did when the whole document was
    deep-copied (that copied the marker key too, so it was never found again): a correlation's
    errors point at the key of a mapping value (``condition:``), not at its first entry."""
    if isinstance(loc, dict):
        return {key: _copy_loc(value) for key, value in loc.items() if key is not SELF}
    if isinstance(loc, SeqLoc):
        return SeqLoc(loc.span, [_copy_loc(item) for item in loc.items])
    return loc


def _merge_doc(dest: Doc, src: Doc, source: SigmaSource) -> Doc:
    try:
        return _merge(dest, src)
    except Exception as exc:
        message = f"cannot merge collection documents: {exc}"
        raise source.error(message, "invalid", dest.span) from None


def _refuse_meta_rules(doc: Doc, source: SigmaSource) -> None:
    """Filter documents are rules about rules: not representable yet. (Correlation rules are
    read by :mod:`backends.sigma.correlation`.)"""
    for key, what in (("filter", "Sigma filters"),):
        if key in doc.data:
            span = span_of_key(doc.loc, key, doc.span)
            message = f"{what} are not supported (only detection and correlation rules are)"
            raise source.error(message, "unsupported", span, key)


def _read_collection(
    docs: list[Doc], source: SigmaSource, pipeline: ProcessingPipeline | None
) -> list[Rule]:
    """Every rule of the input in document order: detection rules as they come, correlation
    rules once every document is read (they reference rules of the same input by ``name`` or
    ``id``). A detection rule referenced by a correlation is only output when a correlation
    referencing it says ``generate: true`` (Sigma specification; see
    :mod:`backends.sigma.correlation`)."""

    read: list[Rule | Doc] = []
    known: list[Referenced] = []
    for doc in _rule_documents(docs, source):
        name, ident = text_or_none(doc.data.get("name")), text_or_none(doc.data.get("id"))
        kept = loosen(doc, source) if "detection" in doc.data else Loosened()
        if "correlation" in doc.data:
            # a copy: a later 'repeat' document merges into the yielded document's data
            read.append(Doc(copy.deepcopy(doc.data), _copy_loc(doc.loc), doc.span))
            known.append(Referenced(None, name, ident))
        elif (legacy := split_aggregation(doc, source)) is not None:
            read.append(_restore(_read_legacy_aggregation(legacy, source, pipeline), kept))
            known.append(Referenced(None, name, ident))
        else:
            drop_timeframe(doc, source)
            rule = _restore(_read_rule(doc, source, pipeline), kept)
            read.append(rule)
            known.append(Referenced(rule, name, ident))
    hidden: set[int] = set()
    shown: set[int] = set()
    out: list[Rule] = []
    for item in read:
        if isinstance(item, Rule):
            out.append(item)
            continue
        out.append(read_correlation(item, source, known))
        corr = item.data.get("correlation")
        refs = corr.get("rules") if isinstance(corr, Mapping) else None
        names = {str(r) for r in ([refs] if isinstance(refs, str) else refs or [])}
        targets = {id(k.rule) for k in known if k.rule and {k.name, k.id} & names}
        (shown if corr.get("generate") is True else hidden).update(targets)
    return [r for r in out if id(r) not in hidden or id(r) in shown]


def _restore(rule: Rule, kept: Loosened) -> Rule:
    """``rule`` with the metadata :func:`~backends.sigma.leniency.loosen` hid from pySigma."""
    changes = kept.apply({})
    return dataclasses.replace(rule, **changes) if changes else rule


def _read_legacy_aggregation(
    legacy: LegacyAggregation, source: SigmaSource, pipeline: ProcessingPipeline | None
) -> Rule:
    """A Sigma 1.x aggregation rule as the correlation rule it means
    (:mod:`backends.sigma.aggregation`), with a ``deprecated`` warning."""

    known = [
        Referenced(_read_rule(doc, source, pipeline), name, None) for name, doc in legacy.referenced
    ]
    rule = read_correlation(legacy.correlation, source, known)
    kind = legacy.correlation.data["correlation"]["type"]
    message = (
        f"Sigma 1.x '{legacy.construct}' aggregation read as a {kind} correlation rule "
        "(the pipe syntax is deprecated)"
    )
    source.warn("deprecated", legacy.construct, message, legacy.span)
    return rule


#: Modifiers pySigma implements with a different meaning than the Sigma specification; a rule
#: using one is refused rather than translated wrongly.
MISIMPLEMENTED_MODIFIERS = {
    "utf16": (
        "pySigma 1.5.1 writes the utf16 byte-order mark as UTF-8 (EF BB BF) instead of FF FE and "
        "base64offset then trims by characters, not bytes: the value would never match real "
        "UTF-16 data (Sigma specification, 'utf16' modifier)"
    ),
}


def _refuse_misimplemented_modifiers(doc: Doc, source: SigmaSource) -> None:
    detection = doc.data.get("detection")
    detection_loc = child_loc(doc.loc, "detection")
    if not isinstance(detection, Mapping):
        return

    def keys(definition: Any, loc: Any) -> Iterator[tuple[str, Any]]:
        if isinstance(definition, Mapping):
            for key in definition:
                yield key, span_of_key(loc, key, doc.span)
        elif isinstance(definition, list):
            for item, item_loc in zip(definition, item_locs(loc, len(definition)), strict=True):
                yield from keys(item, item_loc)

    for name, definition in detection.items():
        for key, span in keys(definition, child_loc(detection_loc, name)):
            for modifier in str(key).split("|")[1:]:
                if modifier in MISIMPLEMENTED_MODIFIERS:
                    message = f"modifier '{modifier}': {MISIMPLEMENTED_MODIFIERS[modifier]}"
                    raise source.error(message, "unsupported", span, modifier)


# --- one rule -----------------------------------------------------------------------------------


def _read_rule(doc: Doc, source: SigmaSource, pipeline: ProcessingPipeline | None = None) -> Rule:
    """One rule document (already merged with its collection's global part) as an IR rule."""
    _refuse_misimplemented_modifiers(doc, source)
    sigma_rule = _parse_with_pysigma(doc, source)
    if pipeline is not None:
        try:
            pipeline.apply(sigma_rule)
        except Exception as exc:  # a pipeline refusing a rule (pySigma's failure transformations)
            message = f"processing pipeline refused the rule: {exc}"
            raise source.error(message, "unsupported", doc.span, "pipeline") from None
    positions = _Positions.of_rule(sigma_rule, doc)
    detection_loc = child_loc(doc.loc, "detection")
    condition_loc = child_loc(detection_loc, "condition")
    filter_span = span_of_loc(condition_loc, span_of_loc(detection_loc, doc.span))
    condition_spans = item_locs(condition_loc, len(sigma_rule.detection.condition))
    exprs = [
        _read_condition(index, sigma_rule, positions, span_of_loc(loc, filter_span), source)
        for index, loc in enumerate(condition_spans)
    ]
    return Rule(
        title=sigma_rule.title,
        stages=(Filter(any_of(exprs), span=filter_span),),
        logsource=_logsource(sigma_rule),
        language="sigma",
        span=doc.span,
        **rule_metadata(sigma_rule),
    )


def _parse_with_pysigma(doc: Doc, source: SigmaSource) -> SigmaRule:
    try:
        sigma_rule = SigmaRule.from_dict(doc.data, collect_errors=True)
        errors: list[Exception] = list(sigma_rule.errors)
    except Exception as exc:
        errors = [exc]
    if errors:
        span, construct = _locate_error(errors[0], doc)
        notes = [str(e) for e in errors[1:]]
        raise source.error(str(errors[0]), "invalid", span, construct, notes)
    return sigma_rule


def _logsource(rule: SigmaRule) -> LogSource:
    ls = rule.logsource
    return LogSource(
        product=text_or_none(ls.product),
        category=text_or_none(ls.category),
        service=text_or_none(ls.service),
        definition=text_or_none(ls.definition),
    )




# --- positions of pySigma's objects -------------------------------------------------------------


@dataclass
class _Positions:
    """Spans of pySigma's detections, detection items and values, keyed by object identity.

    pySigma's condition leaves hold the very value objects of the detection items, and their
    ``parent`` chains lead back to detection items and detections, so a leaf finds its span here.
    The rule object keeps all of them alive, so identities are stable while the rule is read.
    """

    spans: dict[int, Span] = field(default_factory=dict)

    @classmethod
    def of_rule(cls, rule: SigmaRule, doc: Doc) -> _Positions:
        positions = cls()
        # A position lookup never fails a read: leaves fall back to the condition's span.
        with contextlib.suppress(Exception):
            positions._add_rule(rule, doc)
        return positions

    def span_of(self, leaf: object, default: Span) -> Span:
        for obj in self._chain(leaf):
            if id(obj) in self.spans:
                return self.spans[id(obj)]
        return default

    @staticmethod
    def _chain(leaf: object) -> Iterator[object]:
        yield getattr(leaf, "value", None)
        node: object = leaf
        for _ in range(1000):
            yield node
            node = getattr(node, "parent", None)
            if node is None:
                return

    def _add(self, obj: object, span: Span) -> None:
        self.spans.setdefault(id(obj), span)

    def _add_rule(self, rule: SigmaRule, doc: Doc) -> None:
        data = doc.data.get("detection")
        loc = child_loc(doc.loc, "detection")
        default = span_of_loc(loc, doc.span)
        if not isinstance(data, Mapping):
            return
        for name, detection in rule.detection.detections.items():
            span = span_of_loc(child_loc(loc, name), span_of_key(loc, name, default))
            self._add_detection(detection, data.get(name), child_loc(loc, name), span)

    def _add_detection(self, detection: SigmaDetection, data: Any, loc: Any, span: Span) -> None:
        """Follows ``SigmaDetection.from_definition``: a map gives one item per key, a list of
        plain values one item, any other list one sub-detection per element."""
        span = span_of_loc(loc, span)
        self._add(detection, span)
        items = detection.detection_items
        if isinstance(data, Mapping):
            for item, key in zip(items, list(data.keys()), strict=False):
                key_span = span_of_key(loc, key, span)
                self._add_item(item, data[key], child_loc(loc, key), key_span)
        elif isinstance(data, list) and all(isinstance(i, SigmaDetection) for i in items):
            for sub, sub_data, sub_loc in zip(items, data, item_locs(loc, len(data)), strict=False):
                if isinstance(sub, SigmaDetection):
                    self._add_detection(sub, sub_data, sub_loc, span)
        else:
            for item in items:
                self._add_item(item, data, loc, span)

    def _add_item(self, item: Any, data: Any, loc: Any, span: Span) -> None:
        self._add(item, span)
        if not isinstance(item, SigmaDetectionItem):
            return
        values = data if isinstance(data, list) else [data]
        locs = item_locs(loc, len(values)) if isinstance(data, list) else [loc]
        if len(item.value) == len(values):
            for value, value_loc in zip(item.value, locs, strict=True):
                self._add(value, span_of_loc(value_loc, span_of_loc(loc, span)))
        else:
            for value in item.value:
                self._add(value, span_of_loc(loc, span))


# --- where pySigma's errors are -----------------------------------------------------------------

#: Rule-level errors and the key they are about.
_META_ERRORS: dict[type, str] = {
    SigmaTitleError: "title",
    SigmaIdentifierError: "id",
    SigmaNameError: "name",
    SigmaTaxonomyError: "taxonomy",
    SigmaRelatedError: "related",
    SigmaLevelError: "level",
    SigmaStatusError: "status",
    SigmaTagError: "tags",
    SigmaDateError: "date",
    SigmaModifiedError: "modified",
    SigmaFieldsError: "fields",
    SigmaFalsePositivesError: "falsepositives",
    SigmaAuthorError: "author",
    SigmaDescriptionError: "description",
    SigmaReferencesError: "references",
    SigmaScopeError: "scope",
    SigmaLicenseError: "license",
    SigmaLogsourceError: "logsource",
}

_PLAIN = (str, int, float, bool, type(None))

Fault: TypeAlias = "tuple[Span, str | None]"


def _locate_error(exc: Exception, doc: Doc) -> Fault:
    """Where in ``doc`` the error pySigma raised while building the rule is, and its construct."""
    key = _META_ERRORS.get(type(exc))
    if key is None and "tag" in str(exc).lower():
        key = "tags"
    if key is not None:
        return _meta_fault(key, doc), None
    detection = doc.data.get("detection") if isinstance(doc.data, dict) else None
    detection_loc = child_loc(doc.loc, "detection")
    fault = _detection_fault(detection, detection_loc, span_of_loc(detection_loc, doc.span))
    if fault is not None:
        return fault
    if detection is None:
        return doc.span, None
    return span_of_key(doc.loc, "detection", doc.span), None


def _meta_fault(key: str, doc: Doc) -> Span:
    """The value of the rule-level key; for tags, the first one that is not ``namespace.name``."""
    loc = child_loc(doc.loc, key)
    span = span_of_loc(loc, span_of_key(doc.loc, key, doc.span))
    values = doc.data.get(key) if isinstance(doc.data, dict) else None
    if key == "tags" and isinstance(values, list):
        for value, item_loc in zip(values, item_locs(loc, len(values)), strict=True):
            if not isinstance(value, str) or "." not in value:
                return span_of_loc(item_loc, span)
    return span


def _fails(build: Callable[[], object]) -> bool:
    try:
        build()
    except Exception:
        return True
    return False


def _detection_fault(data: Any, loc: Any, span: Span) -> Fault | None:
    """The first detection (then key, then value) that pySigma rejects on its own."""
    if not isinstance(data, Mapping):
        return None
    for name, definition in data.items():
        if name == "condition":
            continue
        name_span = span_of_loc(child_loc(loc, name), span_of_key(loc, name, span))
        fault = _definition_fault(definition, child_loc(loc, name), name_span)
        if fault is not None:
            return fault
    return None


def _definition_fault(definition: Any, loc: Any, span: Span) -> Fault | None:
    if not _fails(partial(SigmaDetection.from_definition, definition)):
        return None
    if isinstance(definition, Mapping):
        for key, value in definition.items():
            key_span = span_of_key(loc, key, span)
            fault = _item_fault(key, value, child_loc(loc, key), key_span)
            if fault is not None:
                return fault
    elif isinstance(definition, list) and not all(isinstance(v, _PLAIN) for v in definition):
        for item, item_loc in zip(definition, item_locs(loc, len(definition)), strict=True):
            fault = _definition_fault(item, item_loc, span_of_loc(item_loc, span))
            if fault is not None:
                return fault
    return span, None


def _item_fault(key: Any, value: Any, loc: Any, key_span: Span) -> Fault | None:
    """An unknown modifier points at the key; any other error at the first failing value, with
    the first modifier that makes it fail as the construct."""
    if not _fails(partial(SigmaDetectionItem.from_mapping, key, value)):
        return None
    if not isinstance(key, str):
        return key_span, None
    name, *modifiers = key.split("|")
    for modifier in modifiers:
        if modifier not in modifier_mapping:
            return key_span, modifier
    construct = _failing_modifier(name, modifiers, value)
    if isinstance(value, list):
        for item, item_loc in zip(value, item_locs(loc, len(value)), strict=True):
            if _fails(partial(SigmaDetectionItem.from_mapping, key, item)):
                return span_of_loc(item_loc, key_span), construct
    return span_of_loc(loc, key_span), construct


def _failing_modifier(name: str, modifiers: list[str], value: Any) -> str | None:
    for count in range(1, len(modifiers) + 1):
        key = "|".join([name, *modifiers[:count]])
        if _fails(partial(SigmaDetectionItem.from_mapping, key, value)):
            return modifiers[count - 1]
    return None


# --- conditions ---------------------------------------------------------------------------------


@dataclass
class _ConditionReader:
    """Turns one parsed pySigma condition into an IR expression."""

    positions: _Positions
    span: Span  # the condition's own node: the fallback for every leaf
    source: SigmaSource

    def expr(self, node: Any) -> Expr:
        if isinstance(node, ConditionAND):
            return all_of([self.expr(arg) for arg in node.args])
        if isinstance(node, ConditionOR):
            return any_of([self.expr(arg) for arg in node.args])
        if isinstance(node, ConditionNOT):
            return Not(self.expr(node.args[0]))
        if isinstance(node, ConditionFieldEqualsValueExpression):
            return self.value(node.field, node.value, self.positions.span_of(node, self.span))
        if isinstance(node, ConditionValueExpression):
            return self.keyword(node.value, self.positions.span_of(node, self.span))
        if node is None:
            message = "a selector in the condition ('1 of ...'/'all of ...') matches no detection"
            raise self.source.error(message, "invalid", self.span, "selector")
        message = f"unexpected condition element {type(node).__name__}"
        raise self.source.error(message, "invalid", self.span)

    # --- values bound to a field

    def value(self, name: str | None, value: SigmaType, span: Span) -> Expr:
        if isinstance(value, SigmaExpansion):  # windash, base64offset: any of the variants
            return any_of([self.value(name, v, span) for v in value.values], span)
        if isinstance(value, SigmaString):
            return self.string(name, value, span)
        if isinstance(value, SigmaTimestampPart):  # before SigmaNumber: it is one
            unit = value.timestamp_part.name.lower()
            return Predicate(name, Kind.TIMEPART, TimePart(unit, int(value.number)), span=span)
        if isinstance(value, SigmaNumber):
            return Predicate(name, Kind.EQ, value.number, span=span)
        if isinstance(value, SigmaBool):
            return Predicate(name, Kind.EQ, value.boolean, span=span)
        if isinstance(value, SigmaNull):
            return Predicate(name, Kind.NULL, None, span=span)
        if isinstance(value, SigmaExists):
            return Predicate(name, Kind.EXISTS, value.exists, span=span)
        if isinstance(value, SigmaRegularExpression):
            return self.regex(name, value, span)
        if isinstance(value, SigmaCIDRExpression):
            return Predicate(name, Kind.CIDR, str(value.network), span=span)
        if isinstance(value, SigmaCompareExpression):
            return self.compare(name, value, span)
        if isinstance(value, SigmaFieldReference):
            return Predicate(name, Kind.FIELDREF, _field_ref(value), span=span)
        self.fail(f"Sigma value type {type(value).__name__}", span, type(value).__name__)

    def string(
        self, name: str | None, value: SigmaString, span: Span, keyword: bool = False
    ) -> Expr:
        parts = Pattern(tuple(self.part(p, span) for p in value.s)).parts
        if keyword:
            parts = _anywhere(parts)
        kind, literal = string_kind(parts)
        cased = isinstance(value, SigmaCasedString)
        return Predicate(name, kind, literal, cased=cased, span=span)

    def part(self, part: object, span: Span) -> str | Wildcard:
        if isinstance(part, str):
            return part
        if part is SpecialChars.WILDCARD_MULTI:
            return Wildcard.MANY
        if part is SpecialChars.WILDCARD_SINGLE:
            return Wildcard.ONE
        if isinstance(part, Placeholder):
            self.fail(f"'expand' placeholder %{part.name}% without a pipeline", span, "expand")
        self.fail(f"Sigma string part {part!r}", span, type(part).__name__)

    def regex(self, name: str | None, value: SigmaRegularExpression, span: Span) -> Predicate:
        if isinstance(value.regexp, SigmaString) and value.regexp.contains_placeholder():
            self.fail("'expand' placeholder in a regular expression", span, "expand")
        flags = "".join(value.sigma_to_re_flag[f] for f in value.flags)
        return Predicate(name, Kind.REGEX, Regex(str(value.regexp), flags), span=span)

    def compare(self, name: str | None, value: SigmaCompareExpression, span: Span) -> Expr:
        number = value.number.number
        if value.op is CompareOperators.NEQ:
            return Not(Predicate(name, Kind.EQ, number, span=span), span=span)
        kind = {
            CompareOperators.LT: Kind.LT,
            CompareOperators.LTE: Kind.LTE,
            CompareOperators.GT: Kind.GT,
            CompareOperators.GTE: Kind.GTE,
        }[value.op]
        return Predicate(name, kind, number, span=span)

    # --- keywords: field-less values, matched anywhere inside any value of the event

    def keyword(self, value: SigmaType, span: Span) -> Expr:
        if isinstance(value, SigmaExpansion):
            return any_of([self.keyword(v, span) for v in value.values], span)
        if isinstance(value, SigmaString):
            return self.string(None, value, span, keyword=True)
        if isinstance(value, SigmaBool):  # compared through the JSON text of event values
            return Predicate(None, Kind.CONTAINS, "true" if value.boolean else "false", span=span)
        if isinstance(value, SigmaNumber) and not isinstance(value, SigmaTimestampPart):
            return Predicate(None, Kind.CONTAINS, str(value.number), span=span)
        if isinstance(value, (SigmaRegularExpression, SigmaCIDRExpression, SigmaCompareExpression)):
            return self.value(None, value, span)
        what = "null" if isinstance(value, SigmaNull) else type(value).__name__
        raise self.source.error(f"a keyword cannot be {what}", "invalid", span, "keyword")

    def fail(self, what: str, span: Span, construct: str) -> NoReturn:
        raise self.source.error(f"{what} is not supported", "unsupported", span, construct)


def _read_condition(
    index: int, rule: SigmaRule, positions: _Positions, span: Span, source: SigmaSource
) -> Expr:
    condition = rule.detection.parsed_condition[index]
    try:
        parsed = condition.parsed
    except Exception as exc:
        raise _condition_error(exc, condition.condition, span, source) from None
    return _ConditionReader(positions, span, source).expr(parsed)


def _condition_error(
    exc: Exception, condition: Any, span: Span, source: SigmaSource
) -> RuleglotError:
    """An error in the condition, pointing inside the condition string when that is possible."""
    message = str(exc)
    text = condition if isinstance(condition, str) else ""
    offset: int | None = None
    construct: str | None = None
    if (found := re.search(r"Detection '(.*)' not defined", message)) and text:
        hit = re.search(rf"(?<![\w-]){re.escape(found.group(1))}(?![\w-])", text)
        offset = hit.start() if hit else None
        construct = "identifier"
    elif found := re.search(r"\(at char (\d+)\)", message):
        offset = int(found.group(1))
    elif "Null value must be bound" in message:
        construct = "keyword"
    elif "pipe syntax" in message:
        offset = text.find("|") if "|" in text else None
        construct = "aggregation"
    return source.error(message, "invalid", span_inside(span, text, offset, source), construct)


# --- IR helpers ---------------------------------------------------------------------------------


def _anywhere(parts: tuple[str | Wildcard, ...]) -> tuple[str | Wildcard, ...]:
    """A keyword's parts with an implicit ``*`` at each end (never doubling one)."""
    if not parts:
        return (Wildcard.MANY, "", Wildcard.MANY)
    head = () if parts[0] is Wildcard.MANY else (Wildcard.MANY,)
    tail = () if parts[-1] is Wildcard.MANY else (Wildcard.MANY,)
    return head + parts + tail


def _field_ref(value: SigmaFieldReference) -> FieldRef:
    if value.starts_with and value.ends_with:
        return FieldRef(value.field, "contains")
    if value.starts_with:
        return FieldRef(value.field, "startswith")
    if value.ends_with:
        return FieldRef(value.field, "endswith")
    return FieldRef(value.field)
