"""SPL time: format variables (``strftime``/``strptime``), time modifiers
(``relative_time``) and the timestamps ``_time`` is read from; always UTC.

Sources: Splunk Search Reference, "Date and time format variables", "Time modifiers" and
"Date and Time functions". The three functions are registered in :data:`FUNCTIONS` here.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import math
import re
from decimal import Decimal
from typing import Any

from ir.functions.table import FUNCTIONS, Function
from ir.functions.values import EXPLICIT_NUMBER, per_value, tidy_number, to_number, to_text

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
            parsed = _dt.datetime.strptime(
                re.sub(r"\s+", " ", py_text.strip()), re.sub(r"\s+", " ", py_fmt.strip())
            )
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_UTC)
    return parsed.timestamp() + frac


_STRPTIME_PIECES = {
    "Y": r"\d{4}",
    "y": r"\d{2}",
    "m": r"\d{1,2}",
    "d": r"\d{1,2}",
    "e": r"\s?\d{1,2}",
    "H": r"\d{1,2}",
    "k": r"\s?\d{1,2}",
    "I": r"\d{1,2}",
    "M": r"\d{1,2}",
    "S": r"\d{1,2}",
    "j": r"\d{1,3}",
    "p": r"[AaPp][Mm]",
    "b": r"[A-Za-z]+",
    "B": r"[A-Za-z]+",
    "a": r"[A-Za-z]+",
    "A": r"[A-Za-z]+",
    "z": r"[+-]\d{2}:?\d{2}|Z",
    "Z": r"[A-Za-z]+",
    "T": r"\d{1,2}:\d{1,2}:\d{1,2}",
    "F": r"\d{4}-\d{1,2}-\d{1,2}",
    "%": "%",
}

_UNITS = {
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "m": "m",
    "min": "m",
    "mins": "m",
    "minute": "m",
    "minutes": "m",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "d": "d",
    "day": "d",
    "days": "d",
    "w": "w",
    "week": "w",
    "weeks": "w",
    "mon": "mon",
    "month": "mon",
    "months": "mon",
    "q": "q",
    "qtr": "q",
    "qtrs": "q",
    "quarter": "q",
    "quarters": "q",
    "y": "y",
    "yr": "y",
    "yrs": "y",
    "year": "y",
    "years": "y",
}
#: seconds in each fixed-length canonical unit, and months in each calendar one
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
UNIT_MONTHS = {"mon": 1, "q": 3, "y": 12}
#: one step of a relative time modifier: a shift ``[+-]<n><unit>`` or a snap ``@<unit>``
#: (``@w0``..``@w7`` for weekdays, 7 also Sunday), the unit word ending where the next step begins
_STEP = re.compile(r"([+-])(\d*)([a-z]+)|@([a-z]+?)([0-7]?)(?=[+-]|@|$)")
#: a parsed step: ``("shift", amount, unit)`` or ``("snap", weekday, unit)``, canonical units
Step = tuple[str, int, str]


def time_unit(word: str) -> str | None:
    """The canonical unit (``s m h d w mon q y``) of a time-modifier unit word."""
    return _UNITS.get(word.lower())


def _add_months(when: _dt.datetime, months: int) -> _dt.datetime:
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def shift_time(when: _dt.datetime, amount: int, unit: str) -> _dt.datetime:
    """``when`` moved by ``amount`` of the canonical ``unit`` (Search Reference, "Time
    modifiers"): ``s m h d w`` by their length in seconds, ``mon``/``q``/``y`` by calendar
    months, the day clamped to the month's last. The one shift of :func:`relative_time` and
    of a search's time range (:mod:`ir.timerange`)."""
    if unit in UNIT_SECONDS:
        return when + _dt.timedelta(seconds=amount * UNIT_SECONDS[unit])
    return _add_months(when, amount * UNIT_MONTHS[unit])


def snap_time(when: _dt.datetime, unit: str, weekday: int = 0) -> _dt.datetime:
    """``when`` rounded down to the start of the canonical ``unit`` (Search Reference, "Time
    modifiers"); ``w`` to the last ``weekday`` (``@w0`` Sunday ... ``@w6`` Saturday). The one
    snap of :func:`relative_time` and of a search's time range (:mod:`ir.timerange`)."""
    if unit == "s":
        return when.replace(microsecond=0)
    if unit == "m":
        return when.replace(second=0, microsecond=0)
    if unit == "h":
        return when.replace(minute=0, second=0, microsecond=0)
    midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return midnight
    if unit == "w":  # Python's weekday() is 0 for Monday, Splunk's w0 is Sunday
        current = (midnight.weekday() + 1) % 7
        return midnight - _dt.timedelta(days=(current - weekday) % 7)
    if unit == "mon":
        return midnight.replace(day=1)
    if unit == "q":
        return midnight.replace(day=1, month=(midnight.month - 1) // 3 * 3 + 1)
    return midnight.replace(day=1, month=1)


def modifier_steps(text: str) -> tuple[Step, ...]:
    """The steps of a relative time modifier (Search Reference, "Time modifiers"; Search Manual,
    "Specify time modifiers in your search": offsets ``[+-]<n><unit>``, ``n`` defaulting to 1,
    and snaps ``@<unit>`` chained in any order, e.g. ``-1d@d``, ``@d+3h``, ``-mon@mon+7d``),
    case-insensitive. The one grammar of a modifier: :func:`relative_time` and a search's
    ``earliest=``/``latest=`` (:func:`ir.timerange.parse_bound`) both read it here.
    :class:`ValueError` saying why ``text`` is not one."""
    steps: list[Step] = []
    lowered = text.strip().lower()
    at = 0
    while at < len(lowered):
        found = _STEP.match(lowered, at)
        if found is None:
            raise ValueError(f"{text!r} is not a Splunk time modifier (at {text.strip()[at:]!r})")
        sign, amount, unit, snap, weekday = found.groups()
        if sign is not None:
            canonical = time_unit(unit)
            if canonical is None:
                raise ValueError(f"{text!r}: unknown time unit {unit!r}")
            number = int(amount) if amount else 1
            steps.append(("shift", -number if sign == "-" else number, canonical))
        else:
            canonical = time_unit(snap)
            if canonical is None or (weekday and canonical != "w"):
                raise ValueError(f"{text!r}: unknown snap unit {snap + weekday!r}")
            steps.append(("snap", int(weekday) % 7 if weekday else 0, canonical))
        at = found.end()
    if not steps:
        raise ValueError(f"{text!r} is not a Splunk time modifier")
    return tuple(steps)


def apply_steps(when: _dt.datetime, steps: tuple[Step, ...]) -> _dt.datetime:
    """``when`` moved by each step of :func:`modifier_steps` in turn."""
    for action, amount, unit in steps:
        if action == "shift":
            when = shift_time(when, amount, unit)
        else:
            when = snap_time(when, unit, amount)
    return when


def relative_time(stamp: Any, spec: Any) -> float | int | None:
    """``relative_time(X, Y)`` (Date and Time functions): epoch ``X`` moved by the time
    modifier ``Y`` (:func:`modifier_steps`; ``now`` or empty leaves it). Calendar units
    (``mon``, ``q``, ``y``) move the calendar date, clamping the day (UTC). Null when ``Y`` is
    not a modifier."""
    number = to_number(stamp)
    if number is None or not isinstance(spec, str):
        return None
    text = spec.strip()
    if text in ("", "now"):
        return number
    try:
        steps = modifier_steps(text)
        when = _dt.datetime.fromtimestamp(number, _UTC)
    except (OverflowError, OSError, ValueError):
        return None
    try:
        moved = apply_steps(when, steps)
    except (OverflowError, ValueError):  # past year 9999 or before year 1
        return None
    return tidy_number(moved.timestamp())


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
    if EXPLICIT_NUMBER.fullmatch(text):
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


# Date and Time functions

FUNCTIONS["strftime"] = Function("strftime", 2, 2, per_value(strftime))
FUNCTIONS["strptime"] = Function("strptime", 2, 2, per_value(strptime))
FUNCTIONS["relative_time"] = Function("relative_time", 2, 2, per_value(relative_time))
