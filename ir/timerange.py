"""What an SPL search's time range means: its modifiers parsed, resolved and applied to events.

The one place that gives :class:`ir.nodes.TimeRange` meaning (readers build it, writers write
its text, ``eval``/``check`` ask this module which events it keeps). Sources: Splunk Search
Reference, "Time modifiers" and "Date and time format variables"; Search Manual, "Specify time
modifiers in your search"; SPL2 Search Manual, "Specifying relative time".

Syntax (:func:`parse_bound`)
    * ``now``: the search's start time. ``0`` and other whole or decimal numbers: epoch
      seconds ("Use earliest=1 to specify the UNIX epoch time 1").
    * ``%m/%d/%Y:%H:%M:%S`` (``10/15/2019:20:00:00``): an absolute time, read in UTC (Splunk
      reads it in the searching user's time zone; ruleglot has no user, so UTC, stated here).
    * Relative: steps applied to ``now`` in order, each ``[+|-]<integer><unit>`` (a shift; the
      integer defaults to 1: ``-h``) or ``@<unit>`` (snap: round down to the start of the
      unit; ``@w0``..``@w7`` to that weekday, 0 and 7 Sunday), e.g. ``-24h@h``, ``@d``,
      ``-1d@d+8h``. Units: ``s``/``sec``/``secs``/``second``/``seconds``, ``m``/``min``/
      ``mins``/``minute``/``minutes``, ``h``/``hr``/``hrs``/``hour``/``hours``, ``d``/``day``/
      ``days``, ``w``/``week``/``weeks``, ``mon``/``month``/``months``, ``q``/``qtr``/``qtrs``/
      ``quarter``/``quarters``, ``y``/``yr``/``yrs``/``year``/``years``.
    * Real-time modifiers (``rt``, ``-rt-5m``) "are not intended for use in search strings ...
      returns an error" (Search Manual): refused, as is any other text.

Meaning when run (:func:`window`, ``docs/semantics.md`` "Time ranges")
    An event is kept when ``earliest <= _time < latest`` ("greater than or equal to earliest
    and less than latest", SPL2 "Time modifiers"); ``_time`` is :func:`ir.stages.rows.event_time`
    (the event-time rule every stage uses). Absolute bounds always apply. Relative bounds
    resolve against a ``now`` the caller gives (``ruleglot eval/check --now``); without one
    they are not applied and the caller reports so (a scheduled search's window is the run's
    events, which the caller chose). The index-time bounds (``_index_earliest``/
    ``_index_latest``) filter on when Splunk indexed the event, which no event file records:
    never applied, always reported. An event whose time cannot be read is outside any applied
    bound (every Splunk event has a ``_time``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ir.events import Event
from ir.functions.times import apply_steps, modifier_steps
from ir.nodes import TimeBound, TimeRange
from ir.stages.rows import event_time  # the event-time rule: one place

if TYPE_CHECKING:
    from ir.evaluator import CompiledRule

_NUMBER = re.compile(r"\d+(\.\d+)?")
_ABSOLUTE = "%m/%d/%Y:%H:%M:%S"


def parse_bound(text: str) -> TimeBound:
    """``text`` (a time modifier's value) parsed; :class:`ValueError` saying why it is not one."""
    value = text.strip()
    if value == "now":
        return TimeBound(text)
    if _NUMBER.fullmatch(value):
        return TimeBound(text, epoch=float(value) if "." in value else int(value))
    if "/" in value:
        try:
            stamp = dt.datetime.strptime(value, _ABSOLUTE).replace(tzinfo=dt.UTC)
        except ValueError:
            raise ValueError(f"{text!r} is not a time in the format {_ABSOLUTE}") from None
        return TimeBound(text, epoch=int(stamp.timestamp()))
    if "rt" in value.lower().split("@")[0].replace("+", "-").split("-"):
        raise ValueError(f"{text!r} is a real-time modifier, which a search string cannot use")
    return TimeBound(text, steps=modifier_steps(value))


def resolve(bound: TimeBound, now: dt.datetime) -> float:
    """Epoch seconds of ``bound`` for a search started at ``now`` (an aware datetime: snaps
    round in its time zone)."""
    if bound.epoch is not None:
        return bound.epoch
    return apply_steps(now, bound.steps).timestamp()


@dataclass(frozen=True)
class Window:
    """The part of a range that is applied: ``earliest <= _time < latest`` (``None``: open),
    and ``skipped``, each bound not applied with the reason, for the caller to report."""

    earliest: float | None
    latest: float | None
    skipped: tuple[str, ...] = ()

    @property
    def applies(self) -> bool:
        return self.earliest is not None or self.latest is not None

    def holds(self, event: Event) -> bool:
        """Whether ``event`` is inside the window (an event without a time is not)."""
        if not self.applies:
            return True
        stamp = event_time(event)
        if stamp is None:
            return False
        if self.earliest is not None and stamp < self.earliest:
            return False
        return self.latest is None or stamp < self.latest


def window(timerange: TimeRange | None, now: dt.datetime | None) -> Window:
    """What ``timerange`` keeps for a search started at ``now`` (module docstring)."""
    if timerange is None:
        return Window(None, None)
    skipped: list[str] = []
    edges: dict[str, float | None] = {"earliest": None, "latest": None}
    for name, bound in timerange.bounds():
        if name.startswith("_index"):
            skipped.append(f"{name}={bound.text}: events carry no index time")
        elif bound.relative and now is None:
            skipped.append(f"{name}={bound.text}: relative, and no --now was given")
        else:
            edges[name] = resolve(bound, now or dt.datetime.now(dt.UTC))
    return Window(edges["earliest"], edges["latest"], tuple(skipped))


def restrict(compiled: CompiledRule, keep: Window) -> CompiledRule:
    """``compiled`` matching only the events inside ``keep``: each log-source branch's body
    also asks :meth:`Window.holds` (its guard, dispatch keys and prefilter are unchanged:
    they only narrow which rules an event is shown to)."""
    if not keep.applies:
        return compiled
    holds = keep.holds

    def inside(body: Callable[[Event], bool]) -> Callable[[Event], bool]:
        return lambda event: holds(event) and body(event)

    branches = [replace(b, body=inside(b.body)) for b in compiled.branches]
    return replace(compiled, branches=branches)


def parse_now(text: str) -> dt.datetime:
    """``--now``: an ISO-8601 time (UTC when it names no zone); :class:`ValueError` if not."""
    when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def event_filter(timerange: TimeRange | None, now: dt.datetime | None) -> Callable[[Event], bool]:
    """:meth:`Window.holds` of :func:`window`, for callers that only filter."""
    return window(timerange, now).holds


__all__ = [
    "Window",
    "event_filter",
    "parse_bound",
    "parse_now",
    "resolve",
    "restrict",
    "window",
]
