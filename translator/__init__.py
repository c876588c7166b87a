"""ruleglot's public API: ``parse``, ``emit``, ``evaluate`` (see :mod:`translator.api`)."""

from translator.api import Match, emit, evaluate, parse, profile

__all__ = ["Match", "emit", "evaluate", "parse", "profile"]
