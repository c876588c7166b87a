"""ruleglot's public API: ``translate``, ``parse``, ``emit``, ``evaluate``, ``run`` (see
:mod:`translator.api`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from translator.api import Match, emit, evaluate, parse, profile, run, translate

__all__ = ["Match", "emit", "evaluate", "parse", "profile", "run", "translate"]


def __getattr__(name: str) -> Any:
    """The API names, imported from :mod:`translator.api` on first use (a command that does not
    need the readers and emitters, such as ``ruleglot --help``, never loads them)."""
    if name in __all__:
        from translator import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
