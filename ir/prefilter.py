"""A cross-rule literal prefilter: which rules can still match an event, from one Aho-Corasick
pass per field value over the literals of all rules (rsigma-eval's design, issue 24).

Most SigmaHQ rules require some literal in some field (``CommandLine|contains: ' -enc '``):
if it is absent, the rule cannot match, and it need not be evaluated. This module derives such
requirements from the IR, as facts the evaluator's semantics imply (:mod:`ir.evaluator`):

* an uncased ``eq``/``contains``/``startswith``/``endswith`` with a string compares
  ``needle.lower()`` with the field's lower-cased texts (:meth:`ir.events.Event.texts`), so it
  holds only if ``needle.lower()`` occurs in one of them;
* an uncased ``wildcard`` matches the lower-cased text against the pattern with each literal
  part lower-cased (:func:`ir.evaluator.wildcard_test`), so every run of literal parts between
  two wildcards occurs in it;
* a ``regex`` (Python ``re``, searched on the field's texts as they are, with its flags:
  :func:`ir.evaluator._regex_test`) holds only where each literal run its parse tree
  (``re._parser``) requires occurs: a concatenation needs each of its runs of literal
  characters and what each of its groups needs, an alternation one of what its branches need,
  a repeat what its body needs if it repeats at least once, anything else (classes, ``.``,
  anchors, look-arounds, back-references) nothing (:func:`regex_requirement`). The
  prefilter compares lower-cased texts, so only ASCII literal characters go into a run: an
  ASCII run found in a text is found, lower-cased, in the lower-cased text (``str.lower``
  maps each ASCII character alone), which is not so for every non-ASCII one (final sigma;
  ``İ``, whose lower case is two characters). Under the ``i`` flag, Python's ``re`` also
  matches ``i``/``I`` with ``İ`` and ``ı`` and ``s``/``S`` with ``ſ``, whose lower cases are
  not ``i``/``s``: a run stops at those letters (:data:`IGNORECASE_UNSAFE`);
* an ``and`` needs what each of its parts needs; an ``or`` needs one of what its branches need.

A field-less predicate (a Sigma keyword) is the same test on every scalar of the event
(:meth:`ir.events.Event.all_texts`). Everything else (cased tests, numbers, ``not``,
eval conditions) requires nothing known, and a rule whose requirement is unknown is always a
candidate. A requirement is a conjunction of clauses, each a set of ``(field, literal)`` of which
one must be found; the prefilter only narrows the candidates, every candidate is still evaluated
by the rule's compiled closures, so the match set cannot change (``tests/test_prefilter.py``
compares both on generated rules and events).

The automata come from ``pyahocorasick`` (C, maintained): one per field, built once, searched
once per lower-cased value of that field in each event.
"""

from __future__ import annotations

import re
import re._constants as C  # type: ignore[import-not-found]
import re._parser as _parser  # type: ignore[import-not-found]
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import ahocorasick

from ir.events import MISSING, Event, text_of
from ir.nodes import And, Expr, Kind, Not, Or, Pattern, Predicate, Regex, Wildcard

#: A literal that must occur in a field's lower-cased text.
Needle = tuple[str, str]
#: One of these needles must be found (a clause); a requirement is a list of clauses, all needed.
Clause = frozenset[Needle]
Requirement = list[Clause]

_SUBSTRING_KINDS = (Kind.EQ, Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH)
#: Shorter ASCII literals are found in nearly every value: they narrow little and cost a hit
#: each. A non-ASCII literal (an emoji, a Cyrillic homoglyph) is rare at any length.
MIN_LITERAL = 3
#: The pseudo-field of field-less predicates (Sigma keywords): every scalar of the event, as
#: :meth:`ir.events.Event.all_texts` gives them to the evaluator.
ANY_FIELD = "\x00any"


def _worth(literal: str) -> bool:
    return len(literal) >= MIN_LITERAL or (bool(literal) and not literal.isascii())


def _literal_runs(pattern: Pattern) -> list[str]:
    """The runs of literal parts of a wildcard pattern, each part lower-cased as
    :func:`ir.evaluator.wildcard_test` lower-cases it."""
    runs: list[str] = [""]
    for part in pattern.parts:
        if isinstance(part, Wildcard):
            runs.append("")
        else:
            runs[-1] += str(part).lower()
    return [r for r in runs if r]


#: ASCII characters that Python's ``re`` with ``IGNORECASE`` also matches with a non-ASCII
#: character whose ``str.lower`` is not theirs (``İ``/``ı`` for ``i``, ``ſ`` for ``s``; all of
#: Unicode is checked by ``tests/test_prefilter.py``).
IGNORECASE_UNSAFE = frozenset("iIsS")
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)


def regex_requirement(regex: Regex, name: str) -> Requirement | None:
    """The literals in field ``name`` that ``regex`` cannot match without (module docstring),
    or ``None`` when none is known (or Python cannot parse it: the evaluator reports that)."""
    flags = re.IGNORECASE if "i" in regex.flags else 0
    try:
        parsed = _parser.parse(regex.pattern, flags)
    except (re.error, RecursionError, OverflowError):
        return None
    ignore = bool(parsed.state.flags & re.IGNORECASE)
    return _sequence_needs(list(parsed), ignore, name) or None


def _sequence_needs(items: list[Any], ignore: bool, name: str) -> Requirement:
    clauses: Requirement = []
    run: list[str] = []

    def flush() -> None:
        literal = "".join(run).lower()
        run.clear()
        if _worth(literal):
            clauses.append(frozenset({(name, literal)}))

    for op, av in items:
        if op is C.LITERAL:
            char = chr(av)
            if char.isascii() and not (ignore and char in IGNORECASE_UNSAFE):
                run.append(char)
                continue
        flush()
        if op is C.SUBPATTERN:
            _, add, remove, body = av
            scoped = bool((ignore or add & re.IGNORECASE) and not remove & re.IGNORECASE)
            clauses.extend(_sequence_needs(list(body), scoped, name))
        elif op is C.ATOMIC_GROUP:
            clauses.extend(_sequence_needs(list(av), ignore, name))
        elif op in _REPEATS:
            least, _, body = av
            if least >= 1:
                clauses.extend(_sequence_needs(list(body), ignore, name))
        elif op is C.BRANCH:
            branches = [_sequence_needs(list(b), ignore, name) for b in av[1]]
            if branches and all(branches):
                clauses.append(frozenset().union(*(_best(b) for b in branches)))
    flush()
    return clauses


def _predicate_needs(pred: Predicate, aliases: Mapping[str, str]) -> Requirement | None:
    name = ANY_FIELD if pred.field is None else aliases.get(pred.field, pred.field)
    if pred.kind is Kind.REGEX and isinstance(pred.value, Regex):
        return regex_requirement(pred.value, name)  # its own flags decide case, not ``cased``
    if pred.cased:
        return None
    if pred.kind in _SUBSTRING_KINDS and isinstance(pred.value, str):
        needle = text_of(pred.value).lower()
        return [frozenset({(name, needle)})] if _worth(needle) else None
    if pred.kind is Kind.WILDCARD and isinstance(pred.value, Pattern):
        runs = [r for r in _literal_runs(pred.value) if _worth(r)]
        return [frozenset({(name, r)}) for r in runs] or None
    return None


def _best(clauses: Requirement) -> Clause:
    """The clause of a requirement that narrows most: its shortest literal longest, then the
    fewest alternatives."""
    return max(clauses, key=lambda c: (min(len(n) for _, n in c), -len(c)))


def requirement(expr: Expr, aliases: Mapping[str, str] | None = None) -> Requirement | None:
    """Clauses that must all hold for ``expr`` to hold (see the module docstring), or ``None``
    when nothing is known; field names go through ``aliases`` as the rule is compiled."""
    aliases = aliases or {}
    if isinstance(expr, Predicate):
        return _predicate_needs(expr, aliases)
    if isinstance(expr, And):
        clauses: Requirement = []
        for arg in expr.args:
            found = requirement(arg, aliases)
            if found:
                clauses.extend(found)
        return clauses or None
    if isinstance(expr, Or):
        union: set[Needle] = set()
        for arg in expr.args:
            found = requirement(arg, aliases)
            if not found:
                return None
            union |= _best(found)
        return [frozenset(union)]
    if isinstance(expr, Not):
        return None
    return None  # a Condition (SPL where) or anything new: nothing known


def any_of(requirements: Sequence[Requirement | None]) -> Requirement | None:
    """The requirement of an OR of parts (the branches of a rule's log source)."""
    if not requirements or any(not r for r in requirements):
        return None
    union: set[Needle] = set()
    for found in requirements:
        assert found
        union |= _best(found)
    return [frozenset(union)]


class Prefilter:
    """The literal requirements of many rules, searched together on each event.

    :meth:`alive` says which of the indexed rules can still match an event: those each of whose
    clauses has a literal in the event. It works from the literals found (set operations in C
    over posting lists), never rule by rule over all candidates."""

    def __init__(self, requirements: Iterable[tuple[int, Requirement]]) -> None:
        ids: dict[Needle, int] = {}
        postings: list[list[int]] = []
        #: clause id -> rule index; rule index -> its clause ids (rules of several clauses)
        self.clause_rule: list[int] = []
        self.rule_clauses: dict[int, frozenset[int]] = {}
        for index, clauses in requirements:
            mine = set()
            for clause in clauses:
                number = len(self.clause_rule)
                self.clause_rule.append(index)
                mine.add(number)
                for needle in clause:
                    if needle not in ids:
                        ids[needle] = len(ids)
                        postings.append([])
                    postings[ids[needle]].append(number)
            self.rule_clauses[index] = frozenset(mine)
        #: the indexed rules, which :meth:`alive` decides
        self.indexed = frozenset(self.rule_clauses)
        self._single = frozenset(i for i, c in self.rule_clauses.items() if len(c) == 1)
        by_field: dict[str, dict[str, tuple[int, ...]]] = {}
        for (name, literal), number in ids.items():
            by_field.setdefault(name, {})[literal] = tuple(postings[number])
        #: field -> automaton whose values are the clause ids a literal satisfies
        self.automata: dict[str, Any] = {}
        for name, literals in sorted(by_field.items()):
            automaton = ahocorasick.Automaton()
            for literal, clause_ids in literals.items():
                automaton.add_word(literal, clause_ids)
            automaton.make_automaton()
            self.automata[name] = automaton
        #: top-level names, searched only when the event has them; the rest always asked for
        self.plain = frozenset(
            n for n in self.automata if "." not in n and n not in ("_raw", ANY_FIELD)
        )
        self.special = [
            (n, a) for n, a in self.automata.items() if n not in self.plain and n != ANY_FIELD
        ]
        self.anywhere = self.automata.get(ANY_FIELD)

    def satisfied(self, event: Event) -> set[int]:
        """The ids of the clauses one of whose literals occurs in ``event``'s lower-cased
        texts of its field."""
        found: set[int] = set()
        automata = self.automata
        for name in self.plain.intersection(event.fields):
            self._search(automata[name], event.texts(name, True), found)
        for name, automaton in self.special:
            self._search(automaton, event.texts(name, True), found)
        if self.anywhere is not None:
            self._search(self.anywhere, event.all_texts(True), found)
        return found

    @staticmethod
    def _search(automaton: Any, texts: Any, found: set[int]) -> None:
        if texts is MISSING:
            return
        for text in texts:
            for _, clauses in automaton.iter(text):
                found.update(clauses)

    def alive(self, event: Event) -> set[int]:
        """The indexed rules whose every clause is satisfied in ``event``."""
        satisfied = self.satisfied(event)
        clause_rule = self.clause_rule
        touched = {clause_rule[c] for c in satisfied}
        alive = touched & self._single
        for index in touched - self._single:
            if self.rule_clauses[index] <= satisfied:
                alive.add(index)
        return alive
