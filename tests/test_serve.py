"""``ruleglot serve`` through Flask's test client: what a pasted rule shows, how bad input and
oversized or slow requests end (a page with the reason, never a traceback)."""

from __future__ import annotations

import time
from html import unescape
from pathlib import Path

import pytest

from translator.catalog import load_rules
from translator.serve import CSP, Outcome, create_app, run_bounded, serve_command

WHOAMI = """\
title: Whoami execution
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\\\\whoami.exe'}
  condition: sel
"""
# EventCode is also the name the splunk_windows profile extracts from EventID: translated with
# a lossy warning that points at line 4
LOSSY = """\
title: Collides
logsource: {product: windows, service: security}
detection:
  sel: {EventCode: 4688}
  condition: sel
"""


@pytest.fixture
def client():  # type: ignore[no-untyped-def]
    return create_app(timeout=60).test_client()


class Page:
    def __init__(self, response) -> None:  # type: ignore[no-untyped-def]
        self.status_code = response.status_code
        self.headers = response.headers
        self.raw = response.get_data(as_text=True)

    def get_data(self, as_text: bool = True) -> str:
        """The page's text with entities decoded (quotes are escaped in the markup)."""
        return unescape(self.raw)


def post(client, **form: str) -> Page:  # type: ignore[no-untyped-def]
    data = {"read": "auto", "to": "spl", "action": "translate", **form}
    return Page(client.post("/", data=data))


def test_pasted_sigma_rule_is_translated_and_proven(client) -> None:  # type: ignore[no-untyped-def]
    response = post(client, source=WHOAMI)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CSP
    assert 'Image="*\\\\whoami.exe"' in html
    assert 'id="verdict">equivalent<' in html
    assert 'id="ir"' in html and '"node": "Rule"' in html


def test_lossy_construct_is_named_and_marked_in_the_source(client) -> None:  # type: ignore[no-untyped-def]
    html = post(client, source=LOSSY).get_data(as_text=True)
    assert 'id="warnings"' in html and "EventCode" in html
    marked = html.split('id="marked-source">', 1)[1].split("</ol>", 1)[0]
    items = marked.split("<li")[1:]
    assert "marked" in items[3] and "sel: {EventCode: 4688}" in items[3]
    assert not any("marked" in item for i, item in enumerate(items) if i != 3)


def test_a_counterexample_on_pasted_events(client) -> None:  # type: ignore[no-untyped-def]
    events = (
        '{"EventID": 4688, "Channel": "Security"}\n'
        '{"EventCode": 4688, "Channel": "Security"}\nnot json\n'
    )
    html = post(client, source=LOSSY, events=events).get_data(as_text=True)
    assert 'id="counterexample"' in html
    assert "events:3:1: events: not JSON" in html.split('id="event-errors"', 1)[1]


def test_bad_input_is_a_positioned_error_not_a_traceback(client) -> None:  # type: ignore[no-untyped-def]
    response = post(client, source="title: x\ndetection:\n  sel: {a: [\n  condition: sel\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    error = html.split('id="error">', 1)[1].split("</p>", 1)[0]
    assert error.startswith("pasted:") and error.split(":")[1].isdigit()
    assert "Traceback" not in html


def test_a_refused_translation_names_its_construct(client) -> None:  # type: ignore[no-untyped-def]
    search = "index=main EventCode=4688 | transaction host maxspan=5m"
    html = post(client, source=search, read="spl", to="sigma").get_data(as_text=True)
    assert 'id="verdict">refused<' in html
    assert "<td><code>transaction</code></td><td>1:29</td>" in html  # shown lossily, named
    marked = html.split('id="marked-source">', 1)[1].split("</ol>", 1)[0]
    # the index setting is a loss too, since issue 22 (a Splunk data source, not a Sigma field)
    assert marked.count("↳") == 2 and "↳ lossy transaction, column 29" in marked
    assert "↳ lossy index, column 1" in marked


def test_oversized_requests_are_refused_with_a_page() -> None:
    client = create_app(max_bytes=2000).test_client()
    response = post(client, source="x" * 5000)
    assert response.status_code == 413
    assert "larger than 2000 bytes" in response.get_data(as_text=True)


def _sleep(seconds: float) -> Outcome:
    time.sleep(seconds)
    return Outcome()


def test_slow_runs_are_stopped() -> None:
    started = time.monotonic()
    result = run_bounded(_sleep, (30,), 0.5)
    assert isinstance(result, str) and result.startswith("stopped after 0.5 s")
    assert time.monotonic() - started < 10
    assert isinstance(run_bounded(_sleep, (0,), 30), Outcome)


def test_rules_of_a_corpus_can_be_picked(tmp_path: Path) -> None:
    (tmp_path / "whoami.yml").write_text(WHOAMI, "utf-8")
    entries = load_rules([tmp_path], relative=True).entries
    client = create_app(entries, timeout=60).test_client()
    page = client.get("/").get_data(as_text=True)
    assert "Whoami execution (" in page and str(tmp_path) not in page
    html = post(client, source="", pick="0", action="load").get_data(as_text=True)
    assert "title: Whoami execution" in html and 'id="verdict">equivalent<' in html


def test_rule_page_action(client) -> None:  # type: ignore[no-untyped-def]
    html = post(client, source=WHOAMI, action="page").get_data(as_text=True)
    assert '<h1 id="title">Whoami execution</h1>' in html


def test_serve_listens_on_localhost_by_default() -> None:
    host = next(p for p in serve_command.params if p.name == "host")
    assert host.default == "127.0.0.1"
