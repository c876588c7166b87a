"""SPL search macros: the table of definitions, and their expansion with positions kept.

What this module owns
    * :class:`MacroTable`: macro definitions keyed as Splunk keys them (``name`` for a macro
      without arguments, ``name(N)`` for one with N arguments; Splunk Knowledge Manager Manual,
      "Use search macros in searches" / "Define search macros in Settings"), read from
      splunk/security_content's ``macros/*.yml`` (``name``, ``definition``, optional
      ``arguments``) by :meth:`MacroTable.from_folder`.
    * :func:`expand`: replaces every `` `name` `` / `` `name(a, b)` `` call outside double quotes
      by its definition (``$arg$`` substituted), recursively, with a depth limit and cycle
      detection. Every character of the result keeps the offset in the input it comes from;
      characters produced by a macro map to the backtick that opens the (outermost) call, so an
      error inside expanded text points at the call site.
    * :func:`strip_comments`: SPL comments (three backticks on each side, Search Manual "Add
      comments to searches") become spaces, so positions do not move.

Undefined macros
    A call of a macro the table does not define is an ``invalid`` error (construct ``macro``) at
    its backtick, except: a name ending in ``_filter`` expands to nothing (security_content's
    convention: every detection ends in `` `<name>_filter` ``, an empty hook for local tuning,
    i.e. ``search *``); and ``undefined="empty"`` expands every undefined macro to nothing.

What it must not do
    Parse SPL: expansion is textual, as in Splunk (macros expand before the search is parsed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from backends import yaml_loaders
from ir.errors import RuleglotError

__all__ = ["BUILTINS", "Expansion", "Macro", "MacroTable", "expand", "strip_comments"]

#: How deep macros may call macros before expansion stops with an error.
MAX_DEPTH = 20
#: The longest text one search may expand to. Macros that each call the next ten times grow
#: tenfold per level (the kernel killed such a search at 24 GB); security_content's longest
#: expansion is a few thousand characters.
MAX_EXPANDED_CHARS = 1_000_000

_NAME = re.compile(r"[A-Za-z0-9_.:-]+")


@dataclass(frozen=True)
class Macro:
    """One definition: ``arguments`` are the ``$name$`` placeholders, in call order."""

    name: str
    definition: str
    arguments: tuple[str, ...] = ()
    path: str | None = None

    @property
    def key(self) -> str:
        return macro_key(self.name, len(self.arguments))


def macro_key(name: str, arity: int) -> str:
    """Splunk's key for a macro: ``name``, or ``name(N)`` when it takes N arguments."""
    return f"{name}({arity})" if arity else name


#: Macros Splunk content relies on that are not in security_content's macros folder.
#: ``drop_dm_object_name(object)`` comes from the Splunk Common Information Model app
#: (Splunk_SA_CIM, ``default/macros.conf``): ``definition = rename $object$.* AS *``, which strips
#: the data model object prefix from the field names that ``tstats`` returns. A quoted argument
#: (`` `drop_dm_object_name("Web")` ``, common in security_content) is read without its quotes.
BUILTINS: tuple[Macro, ...] = (
    Macro("drop_dm_object_name", "rename $object$.* AS *", ("object",), "Splunk_SA_CIM"),
)


class MacroTable:
    """Macro definitions by Splunk key; the CIM built-ins (:data:`BUILTINS`) unless told not to."""

    def __init__(self, macros: Iterable[Macro] = (), *, builtins: bool = True) -> None:
        self._macros: dict[str, Macro] = {}
        #: the argument counts each name is defined with (every undefined call asks: each of
        #: security_content's detections ends in an undefined `` `<name>_filter` ``)
        self._arities: dict[str, set[int]] = {}
        #: What each call (by its text between the backticks, and ``undefined``) expanded to,
        #: and how many calls deep its expansion went: security_content's 1,711 searches make
        #: 10,178 calls of a few hundred distinct texts. Cleared when a definition is added.
        self.expanded: dict[tuple[str, str], tuple[str, int]] = {}
        #: macro files :meth:`from_folder` left out, with why
        self.errors: list[RuleglotError] = []
        for macro in (*BUILTINS, *macros) if builtins else tuple(macros):
            self.add(macro)

    @classmethod
    def from_folder(cls, folder: str | Path, *, builtins: bool = True) -> MacroTable:
        """Every ``*.yml`` in ``folder`` in security_content's format.

        A file that cannot be read (``io``), is not YAML (``syntax``, at its position), has
        no ``name`` or no ``definition`` key (``invalid``: a misspelt key made the macro
        expand to nothing, silently widening every search that uses it), or defines a macro
        an earlier file (in name order) already defines with as many arguments (``invalid``:
        the last one read won without a word) is left out and its error kept in
        :attr:`errors`: one broken file no longer stops every search that uses the others.
        """
        table = cls(builtins=builtins)
        read_from: dict[str, str | None] = {}
        for path in sorted(Path(folder).glob("*.yml")):
            try:
                macro = _read_macro_file(path)
                if macro.key in read_from:
                    raise RuleglotError(
                        f"macro `{macro.key}` is already defined in {read_from[macro.key]}; "
                        "this definition is left out",
                        "invalid", str(path), 1, 1, None, "macro",
                    )  # fmt: skip
                read_from[macro.key] = macro.path
                table.add(macro)
            except RuleglotError as err:
                table.errors.append(err)
        return table

    @classmethod
    def from_dict(cls, definitions: Mapping[str, str], *, builtins: bool = True) -> MacroTable:
        """Definitions by key (``"name"`` or ``"name(a, b)"`` naming the arguments)."""
        table = cls(builtins=builtins)
        for key, definition in definitions.items():
            found = re.fullmatch(r"\s*([^()\s]+)\s*(?:\((.*)\))?\s*", key)
            if not found:
                raise RuleglotError(f"bad macro name {key!r}", "invalid", construct="macro")
            args = tuple(a.strip() for a in (found.group(2) or "").split(",") if a.strip())
            table.add(Macro(found.group(1), definition, args))
        return table

    def add(self, macro: Macro) -> None:
        self._macros[macro.key] = macro
        self._arities.setdefault(macro.name, set()).add(len(macro.arguments))
        self.expanded.clear()

    def get(self, name: str, arity: int) -> Macro | None:
        return self._macros.get(macro_key(name, arity))

    def arities(self, name: str) -> list[int]:
        """The argument counts ``name`` is defined with (to explain a wrong call)."""
        return sorted(self._arities.get(name, ()))

    def __contains__(self, key: object) -> bool:
        return key in self._macros

    def __len__(self) -> int:
        return len(self._macros)

    def keys(self) -> list[str]:
        return sorted(self._macros)


def _read_macro_file(path: Path) -> Macro:
    try:
        data = yaml_loaders.load(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise RuleglotError(f"cannot read macro file: {exc}", "io", str(path)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc)
        raise RuleglotError(
            f"macro file is not YAML: {message}", "syntax", str(path), line, col
        ) from None
    except yaml.YAMLError as exc:
        raise RuleglotError(f"macro file is not YAML: {exc}", "syntax", str(path), 1, 1) from None
    except UnicodeDecodeError as exc:
        raise RuleglotError(f"macro file is not UTF-8: {exc}", "io", str(path)) from None
    except RecursionError:
        raise RuleglotError("macro file nests too deep", "syntax", str(path), 1, 1) from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise RuleglotError("macro file needs a 'name'", "invalid", str(path), 1, 1, None, "macro")
    if "definition" not in data:
        raise RuleglotError(
            "macro file needs a 'definition' (an empty macro is written definition: '')",
            "invalid", str(path), 1, 1, None, "macro",
        )  # fmt: skip
    definition = data.get("definition")
    if not isinstance(definition, str):
        definition = "" if definition is None else str(definition)
    arguments = data.get("arguments") or []
    if not isinstance(arguments, list):
        arguments = [arguments]
    name = data["name"].strip()
    found = re.fullmatch(r"(.+?)\(\d+\)", name)  # a name written with Splunk's "(N)" suffix
    if found:
        name = found.group(1)
    return Macro(name, definition, tuple(str(a) for a in arguments), str(path))


# --- comments --------------------------------------------------------------------------------


def strip_comments(text: str) -> str:
    """``text`` with every ```` ```comment``` ```` (outside double quotes) replaced by spaces,
    line breaks kept. An unterminated comment runs to the end of the text (as in Splunk)."""
    if "```" not in text:  # the common case: nothing to blank
        return text
    out: list[str] = []
    index, length, quoted = 0, len(text), False
    kept = 0  # text[kept:index] is copied as it is
    while index < length:
        # the next character that matters: an escape, a quote, or a backtick outside quotes
        found = (_QUOTED_STOP if quoted else _COMMENT_STOP).search(text, index)
        if found is None:
            break
        index = found.start()
        char = text[index]
        if char == "\\":  # an escaped character, inside quotes or not (`\\"` is no quote)
            index += 2
        elif char == '"':
            quoted = not quoted
            index += 1
        else:  # ``` outside quotes
            end = text.find("```", index + 3)
            stop = length if end < 0 else end + 3
            out.append(text[kept:index])
            out.append(_LINE_BREAKS_KEPT.sub(" ", text[index:stop]))
            index = kept = stop
    out.append(text[kept:])
    return "".join(out)


#: Where :func:`strip_comments` stops outside and inside double quotes.
_COMMENT_STOP = re.compile(r'[\\"]|```')
_QUOTED_STOP = re.compile(r'[\\"]')
#: Every character of a comment but a line break.
_LINE_BREAKS_KEPT = re.compile(r"[^\r\n]")


# --- expansion -------------------------------------------------------------------------------


@dataclass
class Expansion:
    """Expanded text; ``origin[i]`` is the input offset character ``i`` comes from (one entry
    more than the text: the end); ``calls`` are the (start, end, macro name) of the text each
    top-level call produced."""

    text: str
    origin: list[int]
    calls: list[tuple[int, int, str]] = field(default_factory=list)

    def call_at(self, index: int) -> str | None:
        """The macro whose expansion holds character ``index``, if any."""
        for start, end, name in self.calls:
            if start <= index < end:
                return name
        return None


#: Where :meth:`_Expander.expand` stops outside double quotes (a call's backtick too).
_CALL_STOP = re.compile(r'[\\"`]')


class _Expander:
    def __init__(self, table: MacroTable | None, undefined: str) -> None:
        self.table = table
        self.undefined = undefined
        #: the longest call stack a depth check has seen (in the call being expanded)
        self.deepest = 0

    def expand(self, text: str, stack: tuple[str, ...], site: int | None) -> Expansion:
        """Expand ``text``; ``site`` is the outermost call's offset (``None`` at top level,
        where every character maps to itself)."""
        if "`" not in text:  # no call: the text as it is
            if site is not None:
                return Expansion(text, [site] * (len(text) + 1))
            if "\\" not in text:  # (an escape maps both its characters to the backslash)
                return Expansion(text, list(range(len(text) + 1)))
        chars: list[str] = []
        origin: list[int] = []
        calls: list[tuple[int, int, str]] = []
        size = 0
        index, length, quoted = 0, len(text), False
        while index < length:
            # copy up to the next escape, quote, or backtick outside quotes
            found = (_QUOTED_STOP if quoted else _CALL_STOP).search(text, index)
            stop = length if found is None else found.start()
            if stop > index:
                chars.append(text[index:stop])
                origin.extend(range(index, stop) if site is None else [site] * (stop - index))
                size += stop - index
                index = stop
                continue
            char = text[index]
            if char != "`":
                if char == "\\" and index + 1 < length:
                    chars.append(text[index : index + 2])
                    origin.extend([index if site is None else site] * 2)
                    index += 2
                    size += 2
                    continue
                if char == '"':
                    quoted = not quoted
                chars.append(char)
                origin.append(index if site is None else site)
                index += 1
                size += 1
                continue
            end = text.find("`", index + 1)
            call_site = index if site is None else site
            if end < 0:
                message = "unterminated macro call: a '`' without its closing '`'"
                raise _error(message, call_site, "syntax")
            body = self.call(text[index + 1 : end], stack, call_site)
            if size + len(body) > MAX_EXPANDED_CHARS:
                raise _error(
                    f"macro expansion grows past {MAX_EXPANDED_CHARS:,} characters "
                    f"(MAX_EXPANDED_CHARS) at `{text[index + 1 : end].strip()}`",
                    call_site,
                )
            chars.append(body)
            origin.extend([call_site] * len(body))
            calls.append((size, size + len(body), text[index + 1 : end].strip()))
            size += len(body)
            index = end + 1
        origin.append(length if site is None else site)
        return Expansion("".join(chars), origin, calls)

    def call(self, call: str, stack: tuple[str, ...], site: int) -> str:
        """The text the call whose text (between the backticks) is ``call`` expands to, made at
        ``site`` from inside the macros ``stack`` (every character of it maps to ``site``).
        A call expanded before (the same text, table and ``undefined``) gives the same text
        from any stack its depth fits in: an expansion that succeeded once has no cycle, and
        where the call sits changes only positions."""
        memo = self.table.expanded if self.table is not None else None
        if memo is not None:
            found = memo.get((self.undefined, call))
            if found is not None and len(stack) + found[1] < MAX_DEPTH:
                self.deepest = max(self.deepest, len(stack) + found[1])
                return found[0]
        name, args = _parse_call(call, site)
        shown = f"`{name}`" if not stack else f"`{name}` (called from `{stack[-1]}`)"
        macro = self.table.get(name, len(args)) if self.table is not None else None
        if macro is None:
            arities = self.table.arities(name) if self.table is not None else []
            if arities:
                wanted = " or ".join(str(n) for n in arities)
                raise _error(
                    f"macro {shown} takes {wanted} argument(s), called with {len(args)}", site
                )
            if name.endswith("_filter") or self.undefined == "empty":
                return ""
            raise _error(f"macro {shown} is not defined", site)
        key = macro.key
        if key in stack:
            cycle = " -> ".join((*stack[stack.index(key) :], key))
            raise _error(f"macro cycle: {cycle}", site)
        if len(stack) >= MAX_DEPTH:
            raise _error(f"macros nested more than {MAX_DEPTH} deep at {shown}", site)
        definition = strip_comments(macro.definition)
        if macro.path == "Splunk_SA_CIM":  # built-ins read a quoted argument without its quotes
            args = [_unquote(a) for a in args]
        for param, value in zip(macro.arguments, args, strict=True):
            definition = definition.replace(f"${param}$", value)
        outer, self.deepest = self.deepest, len(stack)
        body = self.expand(definition, (*stack, key), site).text
        height = self.deepest - len(stack)  # how many calls deeper its depth checks went
        self.deepest = max(outer, self.deepest)
        if memo is not None:
            memo[(self.undefined, call)] = (body, height)
        return body


def _unquote(arg: str) -> str:
    return arg[1:-1] if len(arg) >= 2 and arg[0] == arg[-1] == '"' else arg


def _parse_call(call: str, site: int) -> tuple[str, list[str]]:
    """``name`` or ``name(a, "b,c")``: the name and the arguments (whitespace-trimmed, quotes
    kept as written). ``name()`` has no arguments."""
    stripped = call.strip()
    found = _NAME.match(stripped)
    if not found:
        message = f"bad macro call `{call}`: a macro name is letters, digits, '_'"
        raise _error(message, site, "syntax")
    name, rest = found.group(0), stripped[found.end() :].strip()
    if not rest:
        return name, []
    if not (rest.startswith("(") and rest.endswith(")")):
        raise _error(f"bad macro call `{call}`: arguments go in parentheses", site, "syntax")
    inner = rest[1:-1]
    if not inner.strip():
        return name, []
    args: list[str] = []
    current: list[str] = []
    depth, quoted, index = 0, False, 0
    while index < len(inner):
        char = inner[index]
        if quoted:
            if char == "\\" and index + 1 < len(inner):
                current.append(inner[index : index + 2])
                index += 2
                continue
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            args.append("".join(current).strip())
            current = []
            index += 1
            continue
        current.append(char)
        index += 1
    args.append("".join(current).strip())
    return name, args


class MacroError(Exception):
    """An expansion error at an offset of the input text (the reader positions it)."""

    def __init__(self, message: str, offset: int, category: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.category = category


def _error(message: str, offset: int, category: str = "invalid") -> MacroError:
    return MacroError(message, offset, category)


def expand(text: str, table: MacroTable | None, *, undefined: str = "error") -> Expansion:
    """``text`` with its comments blanked and every macro call expanded (see the module
    docstring). Raises :class:`MacroError` with the offset of the offending call."""
    if undefined not in ("error", "empty"):
        raise ValueError(f"undefined must be 'error' or 'empty', not {undefined!r}")
    return _Expander(table, undefined).expand(strip_comments(text), (), None)
