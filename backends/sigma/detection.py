"""An IR filter tree, already lowered to what Sigma can say, written as a Sigma detection.

For :mod:`backends.sigma.emit` (its module docstring, "Detection layout" and "Predicates",
describes the layout). The inverse of the detection part of :mod:`backends.sigma.reader`:
AND-ed predicates on distinct keys share one map, an OR of values with the same key is a list,
an OR of maps a list of maps, keyword lists for field-less predicates, and anything else more
identifiers combined in the condition with every compound operand parenthesised.
"""

from __future__ import annotations

from typing import Any

from ir.nodes import (
    And,
    Expr,
    FieldRef,
    Kind,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
    TimePart,
    Wildcard,
    all_of,
    conjuncts,
)

__all__ = ["DetectionWriter", "item", "keyword_ok"]


def keyword_ok(p: Predicate) -> bool:
    """A field-less predicate pySigma's keywords (or keyless modifiers) express."""
    if p.kind is Kind.CONTAINS:
        return bool(p.value)  # keyword '' reads back as '*', which the evaluator decides apart
    if p.kind in (Kind.REGEX, Kind.CIDR, Kind.LT, Kind.LTE, Kind.GT, Kind.GTE):
        return True
    if p.kind is Kind.WILDCARD and isinstance(p.value, Pattern):
        parts = p.value.parts
        return len(parts) >= 2 and parts[0] is Wildcard.MANY and parts[-1] is Wildcard.MANY
    return False


# --- writing a lowered tree as a Sigma detection -------------------------------------------------

_TIME_UNITS = ("minute", "hour", "day", "week", "month", "year")


def _escaped(text: str) -> str:
    return str(Pattern((text,)))


def item(p: Predicate) -> tuple[str, Any]:
    """The detection key (field and modifiers) and YAML value of one predicate."""
    name = p.field or ""
    value = p.value
    mods: list[str] = []
    out: Any
    if p.kind is Kind.EQ:
        out = _escaped(value) if isinstance(value, str) else value
    elif p.kind in (Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH):
        mods.append(p.kind.value)
        out = _escaped(str(value))
    elif p.kind is Kind.WILDCARD:
        out = str(value)
    elif p.kind is Kind.REGEX:
        assert isinstance(value, Regex)
        mods.extend(["re", *value.flags])
        out = value.pattern
    elif p.kind in (Kind.CIDR, Kind.EXISTS, Kind.LT, Kind.LTE, Kind.GT, Kind.GTE):
        mods.append(p.kind.value)
        out = value
    elif p.kind is Kind.NULL:
        out = None
    elif p.kind is Kind.FIELDREF:
        assert isinstance(value, FieldRef)
        mods.append("fieldref")
        if value.match != "eq":
            mods.append(value.match)
        out = value.field
    elif p.kind is Kind.TIMEPART:
        assert isinstance(value, TimePart) and value.unit in _TIME_UNITS
        mods.append(value.unit)
        out = value.number
    else:  # pragma: no cover - lowered away
        raise ValueError(f"cannot write {p.kind}")
    if p.cased and isinstance(out, str) and p.kind not in (Kind.REGEX, Kind.FIELDREF):
        mods.append("cased")
    return "|".join([name, *mods]), out


def _keyword(p: Predicate) -> str | None:
    """A plain keyword-list entry for ``p`` (uncased contains / anywhere pattern), else None."""
    if p.field is not None or p.cased:
        return None
    if p.kind is Kind.CONTAINS and isinstance(p.value, str) and p.value:
        return _escaped(p.value)
    if p.kind is Kind.WILDCARD and isinstance(p.value, Pattern):
        parts = p.value.parts
        if len(parts) > 2 and parts[0] is Wildcard.MANY and parts[-1] is Wildcard.MANY:
            return str(Pattern(parts[1:-1]))
    return None


def _same_key_values(expr: Expr) -> tuple[str, list[Any]] | None:
    """An OR of predicates sharing one key (a YAML list), as key and values."""
    if isinstance(expr, Predicate):
        key, value = item(expr)
        return key, [value]
    if isinstance(expr, Or) and all(isinstance(a, Predicate) for a in expr.args):
        items = [item(a) for a in expr.args if isinstance(a, Predicate)]
        if len({k for k, _ in items}) == 1:
            return items[0][0], [v for _, v in items]
    return None


def _as_map(expr: Expr) -> dict[str, Any] | None:
    """One detection map for ``expr`` (a predicate, a same-key OR, an AND of those), or None."""
    args = expr.args if isinstance(expr, And) else (expr,)
    entries: dict[str, list[Any]] = {}  # key -> values, in the order the operands come
    is_list: dict[str, bool] = {}
    for arg in args:
        if isinstance(arg, Predicate):
            key, value = item(arg)
            if is_list.get(key, False):
                return None
            entries.setdefault(key, []).append(value)
            is_list[key] = False
            continue
        found = _same_key_values(arg)
        if found is None or found[0] in entries:
            return None
        entries[found[0]] = found[1]
        is_list[found[0]] = True
    out: dict[str, Any] = {}
    for key, values in entries.items():
        if is_list[key]:
            name, value = key, values if len(values) > 1 else values[0]
        elif len(values) == 1:
            name, value = key, values[0]
        else:
            name, value = key + "|all", values
        if name in out:
            return None
        out[name] = value
    if len(out) > 1 and any(_keyless(k) for k in out):
        return None  # keyless keys are kept to maps of their own
    return out


def _keyless(key: str) -> bool:
    return key == "" or key.startswith("|")


def _keywords(expr: Expr) -> list[str] | None:
    args = expr.args if isinstance(expr, Or) else (expr,)
    words = [_keyword(a) if isinstance(a, Predicate) else None for a in args]
    if all(w is not None for w in words):
        return [w for w in words if w is not None]
    return None


def _without_double_not(expr: Expr) -> Expr:
    """``expr`` without its leading pairs of NOTs: a complement taken twice is the set itself
    (the evaluator's ``Not``, SPL's and Sigma's ``not``). A search nesting ``NOT (`` 200 times
    was written as 200 ``not`` that pySigma's condition parser could not read back."""
    while isinstance(expr, Not) and isinstance(expr.arg, Not):
        expr = expr.arg.arg
    return expr


class DetectionWriter:
    def __init__(self) -> None:
        self.detection: dict[str, Any] = {}
        self.names: dict[str, list[str]] = {}

    def new(self, prefix: str, definition: Any) -> str:
        used = self.names.setdefault(prefix, [])
        placeholder = f"\x00{prefix}\x00{len(used) + 1}\x00"
        used.append(placeholder)
        self.detection[placeholder] = definition
        return placeholder

    def write(self, expr: Expr) -> dict[str, Any]:
        parts = [_without_double_not(p) for p in conjuncts(expr)]
        inclusions = [p for p in parts if not isinstance(p, Not)]
        exclusions = [p.arg for p in parts if isinstance(p, Not)]
        terms: list[str] = []
        if inclusions:
            text, atomic = self.cond(all_of(inclusions), "selection")
            terms.append(text if atomic or not exclusions else f"({text})")
        for exclusion in exclusions:
            text, atomic = self.cond(exclusion, "filter")
            terms.append(f"not {text}" if atomic else f"not ({text})")
        condition = " and ".join(terms)
        renames: dict[str, str] = {}
        for prefix, used in self.names.items():
            for index, placeholder in enumerate(used, 1):
                renames[placeholder] = prefix if len(used) == 1 else f"{prefix}_{index}"
        out = {renames[k]: v for k, v in self.detection.items()}
        for placeholder, name in renames.items():
            condition = condition.replace(placeholder, name)
        out["condition"] = condition
        return out

    def cond(self, expr: Expr, prefix: str) -> tuple[str, bool]:
        """Condition text for ``expr`` (and whether it is a single operand)."""
        words = _keywords(expr)
        if words is not None:
            return self.new(prefix, words), True
        mapping = _as_map(expr)
        if mapping is not None:
            return self.new(prefix, mapping), True
        if isinstance(expr, Not) and isinstance(expr.arg, Not):
            return self.cond(_without_double_not(expr), prefix)
        if isinstance(expr, Not):
            text, atomic = self.cond(expr.arg, prefix)
            return (f"not {text}" if atomic else f"not ({text})"), True
        if isinstance(expr, Or):
            maps = [_as_map(a) for a in expr.args]
            listable = [m is not None and not any(_keyless(k) for k in m) for m in maps]
            if all(listable):
                return self.new(prefix, maps), True
            # the alternatives one list of maps can hold, then the rest (a file name on the
            # first present of two paths: the first path's forms in one list)
            grouped = [m for m, ok in zip(maps, listable, strict=True) if ok]
            alts: list[tuple[str, bool]] = []
            rest = list(expr.args)
            if len(grouped) > 1:
                alts.append((self.new(prefix, grouped), True))
                rest = [a for a, ok in zip(expr.args, listable, strict=True) if not ok]
            alts.extend(self.cond(a, prefix) for a in rest)
            return " or ".join(t if a else f"({t})" for t, a in alts), False
        assert isinstance(expr, And)
        # AND: the operands one map can hold, then the rest
        simple = [a for a in expr.args if _as_map(a) is not None and _keywords(a) is None]
        rest = [a for a in expr.args if a not in simple]
        texts: list[tuple[str, bool]] = []
        if len(simple) > 1 and _as_map(And(tuple(simple))) is not None:
            texts.append(self.cond(And(tuple(simple)), prefix))
        else:
            rest = list(expr.args)
        texts.extend(self.cond(a, prefix) for a in rest)
        if len(texts) == 1:
            return texts[0]
        return " and ".join(t if a else f"({t})" for t, a in texts), False
