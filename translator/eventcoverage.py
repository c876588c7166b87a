"""Event coverage: which Windows events (provider, event ID, title) a rule reads.

What this module owns
    Reading a rule's event IDs from its IR and naming them: the event IDs its own predicates
    require (``EventID``/``EventCode`` equal to a number; SPL's indexed terms ``EventCode=4688``
    and ``<EventID>4688<``, which is how security_content searches XML and classic event text),
    else those its log source selects through the ``windows`` log-source profile
    (``process_creation`` is Sysmon 1 and Security 4688). Titles come from the data table
    ``translator/data/windows_events.tsv``, whose header cites its sources.

What it must not do
    Guess: an event ID the table does not know has no title; one that two providers share and
    the rule does not tie to a channel has no provider.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

from backends.sigma.logsources import windows_profile
from ir.nodes import And, Expr, Kind, Not, Or, Predicate, Rule
from translator.indicators import rule_indicators

#: Event-log channels whose events one provider writes (the others hold many providers').
CHANNEL_PROVIDERS = {
    "security": "Microsoft-Windows-Security-Auditing",
    "microsoft-windows-sysmon/operational": "Microsoft-Windows-Sysmon",
}
#: Field names that hold the event ID: Windows' own and Splunk's (``EventCode``).
EVENT_ID_FIELDS = frozenset({"eventid", "eventcode"})
_ID_TERMS = (
    re.compile(r"^eventcode=(\d+)$", re.IGNORECASE),
    re.compile(r"^<eventid>(\d+)<$", re.IGNORECASE),
)
_SOURCE_CHANNEL = re.compile(r"^(?:xml)?wineventlog:(.+)$", re.IGNORECASE)
_SOURCE_FIELDS = frozenset({"source", "sourcetype"})


@dataclass(frozen=True, slots=True)
class EventRow:
    event_id: int
    provider: str | None = None
    channel: str | None = None
    title: str | None = None

    @property
    def provider_short(self) -> str | None:
        """The provider without ``Microsoft-Windows-``, as catalogs print it."""
        return self.provider.removeprefix("Microsoft-Windows-") if self.provider else None


@cache
def event_titles() -> dict[tuple[str, int], str]:
    """``(provider, event id) -> title`` from the bundled table."""
    text = resources.files("translator").joinpath("data", "windows_events.tsv").read_text("utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {
        (row["provider"], int(row["event_id"])): row["title"]
        for row in csv.DictReader(lines, delimiter="\t")
    }


@cache
def _providers_of_id() -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = {}
    for provider, event_id in event_titles():
        out.setdefault(event_id, []).append(provider)
    return {k: tuple(v) for k, v in out.items()}


def _number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def rule_event_ids(predicates: Iterable[Predicate]) -> list[int]:
    """Event IDs the predicates name, in order, each once."""
    found: dict[int, None] = {}
    for p in predicates:
        number = None
        if p.kind is Kind.EQ and p.field and p.field.lower() in EVENT_ID_FIELDS:
            number = _number(p.value)
        elif p.kind is Kind.TERM and isinstance(p.value, str):
            for pattern in _ID_TERMS:
                match = pattern.match(p.value)
                if match:
                    number = int(match.group(1))
        if number is not None:
            found.setdefault(number, None)
    return list(found)


def _leaves(expr: Expr) -> Iterator[Predicate]:
    if isinstance(expr, Predicate):
        yield expr
    elif isinstance(expr, (And, Or)):
        for arg in expr.args:
            yield from _leaves(arg)
    elif isinstance(expr, Not):
        return


def _branch_events(rule: Rule) -> list[tuple[str | None, list[int]]]:
    """(channel, event ids) for each branch of the rule's log source in the windows profile."""
    if rule.logsource.is_empty():
        return []
    branches = windows_profile().resolve(rule.logsource) or ()
    out: list[tuple[str | None, list[int]]] = []
    for branch in branches:
        leaves = list(_leaves(branch.condition))
        channels: list[str | None] = [
            str(p.value) for p in leaves if p.field == "Channel" and p.kind is Kind.EQ
        ]
        ids = [n for p in leaves if p.field == "EventID" for n in [_number(p.value)] if n]
        for channel in channels or [None]:
            out.append((channel, ids))
    return out


def source_channels(predicates: Iterable[Predicate]) -> list[str]:
    """Windows channels an SPL search names in ``source=(Xml)WinEventLog:<channel>`` (or
    ``sourcetype``, as security_content's macros also write it)."""
    out: list[str] = []
    for p in predicates:
        if p.field in _SOURCE_FIELDS and p.kind is Kind.EQ and isinstance(p.value, str):
            match = _SOURCE_CHANNEL.match(p.value)
            if match and match.group(1) not in out:
                out.append(match.group(1))
    return out


def _provider(event_id: int, channel: str | None) -> str | None:
    if channel and channel.lower() in CHANNEL_PROVIDERS:
        return CHANNEL_PROVIDERS[channel.lower()]
    candidates = _providers_of_id().get(event_id, ())
    return candidates[0] if len(candidates) == 1 and channel is None else None


def _row(event_id: int, channel: str | None) -> EventRow:
    provider = _provider(event_id, channel)
    title = event_titles().get((provider, event_id)) if provider else None
    return EventRow(event_id, provider, channel, title)


def event_coverage(rule: Rule) -> list[EventRow]:
    """The events the rule reads, one row per (channel, event ID); see the module docstring."""
    predicates = list(rule_indicators(rule))
    own = rule_event_ids(predicates)
    branches = _branch_events(rule)
    channels = [c for c, _ in branches if c] or source_channels(predicates)
    rows: list[EventRow] = []
    if own:
        channel = channels[0] if len(set(channels)) == 1 else None
        rows = [_row(event_id, channel) for event_id in own]
    else:
        rows = [_row(event_id, channel) for channel, ids in branches for event_id in ids]
    return list(dict.fromkeys(rows))
