"""The one table of eval functions: :data:`FUNCTIONS` (name, arity, regex arguments,
implementation), the special forms :mod:`ir.evalexpr` compiles (:data:`SPECIAL_ARITY`), and
the arity check every engine uses (:func:`check_arity`; the Spark lowering reads it too).

The families register into :data:`FUNCTIONS` with :func:`register`; :mod:`ir.functions`
imports every family, so importing it fills the table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ir.errors import RuleglotError

# --- the functions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    """An eval function taking evaluated arguments: ``impl(*values)``."""

    name: str
    min_args: int
    max_args: int | None
    impl: Callable[..., Any]
    #: Argument positions that are regular expressions (checked at compile time if literal).
    regex_args: tuple[int, ...] = ()


FUNCTIONS: dict[str, Function] = {}


def register(
    name: str,
    min_args: int,
    max_args: int | None,
    *,
    regex_args: Sequence[int] = (),
    aliases: Sequence[str] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(impl: Callable[..., Any]) -> Callable[..., Any]:
        for each in (name, *aliases):
            FUNCTIONS[each] = Function(each, min_args, max_args, impl, tuple(regex_args))
        return impl

    return decorate


#: Functions that need their arguments unevaluated or the search context; ``ir.evalexpr``
#: compiles them (listed here so one place names every supported function).
#: Their arity (lowest, highest or None): ``case``/``validate`` also take their arguments in
#: pairs, which their compilers check.
SPECIAL_ARITY: dict[str, tuple[int, int | None]] = {
    "if": (3, 3), "case": (2, None), "validate": (2, None), "coalesce": (1, None),
    "mvfilter": (1, 1), "mvmap": (2, 2), "now": (0, 0), "time": (0, 0),
}  # fmt: skip
SPECIAL_FORMS = frozenset(SPECIAL_ARITY)

#: Functions that cannot be evaluated on events: compiling one is an ``unsupported`` error.
UNSUPPORTED = frozenset({"searchmatch", "commands", "lookup", "getfields"})


def supported(name: str) -> bool:
    """Whether ``name`` is an eval function ruleglot evaluates."""
    return name in FUNCTIONS or name in SPECIAL_FORMS


def arity(name: str) -> tuple[int, int | None]:
    """The number of arguments eval function ``name`` takes (lowest, highest or None): the one
    table every engine checks calls against (:data:`FUNCTIONS`, :data:`SPECIAL_ARITY`)."""
    if name in SPECIAL_ARITY:
        return SPECIAL_ARITY[name]
    function = FUNCTIONS[name]
    return function.min_args, function.max_args


def check_arity(name: str, count: int, shown: str | None = None) -> None:
    """Raise the error a call of ``name`` with ``count`` arguments is when :func:`arity`
    refuses that many (``shown``: the name as the rule wrote it, for the message)."""
    low, high = arity(name)
    if count < low or (high is not None and count > high):
        wanted = f"{low}" if low == high else f"{low} to {high}" if high else f"{low} or more"
        shown = shown or name
        raise RuleglotError(
            f"{shown}() takes {wanted} arguments, not {count}", construct=f"eval:{shown}"
        )
