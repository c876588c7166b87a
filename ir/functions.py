"""SPL evaluation functions: the values ``eval``/``where`` compute with, and every function.

Source of each behaviour: the Splunk Search Reference, chapter "Evaluation functions" and its
pages "Comparison and Conditional functions", "Conversion functions", "Cryptographic
functions", "Date and Time functions", "Informational functions", "JSON functions",
"Mathematical functions", "Multivalue eval functions", "Statistical eval functions" and "Text
functions", plus "Date and time format variables" and "Time modifiers" (the page is named in
each function's docstring). Where the reference leaves a behaviour open, the docstring says
"ruleglot's choice" and the choice is tested in ``tests/test_functions.py``.

This module owns *values* and *functions*; :mod:`ir.evalexpr` owns operators, fields and the
functions that need unevaluated arguments (``if``, ``case``, ``mvfilter``...). Predicate
semantics stay in :mod:`ir.evaluator`.

Values
    ``None`` is SPL's null (a missing field, a JSON ``null``, ``null()``); ``str``; ``int`` and
    ``float`` (SPL computes in doubles: ruleglot keeps exact integers as ``int`` and shows
    integral floats without ``.0``); ``bool`` (only comparisons and boolean functions return
    one); ``list`` is a multivalue, always of two or more non-null scalars (one value is a
    plain value, none is null: :func:`mv`).

Numbers in strings
    A string "is a number" where SPL reads it as one (arithmetic, comparisons, ``isnum``) when it
    is plainly a decimal number, ``-?\\d+(\\.\\d+)?``: the same rule as the ``lt``/``gt``
    predicates (:func:`ir.evaluator.number_of`), so a ``where`` read as a predicate and one read
    as an expression agree. ``tonumber`` parses more (sign, exponent, bases).

Multivalue arguments
    Functions documented on single values (text, maths, hashes, conversions) apply to each
    value of a multivalue argument and return a multivalue (ruleglot's choice: the reference
    does not say). Tests (``match``, ``like``, ``cidrmatch``, ``in``, comparisons) hold when
    they hold for any value, as in the ``search`` command, and are false (not null) on a null
    subject, as the predicate kinds are on a missing field; ``mv*`` functions read all the
    values.

Time
    Times are epoch seconds (``_time``). Splunk renders and parses times in the searching
    user's time zone; ruleglot uses UTC everywhere (``strftime``, ``strptime``,
    ``relative_time``, ``bin``), so results never depend on the machine.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import functools
import hashlib
import ipaddress
import json
import math
import random
import re
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ir.errors import RuleglotError
from ir.regexrun import BoundedRegex, bounded

# --- values -----------------------------------------------------------------------------------

#: SPL's implicit number syntax; the same rule as ``ir.evaluator.number_of``.
_IMPLICIT_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
#: ``tonumber``'s base-10 syntax: sign, decimals, exponent (C ``strtod`` without spaces).
_EXPLICIT_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def mv(values: Iterable[Any]) -> Any:
    """A multivalue from values: nulls dropped, none is null, one is that value."""
    out = [v for v in values if v is not None]
    if not out:
        return None
    return out[0] if len(out) == 1 else out


def values_of(value: Any) -> list[Any]:
    """Every value of ``value``: none for null, its elements for a multivalue."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def field_value(raw: Any) -> Any:
    """An event's field value as eval sees it: JSON ``null``/missing -> null, booleans -> their
    JSON text (Splunk extracts ``true`` as the text ``true``), objects -> compact JSON text,
    lists -> a multivalue of their non-null scalars (nested lists flattened)."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if raw is None or isinstance(raw, (str, int, float)):
        return raw
    if isinstance(raw, dict):
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
    if isinstance(raw, list):
        flat: list[Any] = []
        stack = list(reversed(raw))
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif item is not None:
                flat.append(field_value(item))
        return mv(flat)
    return str(raw)


def to_number(value: Any) -> int | float | None:
    """The number SPL reads in a single value, or ``None`` (see "Numbers in strings")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and _IMPLICIT_NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    return None


def format_number(number: int | float) -> str:
    """A number as SPL prints it: integers without ``.0``, ``nan``/``inf``/``-inf``."""
    if isinstance(number, int):
        return str(number)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)


def to_text(value: Any) -> str | None:
    """A single value as text (``None`` for null); booleans read ``true``/``false``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, list):
        return to_text(value[0]) if value else None
    return str(value)


def tidy_number(number: float) -> int | float:
    """An integral float as ``int`` (exact), others unchanged."""
    if isinstance(number, float) and number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def per_value(func: Callable[..., Any]) -> Callable[..., Any]:
    """Apply ``func`` to each value of a multivalue first argument (see "Multivalue
    arguments"); a null first argument gives null without calling ``func``."""

    @functools.wraps(func)
    def wrapper(first: Any, *rest: Any) -> Any:
        if first is None:
            return None
        if isinstance(first, list):
            out: list[Any] = []
            for v in first:
                out.extend(values_of(func(v, *rest)))
            return mv(out)
        return func(first, *rest)

    return wrapper


def equal(left: Any, right: Any) -> bool:
    """SPL ``=`` on two single non-null values: numerically when both are numbers, else the
    texts compared exactly (case-sensitive). SPL reference, "where" and "eval": comparisons
    in eval expressions are case-sensitive."""
    a, b = to_number(left), to_number(right)
    if a is not None and b is not None:
        return a == b
    return to_text(left) == to_text(right)


def order(left: Any, right: Any) -> int:
    """-1, 0 or 1: numbers numerically, otherwise texts by code point (SPL's lexicographic
    order)."""
    a, b = to_number(left), to_number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    ta, tb = to_text(left) or "", to_text(right) or ""
    return (ta > tb) - (ta < tb)


# --- regular expressions ----------------------------------------------------------------------

_POSIX_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r"\s",
    "xdigit": "0-9A-Fa-f",
    "word": r"\w",
    "punct": r"!-/:-@\[-`{-~",
    "blank": r" \t",
    "cntrl": r"\x00-\x1f\x7f",
    "print": r"\x20-\x7e",
    "graph": r"\x21-\x7e",
}
_FLAG_GROUP = re.compile(r"\(\?([a-zA-Z]*(?:-[a-zA-Z]+)?)\)")


def pcre_to_python(pattern: str) -> str:
    """Rewrite a PCRE pattern (SPL's regex dialect: ``rex``, ``regex``, ``match``...) as Python
    ``re`` syntax with the same meaning.

    Handled: named groups ``(?<n>...)``/``(?'n'...)`` and back-references ``\\k<n>``;
    ``\\Q...\\E`` quoting; ``\\z``, ``\\Z``, ``\\h``, ``\\H``, ``\\x{...}``; POSIX classes
    ``[[:alpha:]]``; inline option settings such as ``(?i)`` in the middle of a pattern, which
    PCRE applies to the rest of the enclosing group (PCRE2 ``pcre2pattern``, "Internal option
    setting") and Python only accepts at the start: they become scoped groups ``(?i:...)``,
    closed and reopened around each ``|`` of that group. Python 3.11 already supports atomic
    groups and possessive quantifiers.
    """
    out: list[str] = []
    frames: list[list[str]] = [[]]  # per open group: option scopes opened inside it
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                body = pattern[i + 2 :] if end == -1 else pattern[i + 2 : end]
                out.append(re.escape(body) if not in_class else "".join("\\" + c for c in body))
                i = n if end == -1 else end + 2
                continue
            if nxt == "x" and i + 2 < n and pattern[i + 2] == "{":
                end = pattern.find("}", i + 3)
                if end != -1:
                    code = int(pattern[i + 3 : end] or "0", 16)
                    out.append(f"\\x{code:02x}" if code <= 0xFF else
                               f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
                    i = end + 1
                    continue
            if nxt == "k" and i + 2 < n and pattern[i + 2] in "<'{":
                close = {"<": ">", "'": "'", "{": "}"}[pattern[i + 2]]
                end = pattern.find(close, i + 3)
                if end != -1:
                    out.append(f"(?P={pattern[i + 3 : end]})")
                    i = end + 1
                    continue
            if nxt == "z":
                out.append(r"\Z")
            elif nxt == "Z":
                out.append(r"(?=\n?\Z)" if not in_class else "Z")
            elif nxt == "h":
                out.append(r" \t" if in_class else r"[ \t]")
            elif nxt == "H":
                out.append(r"[^ \t]" if not in_class else "H")
            else:
                out.append(char + nxt)
            i += 2
            continue
        if in_class:
            if char == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                name = pattern[i + 2 : end] if end != -1 else ""
                negated = name.startswith("^")
                if name.lstrip("^") in _POSIX_CLASSES and not negated:
                    out.append(_POSIX_CLASSES[name])
                    i = end + 2
                    continue
            if char == "]":
                in_class = False
            out.append(char)
            i += 1
            continue
        if char == "[":
            in_class = True
            out.append(char)
            i += 1
            # A ']' right after '[' or '[^' is literal.
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if char == "(":
            flag = _FLAG_GROUP.match(pattern, i)
            if flag is not None:
                flags = flag.group(1)
                if i == 0 and "-" not in flags and flags:
                    out.append(flag.group(0))
                elif flags and flags != "-":
                    out.append(f"(?{flags}:")
                    frames[-1].append(flags)
                i = flag.end()
                continue
            if pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
                out.append("(?P<")
                i += 3
            elif pattern.startswith("(?'", i):
                end = pattern.find("'", i + 3)
                out.append(f"(?P<{pattern[i + 3 : end]}>")
                i = end + 1
            elif pattern.startswith("(?P<", i) or pattern.startswith("(?P=", i):
                out.append(pattern[i : i + 4])
                i += 4
            else:
                out.append(char)
                i += 1
            frames.append([])
            continue
        if char == "|":
            scopes = frames[-1]
            out.append(")" * len(scopes) + "|" + "".join(f"(?{f}:" for f in scopes))
            i += 1
            continue
        if char == ")":
            scopes = frames.pop() if len(frames) > 1 else []
            out.append(")" * len(scopes) + ")")
            i += 1
            continue
        out.append(char)
        i += 1
    out.append(")" * sum(len(f) for f in frames))
    return "".join(out)


@functools.lru_cache(maxsize=2048)
def compile_regex(pattern: str, flags: int = 0) -> BoundedRegex:
    """A PCRE pattern compiled for Python (cached), run bounded (:mod:`ir.regexrun`); a bad
    pattern is an ``invalid`` error."""
    try:
        return bounded(pcre_to_python(pattern), flags)
    except (re.error, ValueError, IndexError) as exc:
        raise RuleglotError(
            f"invalid regular expression {pattern!r}: {exc}", construct="regex"
        ) from exc


def expand_template(template: str) -> Callable[[re.Match[str]], str]:
    """A replacement function for ``replace``/``rex mode=sed``: ``\\1``..``\\99`` are groups
    (a group that did not take part is empty), ``\\\\`` a backslash; any other text, including
    a backslash before another character, is literal."""
    parts: list[str | int] = []
    i = 0
    literal: list[str] = []
    while i < len(template):
        char = template[i]
        if char == "\\" and i + 1 < len(template):
            digits = re.match(r"\d{1,2}", template[i + 1 :])
            if digits:
                if literal:
                    parts.append("".join(literal))
                    literal = []
                parts.append(int(digits.group(0)))
                i += 1 + len(digits.group(0))
                continue
            literal.append(template[i + 1] if template[i + 1] == "\\" else template[i : i + 2])
            i += 2
            continue
        literal.append(char)
        i += 1
    if literal:
        parts.append("".join(literal))

    def expand(match: re.Match[str]) -> str:
        out = []
        for part in parts:
            if isinstance(part, int):
                try:
                    out.append(match.group(part) or "")
                except IndexError:
                    out.append("")
            else:
                out.append(part)
        return "".join(out)

    return expand


# --- time -------------------------------------------------------------------------------------

_UTC = _dt.UTC


def _subseconds(stamp: float, digits: int) -> str:
    frac = Decimal(repr(stamp)) % 1 if not math.isnan(stamp) else Decimal(0)
    scaled = int((frac * (10**digits)).to_integral_value(rounding="ROUND_FLOOR"))
    return str(scaled).rjust(digits, "0")[:digits]


_TIME_VAR = re.compile(r"%:z|%Ez|%(\d*)([NQsekTFZzfc+%])")


def strftime(stamp: Any, fmt: Any) -> str | None:
    """``strftime(X, Y)`` (Date and Time functions; "Date and time format variables"): epoch
    ``X`` formatted with ``Y`` in UTC. Splunk's own variables are honoured: ``%N``
    subseconds (default 9 digits, ``%3N``...), ``%Q`` (default 3 digits), ``%s`` epoch, ``%e``
    and ``%k`` space-padded day and hour, ``%T``, ``%F``, ``%Z`` (``UTC``), ``%z``/``%:z``,
    ``%f`` microseconds; other variables are C ``strftime``'s."""
    number = to_number(stamp)
    if number is None or not isinstance(fmt, str) or math.isnan(number) or math.isinf(number):
        return None
    try:
        when = _dt.datetime.fromtimestamp(number, _UTC)
    except (OverflowError, OSError, ValueError):
        return None

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "%:z":
            return "+00:00"
        if whole == "%Ez":
            return "+0"
        width, var = match.group(1), match.group(2)
        if var == "N":
            return _subseconds(float(number), int(width or 9))
        if var == "Q":
            return _subseconds(float(number), int(width or 3))
        if var == "f":
            return _subseconds(float(number), 6)
        if var == "s":
            return str(int(math.floor(number)))
        if var == "e":
            return str(when.day).rjust(2)
        if var == "k":
            return str(when.hour).rjust(2)
        if var == "T":
            return when.strftime("%H:%M:%S")
        if var == "F":
            return when.strftime("%Y-%m-%d")
        if var == "Z":
            return "UTC"
        if var == "z":
            return "+0000"
        if var == "c":
            return when.strftime("%a %b %d %H:%M:%S %Y")
        if var == "+":
            return when.strftime("%a %b %d %H:%M:%S UTC %Y")
        return "%"

    return when.strftime(_TIME_VAR.sub(lambda m: replace(m).replace("%", "%%"), fmt))


def strptime(text: Any, fmt: Any) -> float | None:
    """``strptime(X, Y)`` (Date and Time functions): the epoch time (a float) of the text ``X``
    read with format ``Y``; a time without a zone is UTC (ruleglot's rule, see the module
    docstring); null when ``X`` does not fit ``Y``. Splunk's ``%N``/``%Q`` (any width), ``%s``,
    ``%T``, ``%F``, ``%e``, ``%k`` are understood."""
    if not isinstance(text, (str, int, float)) or isinstance(text, bool):
        return None
    if not isinstance(fmt, str):
        return None
    source = to_text(text) or ""
    pieces: list[str] = []
    fraction_group = False
    epoch_group = False
    pos = 0
    for match in re.finditer(r"%(\d*)([a-zA-Z%+:])", fmt):
        pieces.append(re.escape(fmt[pos : match.start()]).replace("\\ ", r"\s+"))
        pos = match.end()
        var = match.group(2)
        if var in "NQf":
            pieces.append(r"(?P<frac>\d+)")
            fraction_group = True
        elif var == "s":
            pieces.append(r"(?P<epoch>-?\d+(?:\.\d+)?)")
            epoch_group = True
        else:
            pieces.append(f"(?P<v{len(pieces)}>{_STRPTIME_PIECES.get(var, '.+?')})")
    pieces.append(re.escape(fmt[pos:]).replace("\\ ", r"\s+"))
    found = re.fullmatch("".join(pieces), source.strip())
    if found is None:
        return None
    if epoch_group:
        return float(found.group("epoch"))
    # Rebuild a Python format over the captured pieces (subseconds handled apart).
    py_fmt = re.sub(r"%\d*[NQf]", "", fmt)
    py_fmt = py_fmt.replace("%T", "%H:%M:%S").replace("%F", "%Y-%m-%d")
    py_fmt = py_fmt.replace("%e", "%d").replace("%k", "%H").replace("%Z", "")
    py_text = source.strip()
    frac = 0.0
    if fraction_group:
        digits = found.group("frac")
        frac = int(digits) / (10 ** len(digits))
        py_text = py_text[: found.start("frac")] + py_text[found.end("frac") :]
    py_text = re.sub(r"\b(UTC|GMT|Z)\b", "", py_text) if "%Z" in fmt else py_text
    try:
        parsed = _dt.datetime.strptime(py_text.strip(), py_fmt.strip())
    except ValueError:
        try:
            parsed = _dt.datetime.strptime(re.sub(r"\s+", " ", py_text.strip()),
                                           re.sub(r"\s+", " ", py_fmt.strip()))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_UTC)
    return parsed.timestamp() + frac


_STRPTIME_PIECES = {
    "Y": r"\d{4}", "y": r"\d{2}", "m": r"\d{1,2}", "d": r"\d{1,2}", "e": r"\s?\d{1,2}",
    "H": r"\d{1,2}", "k": r"\s?\d{1,2}", "I": r"\d{1,2}", "M": r"\d{1,2}", "S": r"\d{1,2}",
    "j": r"\d{1,3}", "p": r"[AaPp][Mm]", "b": r"[A-Za-z]+", "B": r"[A-Za-z]+",
    "a": r"[A-Za-z]+", "A": r"[A-Za-z]+", "z": r"[+-]\d{2}:?\d{2}|Z", "Z": r"[A-Za-z]+",
    "T": r"\d{1,2}:\d{1,2}:\d{1,2}", "F": r"\d{4}-\d{1,2}-\d{1,2}", "%": "%",
}

_UNITS = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "d": "d", "day": "d", "days": "d",
    "w": "w", "week": "w", "weeks": "w",
    "mon": "mon", "month": "mon", "months": "mon",
    "q": "q", "qtr": "q", "qtrs": "q", "quarter": "q", "quarters": "q",
    "y": "y", "yr": "y", "yrs": "y", "year": "y", "years": "y",
}
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_OFFSET = re.compile(r"([+-])(\d*)([a-zA-Z]+)")
_SNAP = re.compile(r"@([a-zA-Z]+?)(\d?)(?=$|[+-])")


def time_unit(word: str) -> str | None:
    """The canonical unit (``s m h d w mon q y``) of a time-modifier unit word."""
    return _UNITS.get(word.lower())


def _add_months(when: _dt.datetime, months: int) -> _dt.datetime:
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def _snap(when: _dt.datetime, unit: str, weekday: str) -> _dt.datetime:
    if unit == "s":
        return when.replace(microsecond=0)
    if unit == "m":
        return when.replace(second=0, microsecond=0)
    if unit == "h":
        return when.replace(minute=0, second=0, microsecond=0)
    midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return midnight
    if unit == "w":
        target = int(weekday or 0)  # w0 = Sunday ... w6 = Saturday
        current = (midnight.weekday() + 1) % 7
        return midnight - _dt.timedelta(days=(current - target) % 7)
    if unit == "mon":
        return midnight.replace(day=1)
    if unit == "q":
        return midnight.replace(day=1, month=(midnight.month - 1) // 3 * 3 + 1)
    return midnight.replace(day=1, month=1)


def relative_time(stamp: Any, spec: Any) -> float | int | None:
    """``relative_time(X, Y)`` (Date and Time functions; Search Manual, "Specify time
    modifiers in your search"): epoch ``X`` moved by the modifier ``Y``: offsets
    ``[+-]<n><unit>`` (``n`` defaults to 1) and snaps ``@<unit>`` (``@w0``..``@w6`` snap to a
    weekday, Sunday = 0), in any order, e.g. ``-1d@d``, ``@d+3h``, ``-70m@m``, ``now``. Calendar
    units (``mon``, ``q``, ``y``) move the calendar date, clamping the day (UTC)."""
    number = to_number(stamp)
    if number is None or not isinstance(spec, str):
        return None
    text = spec.strip()
    if text in ("", "now"):
        return number
    try:
        when = _dt.datetime.fromtimestamp(number, _UTC)
    except (OverflowError, OSError, ValueError):
        return None
    pos = 0
    while pos < len(text):
        offset = _OFFSET.match(text, pos)
        if offset is not None:
            unit = time_unit(offset.group(3))
            if unit is None:
                return None
            amount = int(offset.group(2) or 1) * (-1 if offset.group(1) == "-" else 1)
            if unit in _UNIT_SECONDS:
                when += _dt.timedelta(seconds=amount * _UNIT_SECONDS[unit])
            else:
                when = _add_months(when, amount * {"mon": 1, "q": 3, "y": 12}[unit])
            pos = offset.end()
            continue
        snap = _SNAP.match(text, pos)
        if snap is not None:
            unit = time_unit(snap.group(1))
            if unit is None:
                return None
            when = _snap(when, unit, snap.group(2))
            pos = snap.end()
            continue
        return None
    return tidy_number(when.timestamp())


def parse_timestamp(value: Any) -> float | None:
    """Epoch seconds of a timestamp value: a number, a numeric string, or an ISO-8601 /
    ``YYYY-MM-DD HH:MM:SS(.fff)`` text (any number of fraction digits, ``Z`` or an offset; no
    zone means UTC); ``None`` otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return parse_timestamp(value[0]) if value else None
    text = str(value).strip()
    if _EXPLICIT_NUMBER.fullmatch(text):
        return float(text)
    match = re.fullmatch(
        r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?\s*(Z|[+-]\d{2}:?\d{2})?",
        text,
    )
    if match is None:
        for fmt in ("%m/%d/%Y %H:%M:%S", "%Y-%m-%d", "%m/%d/%Y"):
            try:
                return _dt.datetime.strptime(text, fmt).replace(tzinfo=_UTC).timestamp()
            except ValueError:
                continue
        return None
    date, clock, frac, zone = match.groups()
    try:
        when = _dt.datetime.fromisoformat(f"{date}T{clock}")
    except ValueError:
        return None
    offset = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    seconds = when.replace(tzinfo=_UTC).timestamp() - offset
    if frac:
        seconds += int(frac) / (10 ** len(frac))
    return seconds


# --- the functions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    """An eval function taking evaluated arguments: ``impl(*values)``."""

    name: str
    min_args: int
    max_args: int | None
    impl: Callable[..., Any]
    #: Argument positions that are regular expressions (checked at compile time if literal).
    regex_args: tuple[int, ...] = ()


FUNCTIONS: dict[str, Function] = {}


def _register(name: str, min_args: int, max_args: int | None, *, regex_args: Sequence[int] = (),
              aliases: Sequence[str] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(impl: Callable[..., Any]) -> Callable[..., Any]:
        for each in (name, *aliases):
            FUNCTIONS[each] = Function(each, min_args, max_args, impl, tuple(regex_args))
        return impl

    return decorate


# Comparison and Conditional functions


@_register("match", 2, 2, regex_args=(1,))
def _match(subject: Any, pattern: Any) -> bool:
    """``match(SUBJECT, "REGEX")``: true when the regex matches anywhere in the subject
    (unanchored, PCRE syntax so ``(?i)`` works); any value of a multivalue subject."""
    if subject is None or pattern is None:
        return False
    rx = compile_regex(to_text(pattern) or "")
    return any(rx.found(to_text(v) or "") for v in values_of(subject))


def like_regex(pattern: str) -> BoundedRegex:
    """``like``'s pattern: ``%`` any run of characters, ``_`` exactly one, the rest literal
    (no escape character: the reference documents none), whole value, case-sensitive."""
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return bounded(body, re.DOTALL)


_like_cache = functools.lru_cache(maxsize=1024)(like_regex)


@_register("like", 2, 2)
def _like(subject: Any, pattern: Any) -> bool:
    """``like(TEXT, PATTERN)``: SQL LIKE with ``%`` and ``_`` (see :func:`like_regex`)."""
    if subject is None or pattern is None:
        return False
    rx = _like_cache(to_text(pattern) or "")
    return any(rx.fullmatch(to_text(v) or "") is not None for v in values_of(subject))


@functools.lru_cache(maxsize=1024)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None


def cidr_contains(cidr: str, address: str) -> bool:
    """The address (IPv4 or IPv6 text) is inside the network ``cidr``."""
    network = _network(cidr)
    if network is None:
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return ip.version == network.version and ip in network


@_register("cidrmatch", 2, 2)
def _cidrmatch(cidr: Any, ip: Any) -> bool:
    """``cidrmatch("CIDR", IP)``: the IP is in the subnet; false for a value that is not an
    address. IPv6 is accepted too (the reference only shows IPv4: ruleglot's choice)."""
    if cidr is None or ip is None:
        return False
    return any(cidr_contains(to_text(cidr) or "", to_text(v) or "") for v in values_of(ip))


@_register("in", 1, None)
def _in(value: Any, *candidates: Any) -> bool:
    """``in(FIELD, VALUE-LIST)``: the field equals one of the values (as ``=``)."""
    if value is None:
        return False
    return any(equal(v, c) for v in values_of(value) for c in candidates if c is not None)


@_register("nullif", 2, 2)
def _nullif(first: Any, second: Any) -> Any:
    """``nullif(X, Y)``: null when the two values are equal (as ``=``), else ``X``."""
    if first is not None and second is not None and not isinstance(first, list) \
            and not isinstance(second, list) and equal(first, second):
        return None
    return first


@_register("true", 0, 0)
def _true() -> bool:
    """``true()``."""
    return True


@_register("false", 0, 0)
def _false() -> bool:
    """``false()``."""
    return False


@_register("null", 0, 0)
def _null() -> None:
    """``null()``."""
    return None


# Conversion functions


@_register("tonumber", 1, 2)
@per_value
def _tonumber(value: Any, base: Any = 10) -> int | float | None:
    """``tonumber(NUMSTR[, BASE])``: base 2 to 36 (an ``0x`` prefix is allowed in base 16);
    base 10 also reads a sign, decimals and an exponent. A value with leading or trailing
    spaces is not a number (null), as the reference says."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    radix = to_number(base)
    if radix is None or not 2 <= radix <= 36:
        return None
    if radix == 10:
        if not _EXPLICIT_NUMBER.fullmatch(text):
            return None
        number = float(text)
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        return number
    if text != text.strip():
        return None
    try:
        return int(text, int(radix))
    except ValueError:
        return None


def _commas(number: int | float) -> str:
    if isinstance(number, int) or float(number).is_integer():
        return f"{int(number):,}"
    return f"{number:,.2f}"


def _duration(number: int | float) -> str:
    total = int(math.floor(number))
    days, rest = divmod(abs(total), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    text = f"{days}+{clock}" if days else clock
    return "-" + text if total < 0 else text


@_register("tostring", 1, 2)
@per_value
def _tostring(value: Any, fmt: Any = None) -> str | None:
    """``tostring(X[, "hex"|"commas"|"duration"])``: a number as text; ``hex`` gives ``0xF``
    for 15, ``commas`` gives ``12,345.68`` (two decimals, integers none), ``duration`` gives
    ``HH:MM:SS`` (``D+HH:MM:SS`` past a day, whole seconds); a boolean gives ``True`` or
    ``False`` (the reference's example ``tostring(1==1)``)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if fmt is None:
        return to_text(value)
    number = to_number(value)
    kind = to_text(fmt)
    if number is None:
        return to_text(value)
    if kind == "hex":
        whole = int(number)
        return ("-0x" if whole < 0 else "0x") + format(abs(whole), "X")
    if kind == "commas":
        return _commas(number)
    if kind == "duration":
        return _duration(number)
    return to_text(value)


@_register("printf", 1, None)
def _printf(fmt: Any, *args: Any) -> str | None:
    """``printf("format", args...)``: C ``printf`` conversions ``%s %d %i %u %f %F %e %E %g %G
    %x %X %o %c %%`` with flags, width and precision (also ``*``); the ``'`` flag groups
    thousands. Arguments are read as the conversion needs (a non-number for ``%d`` is 0)."""
    if fmt is None:
        return None
    queue = list(args)

    def take() -> Any:
        return queue.pop(0) if queue else None

    def convert(match: re.Match[str]) -> str:
        flags, width, precision, conv = match.groups()
        if conv == "%":
            return "%"
        if width == "*":
            width = str(int(to_number(take()) or 0))
        if precision == ".*":
            precision = "." + str(int(to_number(take()) or 0))
        group = "'" in flags
        spec = "%" + flags.replace("'", "") + (width or "") + (precision or "")
        value = take()
        if conv in "diu":
            number = int(to_number(value) or 0)
            text = (spec + "d") % number
            if group:
                text = text.replace(str(abs(number)), f"{abs(number):,}")
            return text
        if conv in "fFeEgG":
            return (spec + conv) % float(to_number(value) or 0)
        if conv in "xXo":
            return (spec + conv) % int(to_number(value) or 0)
        if conv == "c":
            code = to_number(value)
            return chr(int(code)) if code is not None else (to_text(value) or "")[:1]
        shown = to_text(value)
        return (spec + "s") % ("" if shown is None else shown)

    return re.sub(r"%([-+ 0#']*)(\*|\d+)?(\.\*|\.\d+)?([diufFeEgGxXocs%])", convert,
                  to_text(fmt) or "")


@per_value
def _ipmask_each(ip: Any, mask: Any) -> str | None:
    try:
        address = int(ipaddress.IPv4Address(to_text(ip)))
        bits = int(ipaddress.IPv4Address(to_text(mask)))
    except ValueError:
        return None
    return str(ipaddress.IPv4Address(address & bits))


@_register("ipmask", 2, 2)
def _ipmask(mask: Any, ip: Any) -> Any:
    """``ipmask(MASK, IP)``: bitwise AND of two IPv4 addresses
    (``ipmask("255.255.255.0", "10.20.30.120")`` is ``10.20.30.0``)."""
    return _ipmask_each(ip, mask)


# Cryptographic functions


def _hasher(algorithm: str) -> Callable[[Any], Any]:
    @per_value
    def digest(value: Any) -> str:
        return hashlib.new(algorithm, (to_text(value) or "").encode("utf-8")).hexdigest()

    digest.__doc__ = f"``{algorithm}(X)``: the hex digest of the UTF-8 text of X."
    return digest


for _algorithm in ("md5", "sha1", "sha256", "sha512"):
    FUNCTIONS[_algorithm] = Function(_algorithm, 1, 1, _hasher(_algorithm))


# Date and Time functions

FUNCTIONS["strftime"] = Function("strftime", 2, 2, per_value(strftime))
FUNCTIONS["strptime"] = Function("strptime", 2, 2, per_value(strptime))
FUNCTIONS["relative_time"] = Function("relative_time", 2, 2, per_value(relative_time))


# Informational functions


@_register("isnull", 1, 1)
def _isnull(value: Any) -> bool:
    """``isnull(X)``: X is null (missing, JSON null); an empty string is not null."""
    return value is None


@_register("isnotnull", 1, 1)
def _isnotnull(value: Any) -> bool:
    """``isnotnull(X)``."""
    return value is not None


@_register("isnum", 1, 1)
def _isnum(value: Any) -> bool:
    """``isnum(X)``: X is a number, or a string SPL reads as one (see the module docstring)."""
    return not isinstance(value, list) and to_number(value) is not None


@_register("isint", 1, 1)
def _isint(value: Any) -> bool:
    """``isint(X)``: X is an integer (an ``int``, or a string of digits)."""
    number = to_number(value)
    if isinstance(value, str):
        return number is not None and "." not in value
    return isinstance(number, int)


@_register("isstr", 1, 1)
def _isstr(value: Any) -> bool:
    """``isstr(X)``: X is a string that is not a number."""
    return isinstance(value, str) and to_number(value) is None


@_register("isbool", 1, 1)
def _isbool(value: Any) -> bool:
    """``isbool(X)``: X is a boolean (from a comparison or ``true()``)."""
    return isinstance(value, bool)


@_register("typeof", 1, 1)
def _typeof(value: Any) -> str:
    """``typeof(X)``: ``Number``, ``String``, ``Boolean``, ``Invalid`` for null;
    ``Multivalue`` for a multivalue (ruleglot's choice)."""
    if value is None:
        return "Invalid"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, list):
        return "Multivalue"
    return "Number" if to_number(value) is not None else "String"


# JSON functions

_PATH_STEP = re.compile(r"\{(\d*)\}|\[(\d*)\]|([^.{}\[\]]+)")


def _json_path(document: Any, path: str) -> list[Any]:
    current: list[Any] = [document]
    for step in _PATH_STEP.finditer(path):
        index_text = step.group(1) if step.group(1) is not None else step.group(2)
        nxt: list[Any] = []
        for node in current:
            if step.group(3) is not None:
                if isinstance(node, dict) and step.group(3) in node:
                    nxt.append(node[step.group(3)])
                elif isinstance(node, list):  # implicit iteration, as spath does
                    nxt.extend(n[step.group(3)] for n in node
                               if isinstance(n, dict) and step.group(3) in n)
            elif isinstance(node, list):
                if index_text == "":
                    nxt.extend(node)
                elif index_text is not None and int(index_text) < len(node):
                    nxt.append(node[int(index_text)])
        current = nxt
    return current


def _json_value(node: Any) -> Any:
    if isinstance(node, (dict, list)):
        return json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    return field_value(node)


def _load_json(text: Any) -> Any:
    if text is None or isinstance(text, list):
        return None
    try:
        return json.loads(to_text(text) or "")
    except ValueError:
        return None


@_register("spath", 2, 2)
def _spath(text: Any, path: Any) -> Any:
    """``spath(X, Y)`` (Text functions): the values at path ``Y`` (``a.b``, ``a{0}.b``,
    ``a{}.b``, ``a[0]``) of the JSON text ``X``; objects as JSON text; several values are a
    multivalue; null when absent or ``X`` is not JSON (XML is not supported)."""
    document = _load_json(text)
    if document is None or path is None:
        return None
    return mv(_json_value(node) for node in _json_path(document, to_text(path) or ""))


@_register("json_extract", 1, None)
def _json_extract(text: Any, *paths: Any) -> Any:
    """``json_extract(JSON[, PATH...])`` (JSON functions): with no path the JSON itself; with
    one path the value there (as ``spath``); with several, a JSON array of the values."""
    document = _load_json(text)
    if document is None:
        return None
    if not paths:
        return _json_value(document)
    found = [_json_path(document, to_text(p) or "") for p in paths]
    if len(paths) == 1:
        nodes = found[0]
        if not nodes:
            return None
        return _json_value(nodes[0]) if len(nodes) == 1 else _json_value(nodes)
    return json.dumps([f[0] if len(f) == 1 else (f or None) for f in found],
                      ensure_ascii=False, separators=(",", ":"))


@_register("json_valid", 1, 1)
def _json_valid(text: Any) -> bool:
    """``json_valid(X)``: X is JSON text."""
    if text is None or isinstance(text, list):
        return False
    try:
        json.loads(to_text(text) or "")
    except ValueError:
        return False
    return True


# Mathematical functions


def _numeric(func: Callable[..., Any]) -> Callable[..., Any]:
    """A maths function: every argument read as a number; null if one is not a number."""

    @per_value
    @functools.wraps(func)
    def wrapper(*args: Any) -> Any:
        numbers = [to_number(a) for a in args]
        if any(n is None for n in numbers):
            return None
        try:
            return func(*numbers)
        except (ValueError, OverflowError, ZeroDivisionError):
            return None

    return wrapper


@_register("abs", 1, 1)
@_numeric
def _abs(x: float) -> int | float:
    """``abs(X)``."""
    return abs(x)


@_register("ceiling", 1, 1, aliases=("ceil",))
@_numeric
def _ceiling(x: float) -> int:
    """``ceiling(X)``/``ceil(X)``: the smallest integer not below X."""
    return math.ceil(x)


@_register("floor", 1, 1)
@_numeric
def _floor(x: float) -> int:
    """``floor(X)``."""
    return math.floor(x)


@_register("exact", 1, 1)
@_numeric
def _exact(x: float) -> int | float:
    """``exact(X)``: X computed exactly; ruleglot's numbers are already exact doubles."""
    return x


@_register("exp", 1, 1)
@_numeric
def _exp(x: float) -> float:
    """``exp(X)``: e to the power X."""
    return math.exp(x)


@_register("ln", 1, 1)
@_numeric
def _ln(x: float) -> float | None:
    """``ln(X)``: natural logarithm; null for X <= 0."""
    return math.log(x) if x > 0 else None


@_register("log", 1, 2)
@_numeric
def _log(x: float, base: float = 10) -> float | None:
    """``log(X[, Y])``: logarithm of X in base Y (default 10); null outside the domain."""
    if x <= 0 or base <= 0 or base == 1:
        return None
    return math.log(x, base)


@_register("pi", 0, 0)
def _pi() -> float:
    """``pi()``."""
    return math.pi


@_register("pow", 2, 2)
@_numeric
def _pow(x: float, y: float) -> int | float | None:
    """``pow(X, Y)``: X to the power Y; null when not a real number."""
    result = x**y
    return None if isinstance(result, complex) else result


@_register("sqrt", 1, 1)
@_numeric
def _sqrt(x: float) -> float | None:
    """``sqrt(X)``: null for a negative X."""
    return math.sqrt(x) if x >= 0 else None


@_register("round", 1, 2)
@_numeric
def _round(x: float, digits: float = 0) -> int | float:
    """``round(X[, Y])``: X rounded to Y decimals (default 0), halves away from zero
    (``round(2.5)`` is 3, as the reference's examples show, not Python's banker's rounding)."""
    places = int(digits)
    try:
        rounded = Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return x
    return int(rounded) if places <= 0 else float(rounded)


@_register("sigfig", 1, 1)
@_numeric
def _sigfig(x: float) -> int | float:
    """``sigfig(X)``: ruleglot does not track significant figures; X unchanged."""
    return x


@_register("random", 0, 0)
def _random() -> int:
    """``random()``: a pseudo-random integer from 0 to 2**31-1."""
    return random.randint(0, 2**31 - 1)


# Statistical eval functions


def _all_values(args: Sequence[Any]) -> list[Any]:
    return [v for a in args for v in values_of(a)]


@_register("max", 1, None)
def _max(*args: Any) -> Any:
    """``max(X, ...)``: the greatest value; values are compared as numbers when they are,
    otherwise as strings, and strings are greater than numbers (the reference: numbers
    before strings)."""
    values = _all_values(args)
    if not values:
        return None
    text = [v for v in values if to_number(v) is None]
    if text:
        return max(text, key=lambda v: to_text(v) or "")
    return max(values, key=lambda v: to_number(v) or 0)


@_register("min", 1, None)
def _min(*args: Any) -> Any:
    """``min(X, ...)``: the least value (numbers before strings, as for ``max``)."""
    values = _all_values(args)
    if not values:
        return None
    numbers = [v for v in values if to_number(v) is not None]
    if numbers:
        return min(numbers, key=lambda v: to_number(v) or 0)
    return min(values, key=lambda v: to_text(v) or "")


@_register("sum", 1, None)
def _sum(*args: Any) -> Any:
    """``sum(X, ...)``: the sum of the numeric values; null if there are none."""
    numbers = [n for n in (to_number(v) for v in _all_values(args)) if n is not None]
    return tidy_number(sum(numbers)) if numbers else None


@_register("avg", 1, None)
def _avg(*args: Any) -> Any:
    """``avg(X, ...)``: the mean of the numeric values; null if there are none."""
    numbers = [n for n in (to_number(v) for v in _all_values(args)) if n is not None]
    return tidy_number(sum(numbers) / len(numbers)) if numbers else None


# Multivalue eval functions


@_register("mvappend", 1, None)
def _mvappend(*args: Any) -> Any:
    """``mvappend(X, ...)``: all the values of all arguments, in order; nulls skipped."""
    return mv(_all_values(args))


@_register("mvcount", 1, 1)
def _mvcount(value: Any) -> int | None:
    """``mvcount(MVFIELD)``: the number of values; 1 for a single value; null for none."""
    values = values_of(value)
    return len(values) if values else None


@_register("mvdedup", 1, 1)
def _mvdedup(value: Any) -> Any:
    """``mvdedup(X)``: duplicates removed, first occurrences kept in order."""
    seen: dict[str | None, Any] = {}
    for v in values_of(value):
        seen.setdefault(to_text(v), v)
    return mv(seen.values())


@_register("mvfind", 2, 2, regex_args=(1,))
def _mvfind(value: Any, pattern: Any) -> int | None:
    """``mvfind(MVFIELD, "REGEX")``: the 0-based index of the first value the regex matches
    (unanchored), or null."""
    if pattern is None:
        return None
    rx = compile_regex(to_text(pattern) or "")
    for index, v in enumerate(values_of(value)):
        if rx.found(to_text(v) or ""):
            return index
    return None


@_register("mvindex", 2, 3)
def _mvindex(value: Any, start: Any, end: Any = None) -> Any:
    """``mvindex(MVFIELD, STARTINDEX[, ENDINDEX])``: 0-based, negative from the end, the end
    index included; an out-of-range start is null, an end past the last value is clamped."""
    values = values_of(value)
    first = to_number(start)
    if not values or first is None:
        return None
    count = len(values)
    lo = int(first) + count if first < 0 else int(first)
    if not 0 <= lo < count:
        return None
    if end is None:
        return values[lo]
    last = to_number(end)
    if last is None:
        return None
    hi = min(int(last) + count if last < 0 else int(last), count - 1)
    return mv(values[lo : hi + 1]) if hi >= lo else None


@_register("mvjoin", 2, 2)
def _mvjoin(value: Any, delimiter: Any) -> str | None:
    """``mvjoin(MVFIELD, STR)``: the values joined by the delimiter."""
    values = values_of(value)
    if not values or delimiter is None:
        return None
    return (to_text(delimiter) or "").join(to_text(v) or "" for v in values)


@_register("mvsort", 1, 1)
def _mvsort(value: Any) -> Any:
    """``mvsort(X)``: the values sorted lexicographically (by code point: digits before upper
    case before lower case, as the reference says)."""
    return mv(sorted(values_of(value), key=lambda v: to_text(v) or ""))


@_register("mvzip", 2, 3)
def _mvzip(left: Any, right: Any, delimiter: Any = ",") -> Any:
    """``mvzip(X, Y[, "Z"])``: pairs of values joined by Z (default comma), as long as the
    shorter field."""
    sep = to_text(delimiter) or ""
    return mv(f"{to_text(a)}{sep}{to_text(b)}" for a, b in
              zip(values_of(left), values_of(right), strict=False))


@_register("mvrange", 2, 3)
def _mvrange(start: Any, end: Any, step: Any = 1) -> Any:
    """``mvrange(X, Y[, Z])``: numbers from X up to but excluding Y, by step Z."""
    lo, hi, by = to_number(start), to_number(end), to_number(step)
    if lo is None or hi is None or not by:
        return None
    out: list[Any] = []
    current = lo
    while (by > 0 and current < hi) or (by < 0 and current > hi):
        out.append(tidy_number(current))
        current += by
        if len(out) > 10000:
            break
    return mv(out)


@_register("mv_to_json_array", 1, 2)
def _mv_to_json_array(value: Any, infer: Any = False) -> str | None:
    """``mv_to_json_array(MV[, INFER_TYPES])``: a JSON array of the values (strings, or with
    inferred types when the second argument is true)."""
    values = values_of(value)
    if infer is True:
        items: list[Any] = []
        for v in values:
            try:
                items.append(json.loads(to_text(v) or ""))
            except ValueError:
                items.append(to_text(v))
        return json.dumps(items, separators=(",", ":"))
    return json.dumps([to_text(v) for v in values], ensure_ascii=False, separators=(",", ":"))


@_register("split", 2, 2)
@per_value
def _split(value: Any, delimiter: Any) -> Any:
    """``split(X, "Y")``: the text split at each occurrence of Y (an empty Y splits into
    characters); empty pieces are kept (ruleglot's choice); a multivalue result."""
    text = to_text(value) or ""
    sep = to_text(delimiter)
    if sep is None:
        return None
    pieces = list(text) if sep == "" else text.split(sep)
    return pieces[0] if len(pieces) == 1 else pieces


# Text functions


@_register("len", 1, 1)
@per_value
def _len(value: Any) -> int:
    """``len(X)``: the number of characters."""
    return len(to_text(value) or "")


@_register("lower", 1, 1)
@per_value
def _lower(value: Any) -> str | None:
    """``lower(X)``."""
    return (to_text(value) or "").lower()


@_register("upper", 1, 1)
@per_value
def _upper(value: Any) -> str | None:
    """``upper(X)``."""
    return (to_text(value) or "").upper()


def _strip(which: str) -> Callable[..., Any]:
    @per_value
    def strip(value: Any, chars: Any = None) -> str:
        text = to_text(value) or ""
        remove = " \t" if chars is None else (to_text(chars) or "")
        return {"both": text.strip, "left": text.lstrip, "right": text.rstrip}[which](remove)

    name = {"both": "trim", "left": "ltrim", "right": "rtrim"}[which]
    strip.__doc__ = (f"``{name}(X[, Y])``: the characters of Y (default space and tab) "
                     f"removed from the {which} side(s) of X.")
    return strip


FUNCTIONS["trim"] = Function("trim", 1, 2, _strip("both"))
FUNCTIONS["ltrim"] = Function("ltrim", 1, 2, _strip("left"))
FUNCTIONS["rtrim"] = Function("rtrim", 1, 2, _strip("right"))


@_register("replace", 3, 3, regex_args=(1,))
@per_value
def _replace(value: Any, pattern: Any, replacement: Any) -> str | None:
    """``replace(X, Y, Z)``: every match of the regex Y in X replaced by Z, where ``\\1``...
    are groups of Y."""
    if pattern is None or replacement is None:
        return None
    rx = compile_regex(to_text(pattern) or "")
    return rx.sub(expand_template(to_text(replacement) or ""), to_text(value) or "")


@_register("substr", 2, 3)
@per_value
def _substr(value: Any, start: Any, length: Any = None) -> str | None:
    """``substr(X, Y[, Z])``: Z characters (default: the rest) from position Y, 1-based;
    a negative Y counts from the end (``substr("string", -3)`` is ``ing``); Y = 0 is read as
    1 (ruleglot's choice)."""
    text = to_text(value) or ""
    first = to_number(start)
    if first is None:
        return None
    begin = int(first) - 1 if first > 0 else max(len(text) + int(first), 0) if first < 0 else 0
    if length is None:
        return text[begin:]
    count = to_number(length)
    if count is None or count < 0:
        return None
    return text[begin : begin + int(count)]


@_register("urldecode", 1, 1)
@per_value
def _urldecode(value: Any) -> str:
    """``urldecode(X)``: ``%XX`` escapes decoded as UTF-8 (``+`` stays ``+``: ruleglot's
    choice, the reference's example has none)."""
    return urllib.parse.unquote(to_text(value) or "")


#: Functions that need their arguments unevaluated or the search context; ``ir.evalexpr``
#: compiles them (listed here so one place names every supported function).
#: Their arity (lowest, highest or None): ``case``/``validate`` also take their arguments in
#: pairs, which their compilers check.
SPECIAL_ARITY: dict[str, tuple[int, int | None]] = {
    "if": (3, 3), "case": (2, None), "validate": (2, None), "coalesce": (1, None),
    "mvfilter": (1, 1), "mvmap": (2, 2), "now": (0, 0), "time": (0, 0),
}  # fmt: skip
SPECIAL_FORMS = frozenset(SPECIAL_ARITY)

#: Functions that cannot be evaluated on events: compiling one is an ``unsupported`` error.
UNSUPPORTED = frozenset({"searchmatch", "commands", "lookup", "getfields"})


def supported(name: str) -> bool:
    """Whether ``name`` is an eval function ruleglot evaluates."""
    return name in FUNCTIONS or name in SPECIAL_FORMS


def arity(name: str) -> tuple[int, int | None]:
    """The number of arguments eval function ``name`` takes (lowest, highest or None): the one
    table every engine checks calls against (:data:`FUNCTIONS`, :data:`SPECIAL_ARITY`)."""
    if name in SPECIAL_ARITY:
        return SPECIAL_ARITY[name]
    function = FUNCTIONS[name]
    return function.min_args, function.max_args


def check_arity(name: str, count: int) -> None:
    """Raise the error a call of ``name`` with ``count`` arguments is when :func:`arity`
    refuses that many."""
    low, high = arity(name)
    if count < low or (high is not None and count > high):
        wanted = f"{low}" if low == high else f"{low} to {high}" if high else f"{low} or more"
        raise RuleglotError(
            f"{name}() takes {wanted} arguments, not {count}", construct=f"eval:{name}"
        )
