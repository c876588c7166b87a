"""Sigma 1.x aggregation conditions read as the modern correlation rule they mean
(backends/sigma/aggregation.py): the same IR stages as the modern form, a deprecated warning,
and positioned errors for what has no defined meaning."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.sigma.reader import read_sigma
from ir.errors import RuleglotError
from ir.fielduse import fields_from_events
from ir.nodes import LogSource, Predicate

HEAD = """\
title: Failed logons
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  filter:
    TargetUserName|endswith: $
"""

MODERN = """\
title: base
name: base
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  filter:
    TargetUserName|endswith: $
  condition: {search}
---
title: Failed logons
correlation:
  type: {type}
  rules: [base]
  timespan: 5m
{extra}"""


def _one(text: str) -> tuple[object, list[dict[str, object]]]:
    warnings: list[dict[str, object]] = []
    rules = read_sigma(text, "legacy.yml", warnings=warnings)
    assert len(rules) == 1
    return rules[0], warnings


@pytest.mark.parametrize(
    ("aggregation", "modern_type", "extra"),
    [
        ("count() > 5", "event_count", "  condition: {gt: 5}\n"),
        ("count() by IpAddress >= 3", "event_count",
         "  group-by: [IpAddress]\n  condition: {gte: 3}\n"),
        ("count(TargetUserName) by IpAddress > 10", "value_count",
         "  group-by: [IpAddress]\n  condition: {gt: 10, field: TargetUserName}\n"),
        ("count() by TaskName < 5", "event_count",
         "  group-by: [TaskName]\n  condition: {lt: 5}\n"),
        ("sum(Size) by IpAddress > 300000", "value_sum",
         "  group-by: [IpAddress]\n  condition: {gt: 300000, field: Size}\n"),
        ("avg(Size) <= 10", "value_avg", "  condition: {lte: 10, field: Size}\n"),
    ],
)  # fmt: skip
def test_count_reads_as_the_modern_correlation(
    aggregation: str, modern_type: str, extra: str
) -> None:
    search = "selection and not filter"
    legacy, warnings = _one(HEAD + f"  timeframe: 5m\n  condition: {search} | {aggregation}\n")
    modern = read_sigma(MODERN.format(search=search, type=modern_type, extra=extra))
    assert legacy.stages == modern[-1].stages  # type: ignore[attr-defined]
    assert [(w["kind"], w["construct"], w["line"]) for w in warnings] == [
        ("deprecated", aggregation.split("(")[0], 11)
    ]
    assert warnings[0]["col"] == len("  condition: selection and not filter | ") + 1


def test_near_reads_as_a_temporal_correlation() -> None:
    """The referenced rules' names are the temporal tag values, so the modern form names them as
    the reader does (``legacy_search``, ``legacy_near_<identifier>``)."""
    text = HEAD + "  timeframe: 5m\n  condition: selection | near filter\n"
    legacy, warnings = _one(text)
    other = (
        "---\ntitle: other\nname: legacy_near_filter\n"
        "logsource: {product: windows, service: security}\n"
        "detection:\n  filter:\n    TargetUserName|endswith: $\n  condition: filter\n"
    )
    modern = MODERN.replace("name: base", "name: legacy_search").replace(
        "rules: [base]", "rules: [legacy_search, legacy_near_filter]"
    )
    expected = read_sigma(modern.format(search="selection", type="temporal", extra="") + other)
    assert len(expected) == 1
    assert legacy.stages == expected[0].stages  # type: ignore[attr-defined]
    assert (warnings[0]["kind"], warnings[0]["construct"]) == ("deprecated", "near")


@pytest.mark.parametrize(
    ("condition", "construct", "col"),
    [
        ("selection | count() > 5", "count", 26),  # no timeframe: no defined window
        ("selection | near filter", "near", 26),
    ],
)
def test_aggregation_without_timeframe_is_a_positioned_error(
    condition: str, construct: str, col: int
) -> None:
    with pytest.raises(RuleglotError) as caught:
        read_sigma(HEAD + f"  condition: {condition}\n", "x.yml")
    err = caught.value
    assert (err.category, err.construct, err.line, err.col) == ("unsupported", construct, 10, col)


@pytest.mark.parametrize(
    ("aggregation", "construct"),
    [
        ("near filter and not selection", "near"),
        ("max(Size) by Host > 3", "max"),
        ("sum() > 3", "sum"),
    ],
)
def test_aggregations_without_a_correlation_equivalent_are_refused(
    aggregation: str, construct: str
) -> None:
    text = HEAD + f"  timeframe: 5m\n  condition: selection | {aggregation}\n"
    with pytest.raises(RuleglotError) as caught:
        read_sigma(text)
    assert (caught.value.category, caught.value.construct) == ("unsupported", construct)
    assert caught.value.line == 11


def test_pipe_in_one_of_several_conditions_is_refused() -> None:
    text = HEAD + "  timeframe: 5m\n  condition:\n    - filter\n    - selection | count() > 5\n"
    with pytest.raises(RuleglotError) as caught:
        read_sigma(text)
    assert caught.value.construct == "aggregation"
    assert caught.value.line == 13


# --- loose rules: log sources, metadata -----------------------------------------------------


def _loose(header: str, body: str = "") -> tuple[object, list[dict[str, object]]]:
    text = (
        f"title: Loose\n{header}"
        "detection:\n  selection:\n    CommandLine|contains: whoami\n  condition: selection\n"
        + body
    )
    return _one(text)


def test_log_source_list_is_any_of_them_through_the_profile() -> None:
    from backends.sigma.logsources import windows_profile
    from ir.nodes import LogSource

    header = "logsource:\n  product: windows\n  category: [process_creation, ps_script]\n"
    rule, warnings = _loose(header)
    assert rule.logsource.category == "process_creation|ps_script"  # type: ignore[attr-defined]
    profile = windows_profile()
    both = profile.resolve(rule.logsource)  # type: ignore[attr-defined]
    one = profile.resolve(LogSource("windows", "process_creation"))
    other = profile.resolve(LogSource("windows", "ps_script"))
    assert both is not None and one is not None and other is not None
    assert set(both) == set(one) | set(other)
    assert [(w["kind"], w["construct"], w["line"]) for w in warnings] == [
        ("logsource", "category", 4)
    ]


def test_one_string_naming_several_services_and_other_spellings() -> None:
    rule, warnings = _loose("logsource:\n  product: windows\n  service: Security, system\n")
    assert rule.logsource.service == "security|system"  # type: ignore[attr-defined]
    assert [w["kind"] for w in warnings] == ["logsource", "logsource"]
    rule, warnings = _loose("logsource:\n  product: windows\n  category: file_creation\n")
    assert rule.logsource.category == "file_event"  # type: ignore[attr-defined]
    assert "sigmahq.github.io#61" in str(warnings[0]["message"])


def test_one_unmapped_alternative_leaves_the_whole_log_source_unmapped() -> None:
    from backends.sigma.logsources import windows_profile
    from ir.nodes import LogSource

    assert windows_profile().resolve(LogSource("windows", None, "security|zeek")) is None


def test_metadata_outside_the_schema_is_kept_with_warnings() -> None:
    header = (
        "status: production\nlevel: severe\ntags: [attack.t1033, discovery]\n"
        "correlation: seen with the logon rule\nnotes: {owner: soc}\n"
        "logsource:\n  product: windows\n  category: process_creation\n"
    )
    rule, warnings = _loose(header)
    assert rule.status == "production" and rule.level == "severe"  # type: ignore[attr-defined]
    assert rule.tags == ("attack.t1033", "discovery")  # type: ignore[attr-defined]
    assert dict(rule.custom) == {  # type: ignore[attr-defined]
        "correlation": '"seen with the logon rule"',
        "notes": '{"owner":"soc"}',
    }
    assert sorted((w["construct"], w["line"]) for w in warnings) == [
        ("correlation", 5),
        ("level", 3),
        ("notes", 6),
        ("status", 2),
        ("tags", 4),
    ]
    assert {w["kind"] for w in warnings} == {"metadata"}


DUPLICATE = """\
title: Duplicate keys
logsource: {product: windows, category: process_creation}
detection:
  selection:
    CommandLine|contains: whoami
    CommandLine|contains: hostname
  condition: selection
"""


def test_duplicate_key_is_an_error_naming_both_positions() -> None:
    with pytest.raises(RuleglotError) as caught:
        read_sigma(DUPLICATE, "dup.yml")
    err = caught.value
    assert (err.category, err.construct, err.line, err.col) == ("invalid", "duplicate-key", 6, 5)
    assert "first at line 5 column 5" in err.message


def test_lenient_reads_duplicate_keys_as_pyyaml_does() -> None:
    import yaml

    warnings: list[dict[str, object]] = []
    (rule,) = read_sigma(DUPLICATE, "dup.yml", warnings=warnings, lenient=True)
    pyyaml = yaml.safe_load(DUPLICATE)["detection"]["selection"]
    assert pyyaml == {"CommandLine|contains": "hostname"}
    predicate = rule.filters[0].expr  # the one value PyYAML keeps
    assert isinstance(predicate, Predicate) and predicate.value == "hostname"
    assert [(w["kind"], w["line"], w["col"]) for w in warnings] == [("duplicate-key", 6, 5)]


# --- the command line: warnings reported and counted by kind, --lenient -----------------------


def test_parse_and_translate_count_reader_warnings_by_kind(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from translator.cli import main

    (tmp_path / "legacy.yml").write_text(
        HEAD + "  timeframe: 5m\n  condition: selection | count() > 5\nstatus: production\n"
    )
    (tmp_path / "dup.yml").write_text(DUPLICATE)
    runner = CliRunner()
    strict = runner.invoke(main, ["parse", str(tmp_path)])
    assert strict.exit_code == 2
    assert "dup.yml:6:5: invalid: duplicate key" in strict.stderr
    assert "2 reader warning(s) by kind: deprecated 1, metadata 1" in strict.stderr
    lenient = runner.invoke(main, ["parse", "--lenient", str(tmp_path)])
    assert lenient.exit_code == 0
    assert "3 reader warning(s) by kind: deprecated 1, duplicate-key 1, metadata 1" in (
        lenient.stderr
    )
    # the sliding window is written as bin buckets only with --lossy (the SPL writer, issue 20)
    translated = runner.invoke(
        main, ["translate", "--lenient", "--lossy", "--to", "spl", str(tmp_path)]
    )
    assert translated.exit_code == 0
    assert "| stats count by _time | where count>5" in translated.stdout
    assert "legacy.yml:11:26: warning: deprecated: count:" in translated.stderr
    assert "by kind: deprecated 1, duplicate-key 1, metadata 1" in translated.stderr


COLLECTION = """\
action: global
title: Collected
logsource: {product: windows}
---
action: global
detection:
  base:
    User: bob
---
logsource: {service: security}
detection:
  sel: {EventID: 4625}
  condition: sel and base
---
action: repeat
detection:
  sel: {EventID: 4624}
"""


def test_collection_globals_accumulate_and_each_rule_is_named_by_its_documents() -> None:
    warnings: list[dict[str, object]] = []
    rules = read_sigma(COLLECTION, "c.yml", warnings=warnings)
    assert [r.title for r in rules] == ["Collected", "Collected"]
    assert [r.logsource for r in rules] == [LogSource("windows", None, "security")] * 2
    # both globals are in force: 'base' from the second, the log source from the first
    assert [sorted(fields_from_events(r.stages)) for r in rules] == [["EventID", "User"]] * 2
    assert [(w["kind"], w["line"]) for w in warnings] == [("collection", 10), ("collection", 15)]
    assert "document(s) 1 + 2 + 3" in str(warnings[0]["message"])
    assert "document(s) 1 + 2 + 3 + 4" in str(warnings[1]["message"])


def test_check_compares_a_keyword_aggregation_on_its_row_wise_stages(tmp_path: Path) -> None:
    """The SPL writer writes keywords as foreach + where; check compared an aggregating
    pipeline on its leading filters only (the source macro), so a keyword correlation seemed to
    differ on every event of its log source (found on SigmaHQ's modsec_mulitple_blocks.yml)."""
    import json

    from click.testing import CliRunner

    from translator.cli import main

    (tmp_path / "kw.yml").write_text(
        "title: Blocks\nlogsource: {product: modsecurity}\ndetection:\n"
        "  keywords: ['mod_security: Access denied']\n  timeframe: 120m\n"
        "  condition: keywords | count() > 6\n"
    )
    result = CliRunner().invoke(
        main, ["check", str(tmp_path), "--to", "spl", "--format", "json", "--jobs", "1"]
    )
    report = json.loads(result.stdout)
    entries = report if isinstance(report, list) else report.get("rules", report)
    (entry,) = entries
    assert entry["status"] == "lossy"  # the bin approximation, announced
    assert "counterexample" not in entry


def test_misspelled_key_is_read_as_the_schema_key() -> None:
    header = "reference:\n  - https://example.org/a\nlogsource: {product: windows}\n"
    rule, warnings = _loose(header)
    assert rule.references == ("https://example.org/a",)  # type: ignore[attr-defined]
    assert rule.custom == ()  # type: ignore[attr-defined]
    assert [(w["kind"], w["construct"], w["line"]) for w in warnings] == [
        ("metadata", "reference", 2)
    ]


_MODERN_OPS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "eq", "!=": "neq"}


@settings(max_examples=60, deadline=None)
@given(
    op=st.sampled_from(sorted(_MODERN_OPS)),
    value=st.integers(min_value=0, max_value=10_000),
    field=st.sampled_from([None, "TargetUserName", "Image"]),
    group=st.sampled_from([None, "IpAddress", "Computer"]),
    timeframe=st.sampled_from(["30s", "5m", "1h", "2d"]),
)
def test_any_count_aggregation_reads_as_its_modern_correlation(
    op: str, value: int, field: str | None, group: str | None, timeframe: str
) -> None:
    aggregation = f"count({field or ''})" + (f" by {group}" if group else "") + f" {op} {value}"
    legacy, _ = _one(HEAD + f"  timeframe: {timeframe}\n  condition: selection | {aggregation}\n")
    condition = f"{_MODERN_OPS[op]}: {value}" + (f", field: {field}" if field else "")
    extra = (f"  group-by: [{group}]\n" if group else "") + f"  condition: {{{condition}}}\n"
    kind = "value_count" if field else "event_count"
    modern = MODERN.replace("timespan: 5m", f"timespan: {timeframe}").format(
        search="selection", type=kind, extra=extra
    )
    assert legacy.stages == read_sigma(modern)[-1].stages  # type: ignore[attr-defined]


def test_timeframe_without_aggregation_is_ignored_with_a_warning() -> None:
    """pySigma would read 'timeframe: 5m' as a search identifier, and 'all of them' would then
    require the keyword '5m' in every event."""
    rule, warnings = _one(HEAD + "  timeframe: 5m\n  condition: all of them\n")
    expected = read_sigma(HEAD + "  condition: all of them\n")[0]
    assert rule.stages == expected.stages  # type: ignore[attr-defined]
    assert [(w["kind"], w["construct"], w["line"]) for w in warnings] == [
        ("deprecated", "timeframe", 10)
    ]


@pytest.mark.parametrize("func", ["sum", "avg"])
def test_value_sum_and_avg_are_written_back_as_modern_correlations(func: str) -> None:
    from backends.sigma.emit import emit_sigma

    text = HEAD + f"  timeframe: 5m\n  condition: selection | {func}(Size) by IpAddress > 300\n"
    legacy, _ = _one(text)
    written = emit_sigma(legacy).yaml  # type: ignore[arg-type]
    assert f"type: value_{func}" in written
    assert read_sigma(written)[-1].stages == legacy.stages  # type: ignore[attr-defined]
