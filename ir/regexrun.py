"""How every regex in ruleglot runs: in linear time where that keeps Python's meaning, under a
time budget where it cannot.

Python's ``re`` backtracks: ``(a+)+$`` on forty ``a`` and a ``b`` runs for hours, and one such
rule stalled a whole batch (issue 21). The meaning of a regex in ruleglot is Python's ``re``
(:mod:`ir.nodes`: patterns are Python ``re`` syntax; SPL's PCRE is rewritten to it by
:func:`ir.functions.pcre_to_python`), so the linear-time engine, Google's RE2
(``google-re2``), only answers where it is known to agree with ``re``:

* the text is ASCII. Every single-character atom (a literal, a class, ``.``, with or without
  the ``i`` flag) is then written for RE2 as the explicit set of ASCII characters that Python's
  own compiled atom accepts, asked character by character: no case-folding table, ``\\d``,
  ``\\w`` or ``\\s`` definition of RE2's is ever relied on (they differ: RE2's ``\\s`` lacks
  ``\\v``, its ``(?i)`` does not fold ``ı`` with ``i`` as Python does). ``\\b``/``\\B`` agree
  on ASCII text (word characters ``[0-9A-Za-z_]`` in both), but in an empty text Python's
  ``\\B`` does not hold and RE2's does: the empty text is always Python's;
* without the ``m`` flag, Python's ``$`` also matches before a final newline (``re`` docs,
  "$"); RE2's ``\\z`` does not, so such a pattern runs on RE2 only when the text does not end
  with a newline;
* the pattern uses only what RE2 has: no back-references, look-arounds, atomic groups,
  possessive or conditional constructs, no counted repeat above 1000 (RE2's limit).

Everything else (non-ASCII text, the constructs above, finding groups for ``rex``/``replace``)
runs on Python's ``re`` under a per-call time budget (:data:`BUDGET_SECONDS`). An overrun
raises :class:`RegexBudgetError` (category ``unsupported``, construct ``regex budget``) that the
caller positions on its rule; the batch goes on without that rule. The budget is a
``SIGALRM`` timer: ``re``'s matching loop checks for signals (CPython ``sre_lib.h``), so a
handler's exception stops it. Timers only reach the main thread; elsewhere (never the case in
ruleglot's own commands, whose workers are forked processes) a call runs without a budget.
"""

from __future__ import annotations

import re
import re._compiler as _compiler  # type: ignore[import-not-found]
import re._constants as C  # type: ignore[import-not-found]
import re._parser as _parser  # type: ignore[import-not-found]
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ir.errors import RuleglotError

#: Seconds one backtracking call (a search, a substitution over one text) may run.
BUDGET_SECONDS = 2.0

#: RE2's largest counted repeat (``re2/parse.cc``, ``kMaxRepeat``).
_RE2_MAX_REPEAT = 1000

T = TypeVar("T")


class RegexBudgetError(RuleglotError):
    """A regex ran past :data:`BUDGET_SECONDS` on one text."""


class _Overrun(BaseException):
    """Raised by the alarm handler; a BaseException so no ``except Exception`` swallows it."""


_state = threading.local()
_installed = False


def _on_alarm(signum: int, frame: Any) -> None:
    if getattr(_state, "armed", False):
        _state.armed = False
        raise _Overrun()


def budgeted(call: Callable[[], T], pattern: str, size: int) -> T:
    """``call()`` (a Python ``re`` call on a text of ``size`` characters), stopped with a
    :class:`RegexBudgetError` when it runs longer than :data:`BUDGET_SECONDS`."""
    global _installed
    if (
        BUDGET_SECONDS <= 0
        or getattr(_state, "armed", False)
        or threading.current_thread() is not threading.main_thread()
    ):
        return call()
    if not _installed or signal.getsignal(signal.SIGALRM) is not _on_alarm:
        signal.signal(signal.SIGALRM, _on_alarm)
        _installed = True
    _state.armed = True
    signal.setitimer(signal.ITIMER_REAL, BUDGET_SECONDS)
    try:
        return call()
    except _Overrun:
        raise RegexBudgetError(
            f"regular expression {pattern!r} ran longer than its budget of {BUDGET_SECONDS:g} s "
            f"on a text of {size} characters (catastrophic backtracking); rewrite it without "
            "nested or overlapping repeats",
            category="unsupported",
            construct="regex budget",
        ) from None
    finally:
        _state.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)


# --- Python pattern -> RE2 pattern with the same meaning on ASCII texts -----------------------


class _NotRE2(Exception):
    """The pattern uses something RE2 cannot run with Python's meaning."""


def _ascii_set(op: Any, av: Any, flags: int) -> str:
    """The RE2 class of the ASCII characters Python's atom ``(op, av)`` matches under
    ``flags`` (asked of Python's own compiled atom, so its folding and classes decide)."""
    state = _parser.State()
    state.flags = flags
    atom = _parser.SubPattern(state, [(op, av)])
    compiled = _compiler.compile(atom, flags)
    chars = [c for c in range(128) if compiled.fullmatch(chr(c)) is not None]
    if not chars:
        return r"[^\x00-\x{10FFFF}]"
    return "[" + "".join(f"\\x{{{c:X}}}" for c in chars) + "]"


#: (op, repr(argument), flags) -> its RE2 class: rules share most atoms
_ATOMS: dict[tuple[Any, str, int], str] = {}


class _Writer:
    """Writes a parsed Python pattern as RE2 syntax; ``strict_end``: it used a non-multiline
    ``$`` (Python's also matches before a final newline)."""

    def __init__(self) -> None:
        self.strict_end = False

    def atom(self, op: Any, av: Any, flags: int) -> str:
        key = (op, repr(av), flags & (re.IGNORECASE | re.DOTALL | re.ASCII | re.UNICODE))
        if key not in _ATOMS:
            _ATOMS[key] = _ascii_set(op, av, key[2])
        return _ATOMS[key]

    def seq(self, nodes: Any, flags: int) -> str:
        return "".join(self.node(op, av, flags) for op, av in nodes)

    def node(self, op: Any, av: Any, flags: int) -> str:
        if op in (C.LITERAL, C.NOT_LITERAL, C.IN, C.ANY):
            return self.atom(op, av, flags)
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            low, high, item = av
            if low > _RE2_MAX_REPEAT or (high != C.MAXREPEAT and high > _RE2_MAX_REPEAT):
                raise _NotRE2
            body = f"(?:{self.seq(item, flags)})"
            count = f"{{{low},}}" if high == C.MAXREPEAT else f"{{{low},{high}}}"
            return body + count + ("?" if op is C.MIN_REPEAT else "")
        if op is C.SUBPATTERN:
            group, add, remove, item = av
            inner = self.seq(item, (flags | add) & ~remove)
            return f"(?:{inner})"  # RE2 is asked for no groups
        if op is C.BRANCH:
            return "(?:" + "|".join(self.seq(alt, flags) for alt in av[1]) + ")"
        if op is C.AT:
            return self.anchor(str(av), flags)
        raise _NotRE2  # back-references, look-arounds, atomic, possessive, conditional

    def anchor(self, code: str, flags: int) -> str:
        multiline = bool(flags & re.MULTILINE)
        if code == "AT_END" and not multiline:
            self.strict_end = True
        table = {
            "AT_BEGINNING": "(?m:^)" if multiline else r"\A",
            "AT_BEGINNING_STRING": r"\A",
            "AT_END": "(?m:$)" if multiline else r"\z",
            "AT_END_STRING": r"\z",
            "AT_BOUNDARY": r"\b",
            "AT_NON_BOUNDARY": r"\B",
        }
        if code not in table:
            raise _NotRE2
        return table[code]


def _re2_module() -> Any:
    global _UNANCHORED
    try:
        import re2  # google-re2
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    _UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED
    return re2


_UNANCHORED: Any = None


def to_re2(compiled: re.Pattern[str]) -> tuple[Any, bool] | None:
    """``(RE2 regex, strict_end)`` searching exactly where ``compiled`` searches on ASCII
    texts (``strict_end``: on texts not ending with a newline only), or ``None``."""
    re2 = _re2_module()
    if re2 is None or not isinstance(compiled.pattern, str):
        return None
    try:
        parsed = _parser.parse(compiled.pattern, compiled.flags & ~re.UNICODE)
        flags = parsed.state.flags
        if flags & re.LOCALE:
            return None
        writer = _Writer()
        body = writer.seq(parsed, flags)
        options = re2.Options()
        options.log_errors = False
        options.never_capture = True  # only "is there a match" is asked of RE2
        options.max_mem = 64 << 20
        # the binding's own Match call: the wrapper's decodes offsets that are not needed
        return re2.compile(body, options)._regexp, writer.strict_end
    except (_NotRE2, re.error, RecursionError, ValueError, TypeError):
        return None
    except Exception:  # noqa: BLE001 - re2.error and its kin: RE2 refuses, Python runs it
        return None


class BoundedRegex:
    """A compiled Python regex whose calls are bounded (see the module docstring). It offers the
    :class:`re.Pattern` calls ruleglot uses; ``finditer`` returns a list (a lazy iterator could
    not be budgeted)."""

    __slots__ = ("python", "_re2", "_strict_end", "pattern", "flags", "groups", "groupindex")

    def __init__(self, compiled: re.Pattern[str]) -> None:
        self.python = compiled
        self.pattern: str = compiled.pattern
        self.flags = compiled.flags
        self.groups = compiled.groups
        self.groupindex = compiled.groupindex
        linear = to_re2(compiled)
        self._re2: Any = linear[0] if linear is not None else None
        self._strict_end = linear[1] if linear is not None else False

    @property
    def linear(self) -> bool:
        """Whether RE2 answers for (ASCII) texts."""
        return self._re2 is not None

    def _re2_for(self, text: str) -> Any:
        if (
            self._re2 is not None
            and text  # Python's \B never holds in an empty text, RE2's does
            and text.isascii()
            and not (self._strict_end and text.endswith("\n"))
        ):
            return self._re2
        return None

    def found(self, text: str) -> bool:
        """Whether the regex matches anywhere in ``text`` (``search(text) is not None``)."""
        linear = self._re2_for(text)
        if linear is not None:
            return bool(linear.Match(_UNANCHORED, text.encode("ascii"), 0, len(text))[0][1] >= 0)
        return budgeted(lambda: self.python.search(text), self.pattern, len(text)) is not None

    def _run(self, text: str, call: Callable[[], T], none: T) -> T:
        linear = self._re2_for(text)
        if (
            linear is not None
            and linear.Match(_UNANCHORED, text.encode("ascii"), 0, len(text))[0][1] < 0
        ):
            return none  # no match anywhere: nothing to find, substitute or split
        return budgeted(call, self.pattern, len(text))

    def search(self, text: str) -> re.Match[str] | None:
        return self._run(text, lambda: self.python.search(text), None)

    def match(self, text: str) -> re.Match[str] | None:
        return self._run(text, lambda: self.python.match(text), None)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self._run(text, lambda: self.python.fullmatch(text), None)

    def finditer(self, text: str) -> list[re.Match[str]]:
        return self._run(text, lambda: list(self.python.finditer(text)), [])

    def findall(self, text: str) -> list[Any]:
        return self._run(text, lambda: self.python.findall(text), [])

    def sub(self, repl: Any, text: str, count: int = 0) -> str:
        return self._run(text, lambda: self.python.sub(repl, text, count=count), text)

    def split(self, text: str) -> list[str | Any]:
        return self._run(text, lambda: self.python.split(text), [text])

    def __repr__(self) -> str:
        return f"BoundedRegex({self.pattern!r}, linear={self.linear})"


def bounded(pattern: str, flags: int = 0) -> BoundedRegex:
    """``re.compile(pattern, flags)`` (its errors unchanged) as a :class:`BoundedRegex`."""
    return BoundedRegex(re.compile(pattern, flags))


__all__ = ["BUDGET_SECONDS", "BoundedRegex", "RegexBudgetError", "bounded", "budgeted", "to_re2"]
