"""Which fields a rule reads from its events, and which its own stages make.

A search such as ``... | eval cmd=lower(CommandLine) | where cmd="x"`` reads ``cmd``, but no
event has to carry it: the ``eval`` stage makes it. Tools that compare the fields a rule needs
with the fields events have (``ruleglot eval``'s warning about fields no event has) must count
only the fields read *before* a stage of the rule defines them.

What each stage defines follows the SPL reference for the command: ``eval`` its assignment
targets; ``rex`` its named capture groups (``(?<name>...)``, PCRE's syntax, which Splunk uses;
``mode=sed`` rewrites a field instead); ``rename`` the new names; ``lookup`` its ``OUTPUT``
fields; ``stats`` its aggregations' names (``AS`` alias, else ``function(field)``, ``count``);
``bin ... AS`` its alias; ``convert ... AS`` its alias; ``fillnull`` the fields it names (each
exists afterwards, with the fill value).
"""

from __future__ import annotations

import re
from dataclasses import fields as dataclass_fields
from dataclasses import is_dataclass
from typing import Any

from ir.nodes import (
    Bin,
    Command,
    Convert,
    Eval,
    FieldValue,
    FillNull,
    ForEach,
    Lookup,
    Predicate,
    Rename,
    Rex,
    Stage,
    Stats,
    Subsearch,
)

#: A named group in a PCRE or Python pattern: ``(?<name>``, ``(?P<name>``, ``(?'name'``.
_NAMED_GROUP = re.compile(r"\(\?(?:P?<([A-Za-z_][A-Za-z0-9_]*)>|'([A-Za-z_][A-Za-z0-9_]*)')")


def rex_field_names(pattern: str) -> list[str]:
    """The fields a ``rex`` extraction names, its named groups in order (the one reading of
    them: what a rex defines here, what it writes for ``ir.pushdown``)."""
    return [a or b for a, b in _NAMED_GROUP.findall(pattern)]


def fields_read(node: Any) -> set[str]:
    """Every field name a node reads (predicates and eval expressions), wherever it is defined."""
    found: set[str] = set()
    if isinstance(node, Predicate) and node.field is not None:
        found.add(node.field)
    elif isinstance(node, FieldValue):
        found.add(node.name)
    if is_dataclass(node) and not isinstance(node, type):
        for f in dataclass_fields(node):
            if f.name != "span":
                found |= fields_read(getattr(node, f.name))
    elif isinstance(node, tuple):
        for item in node:
            found |= fields_read(item)
    return found


def fields_defined(stage: Stage) -> set[str]:
    """The fields ``stage`` makes on the rows it returns (see the module docstring)."""
    if isinstance(stage, Eval):
        return {name for name, _ in stage.assignments}
    if isinstance(stage, Rex):
        return set() if stage.mode == "sed" else set(rex_field_names(stage.pattern))
    if isinstance(stage, Rename):
        return {new for _, new in stage.pairs}
    if isinstance(stage, Lookup):
        return {name for _, name in stage.outputs}
    if isinstance(stage, Stats):
        names = set()
        for agg in stage.aggregations:
            if agg.alias:
                names.add(agg.alias)
            elif agg.argument is None:
                names.add("count")
            elif isinstance(agg.argument, str):
                names.add(f"{agg.function}({agg.argument})")
        return names
    if isinstance(stage, Bin):
        return {stage.alias} if stage.alias else set()
    if isinstance(stage, Convert):
        return {alias for _, _, alias in stage.conversions if alias}
    if isinstance(stage, FillNull):
        return set(stage.fields)
    if isinstance(stage, ForEach):
        return set().union(*(fields_defined(s) for s in stage.stages))
    return set()


def names_read(stage: Stage) -> set[str]:
    """Field names a stage reads as plain names, outside predicates and eval expressions:
    the ``by`` fields and aggregated fields of ``stats``, whose absence drops its rows or
    empties its values (``stats count by object_file_path`` on events without the field
    returns nothing)."""
    if not isinstance(stage, Stats):
        return set()
    names = set(stage.by)
    names.update(a.argument for a in stage.aggregations if isinstance(a.argument, str))
    return {name for name in names if "*" not in name}


def fields_from_events(stages: tuple[Stage, ...]) -> set[str]:
    """The fields ``stages`` read that no earlier stage defined: what the events must carry.
    A field a stage reads and defines itself (``eval n=n+1``) is read from the event. Plain
    names (:func:`names_read`) count only before a stage whose fields are not known here
    (a command run as text, a subsearch whose rows join or append, ``inputlookup`` and a
    ``lookup`` without ``OUTPUT``: the table's columns; ``rename *_ip as *``)."""
    defined: set[str] = set()
    needed: set[str] = set()
    opaque = False
    for stage in stages:
        needed |= fields_read(stage) - defined
        if not opaque:
            needed |= names_read(stage) - defined
        opaque = opaque or isinstance(stage, (Command, Subsearch)) or (
            isinstance(stage, Lookup) and (stage.command != "lookup" or not stage.outputs)
        ) or (isinstance(stage, Rename) and any("*" in new for _, new in stage.pairs))
        defined |= fields_defined(stage)
    return needed
