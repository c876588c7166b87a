"""The catalog as a person sees it: pages opened in headless Chromium.

Chromium and the ``browser``/``page`` fixtures come from :mod:`tests.browser` and
``tests/conftest.py``. The site is a small catalog (the two seed rules and a few rules written
here), served from a localhost ``http.server`` thread.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from translator.catalog import Verify, build_site

from .conftest import SHARED_CORPUS

sync_api = pytest.importorskip("playwright.sync_api")

EXTRA_RULES = {
    "whoami.yml": """\
title: Whoami execution
id: 22222222-0000-4000-8000-000000000001
level: low
tags: [attack.discovery, attack.t1033]
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\\\\whoami.exe'}
  condition: sel
""",
    "psexesvc_pipe.yml": """\
title: PSEXESVC named pipe
id: 22222222-0000-4000-8000-000000000002
level: medium
tags: [attack.lateral_movement, attack.t1021.002]
logsource: {product: windows, category: pipe_created}
detection:
  sel: {PipeName|contains: PSEXESVC}
  condition: sel
""",
    "share_psexesvc.yml": """\
name: Share access to PSEXESVC
id: 22222222-0000-4000-8000-000000000003
tags: {mitre_attack_id: [T1021.002]}
search: '`wineventlog_security` EventCode=5145 Relative_Target_Name="*PSEXESVC*"
  | stats count by host'
""",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rules = tmp_path_factory.mktemp("rules")
    for name, text in EXTRA_RULES.items():
        (rules / name).write_text(text, encoding="utf-8")
    seeds = SHARED_CORPUS.parent / "seeds"
    for name in ("psexec_execution_over_smb_share.yml", "impacket_psexec.yml"):
        if (seeds / name).exists():
            shutil.copy(seeds / name, rules / name)
    out = tmp_path_factory.mktemp("site")
    report = build_site([rules], out, verification=Verify())
    assert report.errors == []
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def visible_rows(page) -> list[list[str]]:  # type: ignore[no-untyped-def]
    rows = page.locator("#rules tbody tr:visible")
    return [
        [cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


def test_index_lists_every_rule_and_filters(page, base_url: str, site: Path) -> None:
    page.goto(base_url + "index.html")
    assert page.locator("h1").inner_text() == "Detection rules"
    everything = visible_rows(page)
    total = len(list((site / "rules").iterdir()))
    assert len(everything) == total >= 3
    assert page.locator("#shown").inner_text() == f"{total} shown"

    page.select_option("#f-language", "spl")
    spl_rows = visible_rows(page)
    assert spl_rows and all(row[1] == "spl" for row in spl_rows)
    assert len(spl_rows) < total

    page.select_option("#f-language", "")
    page.select_option("#f-tactic", "Lateral Movement")
    lateral = visible_rows(page)
    titles = {row[0] for row in lateral}
    assert "PSEXESVC named pipe" in titles and "Whoami execution" not in titles
    assert all("Lateral Movement" in row[4] for row in lateral)

    page.select_option("#f-tactic", "")
    page.select_option("#f-level", "low")
    assert [row[0] for row in visible_rows(page)] == ["Whoami execution"]

    page.select_option("#f-level", "")
    page.fill("#f-text", "whoami")
    assert [row[0] for row in visible_rows(page)] == ["Whoami execution"]
    assert page.locator("#shown").inner_text() == "1 shown"


def test_rule_page_shows_its_tables(page, base_url: str) -> None:
    page.goto(base_url + "index.html")
    page.get_by_role("link", name="PSEXESVC named pipe").click()
    assert page.locator("h1#title").inner_text() == "PSEXESVC named pipe"
    headings = page.locator("h2").all_inner_texts()
    for heading in (
        "MITRE ATT&CK coverage",
        "Event coverage",
        "Stages and Predicates",
        "Exclusions",
        "Indicators",
    ):
        assert heading in headings
    attack = page.locator("table.attack tbody tr").all_inner_texts()
    assert attack == [
        "Lateral Movement↗\tT1021.002 Remote Services: SMB/Windows Admin Shares↗"
    ]
    events = page.locator("table.events tbody tr").all_inner_texts()
    # pySigma's Sysmon table: pipe_created is events 17 and 18
    assert events == [
        "Sysmon\tEvent ID 17\tNamed pipe created",
        "Sysmon\tEvent ID 18\tNamed pipe connected",
    ]
    indicator = page.locator("table.indicators tbody tr").all_inner_texts()
    assert indicator == ["PipeName\tcontains\tPSEXESVC\t0"]
    assert page.locator("pre.body").inner_text().startswith("title: PSEXESVC named pipe")


def test_spl_seed_page_shows_search_terms(page, base_url: str, site: Path) -> None:
    slug = "spl-5398.5498"
    if not (site / "rules" / f"{slug}.html").exists():
        pytest.skip("the SPL seed is not in ../shared/seeds")
    page.goto(base_url + f"rules/{slug}.html")
    terms = page.locator("table.terms tbody tr").all_inner_texts()
    assert terms == [
        "1\tEventCode=4688\tTERM(EventCode=4688)",
        "1\t<EventID>4688<\t<EventID>4688<",
        "1\tEventCode=5145\tTERM(EventCode=5145)",
        "1\t<EventID>5145<\t<EventID>5145<",
    ]
    stages = page.locator("section.stage h3").all_inner_texts()
    assert stages[0] == "Stage 1: search" and stages[-1] == "Stage 8: where"


def test_links_resolve_and_indicator_pages_list_the_rules(page, base_url: str) -> None:
    page.goto(base_url + "index.html")
    hrefs = page.eval_on_selector_all("a", "links => links.map(a => a.href)")
    local = [h for h in hrefs if h.startswith(base_url)]
    page.get_by_role("link", name="Share access to PSEXESVC").click()
    hrefs = page.eval_on_selector_all("a", "links => links.map(a => a.href)")
    local += [h for h in hrefs if h.startswith(base_url)]
    assert len(local) > 5
    for href in sorted(set(local)):
        assert page.request.get(href).status == 200, href

    # the shared indicator: the SPL rule's Relative_Target_Name is Sigma's RelativeTargetName
    page.get_by_role("link", name="PSEXESVC", exact=True).click()
    assert "/indicators/" in page.url
    cells = page.locator("table.indicator tbody td").all_inner_texts()
    uses = page.locator("table.uses tbody tr td:first-child").all_inner_texts()
    assert cells[:3] == ["relativetargetname", "contains", "psexesvc"]
    assert "Share access to PSEXESVC" in uses
    if len(uses) > 1:  # with the shared seeds: the Sigma seed rule looks for it too
        assert "PSexec execution over SMB share" in uses
    page.get_by_role("link", name="Share access to PSEXESVC").click()
    assert page.locator("h1#title").inner_text() == "Share access to PSEXESVC"


def test_filter_by_verdict_and_the_url_keeps_it(page, base_url: str, site: Path) -> None:
    page.goto(base_url + "index.html")
    counts = page.locator("#verdicts a").all_inner_texts()
    assert counts and all(c.split()[0].isdigit() for c in counts)
    total = sum(int(c.split()[0]) for c in counts)
    assert total == len(list((site / "rules").iterdir()))
    verdict = counts[0].split()[1]
    page.locator("#verdicts a").first.click()
    rows = visible_rows(page)
    assert rows and all(row[-1] == verdict for row in rows)
    page.wait_for_url(f"**/index.html?verdict={verdict}", timeout=5000)
    assert page.locator("#f-verdict").input_value() == verdict

    page.select_option("#f-verdict", "")
    page.fill("#f-text", "5145")  # an indicator value: in no title, id or file name
    page.wait_for_url("**/index.html?q=5145", timeout=5000)
    found = {row[0] for row in visible_rows(page)}
    assert "Share access to PSEXESVC" in found and "Whoami execution" not in found
    page.reload()  # the state is in the URL
    assert page.locator("#f-text").input_value() == "5145"
    assert {row[0] for row in visible_rows(page)} == found


def test_rule_page_shows_translation_and_verdict(page, base_url: str) -> None:
    page.goto(base_url + "index.html")
    page.get_by_role("link", name="Whoami execution").click()
    assert page.locator("#verdict").inner_text() == "equivalent"
    assert "whoami.exe" in page.locator("pre.translation").inner_text()
    assert page.locator("h2#translation").inner_text().startswith("Translation to Splunk SPL")
    # an ATT&CK technique filters the catalog instead of leaving it
    page.get_by_role("link", name="T1033", exact=True).click()
    page.wait_for_url("**/index.html?technique=T1033", timeout=5000)
    assert [row[0] for row in visible_rows(page)] == ["Whoami execution"]


def test_no_dead_links_on_a_sample_of_pages(page, base_url: str, site: Path) -> None:
    """Every same-site link of the index, every rule page and the indicator index answers."""
    pages = ["index.html", "indicators/index.html"]
    pages += [f"rules/{p.name}" for p in sorted((site / "rules").iterdir())]
    checked: set[str] = set()
    for path in pages:
        page.goto(base_url + path)
        hrefs = page.eval_on_selector_all("a", "links => links.map(a => a.href)")
        for href in hrefs:
            target = href.split("#", 1)[0]
            if not target.startswith(base_url) or target in checked:
                continue
            checked.add(target)
            assert page.request.get(target).status == 200, (path, href)
    assert len(checked) > 10
    text = "".join(p.read_text("utf-8") for p in (site / "rules").iterdir())
    assert str(site.parent) not in text and "/tmp/" not in text  # no machine paths


PIPE_PAGE = "rules/sigma-22222222-0000-4000-8000-000000000002.html"


@pytest.mark.parametrize("path", ["index.html", PIPE_PAGE])
def test_phone_width_does_not_scroll_sideways(browser, base_url: str, path: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.goto(base_url + path)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    context.close()
