"""Rule pages (``ruleglot explain``) and catalog counts, on small rules written here.

Expected values are facts checked by hand: ATT&CK names as MITRE publishes them, Windows event
titles as Microsoft's documentation gives them, and which predicates say the same thing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ir.nodes import Kind, Pattern, Predicate, Regex, Wildcard
from translator import api
from translator.attack import attack_data
from translator.catalog import build_site, count_indicators, detect_language, load_rules
from translator.cli import main
from translator.eventcoverage import event_coverage
from translator.explain import Counts, rule_page
from translator.indicators import IndicatorKey, indicator_key
from translator.pages import render
from translator.stagetext import split_pipes

SIGMA = """\
title: Share access to PSEXESVC
id: 11111111-0000-4000-8000-000000000001
tags: [attack.lateral_movement, attack.t1021.002]
level: medium
logsource: {product: windows, service: security}
detection:
  selection:
    EventID: 5145
    ShareName: '\\\\*\\IPC$'
    RelativeTargetName|contains: PSEXESVC
  filter:
    SubjectUserName: 'adm|in'
  condition: selection and not filter
"""

SIGMA_WILDCARD = """\
title: Same indicator, written with wildcards
id: 11111111-0000-4000-8000-000000000002
logsource: {product: windows, service: security}
detection:
  selection:
    EventID: '5145'
    RelativeTargetName: '*psexesvc*'
  condition: selection
"""

SPL = """\
name: Same indicator in Splunk's names
id: 11111111-0000-4000-8000-000000000003
tags:
  mitre_attack_id: [T1569.002]
search: '`undefined_source_macro` EventCode=5145 Relative_Target_Name="*PSEXESVC*"
  | where match(process_name, "(?i)psexec") | stats count by host'
"""


def sigma(text: str = SIGMA):
    return api.parse(text, "sigma", "rule.yml")[0]


def spl(text: str = SPL):
    return api.parse(text, "spl", "search.yml", undefined_macros="empty")[0]


# --- ATT&CK ------------------------------------------------------------------------------------


def test_attack_names_come_from_the_installed_stix_data() -> None:
    rows, unknown = attack_data().rows(["attack.lateral_movement", "attack.t1021.002"])
    assert [(r.tactic.name, r.technique.id, r.technique.full_name) for r in rows] == [
        ("Lateral Movement", "T1021.002", "Remote Services: SMB/Windows Admin Shares")
    ]
    assert unknown == []


def test_a_technique_without_its_tactic_tag_is_listed_under_attacks_tactics() -> None:
    rows, _ = attack_data().rows(["attack.t1569.002", "attack.t1021"])
    assert [(r.tactic.name, r.technique.name) for r in rows] == [
        ("Execution", "Service Execution"),
        ("Lateral Movement", "Remote Services"),
    ]


def test_tactic_alone_and_unknown_tags() -> None:
    rows, unknown = attack_data().rows(["attack.defense_evasion", "attack.t9999", "attack.g0016"])
    assert [(r.tactic.id, r.technique) for r in rows] == [("TA0005", None)]
    assert unknown == ["attack.t9999"]  # a group id (G0016) is not a tactic or technique


# --- event coverage ------------------------------------------------------------------------------


def test_event_coverage_from_the_rules_own_event_id_and_channel() -> None:
    rows = event_coverage(sigma())
    assert [(r.provider_short, r.event_id, r.title) for r in rows] == [
        (
            "Security-Auditing",
            5145,
            "A network share object was checked to see whether client can be granted desired "
            "access.",
        )
    ]


def test_event_coverage_from_the_log_source_category() -> None:
    rule = sigma(
        "title: t\nlogsource: {product: windows, category: process_creation}\n"
        "detection: {sel: {Image|endswith: '\\\\x.exe'}, condition: sel}\n"
    )
    assert [(r.provider_short, r.event_id, r.title) for r in event_coverage(rule)] == [
        ("Sysmon", 1, "Process Create"),
        ("Security-Auditing", 4688, "A new process has been created."),
    ]


def test_event_coverage_from_spl_terms_and_an_id_the_table_lacks() -> None:
    rule = spl("search: 'TERM(EventCode=4688) OR \"<EventID>4688<\" OR EventCode=9999'\n")
    rows = event_coverage(rule)
    assert [(r.event_id, r.provider_short, r.title) for r in rows] == [
        (4688, "Security-Auditing", "A new process has been created."),
        (9999, None, None),
    ]


# --- indicator keys ------------------------------------------------------------------------------


def test_same_indicator_written_two_ways_in_sigma_is_one_key() -> None:
    a = {indicator_key(p, "sigma") for p in sigma().indicators}
    b = {indicator_key(p, "sigma") for p in sigma(SIGMA_WILDCARD).indicators}
    assert a & b == {
        IndicatorKey("eventid", "eq", "5145"),
        IndicatorKey("relativetargetname", "contains", "psexesvc"),
    }


def test_spl_field_names_map_to_windows_ones_through_the_field_profile() -> None:
    keys = {indicator_key(p, "spl") for p in spl().indicators}
    assert IndicatorKey("eventid", "eq", "5145") in keys
    assert IndicatorKey("relativetargetname", "contains", "psexesvc") in keys
    # process_name is the file name of Image: a regex on it is not rewritten
    assert IndicatorKey("process_name", "regex", "/psexec/i") in keys


def test_process_name_equality_is_image_endswith() -> None:
    key = indicator_key(Predicate("process_name", Kind.EQ, "PsExec.exe"), "spl")
    sigma_key = indicator_key(Predicate("Image", Kind.ENDSWITH, "\\psexec.EXE"), "sigma")
    assert key == sigma_key == IndicatorKey("image", "endswith", "\\psexec.exe")


def test_case_and_regex_flags_in_keys() -> None:
    cased = Predicate("CommandLine", Kind.CONTAINS, "AbC", cased=True)
    assert indicator_key(cased).value == "AbC"
    assert indicator_key(Predicate("x", Kind.REGEX, Regex("(?i)a\\.B"))) == indicator_key(
        Predicate("X", Kind.REGEX, Regex("a\\.B", "i"))
    )
    pattern = Pattern(("\\", Wildcard.MANY, "\\IPC$"))
    assert indicator_key(Predicate("ShareName", Kind.WILDCARD, pattern)).value == "\\\\*\\ipc$"


# --- the page ----------------------------------------------------------------------------------


def test_split_pipes_ignores_pipes_in_quotes_and_brackets() -> None:
    assert split_pipes('a="x|y" | regex _raw="(a|b)" | join [search b | head 1]') == [
        'a="x|y"',
        '| regex _raw="(a|b)"',
        "| join [search b | head 1]",
    ]


def test_page_tables_from_the_ir() -> None:
    page = rule_page(sigma(), SIGMA, "rule.yml")
    assert [(r.field, r.kind, r.values) for r in page.exclusions] == [
        ("SubjectUserName", "eq", ("adm|in",))
    ]
    assert [(r.field, r.kind, r.value) for r in page.indicators] == [
        ("EventID", "eq", "5145"),
        ("ShareName", "wildcard", "\\\\*\\IPC$"),
        ("RelativeTargetName", "contains", "PSEXESVC"),
    ]
    assert all(r.corpus is None for r in page.indicators)  # no corpus given: blank column
    (stage,) = page.stages
    assert stage.command == "detection"
    assert "RelativeTargetName|contains: PSEXESVC" in stage.text
    assert [p.excluded for p in stage.predicates] == [False, False, False, True]


def test_a_predicate_under_a_not_inside_a_conjunct_is_negated_not_matched() -> None:
    """``NOT User=a OR User=b`` (SPL: NOT binds tighter than OR) matches where User is not
    ``a``: the page called ``User eq a`` "matched" (QA); only a top-level NOT conjunct is an
    exclusion, and two NOTs cancel."""
    text = ("EventCode=1 (NOT User=a OR User=b) NOT Image=x (NOT (NOT Host=h) OR Host=g) "
            "NOT (Dest=d NOT Port=1)\n")
    (rule,) = api.parse(text, "spl", "p.spl")
    page = rule_page(rule, text, "p.spl")
    (stage,) = page.stages
    assert [(p.field, p.value, p.role) for p in stage.predicates] == [
        ("EventCode", "1", "matched"),
        ("User", "a", "negated"),
        ("User", "b", "matched"),
        ("Image", "x", "excluded"),
        ("Host", "h", "matched"),
        ("Host", "g", "matched"),
        ("Dest", "d", "excluded"),
        ("Port", "1", "matched"),  # NOT (Dest=d NOT Port=1) keeps the events with Port=1
    ]
    assert "| User | eq | `a` | negated |" in render(page, "md")


def test_spl_page_stages_terms_and_no_macro_needed() -> None:
    page = rule_page(spl(), SPL, "search.yml")
    assert [(s.number, s.command) for s in page.stages] == [
        (1, "search"),
        (2, "where"),
        (3, "stats"),
    ]
    assert page.stages[1].text == '| where match(process_name, "(?i)psexec")'
    assert [r.technique.id for r in page.attack] == ["T1569.002"]
    assert page.terms == ()  # field=value pairs are not bare terms


def test_markdown_escapes_pipes_and_html_escapes_markup() -> None:
    page = rule_page(sigma(), SIGMA, "rule.yml")
    md = render(page, "md")
    assert "| SubjectUserName | eq | `adm\\|in` |" in md
    page = rule_page(spl("search: '\"<script>x</script>\"'\n"), "", "s.yml")
    html = render(page, "html")
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_json_page_holds_every_table() -> None:
    data = json.loads(render(rule_page(sigma(), SIGMA, "rule.yml"), "json"))
    assert data["attack"][0]["technique"]["id"] == "T1021.002"
    assert data["events"][0]["event_id"] == 5145
    assert data["exclusions"][0]["values"] == ["adm|in"]
    assert len(data["indicators"]) == 3 and data["indicators"][0]["key"]["slug"]


# --- catalog counts ----------------------------------------------------------------------------


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "a.yml").write_text(SIGMA)
    (folder / "b.yml").write_text(SIGMA_WILDCARD)
    (folder / "c.yml").write_text(SPL)
    (folder / "README.md").write_text("not a rule")
    (folder / "notes.yml").write_text("just: yaml\n")
    return folder


def test_detect_language() -> None:
    assert detect_language(SIGMA, "a.yml") == "sigma"
    assert detect_language(SPL, "a.yml") == "spl"
    assert detect_language("index=x", "a.spl") == "spl"
    assert detect_language("tests: []\n", "thor.yml") is None


def test_corpus_counts_one_indicator_across_spellings_and_languages(corpus: Path) -> None:
    loaded = load_rules([corpus])
    assert len(loaded.entries) == 3 and loaded.skipped == [str(corpus / "notes.yml")]
    counts = count_indicators(e.rule for e in loaded.entries)
    assert counts[IndicatorKey("relativetargetname", "contains", "psexesvc")] == 3
    assert counts[IndicatorKey("eventid", "eq", "5145")] == 3
    assert counts[IndicatorKey("sharename", "wildcard", "\\\\*\\ipc$")] == 1
    page = rule_page(sigma(), SIGMA, "a.yml", Counts(counts))
    assert [r.corpus for r in page.indicators] == [2, 0, 2]  # other rules only


def test_catalog_site_files(corpus: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    report = build_site([corpus], site)
    assert (report.rules, report.errors) == (3, [])
    pages = sorted(p.name for p in (site / "rules").iterdir())
    assert pages == [
        "sigma-11111111-0000-4000-8000-000000000001.html",
        "sigma-11111111-0000-4000-8000-000000000002.html",
        "spl-11111111-0000-4000-8000-000000000003.html",
    ]
    key = IndicatorKey("relativetargetname", "contains", "psexesvc")
    shared_page = (site / "indicators" / f"{key.slug}.html").read_text()
    assert shared_page.count('href="../rules/') == 3
    assert "Relative_Target_Name contains PSEXESVC" in shared_page  # as the SPL rule wrote it
    index = (site / "index.html").read_text()
    assert index.count("<tr data-language=") == 3


def test_explain_command_counts_over_a_corpus(corpus: Path) -> None:
    result = CliRunner().invoke(
        main, ["explain", str(corpus / "a.yml"), "--corpus", str(corpus), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # a.yml itself is left out of its corpus: b.yml and c.yml share two of its indicators
    assert [r["corpus"] for r in data["indicators"]] == [2, 0, 2]


def test_explain_command_rejects_a_file_that_is_no_rule(corpus: Path) -> None:
    result = CliRunner().invoke(main, ["explain", str(corpus / "notes.yml")])
    assert result.exit_code == 2
    assert "not a Sigma rule or SPL search" in result.output


def test_tstats_where_gives_indicators_exclusions_and_the_log_source() -> None:
    rule = spl(
        "search: '| tstats count from datamodel=Endpoint.Processes where"
        " Processes.process_name=whoami.exe NOT Processes.user=SYSTEM by Processes.dest'\n"
    )
    page = rule_page(rule, "", "t.yml")
    assert page.logsource == "datamodel: Endpoint.Processes"
    assert [(r.field, r.kind, r.value) for r in page.indicators] == [
        ("Processes.process_name", "eq", "whoami.exe")
    ]
    # the data model's process_name is the add-on's: the file name of Image
    assert page.indicators[0].key == IndicatorKey("image", "endswith", "\\whoami.exe")
    assert [(r.field, r.values) for r in page.exclusions] == [("Processes.user", ("SYSTEM",))]


def test_spl_log_source_from_source_terms() -> None:
    rule = spl(
        "search: 'source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" EventCode=10'\n"
    )
    page = rule_page(rule, "", "s.yml")
    assert page.logsource == "channel: Microsoft-Windows-Sysmon/Operational"
    assert [(e.provider_short, e.event_id, e.title) for e in page.events] == [
        ("Sysmon", 10, "Process accessed")
    ]


def test_explain_counts_from_a_built_catalog_leave_the_rule_out(
    corpus: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    build_site([corpus], site)
    outside = tmp_path / "outside.yml"
    outside.write_text(SIGMA.replace("-000000000001", "-000000000009"))
    for rule, expected in ((corpus / "a.yml", [2, 0, 2]), (outside, [3, 1, 3])):
        result = CliRunner().invoke(
            main, ["explain", str(rule), "--corpus", str(site), "--format", "json"]
        )
        assert result.exit_code == 0, result.output
        assert [r["corpus"] for r in json.loads(result.output)["indicators"]] == expected


def test_stages_that_do_not_line_up_with_the_text_are_shown_as_read() -> None:
    # an undefined *_filter macro expands to nothing: three pipes, two stages
    text = (
        "search: '| tstats count min(_time) as firstTime from datamodel=Endpoint.Processes"
        " where Processes.process_name=net.exe by Processes.dest | convert ctime(firstTime)"
        " | `x_filter`'\n"
    )
    rule = api.parse(text, "spl", "m.yml")[0]
    page = rule_page(rule, text, "m.yml")
    assert not page.stages_as_written and page.search and "`x_filter`" in page.search
    assert [s.text for s in page.stages] == [
        "tstats count, min(_time) as firstTime from datamodel=Endpoint.Processes"
        ' where Processes.process_name="net.exe" by Processes.dest',
        "convert ctime(firstTime)",
    ]
    assert "The search as written" in render(page, "md")


def test_catalog_command_builds_the_site_and_says_what_it_did(corpus: Path, tmp_path: Path) -> None:
    (corpus / "broken.yml").write_text("title: x\ndetection: {condition: nothing}\n")
    site = tmp_path / "site"
    result = CliRunner().invoke(main, ["catalog", str(corpus), "-o", str(site), "-j", "1"])
    assert result.exit_code == 2  # one input failed; the others are in the catalog
    assert "broken.yml" in result.output
    assert "catalog: 3 rules, 3 rule pages" in result.output
    assert "1 file(s) failed, 1 skipped" in result.output
    assert (site / "index.html").is_file() and (site / "indicators.json").is_file()
    assert "broken.yml" in (site / "errors.txt").read_text()


def test_explain_html_is_a_standalone_page(corpus: Path) -> None:
    result = CliRunner().invoke(main, ["explain", str(corpus / "c.yml"), "--format", "html"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("<!doctype html>")
    assert 'href="../' not in result.output  # no links into a catalog
    assert '<table class="terms">' not in result.output  # no bare terms in this search
