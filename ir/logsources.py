"""Log-source profiles: which events a rule's ``logsource`` selects, and how its field names read.

A rule says *what kind* of log it reads (Sigma: ``product/category/service``); events say where
they came from (``Channel``, ``EventID``). A :class:`LogSourceProfile` joins the two as data: each
:class:`SourceMapping` gives, for a log-source pattern, one or more :class:`SourceBranch` es, each
an IR condition on the event plus field aliases that hold only for events of that branch
(``process_creation`` is Sysmon EventID 1, or Security 4688 where ``Image`` is read from
``NewProcessName``). The evaluator applies the branches; emitters will write the same conditions
as search terms. The concrete Windows profile is built from pySigma's own tables in
:mod:`backends.sigma.logsources`; this module holds only the shapes and the resolution rule.

Resolution (:meth:`LogSourceProfile.resolve`):
    * a ``category`` and/or ``service`` are each looked up for the rule's ``product``; with both,
      each branch of one is combined (AND) with each branch of the other;
    * a rule with only a ``product`` that the profile knows selects that product's events
      (its ``product`` mapping);
    * a field may name several alternatives joined by :data:`ALTERNATIVE` (Sigma 1.x lists,
      ``service: security, system``; see :mod:`backends.sigma.leniency`): the log source is any
      of them, each combination resolved as above and their branches ORed; if any combination
      is unmapped, the whole log source is (never half of it silently);
    * anything else is *unmapped*: ``resolve`` returns ``None``. A profile describes the events
      it knows (the windows profile: Windows event logs), so an unmapped log source (zeek, cisco,
      linux...) selects none of them: the evaluator does not run the rule and reports it as not
      run, with its log source (never silently). The profile ``none`` maps nothing and selects
      everything: every rule runs on every event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product as _combinations

from ir.nodes import And, Expr, LogSource

#: What separates the alternatives of one log-source field (``category: a|b``: a or b).
ALTERNATIVE = "|"


@dataclass(frozen=True, slots=True)
class SourceBranch:
    """One kind of event a log source covers, and field names that differ for it."""

    condition: Expr
    field_aliases: tuple[tuple[str, str], ...] = ()

    def alias_map(self) -> dict[str, str]:
        return dict(self.field_aliases)


@dataclass(frozen=True, slots=True)
class SourceMapping:
    """A log-source pattern (``None`` parts match anything) and the events it selects."""

    product: str | None
    category: str | None
    service: str | None
    branches: tuple[SourceBranch, ...]


@dataclass(frozen=True)
class LogSourceProfile:
    """A named, documented set of :class:`SourceMapping`; ``source`` cites where it comes from."""

    name: str
    mappings: tuple[SourceMapping, ...]
    source: str = ""
    _index: dict[tuple[str | None, str | None, str | None], SourceMapping] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        for mapping in self.mappings:
            key = (mapping.product, mapping.category, mapping.service)
            self._index.setdefault(key, mapping)

    def _lookup(
        self, product: str | None, category: str | None, service: str | None
    ) -> SourceMapping | None:
        return self._index.get((product, category, service)) or self._index.get(
            (None, category, service)
        )

    def resolve(self, logsource: LogSource) -> tuple[SourceBranch, ...] | None:
        """The branches selecting this log source's events, or ``None`` when unmapped."""
        fields = (logsource.product, logsource.category, logsource.service)
        if not any(f and ALTERNATIVE in f for f in fields):
            return self._resolve_one(*fields)
        branches: list[SourceBranch] = []
        choices = [f.split(ALTERNATIVE) if f else [None] for f in fields]
        for product, category, service in _combinations(*choices):
            found = self._resolve_one(product, category, service)
            if found is None:
                return None
            branches.extend(b for b in found if b not in branches)
        return tuple(branches)

    def _resolve_one(
        self, product: str | None, category: str | None, service: str | None
    ) -> tuple[SourceBranch, ...] | None:
        parts: list[SourceMapping] = []
        if category:
            found = self._lookup(product, category, None)
            if found is None:
                return None
            parts.append(found)
        if service:
            found = self._lookup(product, None, service)
            if found is None:
                return None
            parts.append(found)
        if not parts:
            found = self._lookup(product, None, None) if product else None
            return found.branches if found else None
        branches = parts[0].branches
        for other in parts[1:]:
            branches = tuple(
                SourceBranch(
                    And((a.condition, b.condition)),
                    a.field_aliases + b.field_aliases,
                )
                for a in branches
                for b in other.branches
            )
        return branches


#: The profile that maps nothing: every rule runs on every event it is given.
NO_PROFILE = LogSourceProfile("none", (), "no log-source selection")
