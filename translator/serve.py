"""``ruleglot serve``: a local page to paste a rule (or pick one of a loaded corpus), see its
translation, its IR, what the translation loses or refuses (positions marked in the source),
its rule page, and a ``check`` run on pasted events.

The web layer is Flask (routing, forms, request-size limit: ``MAX_CONTENT_LENGTH``, over
which Werkzeug answers 413 before the body is read) served by waitress (a maintained
pure-Python WSGI server), bound to 127.0.0.1 unless asked otherwise. Every run of ruleglot on
the pasted text happens in a forked child process killed after ``timeout`` seconds, so a rule
that makes matching slow cannot hold the server (:func:`run_bounded`).

What this module owns
    The app (:func:`create_app`), the bounded run, and :func:`work` (what one request
    computes: plain data, so the page template is the only place that decides what is shown).

What it must not do
    Translate, check or render a rule page itself: those are :mod:`translator.api`,
    :mod:`translator.check` and :mod:`translator.pages`.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from flask import Flask, Response, render_template, request
from jinja2 import StrictUndefined

from ir.errors import RuleglotError
from ir.events import Event
from translator import api
from translator.catalog import Entry, detect_language, load_rules
from translator.check import check_pairs, translate_pair
from translator.explain import rule_page
from translator.inputs import parse_lines
from translator.pages import render_html

#: Bytes a request may carry (the pasted rule and events together).
MAX_BYTES = 1_000_000
#: Seconds one request may compute before its process is killed.
TIMEOUT = 20.0
#: Events generated per rule and side by the page's check (the CLI's default).
GENERATED_LIMIT = 200
WRITE_TO = ("spl", "sigma", "ir")
SOURCE_NAME = "pasted"

#: The page's policy: no script at all (the page is a form), styles inline, forms post here.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@dataclass
class Request:
    source: str
    read: str = "auto"
    to: str = "spl"
    events: str = ""
    lossy: bool = False
    path: str = SOURCE_NAME


@dataclass
class Outcome:
    """What the page shows for one request."""

    read: str | None = None
    error: dict[str, Any] | None = None
    translation: str | None = None
    translation_error: dict[str, Any] | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    ir: str | None = None
    check: dict[str, Any] | None = None
    event_errors: list[str] = field(default_factory=list)
    events: int = 0
    rules: int = 0
    page: str | None = None


def _options(read: str, macros: Any) -> dict[str, Any]:
    return {"macros": macros, "undefined_macros": "empty"} if read == "spl" else {}


def work(req: Request, macros: Any = None, page: bool = False) -> Outcome:
    """Read, translate, check (and with ``page`` render the rule page of) the pasted rule."""
    out = Outcome()
    read = detect_language(req.source, "x.yml") if req.read == "auto" else req.read
    if read is None:
        read = "spl"  # not YAML with detection/search keys: a plain search
    out.read = read
    try:
        rules = api.parse(req.source, read, req.path, **_options(read, macros))
    except RuleglotError as err:
        out.error = err.to_dict()
        return out
    out.rules = len(rules)
    rule = rules[0]
    if page:
        out.page = render_html(rule_page(rule, req.source, req.path, None, None))
        return out
    out.ir = api.emit(rule, "ir")
    try:
        done = api.emit_translation(rule, req.to, lossy=True, warnings_are_errors=False)
        out.translation, out.warnings = done.text, list(done.warnings)
    except RuleglotError as err:
        out.translation_error = err.to_dict()
    events: list[Event] = []
    for item in parse_lines(Path("events"), req.events.encode().splitlines(keepends=True)):
        if isinstance(item, RuleglotError):
            out.event_errors.append(str(item))
        else:
            events.append(item[1])
    out.events = len(events)
    pair = translate_pair(req.path, rule, read, req.to, lossy=req.lossy, options={})
    out.check = check_pairs([pair], events, limit=GENERATED_LIMIT)[0].to_dict()
    return out


def run_bounded(
    function: Callable[..., Outcome], args: Sequence[Any], timeout: float
) -> Outcome | str:
    """``function(*args)`` in a forked child; its result, or a message when it ran longer than
    ``timeout`` seconds (the child is killed) or failed unexpectedly (the traceback stays in
    the server's log, the page gets one line)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        try:
            send.send(("ok", function(*args)))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, never raised
            send.send(("failed", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        finally:
            send.close()

    process = context.Process(target=child, daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(timeout):
            return f"stopped after {timeout:g} s (the server's --timeout): nothing to show"
        status, value = receive.recv()
    except EOFError:
        return "the worker process ended without an answer"
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receive.close()
    if status == "ok":
        return value  # type: ignore[no-any-return]
    print(value, flush=True)  # the server's log
    return "internal error: " + str(value).splitlines()[0]


def _marks(source: str, outcome: Outcome) -> list[dict[str, Any]]:
    """The source's lines, each with the messages that point at it (error, lossy warnings,
    the refusal), so the page can mark them."""
    lines: list[dict[str, Any]] = [
        {"number": n, "text": t, "notes": []}
        for n, t in enumerate(source.splitlines() or [""], start=1)
    ]
    pointed = [("error", outcome.error), ("refused", outcome.translation_error)]
    pointed += [("lossy", w) for w in outcome.warnings]
    check_error = (outcome.check or {}).get("error")
    if check_error and check_error is not outcome.translation_error:
        pointed.append((str((outcome.check or {}).get("status")), check_error))
    seen: set[tuple[Any, ...]] = set()
    for kind, item in pointed:
        if not item or not item.get("line"):
            continue
        where = (item.get("construct"), item.get("line"), item.get("col"))
        if where in seen:  # check's refusal of a construct the lossy translation named
            continue
        seen.add(where)
        index = min(max(int(item["line"]), 1), len(lines)) - 1
        lines[index]["notes"].append(
            {"kind": kind, "col": item.get("col"), "construct": item.get("construct"),
             "message": item.get("message", "")}
        )
    return lines


def create_app(
    entries: Sequence[Entry] = (),
    macros: Any = None,
    timeout: float = TIMEOUT,
    max_bytes: int = MAX_BYTES,
) -> Flask:
    """The app; ``entries`` are the rules the page offers to pick (``ruleglot serve --rules``)."""
    app = Flask(__name__)
    app.jinja_env.autoescape = True  # the template's name ends in .j2, not .html
    app.jinja_env.undefined = StrictUndefined
    app.config["MAX_CONTENT_LENGTH"] = max_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = max_bytes

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.errorhandler(413)
    def too_large(_: Exception) -> tuple[str, int]:
        return (
            render_template(
                "serve.html.j2", form=Request(""), entries=entries, outcome=None,
                message=f"the request is larger than {max_bytes} bytes (the server's "
                "--max-bytes): paste less", lines=[], csp=CSP,
            ),
            413,
        )

    @app.route("/", methods=["GET", "POST"])
    def index() -> str | tuple[str, int]:
        form = Request("")
        outcome: Outcome | None = None
        message = None
        if request.method == "POST":
            form = Request(
                source=request.form.get("source", ""),
                read=request.form.get("read", "auto"),
                to=request.form.get("to", "spl"),
                events=request.form.get("events", ""),
                lossy=request.form.get("lossy") == "on",
            )
            if form.read not in ("auto", "sigma", "spl", "ir") or form.to not in WRITE_TO:
                return "unknown language", 400
            picked = request.form.get("pick", "")
            if request.form.get("action") == "load" and picked.isdigit():
                entry = entries[int(picked)] if int(picked) < len(entries) else None
                if entry is not None:
                    form.source, form.path = entry.text, entry.path
                    form.read = entry.rule.language or "sigma"
                    form.to = "sigma" if form.read == "spl" else "spl"
            if request.form.get("action") == "page" and form.source.strip():
                result = run_bounded(work, (form, macros, True), timeout)
                if isinstance(result, Outcome) and result.page:
                    return result.page
                message = result if isinstance(result, str) else None
                outcome = result if isinstance(result, Outcome) else None
            elif form.source.strip():
                result = run_bounded(work, (form, macros), timeout)
                if isinstance(result, str):
                    message = result
                else:
                    outcome = result
        lines = _marks(form.source, outcome) if outcome else []
        return render_template(
            "serve.html.j2", form=form, entries=entries, outcome=outcome, message=message,
            lines=lines, csp=CSP,
        )

    return app


def serve(app: Flask, host: str, port: int, threads: int = 4) -> None:
    """Serve ``app`` with waitress (blocks until interrupted)."""
    import waitress

    waitress.serve(app, host=host, port=port, threads=threads)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (another than localhost exposes the page).")
@click.option("--port", default=8026, show_default=True, type=click.IntRange(0, 65535))
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(exists=True),
              help="Rules (files or folders, Sigma and SPL) the page offers to pick; repeatable.")
@click.option("--macros", type=click.Path(exists=True, file_okay=False),
              help="SPL: a security_content macros/ folder (undefined macros expand to nothing).")
@click.option("--timeout", default=TIMEOUT, show_default=True, type=click.FloatRange(0.1),
              help="Seconds one request may compute before it is stopped.")
@click.option("--max-bytes", default=MAX_BYTES, show_default=True, type=click.IntRange(1),
              help="Largest request (pasted rule and events) accepted.")
def serve_command(
    host: str, port: int, rule_paths: tuple[str, ...], macros: str | None, timeout: float,
    max_bytes: int,
) -> None:
    """A local page: paste a rule (or pick one of --rules), see its translation, IR, lost or
    refused constructs marked in the source, its rule page, and a check on pasted events."""
    table = api.macros(macros)
    entries = load_rules(rule_paths, table, jobs=2, relative=True).entries if rule_paths else []
    api.prepare("spl")
    api.prepare("sigma")
    click.echo(f"ruleglot serve: http://{host}:{port}/ ({len(entries)} rules loaded)", err=True)
    serve(create_app(entries, table, timeout, max_bytes), host, port)


__all__ = ["CSP", "Outcome", "Request", "create_app", "run_bounded", "serve", "work"]
