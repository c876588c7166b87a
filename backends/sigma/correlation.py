"""Sigma correlation rules (Sigma specification, "Sigma Correlation Rules") as IR rules.

A correlation document of a collection becomes one :class:`~ir.nodes.Rule` (language
``sigma``) whose stages :func:`backends.sigma.correlation_shape.to_stages` builds (the one
correlation shape, which the writers recognise with the same definitions), in order:

1. ``Filter`` (``search``): the OR of the filters of the referenced detection rules.
2. ``temporal`` only: ``Eval`` setting ``sigma_rule`` to the names of the referenced rules the
   event matches, ``mvappend(if(<rule 1>, "name1", null()), ...)`` (an event matching two rules
   counts for both). The eval expressions are the referenced filters rewritten as SPL eval
   (``match(f, "(?i)^...$")`` for strings, comparisons for numbers); a filter using a predicate
   kind eval cannot express exactly (keywords, ``cidr``, ``exists``, ``fieldref``,
   ``timepart``) is an ``unsupported`` error. ``(?i)`` is the regex engine's case folding, not
   ``str.lower``: the two differ only for a few non-ASCII letters.
3. ``Bin(field="_time", span_text=<timespan>)`` (Sigma ``M``, months, becomes ``mon``).
4. ``Stats``: ``count`` (event_count), ``dc(<field>) as value_count`` (value_count),
   ``sum(<field>) as value_sum``, ``avg(<field>) as value_avg`` (value_sum, value_avg) or
   ``dc(sigma_rule) as rule_count`` (temporal), by ``_time`` and the ``group-by`` fields.
   ``Stats.options`` keeps ``("timespan", <timespan as written>)`` and
   ``("approximation", "bin")`` so the approximation below stays visible in the IR.
5. ``Filter`` (``where``): a predicate on the aggregate (``gt``/``gte``/``lt``/``lte``/``eq``;
   ``neq`` is ``Not(eq)``). ``temporal`` without a condition means every referenced rule:
   ``rule_count >= len(rules)``.

Named approximation: timespan is a window, Bin makes buckets
    Sigma's ``timespan`` is a sliding window ("within 5m"); ``bin _time span=5m`` cuts time
    into fixed buckets aligned on the epoch. This is the reading pySigma-backend-splunk uses
    (``| bin _time span=5m | stats count by _time ...``), and ruleglot uses it too, so that
    running the IR and running the emitted SPL agree. A burst that straddles a bucket edge
    (3 events at 12:04, 12:05, 12:06 with 5m) is counted in two buckets and can be missed,
    and vice versa nothing outside the window is ever counted. ``temporal_ordered`` (order
    within the window) is not expressed by buckets and is ``unsupported``, as are the
    ``value_percentile``/``value_median`` types, extended
    (boolean) conditions, ``aliases`` (a field named differently in each rule) and
    correlations of correlations.

Log source
    The referenced rules' log source when they all have the same one, else empty (the rule
    then reads events of several sources; the first Filter still says which).

References and ``generate``
    ``rules:`` names rules of the same input by ``name`` or ``id``. An unknown name is an
    ``invalid`` error at that item. Following the specification, a referenced detection rule
    is still output on its own only if a correlation referencing it has ``generate: true``
    (``generate`` defaults to false); rules nobody references are always output. The caller
    (:func:`backends.sigma.reader.read_sigma`) applies this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sigma.correlations import SigmaCorrelationRule

from backends.sigma.correlation_shape import (
    CONDITION_KINDS,
    CORRELATION_TYPES,
    VALUE_FUNCTIONS,
    Shape,
    Spans,
    to_stages,
)
from backends.sigma.yamldoc import (
    Doc,
    SigmaSource,
    child_loc,
    item_locs,
    rule_metadata,
    span_of_key,
    span_of_loc,
)
from ir.errors import Span
from ir.evaluator import END_OF_TEXT, string_regex
from ir.nodes import (
    And,
    BinOp,
    Call,
    Condition,
    EvalExpr,
    Expr,
    FieldValue,
    Kind,
    Literal,
    LogSource,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
    Rule,
    UnaryOp,
    any_of,
)

__all__ = ["CORRELATION_TYPES", "Referenced", "read_correlation", "to_eval"]


@dataclass(frozen=True)
class Referenced:
    """A rule of the input a correlation may reference: the IR rule (``None`` for a
    correlation rule, which cannot be referenced here) and its ``name`` and ``id``."""

    rule: Rule | None
    name: str | None
    id: str | None


def read_correlation(doc: Doc, source: SigmaSource, known: Sequence[Referenced]) -> Rule:
    """One correlation document as an IR rule (module docstring); ``known`` are the other
    rules of the same input. Raises positioned :class:`~ir.errors.RuleglotError` s."""
    data: dict[str, Any] = doc.data
    corr = data.get("correlation")
    corr_loc = child_loc(doc.loc, "correlation")
    corr_span = span_of_key(doc.loc, "correlation", doc.span)
    if not isinstance(corr, Mapping):
        raise source.error("correlation must be a mapping", "invalid", corr_span, "correlation")

    def at(key: str) -> Span:
        return span_of_loc(child_loc(corr_loc, key), span_of_key(corr_loc, key, corr_span))

    kind = corr.get("type")
    if kind not in CORRELATION_TYPES:
        message = (
            f"correlation type {kind!r} is not supported (supported: "
            + ", ".join(CORRELATION_TYPES)
            + ")"
        )
        raise source.error(message, "unsupported", at("type"), "correlation")

    # references, each positioned at its item
    refs = corr.get("rules")
    ref_list = [refs] if isinstance(refs, str) else refs
    if not isinstance(ref_list, list) or not ref_list:
        raise source.error(
            "correlation 'rules' must name rules", "invalid", at("rules"), "correlation"
        )
    ref_locs = (
        item_locs(child_loc(corr_loc, "rules"), len(ref_list))
        if isinstance(refs, list)
        else [child_loc(corr_loc, "rules")]
    )
    referenced: list[tuple[str, Rule]] = []
    for ref, ref_loc in zip(ref_list, ref_locs, strict=True):
        span = span_of_loc(ref_loc, at("rules"))
        found = next((k for k in known if ref is not None and str(ref) in (k.name, k.id)), None)
        if found is None:
            message = (
                f"correlation references unknown rule {ref!r} (no rule of this input "
                "has that name or id)"
            )
            raise source.error(message, "invalid", span, "correlation")
        if found.rule is None:
            message = f"correlation references correlation rule {ref!r}: not supported"
            raise source.error(message, "unsupported", span, "correlation")
        referenced.append((str(ref), found.rule))

    # pySigma validates the rest (timespan, group-by, condition, metadata)
    try:
        parsed = SigmaCorrelationRule.from_dict(data, collect_errors=True)
        errors: list[Exception] = list(parsed.errors)
    except Exception as exc:
        errors = [exc]
    if errors:
        key = _faulty_key(str(errors[0]), corr)
        raise source.error(str(errors[0]), "invalid", at(key) if key else corr_span, "correlation")

    if corr.get("aliases"):
        # pySigma-backend-splunk renames each rule's field in its own subsearch; one pipeline
        # over the OR of the filters has no such place yet, and grouping by the alias name
        # alone finds no event that carries it (QA: the correlation could never fire)
        message = (
            "correlation 'aliases' (a group-by field named differently in each rule) is not "
            "supported: grouping by the alias would find no event carrying that name"
        )
        raise source.error(message, "unsupported", at("aliases"), "correlation:aliases")

    timespan = str(corr.get("timespan"))
    group_by = tuple(parsed.group_by or ())
    condition = _condition(corr, kind, source, at)
    value_field = str(_condition_map(corr)["field"]) if kind in VALUE_FUNCTIONS else None
    rules = tuple((name, _filter_expr(rule)) for name, rule in referenced)
    tags = [to_eval(expr, source, at("rules")) for _, expr in rules] if kind == "temporal" else []
    shape = Shape(kind, timespan, rules, group_by, condition, value_field)
    spans = Spans(
        rules=at("rules"),
        type=at("type"),
        timespan=at("timespan"),
        group_by=at("group-by") if "group-by" in corr else at("timespan"),
        condition=at("condition") if "condition" in corr else corr_span,
    )
    stages = to_stages(shape, tags, spans)

    logsources = {rule.logsource for _, rule in referenced}
    return Rule(
        title=parsed.title,
        stages=stages,
        logsource=logsources.pop() if len(logsources) == 1 else LogSource(),
        language="sigma",
        span=doc.span,
        **rule_metadata(parsed),  # type: ignore[arg-type]
    )


def _filter_expr(rule: Rule) -> Expr:
    return any_of([f.expr for f in rule.filters])


def _condition_map(corr: Mapping[str, Any]) -> Mapping[str, Any]:
    condition = corr.get("condition")
    return condition if isinstance(condition, Mapping) else {}


def _condition(
    corr: Mapping[str, Any], kind: str, source: SigmaSource, at: Any
) -> tuple[str, int | float] | None:
    """The condition as (key, number); ``None`` for a temporal without one (every rule)."""
    condition = corr.get("condition")
    if condition is None and kind == "temporal":
        return None
    if not isinstance(condition, Mapping):
        message = (
            "correlation condition must be a mapping such as {gte: 10} (extended "
            "conditions are not supported)"
        )
        raise source.error(message, "unsupported", at("condition"), "correlation")
    ops = [k for k in condition if k in (*CONDITION_KINDS, "neq")]
    if len(ops) != 1:
        message = "correlation condition needs exactly one of gt, gte, lt, lte, eq, neq"
        raise source.error(message, "invalid", at("condition"), "correlation")
    op = ops[0]
    value = condition[op] if isinstance(condition[op], float) else int(condition[op])
    return op, value


def _faulty_key(message: str, corr: Mapping[str, Any]) -> str | None:
    lowered = message.lower()
    for key in ("timespan", "group-by", "condition", "generate", "rules", "type"):
        if key.replace("-", " ") in lowered or key in lowered:
            return key if key in corr else None
    return None


# --- filters as eval expressions (temporal's rule tags) -----------------------------------------


def to_eval(expr: Expr, source: SigmaSource, span: Span) -> EvalExpr:
    if isinstance(expr, (And, Or)):
        op = "AND" if isinstance(expr, And) else "OR"
        args = [to_eval(a, source, span) for a in expr.args]
        out = args[0]
        for arg in args[1:]:
            out = BinOp(op, out, arg)
        return out
    if isinstance(expr, Not):
        return UnaryOp("NOT", to_eval(expr.arg, source, span))
    if isinstance(expr, Condition):
        return expr.expr
    return _predicate_eval(expr, source, span)


def _predicate_eval(p: Predicate, source: SigmaSource, span: Span) -> EvalExpr:
    where = p.span or span
    if p.field is None:
        message = (
            "a keyword (field-less value) in a rule of a temporal correlation is not supported"
        )
        raise source.error(message, "unsupported", where, "correlation")
    subject = FieldValue(p.field)
    value = p.value
    if p.kind in (Kind.GT, Kind.GTE, Kind.LT, Kind.LTE) and isinstance(value, (int, float)):
        op = {Kind.GT: ">", Kind.GTE: ">=", Kind.LT: "<", Kind.LTE: "<="}[p.kind]
        return BinOp(op, subject, Literal(value))
    if p.kind is Kind.NULL:
        return Call("isnull", (subject,))
    if p.kind is Kind.REGEX and isinstance(value, Regex):
        flags = f"(?{value.flags})" if value.flags else ""
        return Call("match", (subject, Literal(flags + value.pattern)))
    if p.kind is Kind.EQ and isinstance(value, bool):
        word = "true" if value else "false"
        return Call("match", (subject, Literal(f"(?i)^{word}{END_OF_TEXT}")))
    if p.kind is Kind.EQ and isinstance(value, (int, float)):
        return BinOp("=", subject, Literal(value))
    if (
        isinstance(value, str)
        and p.kind in (Kind.EQ, Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH)
    ) or (p.kind is Kind.WILDCARD and isinstance(value, Pattern)):
        return Call("match", (subject, Literal(string_regex(p))))
    message = f"predicate kind {p.kind} in a rule of a temporal correlation is not supported"
    raise source.error(message, "unsupported", where, "correlation")
