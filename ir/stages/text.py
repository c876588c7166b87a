"""Stages that rewrite field values: ``rex`` (extraction and ``mode=sed``), ``convert``
and the multivalue commands ``makemv``/``mvexpand``/``nomv``. Regexes compile through
:func:`ir.functions.compile_regex` (PCRE read as Python ``re``); each stage's Splunk source is
in its docstring.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ir.errors import unsupported
from ir.events import MISSING, Event
from ir.functions import (
    compile_regex,
    expand_template,
    mv,
    strftime,
    strptime,
    tidy_number,
    to_number,
    to_text,
    values_of,
)
from ir.nodes import (
    Convert,
    MultiValue,
    Rex,
)
from ir.stages.rows import (
    Row,
    RowsFn,
    StageBuilder,
    as_row,
    field_names,
    fill_wildcards,
    invalid,
    put_field,
    row_value,
    wild_match,
)

_SED = re.compile(r"^(s|y)/((?:\\.|[^/\\])*)/((?:\\.|[^/\\])*)/(\w*)$", re.DOTALL)


def _sed(stage: Rex) -> Callable[[str], str]:
    """``rex mode=sed "s/REGEX/REPLACEMENT/FLAGS"`` (``g`` every match, a number N the Nth
    only, default the first; ``i`` ignore case) or ``"y/ABC/XYZ/"`` (transliteration)."""
    found = _SED.match(stage.pattern)
    if found is None:
        raise invalid(f"rex mode=sed needs s/regex/replacement/flags, not {stage.pattern!r}",
                       "rex", stage.span)
    command, left, right, flags = found.groups()
    left, right = left.replace("\\/", "/"), right.replace("\\/", "/")
    if command == "y":
        if len(left) != len(right):
            raise invalid("rex y/// needs two lists of the same length", "rex", stage.span)
        table = str.maketrans(left, right)
        return lambda text: text.translate(table)
    rx = compile_regex(left, re.IGNORECASE if "i" in flags else 0)
    expand = expand_template(right)
    nth = int(re.sub(r"\D", "", flags) or 0)
    if "g" in flags:
        return lambda text: rx.sub(expand, text)
    if nth <= 1:
        return lambda text: rx.sub(expand, text, count=1)

    def replace_nth(text: str) -> str:
        for index, match in enumerate(rx.finditer(text), start=1):
            if index == nth:
                return text[: match.start()] + expand(match) + text[match.end() :]
        return text

    return replace_nth


def _rex(stage: Rex, now: float) -> RowsFn:
    """``rex`` (Search Reference, "rex"): the named groups of the first match of the regex in
    the field (``_raw`` by default) become fields; ``max_match`` > 1 (0: no limit) collects
    up to that many matches, several making a multivalue. A group that takes no part sets
    nothing; no match changes nothing. A multivalue field is searched value by value.
    ``mode=sed`` rewrites the field instead."""
    name = stage.field
    if stage.mode == "sed":
        rewrite = _sed(stage)

        def run_sed(rows: list[Event]) -> list[Event]:
            out: list[Event] = []
            for row in rows:
                value = row_value(row, name)
                if value is None:
                    out.append(row)
                    continue
                fields = dict(row.fields)
                fields[name] = mv(rewrite(to_text(v) or "") for v in values_of(value))
                out.append(as_row(row).derive(fields))
            return out

        return run_sed
    if stage.mode not in (None, "", "rex"):
        raise unsupported(
            construct="rex:mode",
            message=f"rex mode={stage.mode} is not supported",
            span=stage.span,
        )
    rx = compile_regex(stage.pattern)
    groups = [g for g in rx.groupindex]
    limit = stage.max_match if stage.max_match > 0 else None

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for row in rows:
            value = row_value(row, name)
            matches: list[re.Match[str]] = []
            for text in values_of(value):
                for match in rx.finditer(to_text(text) or ""):
                    matches.append(match)
                    if limit is not None and len(matches) >= limit:
                        break
                if limit is not None and len(matches) >= limit:
                    break
            if not matches:
                out.append(row)
                continue
            fields = dict(row.fields)
            for group in groups:
                found = mv(m.group(group) for m in matches)
                if found is not None:
                    fields[group] = found
            out.append(as_row(row).derive(fields))
        return out

    return run


_DURATION = re.compile(r"(?:(\d+)\+)?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)")
_MEMORY = re.compile(r"(-?\d+(?:\.\d+)?)\s*([kKmMgG]?)[bB]?")


def _convert_value(function: str, value: Any, timeformat: str) -> Any:
    """One value through a ``convert`` function; ``MISSING`` means "remove the value"."""
    text = to_text(value) or ""
    if function == "ctime":
        number = to_number(value)
        return strftime(number, timeformat) if number is not None else value
    if function == "mktime":
        stamp = strptime(text, timeformat)
        return tidy_number(stamp) if stamp is not None else value
    if function == "dur2sec":
        found = _DURATION.fullmatch(text.strip())
        if found is None:
            return value
        days, hours, minutes, seconds = found.groups()
        total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        return tidy_number(total)
    if function == "mstime":
        found = re.fullmatch(r"(?:(\d+):)?(\d+(?:\.\d+)?)", text.strip())
        if found is None:
            return value
        return tidy_number(int(found.group(1) or 0) * 60 + float(found.group(2)))
    if function == "memk":
        found = _MEMORY.fullmatch(text.strip())
        if found is None:
            return value
        scale = {"": 1, "k": 1, "m": 1024, "g": 1024 * 1024}[found.group(2).lower()]
        return tidy_number(float(found.group(1)) * scale)
    if function == "rmcomma":
        number = to_number(text.replace(",", ""))
        return number if number is not None else value
    if function == "rmunit":
        found = re.match(r"\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)", text)
        number = to_number(found.group(1)) if found else None
        if found and number is None:
            number = tidy_number(float(found.group(1)))
        return number if number is not None else value
    if function in ("num", "auto"):
        number = to_number(text.replace(",", "")) if function == "auto" else to_number(value)
        if number is None:
            found = re.fullmatch(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*", text)
            if found:
                number = tidy_number(float(text))
        if number is not None:
            return number
        return MISSING if function == "num" else value
    if function == "none":
        return value
    raise KeyError(function)


_CONVERT_FUNCTIONS = {"ctime", "mktime", "dur2sec", "mstime", "memk", "rmcomma", "rmunit",
                      "num", "auto", "none"}


def _convert(stage: Convert, now: float) -> RowsFn:
    """``convert [timeformat=F] f(field) [AS name] ...`` (Search Reference, "convert"):
    ``ctime`` (epoch -> text in ``timeformat``, default ``%m/%d/%Y %H:%M:%S``, UTC), ``mktime``
    (the reverse), ``dur2sec`` (``[D+]HH:MM:SS`` -> seconds), ``mstime`` (``[MM:]SS.SSS`` ->
    seconds), ``memk`` (``10m`` -> kilobytes), ``rmcomma``, ``rmunit``, ``num`` (a number, or
    the value removed), ``auto`` (a number, or the value kept), ``none``. A value that does
    not convert stays as it is. Field names may hold wildcards (``AS`` with the same
    wildcards)."""
    options = {k.lower(): v for k, v in stage.options}
    timeformat = options.get("timeformat", "%m/%d/%Y %H:%M:%S")
    conversions = []
    for function, name, alias in stage.conversions:
        lowered = function.lower()
        if lowered not in _CONVERT_FUNCTIONS:
            raise unsupported(
                construct=f"convert:{function}",
                message=f"convert {function}() is not supported",
                span=stage.span,
            )
        conversions.append((lowered, name, alias))

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in rows:
            row = as_row(event)
            fields = dict(row.fields)
            for function, pattern, alias in conversions:
                current = Row(fields, row.source)
                if "*" in pattern:
                    targets = [(n, fill_wildcards(alias, m.groups()) if alias else n)
                               for n in field_names(current) if (m := wild_match(pattern, n))]
                else:
                    targets = [(pattern, alias or pattern)]
                for name, into in targets:
                    value = row_value(current, name)
                    if value is None:
                        continue
                    converted = [_convert_value(function, v, timeformat)
                                 for v in values_of(value)]
                    result = mv(v for v in converted if v is not MISSING)
                    put_field(fields, into, result)
            out.append(row.derive(fields))
        return out

    return run


def _multivalue(stage: MultiValue, now: float) -> RowsFn:
    """``makemv [delim=D|tokenizer=RE] [allowempty=true] f`` (Search Reference, "makemv"):
    the field's text split at D (default a space; empty pieces dropped unless allowempty), or
    the tokenizer's first group (or whole match) at each match. ``mvexpand f [limit=N]``
    ("mvexpand"): one row per value, other fields copied; a row without the field is kept as it
    is. ``nomv f`` ("nomv"): the values joined by a newline."""
    options = {k.lower(): v for k, v in stage.options}
    name = stage.field
    if stage.command == "makemv":
        delim = options.get("delim", " ")
        tokenizer = options.get("tokenizer")
        allow_empty = str(options.get("allowempty", "f")).lower() in ("t", "true", "1")
        rx = compile_regex(tokenizer) if tokenizer else None

        def split(text: str) -> list[str]:
            if rx is not None:
                return [m.group(1) if m.groups() else m.group(0) for m in rx.finditer(text)]
            pieces = text.split(delim) if delim else list(text)
            return pieces if allow_empty else [p for p in pieces if p != ""]

        def run_makemv(rows: list[Event]) -> list[Event]:
            out: list[Event] = []
            for row in rows:
                value = row_value(row, name)
                if value is None or isinstance(value, list):
                    out.append(row)
                    continue
                fields = dict(row.fields)
                result = mv(split(to_text(value) or ""))
                put_field(fields, name, result)
                out.append(as_row(row).derive(fields))
            return out

        return run_makemv
    if stage.command == "mvexpand":
        limit = int(options.get("limit", "0") or 0)

        def run_mvexpand(rows: list[Event]) -> list[Event]:
            out: list[Event] = []
            for row in rows:
                values = values_of(row_value(row, name))
                if not values:
                    out.append(row)
                    continue
                for value in values[:limit] if limit else values:
                    fields = dict(row.fields)
                    fields[name] = value
                    out.append(as_row(row).derive(fields))
            return out

        return run_mvexpand
    if stage.command == "nomv":

        def run_nomv(rows: list[Event]) -> list[Event]:
            out: list[Event] = []
            for row in rows:
                value = row_value(row, name)
                if not isinstance(value, list):
                    out.append(row)
                    continue
                fields = dict(row.fields)
                fields[name] = "\n".join(to_text(v) or "" for v in value)
                out.append(as_row(row).derive(fields))
            return out

        return run_nomv
    raise unsupported(
        construct=stage.command,
        message=f"{stage.command} is not supported",
        span=stage.span,
    )


#: The stages of this module, for the pipeline's table (:mod:`ir.pipeline`).
STAGE_BUILDERS: dict[type, StageBuilder] = {
    Rex: _rex,
    Convert: _convert,
    MultiValue: _multivalue,
}
