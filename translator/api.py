"""The library's verbs: ``parse`` a rule, ``emit`` the IR, ``evaluate`` rules on events.

Like sqlglot's ``parse_one``/``transpile``, languages are named by ``read=``/``write=``. Readers and
emitters live in ``backends/``; this module only dispatches, so adding a language is adding a
table entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from backends.sigma import read_sigma
from backends.sigma.logsources import PROFILES
from ir import serialize
from ir.errors import RuleglotError
from ir.evaluator import CompiledRule, RuleSet, compile_rule
from ir.events import Event
from ir.logsources import NO_PROFILE, LogSourceProfile
from ir.nodes import Rule


def _read_ir(text: str, path: str | None = None) -> list[Rule]:
    try:
        return [serialize.loads(text)]
    except RuleglotError as err:
        err.path = err.path or path
        raise


READERS: dict[str, Callable[[str, str | None], list[Rule]]] = {
    "sigma": read_sigma,
    "ir": _read_ir,
}
WRITERS: dict[str, Callable[[Rule], str]] = {
    "ir": serialize.dumps,
}


def parse(text: str, read: str = "sigma", path: str | None = None) -> list[Rule]:
    """Rules in ``text`` (a file may hold several); raises :class:`RuleglotError`."""
    if read not in READERS:
        raise RuleglotError(
            f"no reader for {read!r} (have: {', '.join(READERS)})",
            category="unsupported",
            construct=read,
        )
    return READERS[read](text, path)


def emit(rule: Rule, write: str = "ir") -> str:
    if write not in WRITERS:
        raise RuleglotError(
            f"no writer for {write!r} yet (have: {', '.join(WRITERS)})",
            category="unsupported",
            construct=write,
        )
    return WRITERS[write](rule)


def profile(name: str) -> LogSourceProfile:
    """A log-source profile by name: ``windows`` (default) or ``none``."""
    if name == "none":
        return NO_PROFILE
    if name not in PROFILES:
        raise RuleglotError(f"unknown log-source profile {name!r}", category="invalid")
    return PROFILES[name]()


@dataclass(frozen=True)
class Match:
    rule_index: int
    event_index: int


def compile_rules(rules: Iterable[Rule], profile_name: str = "windows") -> list[CompiledRule]:
    chosen = profile(profile_name)
    return [compile_rule(rule, chosen) for rule in rules]


def evaluate(
    rules: Iterable[Rule | CompiledRule],
    events: Iterable[Event | dict],
    profile_name: str = "windows",
) -> Iterator[Match]:
    """Every (rule, event) pair that matches, by position in the inputs."""
    items = list(rules)
    compiled = [
        r if isinstance(r, CompiledRule) else compile_rule(r, profile(profile_name)) for r in items
    ]
    ruleset = RuleSet(compiled)
    for event_index, event in enumerate(events):
        ev = event if isinstance(event, Event) else Event(event)
        for rule_index in ruleset.match(ev):
            yield Match(rule_index, event_index)
