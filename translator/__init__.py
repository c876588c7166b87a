"""ruleglot: translate detection rules between Sigma and Splunk SPL through one IR, and prove
each translation on events.

Everything a script needs is importable from here; the submodules (``translator.api``,
``translator.check``, ``translator.cli``...) are internal and may change without notice.

Text in, text out (like sqlglot's ``transpile``)::

    import translator
    spl = translator.translate(sigma_yaml, read="sigma", write="spl")

A migration (a folder of rules; per-file errors, per-rule results, verdicts on events)::

    rules = translator.read_rules("detections/endpoint", "spl", macros="macros/")
    for issue in rules.errors:                      # files that could not be read
        print(issue)
    for loaded in rules:
        result = translator.translate_rule(loaded, "sigma")   # .status .text .warnings .errors
    events = translator.read_events(["logs/*.jsonl"])
    for verdict in translator.check_rules(rules, "sigma", events):
        print(verdict.path, verdict.status, verdict.counterexample)

``docs/migration.md`` walks through a complete migration script (``docs/migrate.py``).

The objects' ``to_dict()`` are the JSON the command line prints (``ruleglot translate --report``,
``ruleglot check --format json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backends.spl import MacroTable
    from ir.errors import RuleglotError
    from ir.nodes import Rule
    from translator.api import Match, emit, evaluate, parse, profile, run, translate
    from translator.check import CheckResult, Counterexample
    from translator.library import (
        FIELD_PROFILES,
        LOGSOURCE_PROFILES,
        EventSet,
        Issue,
        LoadedRule,
        RuleCollection,
        TranslationResult,
        check_rules,
        load_macros,
        read_events,
        read_rules,
        translate_rule,
    )

#: public name -> the module that defines it (imported on first use: a command that does not
#: need the readers and emitters, such as ``ruleglot --help``, never loads them)
_SOURCES = {
    **dict.fromkeys(
        ("Match", "emit", "evaluate", "parse", "profile", "run", "translate"), "translator.api"
    ),
    **dict.fromkeys(("CheckResult", "Counterexample"), "translator.check"),
    **dict.fromkeys(
        (
            "FIELD_PROFILES",
            "LOGSOURCE_PROFILES",
            "EventSet",
            "Issue",
            "LoadedRule",
            "RuleCollection",
            "TranslationResult",
            "check_rules",
            "load_macros",
            "read_events",
            "read_rules",
            "translate_rule",
        ),
        "translator.library",
    ),
    "MacroTable": "backends.spl",
    "RuleglotError": "ir.errors",
    "Rule": "ir.nodes",
}

__all__ = [
    "CheckResult",
    "Counterexample",
    "EventSet",
    "FIELD_PROFILES",
    "Issue",
    "LOGSOURCE_PROFILES",
    "LoadedRule",
    "MacroTable",
    "Match",
    "Rule",
    "RuleCollection",
    "RuleglotError",
    "TranslationResult",
    "check_rules",
    "emit",
    "evaluate",
    "load_macros",
    "parse",
    "profile",
    "read_events",
    "read_rules",
    "run",
    "translate",
    "translate_rule",
]


def __getattr__(name: str) -> Any:
    """The public names, imported from their modules on first use."""
    if name in _SOURCES:
        import importlib

        return getattr(importlib.import_module(_SOURCES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
