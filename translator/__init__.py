"""ruleglot's public API: ``translate``, ``parse``, ``emit``, ``evaluate``, ``run`` (see
:mod:`translator.api`)."""

from translator.api import Match, emit, evaluate, parse, profile, run, translate

__all__ = ["Match", "emit", "evaluate", "parse", "profile", "run", "translate"]
