"""Rendering a :class:`~translator.explain.RulePage` (and the catalog's other pages) as
Markdown, JSON or HTML.

What this module owns
    The jinja2 environment over ``translator/templates/`` and one function per output form.
    HTML is autoescaped (rule text is data, never markup); Markdown escapes ``|`` in table
    cells and keeps every value whole.

What it must not do
    Compute anything about a rule: every number and row is already in the page.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import re
import urllib.parse
from functools import cache
from typing import Any

import jinja2
import orjson

from translator.attack import attack_data
from translator.explain import RulePage

LANGUAGE_NAMES = {"sigma": "Sigma", "spl": "Splunk"}
FORMATS = ("md", "json", "html")


def _md_cell(value: object) -> str:
    """A Markdown table cell: ``|`` escaped, line breaks as ``<br>``."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def _md_code(value: object) -> str:
    """A value as a Markdown code span inside a table cell: backslashes stay literal, ``|`` is
    escaped (GitHub's tables unescape it inside code spans too)."""
    text = str(value).replace("|", "\\|").replace("\n", " ")
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


@cache
def environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("translator", "templates"),
        autoescape=autoescape,
        trim_blocks=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = _md_cell
    env.filters["mdcode"] = _md_code
    env.tests["web_url"] = is_web_url
    if autoescape:
        env.globals["csp"] = content_security_policy(env)
    return env


#: What a browser drops from a URL before reading its scheme (WHATWG URL: leading C0 controls
#: and spaces, and every tab or newline), so ``java\tscript:`` is still ``javascript:``.
_URL_IGNORED = re.compile(r"^[\x00-\x20]+|[\t\n\r]")


def is_web_url(text: Any) -> bool:
    """Whether ``text`` is an ``http``/``https`` URL: the only references a page links (a rule's
    ``references: ['javascript:alert(4)']`` became a live link); the rest is shown as text."""
    if not isinstance(text, str):
        return False
    cleaned = _URL_IGNORED.sub("", text)
    try:
        parts = urllib.parse.urlsplit(cleaned)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def content_security_policy(env: jinja2.Environment) -> str:
    """Every HTML page's policy: nothing loads from anywhere, styles are the page's own, and
    the only script that runs is the catalog index's filter script, by its hash (so neither a
    ``javascript:`` link nor injected markup could run one)."""
    source, _, _ = env.loader.get_source(env, "index.html.j2")  # type: ignore[union-attr]
    scripts = re.findall(r"<script>(.*?)</script>", source, re.DOTALL)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts
    )
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src {hashes or chr(39) + 'none' + chr(39)}; base-uri 'none'; form-action 'none'"
    )


def _context(page: RulePage, **extra: Any) -> dict[str, Any]:
    return {
        "page": page,
        "language_name": LANGUAGE_NAMES.get(page.language, page.language),
        "attack_version": attack_data().version,
        "counted": extra.pop("counted", None),
        **extra,
    }


def render_markdown(page: RulePage, counted: int | None = None) -> str:
    return environment(False).get_template("rule.md.j2").render(_context(page, counted=counted))


def render_html(
    page: RulePage,
    root: str | None = None,
    link_indicators: bool = False,
    counted: int | None = None,
    check: dict[str, Any] | None = None,
) -> str:
    """The rule's HTML page; ``root`` is the relative path to the catalog's top (``None``: a
    standalone page, no links into a catalog). ``link_indicators``: an indicator another rule
    of the catalog shares links to its page (only those have one). ``check``: the rule's
    ``ruleglot check`` entry (translation, verdict, counterexample), shown in its own section."""
    if check is not None:  # the report drops empty keys; the page reads them all
        empty: dict[str, Any] = {
            "translation": None, "warnings": [], "error": None, "counterexample": None
        }
        check = {**empty, "events": 0, "generated": 0, **check}
    context = _context(
        page, counted=counted, root=root, link_indicators=link_indicators, check=check
    )
    if check and check.get("counterexample"):
        event = check["counterexample"]["event"]
        context["counterexample_json"] = orjson.dumps(
            event, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
        ).decode()
    return environment(True).get_template("rule.html.j2").render(context)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def page_dict(page: RulePage) -> dict[str, Any]:
    """The page as JSON-ready data (every table, the same rows as the other forms)."""
    data = _plain(page)
    data["attack_version"] = attack_data().version
    for row, event in zip(data["events"], page.events, strict=True):
        row["provider_short"] = event.provider_short
    for row, term in zip(data["terms"], page.terms, strict=True):
        row["written"] = term.written
    for row, p in zip(data["indicators"], page.indicators, strict=True):
        row["key"]["slug"] = p.key.slug
    return data


def render_json(page: RulePage) -> str:
    return orjson.dumps(page_dict(page), option=orjson.OPT_INDENT_2).decode()


def render(page: RulePage, form: str, counted: int | None = None) -> str:
    """The page in ``form`` (``md``, ``json`` or ``html``), standalone."""
    if form == "md":
        return render_markdown(page, counted)
    if form == "json":
        return render_json(page)
    if form == "html":
        return render_html(page, counted=counted)
    raise ValueError(f"unknown format {form!r} (have: {', '.join(FORMATS)})")
