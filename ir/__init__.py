"""ruleglot's IR: nodes (:mod:`ir.nodes`), JSON form (:mod:`ir.serialize`), the one evaluator
(:mod:`ir.evaluator`) and the event model it runs on (:mod:`ir.events`)."""

from ir.errors import RuleglotError, Span
from ir.nodes import (
    And,
    Expr,
    FieldRef,
    Filter,
    Kind,
    LogSource,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
    Rule,
    Stage,
    TimePart,
    Wildcard,
    conjuncts,
    predicates,
    signed_predicates,
)

__all__ = [
    "And",
    "Expr",
    "FieldRef",
    "Filter",
    "Kind",
    "LogSource",
    "Not",
    "Or",
    "Pattern",
    "Predicate",
    "Regex",
    "Rule",
    "RuleglotError",
    "Span",
    "Stage",
    "TimePart",
    "Wildcard",
    "conjuncts",
    "predicates",
    "signed_predicates",
]
