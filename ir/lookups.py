"""CSV lookup tables for SPL ``lookup`` and ``inputlookup``.

A :class:`LookupProvider` finds tables by the name a search uses. In a folder laid out as
splunk/security_content's ``lookups/`` (``<stem>.yml`` with ``name:``, ``filename:`` and the
matching options, beside ``<filename>``), a table answers to its yml ``name`` (the
``transforms.conf`` stanza a search names), its ``filename`` (``lookup foo.csv``) and the file's
stem; a CSV without a yml answers to its file name and stem. An exact name wins, then a
case-insensitive one.

Matching rules (Splunk Knowledge Manager Manual, "Add field matching rules to your lookup
configuration", the ``transforms.conf`` settings of the same names):

``case_sensitive_match``
    Default **true**, as Splunk's default; a yml that sets it wins (almost every
    security_content table sets ``'false'``). A provider can change the default.
``match_type``
    ``WILDCARD(field)``: the table's cells of that field are patterns where ``*`` is any run
    of characters; ``CIDR(field)``: the cells are networks and an input IP inside one matches;
    other fields match exactly.
``max_matches``
    Default 100 (no ``time_field``): up to that many matching rows, in file order; several
    matching rows make the output fields multivalued.
``min_matches`` / ``default_match``
    Default 0 / empty: when fewer rows match than ``min_matches``, the output fields get
    ``default_match`` (security_content sets 1 and ``'false'``: a miss outputs ``false``).

An empty cell is no value (a null output). Event values are compared through their text, so
the event number 4688 matches the cell ``4688``.

Finding the rows: exact columns through a hash index; without one, a ``WILDCARD`` column
through an index of its cells by what a matching value must contain (the cell itself without
``*``, else the longest literal run of the pattern, found in the value by one Aho-Corasick
pass): the candidates come in file order and each is still matched in full
(security_content's ``dynamic_dns_providers`` has 92,000 ``*.domain*`` rows).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick
import yaml

from ir.errors import RuleglotError
from ir.functions import cidr_contains

_MATCH_TYPE = re.compile(r"(WILDCARD|CIDR|EXACT)\s*\(\s*([^)]*?)\s*\)", re.IGNORECASE)


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "t", "yes", "y")


def parse_match_type(text: str | None) -> dict[str, str]:
    """``WILDCARD(a), CIDR(b)`` as ``{"a": "WILDCARD", "b": "CIDR"}``."""
    if not text:
        return {}
    return {m.group(2): m.group(1).upper() for m in _MATCH_TYPE.finditer(text)}


@dataclass
class LookupTable:
    """One table: its columns, its rows (cells as text, empty cells absent) and its options."""

    name: str
    columns: list[str]
    rows: list[dict[str, str]]
    case_sensitive: bool = True
    match_types: dict[str, str] = field(default_factory=dict)
    max_matches: int = 100
    min_matches: int = 0
    default_match: str = ""
    _index: dict[tuple[str, ...], dict[tuple[str, ...], list[int]]] = field(
        default_factory=dict, repr=False
    )
    _patterns: dict[tuple[int, str], re.Pattern[str]] = field(default_factory=dict, repr=False)
    _wild: dict[str, _WildcardIndex] = field(default_factory=dict, repr=False)

    @classmethod
    def from_csv(cls, name: str, path: Path, **options: Any) -> LookupTable:
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                columns = list(reader.fieldnames or [])
                rows = [{k: v for k, v in row.items() if k is not None and v not in (None, "")}
                        for row in reader]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise RuleglotError(f"cannot read lookup {name!r} ({path}): {exc}", category="io",
                                construct=f"lookup:{name}") from exc
        return cls(name, columns, rows, **options)

    def _fold(self, text: str) -> str:
        return text if self.case_sensitive else text.lower()

    def _cell_matches(self, index: int, column: str, cell: str, value: str) -> bool:
        kind = self.match_types.get(column)
        if kind == "CIDR":
            return cidr_contains(cell, value)
        if kind == "WILDCARD" and "*" in cell:
            key = (index, column)
            rx = self._patterns.get(key)
            if rx is None:
                body = ".*".join(re.escape(self._fold(p)) for p in cell.split("*"))
                rx = self._patterns[key] = re.compile(body, re.DOTALL)
            return rx.fullmatch(self._fold(value)) is not None
        return self._fold(cell) == self._fold(value)

    def _exact_index(self, columns: tuple[str, ...]) -> dict[tuple[str, ...], list[int]]:
        index = self._index.get(columns)
        if index is None:
            index = {}
            for number, row in enumerate(self.rows):
                if all(c in row for c in columns):
                    key = tuple(self._fold(row[c]) for c in columns)
                    index.setdefault(key, []).append(number)
            self._index[columns] = index
        return index

    def _wildcard_candidates(self, column: str, value: str) -> list[int]:
        """The rows whose ``column`` cell can match ``value`` (module docstring), in order."""
        index = self._wild.get(column)
        if index is None:
            index = self._wild[column] = _WildcardIndex(self, column)
        return index.candidates(self._fold(value))

    def match(self, inputs: Mapping[str, str]) -> list[dict[str, str]]:
        """The rows (at most ``max_matches``, in file order) whose cells match every input
        (lookup column -> event value text)."""
        exact = tuple(c for c in inputs if self.match_types.get(c) not in ("WILDCARD", "CIDR"))
        other = [c for c in inputs if c not in exact]
        if exact:
            key = tuple(self._fold(inputs[c]) for c in exact)
            candidates: Iterable[int] = self._exact_index(exact).get(key, [])
        else:
            wild = next((c for c in other if self.match_types.get(c) == "WILDCARD"), None)
            if wild is not None:
                candidates = self._wildcard_candidates(wild, inputs[wild])
            else:
                candidates = range(len(self.rows))
        found: list[dict[str, str]] = []
        for number in candidates:
            row = self.rows[number]
            if all(c in row and self._cell_matches(number, c, row[c], inputs[c]) for c in other):
                found.append(row)
                if len(found) >= self.max_matches:
                    break
        return found


class _WildcardIndex:
    """A ``WILDCARD`` column's rows by what a matching (folded) value must hold: the cell
    itself, for a cell without ``*``; else the longest literal run of the pattern, which
    every matching value contains (one Aho-Corasick automaton over them, ``pyahocorasick``);
    a pattern of ``*`` alone is always a candidate."""

    def __init__(self, table: LookupTable, column: str) -> None:
        self.exact: dict[str, list[int]] = {}
        self.always: list[int] = []
        runs: dict[str, list[int]] = {}
        for number, row in enumerate(table.rows):
            cell = row.get(column)
            if cell is None:
                continue  # a row without the cell matches no value
            folded = table._fold(cell)
            if "*" not in cell:
                self.exact.setdefault(folded, []).append(number)
                continue
            longest = max(folded.split("*"), key=len)
            if longest:
                runs.setdefault(longest, []).append(number)
            else:
                self.always.append(number)
        self.automaton: Any = None
        if runs:
            self.automaton = ahocorasick.Automaton()
            for run, numbers in runs.items():
                self.automaton.add_word(run, tuple(numbers))
            self.automaton.make_automaton()

    def candidates(self, value: str) -> list[int]:
        found = set(self.exact.get(value, ()))
        found.update(self.always)
        if self.automaton is not None:
            for _, numbers in self.automaton.iter(value):
                found.update(numbers)
        return sorted(found)


class LookupProvider:
    """Lookup tables by name: from folders (see the module docstring) and added tables."""

    def __init__(
        self, *folders: str | Path, default_case_sensitive: bool = True
    ) -> None:
        self.default_case_sensitive = default_case_sensitive
        self._sources: dict[str, tuple[Path, dict[str, Any]]] = {}
        self._tables: dict[str, LookupTable] = {}
        for folder in folders:
            self._scan(Path(folder))

    def _scan(self, folder: Path) -> None:
        if not folder.is_dir():
            raise RuleglotError(f"lookup folder {folder} does not exist", category="io",
                                construct="lookup")
        described: set[Path] = set()
        for spec_path in sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml")):
            try:
                spec = yaml.safe_load(spec_path.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError):
                continue
            if not isinstance(spec, dict):
                continue
            filename = spec.get("filename")
            if not isinstance(filename, str) or not filename.lower().endswith(".csv"):
                continue
            csv_path = folder / filename
            described.add(csv_path)
            for alias in (spec.get("name"), filename, Path(filename).stem, spec_path.stem):
                if isinstance(alias, str):
                    self._sources.setdefault(alias, (csv_path, spec))
        for csv_path in sorted(folder.glob("*.csv")):
            if csv_path not in described:
                for alias in (csv_path.name, csv_path.stem):
                    self._sources.setdefault(alias, (csv_path, {}))

    def add(self, table: LookupTable, *names: str) -> None:
        """Make ``table`` available under its name (and ``names``)."""
        for each in (table.name, *names):
            self._tables[each] = table

    def names(self) -> Iterator[str]:
        yield from self._tables
        yield from self._sources

    def _resolve(self, name: str) -> str | None:
        if name in self._tables or name in self._sources:
            return name
        lowered = name.lower()
        for known in self.names():
            if known.lower() == lowered:
                return known
        return None

    def __contains__(self, name: str) -> bool:
        return self._resolve(name) is not None

    def table(self, name: str) -> LookupTable:
        """The table a search calls ``name``; an ``io`` error when there is none."""
        known = self._resolve(name)
        if known is None:
            raise RuleglotError(f"no lookup table named {name!r}", category="io",
                                construct=f"lookup:{name}")
        if known in self._tables:
            return self._tables[known]
        path, spec = self._sources[known]
        if not path.exists():
            raise RuleglotError(f"lookup {name!r}: {path} does not exist", category="io",
                                construct=f"lookup:{name}")

        def number(key: str, default: int) -> int:
            try:
                return int(spec.get(key, default))
            except (TypeError, ValueError):
                return default

        table = LookupTable.from_csv(
            str(spec.get("name") or path.stem),
            path,
            case_sensitive=_bool(spec.get("case_sensitive_match"), self.default_case_sensitive),
            match_types=parse_match_type(spec.get("match_type")),
            max_matches=max(1, number("max_matches", 100)),
            min_matches=max(0, number("min_matches", 0)),
            default_match=str(spec.get("default_match", "") or ""),
        )
        for alias, (other_path, _) in self._sources.items():
            if other_path == path:
                self._tables[alias] = table
        return table
