"""PCRE as SPL writes it, rewritten for Python and run bounded (:mod:`ir.regexrun`).

Used by ``match``/``replace``/``rex``/``regex`` alike (Splunk Search Reference, "About Splunk
regular expressions"; PCRE2 ``pcre2pattern``).
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Callable

from ir.errors import RuleglotError
from ir.regexrun import BoundedRegex, bounded

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
#: PCRE's ``\\v``: line feed, vertical tab, form feed, carriage return, NEL, line and paragraph
#: separators (PCRE2 ``pcre2pattern``, "Generic character types")
_VERTICAL = r"\n\x0b\f\r\x85\u2028\u2029"
_FLAG_GROUP = re.compile(r"\(\?([a-zA-Z]*(?:-[a-zA-Z]+)?)\)")


def pcre_to_python(pattern: str) -> str:
    """Rewrite a PCRE pattern (SPL's regex dialect: ``rex``, ``regex``, ``match``...) as Python
    ``re`` syntax with the same meaning.

    Handled: named groups ``(?<n>...)``/``(?'n'...)`` and back-references ``\\k<n>``;
    ``\\Q...\\E`` quoting; ``\\z``, ``\\Z``, ``\\h``, ``\\H``, ``\\v``, ``\\V``, ``\\x{...}``;
    ``{,n}`` and ``{,}`` as the literal text PCRE2 before 10.43 reads (:data:`_FROM_ZERO`);
    POSIX classes ``[[:alpha:]]``; inline option settings such as ``(?i)`` in the middle of a
    pattern, which PCRE applies to the rest of the enclosing group (PCRE2 ``pcre2pattern``,
    "Internal option setting") and Python only accepts at the start: they become scoped groups
    ``(?i:...)``, closed and reopened around each ``|`` of that group. Python 3.11 already
    supports atomic groups and possessive quantifiers.
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
                    out.append(
                        f"\\x{code:02x}"
                        if code <= 0xFF
                        else f"\\u{code:04x}"
                        if code <= 0xFFFF
                        else f"\\U{code:08x}"
                    )
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
            elif nxt == "v":  # any vertical space (Python's \v is the vertical tab alone)
                out.append(_VERTICAL if in_class else f"[{_VERTICAL}]")
            elif nxt == "V":
                out.append(f"[^{_VERTICAL}]" if not in_class else "V")
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
            i = _open_class(pattern, i, out)
            continue
        if char == "{":
            literal = _FROM_ZERO.match(pattern, i)
            if literal is not None:  # PCRE2 before 10.43: text, not a quantifier
                out.append(re.escape(literal.group(0)))
                i = literal.end()
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


#: ``{,n}`` and ``{,}``: Python's "0 to n" and "0 or more"; literal text for PCRE2 before 10.43
#: (``pcre2pattern``: "{,6} is not a quantifier, but a literal string"; 10.43 changed it;
#: the PCRE2 on this machine, 10.42, and ``grep -P`` read it literally), which is how
#: :func:`pcre_to_python` reads an SPL pattern: Splunk's PCRE2 version is not documented
_FROM_ZERO = re.compile(r"\{,(\d*)\}")


def python_to_pcre(pattern: str) -> str:
    """Rewrite a Python ``re`` pattern (the IR's regex, Sigma's ``|re``) as PCRE (SPL's
    ``match``/``regex``) with the same meaning: the inverse of :func:`pcre_to_python` where
    the two dialects read one text differently.

    ``\\Z`` (Python: the very end) is PCRE's ``\\z`` (PCRE's ``\\Z`` also allows a final line
    break); ``\\v`` (Python: the vertical tab) is ``\\x0b`` (PCRE: any vertical space);
    ``\\uXXXX``, ``\\UXXXXXXXX`` and ``\\N{name}`` (no PCRE escape) are ``\\x{...}``; ``{,n}``
    and ``{,}`` (Python: 0 to n times, 0 or more; PCRE2 before 10.43: the literal text) are
    ``{0,n}`` and ``{0,}``; a ``(?#...)`` comment is copied as it is; a ``[`` inside
    a character class is escaped, so that PCRE does not read ``[:digit:]`` as a POSIX class
    (Python reads it as the characters ``[:digt``). Python's ``re`` and PCRE2
    ``pcre2pattern`` documents. What stays apart: Python's ``\\d``/``\\w``/``\\s`` are
    Unicode classes, PCRE's ASCII ones unless Splunk's build sets UCP (not documented); a
    ``#`` comment under the verbose flag ``(?x)`` is not told from the pattern. An escape
    Python would refuse (``\\N{unknown}``, a short ``\\u``) is an ``invalid`` error."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Z" and not in_class:
                out.append("\\z")
            elif nxt == "v":
                out.append("\\x0b")
            elif nxt in "uU":
                width = 4 if nxt == "u" else 8
                digits = pattern[i + 2 : i + 2 + width]
                if len(digits) != width or not all(c in string.hexdigits for c in digits):
                    raise _invalid(pattern, f"\\{nxt} needs {width} hexadecimal digits")
                out.append(f"\\x{{{digits}}}")
                i += 2 + width
                continue
            elif nxt == "N" and pattern.startswith("{", i + 2):
                end = pattern.find("}", i + 3)
                try:
                    named = unicodedata.lookup(pattern[i + 3 : end]) if end != -1 else ""
                except KeyError:
                    named = ""
                if len(named) != 1:
                    raise _invalid(pattern, "\\N{...} names no character")
                out.append(f"\\x{{{ord(named):x}}}")
                i = end + 1
                continue
            else:
                out.append(char + nxt)
            i += 2
            continue
        if in_class:
            if char == "[":
                out.append("\\[")
            else:
                out.append(char)
                in_class = char != "]"
            i += 1
            continue
        if char == "[":
            in_class = True
            i = _open_class(pattern, i, out)
            continue
        if char == "{":
            found = _FROM_ZERO.match(pattern, i)
            if found is not None and out:
                out.append(f"{{0,{found.group(1)}}}")
                i = found.end()
                continue
        if pattern.startswith("(?#", i):  # a comment: copied as it is, a '[' in it is no class
            end = pattern.find(")", i)
            end = n if end == -1 else end + 1
            out.append(pattern[i:end])
            i = end
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _open_class(pattern: str, i: int, out: list[str]) -> int:
    """Copy the ``[`` at ``i`` that opens a character class, with its ``^``, and a ``]`` right
    after them escaped (both dialects read it as a literal ``]``); the index after them."""
    out.append("[")
    i += 1
    if i < len(pattern) and pattern[i] == "^":
        out.append("^")
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        out.append("\\]")
        i += 1
    return i


def _invalid(pattern: str, why: str) -> RuleglotError:
    return RuleglotError(f"invalid regular expression {pattern!r}: {why}", construct="regex")


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
