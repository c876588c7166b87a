"""How the Sigma writer writes a predicate's field: for :mod:`backends.sigma.emit`, whose
``_Emitter`` the :class:`FieldWriter` mixin is part of (split from it by job; the module
docstring of :mod:`backends.sigma.emit`, "Predicates" and "Field names", says what each
reading means).

* :meth:`FieldWriter.lower`: every leaf of a detection tree made writable (mapped back through
  the field profile, :meth:`FieldWriter.map_field`; then checked, :meth:`FieldWriter.written`),
  or approximated or dropped with a warning (lossy).
* A field the profile takes from the first present of several is written exactly
  (:meth:`FieldWriter.first_present`), a file-name field on its path through
  :func:`ir.extractions.invert` (:meth:`FieldWriter.basename`, the ``basename`` warning when it
  has no exact form), and a field read whole (a correlation's group-by) as one event field
  (:meth:`FieldWriter.map_name`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from backends.sigma.detection import item, keyword_ok
from backends.sigma.emit_logsource import WINDOWS_SOURCE_PREFIXES, LogSourceWriter
from ir.errors import Span
from ir.extractions import Inexact, invert
from ir.fieldprofiles import Extraction
from ir.nodes import (
    And,
    Condition,
    Expr,
    FieldRef,
    Kind,
    Not,
    Pattern,
    Predicate,
    Wildcard,
    all_of,
    any_of,
)

__all__ = ["NO_TEMPORAL_KEYWORDS", "FieldWriter"]

#: Why a temporal correlation's rules hold no keyword (said in the warnings that drop one).
NO_TEMPORAL_KEYWORDS = (
    "the rules of a temporal correlation are read back as eval tags, which have no keyword "
    "(backends/sigma/correlation.py)"
)


class FieldWriter(LogSourceWriter):
    """The field part of the Sigma writer (a mixin of ``backends.sigma.emit._Emitter``, which
    sets these attributes and reports through ``problem``; the log-source reading it asks,
    :meth:`channel_of` and :meth:`is_setting`, is :class:`LogSourceWriter`'s)."""

    keywords: bool  # False in a temporal's rules: the reader tags them with eval

    # --- lowering: every leaf made writable, or dropped (lossy)

    def lower(self, expr: Expr, mapped: bool = False) -> Expr | None:
        """``expr`` with every leaf written or dropped (lossy); ``mapped``: its fields are
        event fields already (no field profile)."""
        if isinstance(expr, Predicate):
            return self.written(expr) if mapped else self.predicate(expr)
        if isinstance(expr, Condition):
            self.problem("condition", "an SPL eval expression has no Sigma equivalent", expr.span)
            return None
        if isinstance(expr, Not):
            arg = self.lower(expr.arg, mapped)
            return None if arg is None else Not(arg, span=expr.span)
        args = [a for a in (self.lower(a, mapped) for a in expr.args) if a is not None]
        if not args:
            return None
        return all_of(args) if isinstance(expr, And) else any_of(args)

    def predicate(self, p: Predicate) -> Expr | None:
        mapped = self.map_field(p) if self.profile is not None and p.field else p
        if isinstance(mapped, Predicate) and self.is_setting(mapped):
            self.problem(
                str(mapped.field),
                f"'{mapped.field}' {mapped.kind} {mapped.value_text()!r} is a Splunk search "
                "setting (which events Splunk reads), not an event field; where it is not a "
                "top-level condition of the search Sigma's log source cannot say it: dropped",
                mapped.span,
            )
            return None
        if mapped is None or isinstance(mapped, Predicate):
            return None if mapped is None else self.written(mapped)
        return self.lower(mapped, mapped=True)  # a first-present-of expansion

    def written(self, p: Predicate) -> Expr | None:
        """``p`` (on an event field) as Sigma can write it, or an approximation (lossy)."""
        if p.field is not None and "|" in p.field:
            self.problem("field", f"field name {p.field!r} holds '|', Sigma's modifier mark",
                         p.span)  # fmt: skip
            return None
        if p.field == "_raw" and self.rule.language != "sigma":
            return self.raw_text(p)
        if p.kind is Kind.EQ and isinstance(p.value, float) and p.value.is_integer():
            # pySigma reads a YAML 1.0 as the integer 1, which no longer equals the text "1.0"
            self.problem("number", f"the number {p.value!r} reads back from Sigma as "
                         f"{int(p.value)}, which does not equal the text {p.value!r}; "
                         "written as that integer", p.span)  # fmt: skip
            return replace(p, value=int(p.value))
        if p.kind is Kind.TERM:
            if not self.keywords:
                self.problem("term", f"SPL term {p.value!r} matches indexed terms of _raw; "
                             f"dropped: {NO_TEMPORAL_KEYWORDS}", p.span)  # fmt: skip
                return None
            self.problem(
                "term",
                f"SPL term {p.value!r} matches indexed terms of _raw, not a Sigma keyword; "
                "written as a keyword",
                p.span,
            )
            parts: list[str | Wildcard] = [Wildcard.MANY]
            for i, text in enumerate(str(p.value).split("*")):
                parts.extend([Wildcard.MANY, text] if i else [text])
            parts.append(Wildcard.MANY)
            return Predicate(None, Kind.WILDCARD, Pattern(tuple(parts)), span=p.span)
        if (
            p.kind is Kind.FIELDREF
            and isinstance(p.value, FieldRef)
            and (set(p.value.field) & set("*?") or "\\\\" in p.value.field)
        ):
            # pySigma refuses a |fieldref value with a wildcard, and an escaped one (``a\*b``,
            # ``a\\b``) reads back with its escapes (SigmaString.to_plain)
            self.problem("fieldref", f"a field reference to {p.value.field!r}: Sigma's "
                         "|fieldref cannot name a field with '*', '?' or two backslashes",
                         p.span)  # fmt: skip
            return None
        if p.kind is Kind.FIELDREF and p.cased:
            self.problem(
                "fieldref", "Sigma's |fieldref cannot be case-sensitive; written uncased", p.span
            )
            return Predicate(p.field, p.kind, p.value, False, span=p.span)
        if p.field is None and not self.keywords:
            self.problem("keyword", f"a field-less '{p.kind}' predicate: {NO_TEMPORAL_KEYWORDS}",
                         p.span)  # fmt: skip
            return None
        if p.field is None and not keyword_ok(p):
            self.problem(
                p.kind.value, f"a field-less '{p.kind}' predicate is not a Sigma keyword", p.span
            )
            return None
        return p

    def raw_text(self, p: Predicate) -> Predicate | None:
        """A predicate on SPL's ``_raw``: the whole raw event text, which Sigma has no field
        for. Lossy: the keyword form (a match in any one value of the event), if it has one."""
        keyword = Predicate(None, p.kind, p.value, p.cased, span=p.span)
        what = f"'_raw' {p.kind} {p.value_text()!r}: _raw is the raw event text, not a Sigma field"
        if not self.keywords or p.cased or not keyword_ok(keyword):
            reason = NO_TEMPORAL_KEYWORDS if not self.keywords else "no keyword form"
            self.problem("_raw", f"{what}; dropped: {reason}", p.span)
            return None
        self.problem("_raw", f"{what}; written as a keyword, which matches within one value "
                     "of the event instead", p.span)  # fmt: skip
        return keyword

    def map_field(self, p: Predicate) -> Expr | None:
        assert self.profile is not None and p.field is not None
        found = [x for x in self.profile.extractions if x.target == p.field]
        if not found:
            return p
        x = found[0]
        if x.transform == "copy" and len(x.sources) == 1:
            self.windows = True
            return _with_field(p, x.sources[0])
        if x.transform == "prefix" and x.argument in WINDOWS_SOURCE_PREFIXES:
            channel = self.channel_of(p)
            if channel is not None:
                self.windows = True
                return Predicate("Channel", Kind.EQ, channel, p.cased, span=p.span)
            if _windows_source(p):
                self.problem("source", f"'source' {p.kind} {p.value_text()!r}: no channel", p.span)
                return None
            return p  # not a Windows event source: the profile does not apply
        if x.transform == "constant" and not _windows_source(p, x.argument):
            return p
        if x.transform in ("copy", "basename") and len(x.sources) > 1:
            return self.first_present(p, x.transform, x.sources)
        if x.transform == "basename":
            return self.basename(p, x.sources)
        self.problem(x.transform, f"'{p.field}' is a computed Splunk field ({x.transform})",
                     p.span)  # fmt: skip
        return None

    def first_present(self, p: Predicate, transform: str, sources: Sequence[str]) -> Expr:
        """``p`` on a field the profile takes from the first of ``sources`` that is present
        and not null: ``p(s1) or (s1 is null and p(s2)) or ...``, exact because a predicate
        is false on a missing or null value; ``null``/``exists`` hold when all/any source
        does. The leaves then go through :meth:`basename` for a ``basename`` extraction."""
        self.windows = True
        span = p.span
        nulls = [Predicate(s, Kind.NULL, None, span=span) for s in sources]
        if p.kind is Kind.NULL or (p.kind is Kind.EXISTS and p.value is False):
            return all_of(nulls, span=span)
        if p.kind is Kind.EXISTS:
            return Not(all_of(nulls, span=span), span=span)
        alternatives: list[Expr] = []
        for index, source in enumerate(sources):
            if transform == "basename":
                leaf: Expr = self.basename(p, (source,), report=index == 0, named=sources)
            else:
                leaf = _with_field(p, source)
            alternatives.append(all_of([*nulls[:index], leaf], span=span))
        return any_of(alternatives, span=span)

    def basename(
        self,
        p: Predicate,
        sources: Sequence[str],
        report: bool = True,
        named: Sequence[str] | None = None,
    ) -> Expr:
        """``p`` on the file name of the path ``sources[0]``: the tree on the path that holds
        exactly when ``p`` holds on its file name, as the evaluator computes a file name
        (:func:`ir.extractions.invert`: ``process_name=x`` is ``Image`` equal to ``x`` or
        ending in ``\\x`` or ``/x``; startswith/contains/wildcards a ``|re`` anchored after
        the last separator); else (a comparison, a non-ASCII letter under Sigma's case rules,
        a value no file name has) the old approximation on the whole path, reported; an
        anchored regex, which has none, is dropped (:meth:`dropped_basename`)."""
        source = sources[0]
        value = p.value
        written: Predicate
        if p.kind is Kind.WILDCARD and value == Pattern((Wildcard.MANY,)):
            # ``f=*``: the file name of a path has a value exactly when the path has one
            self.windows = True
            return _with_field(p, source)
        try:
            exact = invert(p, Extraction(str(p.field), (source,), "basename"))
        except Inexact as err:
            if err.nearest is None:  # no form on the path (an anchored regex): dropped
                return self.dropped_basename(p, source, str(err), report, named)
            exact = None
        if exact is not None and not isinstance(exact, bool):
            self.windows = True
            return exact
        if p.kind is Kind.EQ and isinstance(value, str):
            written = Predicate(source, Kind.ENDSWITH, "\\" + value, p.cased, span=p.span)
        elif p.kind is Kind.STARTSWITH and isinstance(value, str):
            pattern = Pattern((Wildcard.MANY, "\\" + value, Wildcard.MANY))
            written = Predicate(source, Kind.WILDCARD, pattern, p.cased, span=p.span)
        elif p.kind is Kind.WILDCARD and isinstance(value, Pattern):
            pattern = Pattern((Wildcard.MANY, "\\", *value.parts))
            written = Predicate(source, Kind.WILDCARD, pattern, p.cased, span=p.span)
        else:
            written = _with_field(p, source)
        key, text = item(written)
        if not report:
            return written
        why = (
            f"no file name holds a path separator, so the search's test is always {exact}"
            if isinstance(exact, bool) else "not the same values (a bare name, other folders)"
        )  # fmt: skip
        self.problem(
            "basename",
            f"'{p.field}' is the file name of {' or '.join(named or sources)}; written as "
            f"{key}: {text!r}, on the whole path: {why}",
            p.span,
        )
        self.windows = True
        return written

    def dropped_basename(
        self, p: Predicate, source: str, why: str, report: bool, named: Sequence[str] | None
    ) -> Expr:
        """A test of a file name no predicate on the path comes near (:func:`ir.extractions.
        invert`: an anchored regex; ``^`` on the whole path would match no event): dropped,
        as the data-model writer drops it, leaving that the file name has a value."""
        if report:
            self.problem(
                "basename",
                f"'{p.field}' {p.kind} {p.value_text()!r} on the file name of "
                f"{' or '.join(named or (source,))}: {why}; dropped",
                p.span,
            )
        self.windows = True
        return Predicate(source, Kind.WILDCARD, Pattern((Wildcard.MANY,)), span=p.span)

    # --- a field read whole

    def map_name(self, name: str, span: Span | None) -> str:
        """A field read whole (a group-by field, value_count's field) through the profile."""
        if self.profile is None:
            return name
        found = [x for x in self.profile.extractions if x.target == name]
        if not found:
            return name
        x = found[0]
        self.windows = True
        if x.transform == "copy" and len(x.sources) == 1:
            return x.sources[0]
        if x.transform == "prefix" and x.argument in WINDOWS_SOURCE_PREFIXES:
            return "Channel"  # the channel behind a fixed prefix: the same groups
        if x.transform == "copy":
            self.problem(
                "coalesce",
                f"'{name}' is the first present of {', '.join(x.sources)}: no single Sigma "
                f"field; grouped by {x.sources[0]}",
                span,
            )
            return x.sources[0]
        self.problem(
            x.transform,
            f"'{name}' is a computed Splunk field ({x.transform} of {', '.join(x.sources)}); "
            f"grouped by {x.sources[0]}, which makes other groups",
            span,
        )
        return x.sources[0]


def _with_field(p: Predicate, name: str) -> Predicate:
    return Predicate(name, p.kind, p.value, p.cased, span=p.span)


def _windows_source(p: Predicate, constant: str | None = None) -> bool:
    """Whether ``p``'s value names Windows event logs (a source prefix or the sourcetype)."""
    text = p.value_text().lower()
    if constant is not None:
        return text.startswith(constant.lower())
    return any(text.startswith(prefix.lower()) for prefix in WINDOWS_SOURCE_PREFIXES)
