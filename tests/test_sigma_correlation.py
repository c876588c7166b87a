"""Sigma correlation rules read into IR stages (backends/sigma/correlation.py) and run."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.sigma.reader import read_sigma
from ir.errors import RuleglotError
from ir.nodes import (
    Aggregation,
    Bin,
    Eval,
    Filter,
    Kind,
    LogSource,
    Not,
    Or,
    Predicate,
    Stats,
)
from translator.api import run

FAILED_LOGON = """\
title: Failed logon
name: failed_logon
id: 0e95725d-7320-415d-80f7-004da920fc11
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
"""

EVENT_COUNT = FAILED_LOGON + """\
---
title: Many failed logons
id: 0e95725d-7320-415d-80f7-004da920fc12
correlation:
  type: event_count
  rules:
    - failed_logon
  group-by:
    - TargetUserName
  timespan: 5m
  condition:
    gte: 3
level: high
"""


def _logon(user: str, minute: int, event_id: int = 4625, **extra: object) -> dict[str, object]:
    return {
        "EventID": event_id,
        "TargetUserName": user,
        "TimeCreated_SystemTime": f"2024-01-01T12:{minute:02d}:00Z",
        **extra,
    }


# 2024-01-01T12:00:00Z
BUCKET = 1704110400


def test_event_count_stages() -> None:
    rules = read_sigma(EVENT_COUNT)
    assert [r.title for r in rules] == ["Many failed logons"]  # generate defaults to false
    rule = rules[0]
    assert rule.language == "sigma"
    assert rule.level == "high"
    assert rule.id == "0e95725d-7320-415d-80f7-004da920fc12"
    assert rule.logsource == LogSource(product="windows", service="security")
    assert rule.stages == (
        Filter(Predicate("EventID", Kind.EQ, 4625)),
        Bin("_time", "5m"),
        Stats(
            (Aggregation("count"),),
            by=("_time", "TargetUserName"),
            options=(("timespan", "5m"), ("approximation", "bin")),
        ),
        Filter(Predicate("count", Kind.GTE, 3), command="where"),
    )
    assert rule.stages[-1].span is not None and rule.stages[-1].span.line == 21


def test_event_count_runs() -> None:
    rule = read_sigma(EVENT_COUNT)[0]
    events = [
        _logon("bob", 1), _logon("bob", 2), _logon("bob", 3),
        _logon("alice", 1), _logon("alice", 2),
        _logon("carol", 1), _logon("carol", 2), _logon("carol", 3, event_id=4624),
    ]
    assert run(rule, events) == [{"_time": BUCKET, "TargetUserName": "bob", "count": 3}]


def test_bin_is_a_bucket_not_a_window() -> None:
    """The named approximation: 3 events within 5 minutes across a bucket edge are missed."""
    rule = read_sigma(EVENT_COUNT)[0]
    assert run(rule, [_logon("bob", 4), _logon("bob", 5), _logon("bob", 6)]) == []


def test_generate_true_keeps_referenced_rule() -> None:
    text = EVENT_COUNT.replace("  timespan: 5m", "  timespan: 5m\n  generate: true")
    assert [r.title for r in read_sigma(text)] == ["Failed logon", "Many failed logons"]


VALUE_COUNT = FAILED_LOGON + """\
---
title: Password spraying
correlation:
  type: value_count
  rules: 0e95725d-7320-415d-80f7-004da920fc11
  group-by: IpAddress
  timespan: 1h
  condition:
    gt: 2
    field: TargetUserName
"""


def test_value_count_stages_and_run() -> None:
    rule = read_sigma(VALUE_COUNT)[0]
    assert rule.stages[1:] == (
        Bin("_time", "1h"),
        Stats(
            (Aggregation("dc", "TargetUserName", "value_count"),),
            by=("_time", "IpAddress"),
            options=(("timespan", "1h"), ("approximation", "bin")),
        ),
        Filter(Predicate("value_count", Kind.GT, 2), command="where"),
    )
    events = [
        _logon(user, minute, IpAddress="10.0.0.1")
        for minute, user in enumerate(["a", "b", "c", "a"])
    ] + [
        _logon(user, minute, IpAddress="10.0.0.2")
        for minute, user in enumerate(["a", "b", "b", "a", "a"])
    ]
    assert run(rule, events) == [{"_time": BUCKET, "IpAddress": "10.0.0.1", "value_count": 3}]


TEMPORAL = FAILED_LOGON + """\
---
title: Successful logon
name: success_logon
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4624
    LogonType|contains: '3'
  condition: selection
---
title: Failed then successful logon
correlation:
  type: temporal
  rules:
    - failed_logon
    - success_logon
  group-by:
    - TargetUserName
  timespan: 10m
"""


def test_temporal_stages_and_run() -> None:
    rules = read_sigma(TEMPORAL)
    assert [r.title for r in rules] == ["Failed then successful logon"]
    rule = rules[0]
    assert rule.logsource == LogSource(product="windows", service="security")
    first, tag, bin_, stats, where = rule.stages
    assert isinstance(first, Filter) and isinstance(first.expr, Or)
    assert isinstance(tag, Eval) and tag.assignments[0][0] == "sigma_rule"
    assert bin_ == Bin("_time", "10m")
    assert isinstance(stats, Stats)
    assert stats.aggregations == (Aggregation("dc", "sigma_rule", "rule_count"),)
    assert stats.by == ("_time", "TargetUserName")
    assert where == Filter(Predicate("rule_count", Kind.GTE, 2), command="where")
    events = [
        _logon("bob", 1), _logon("bob", 2, event_id=4624, LogonType="3"),
        _logon("alice", 1), _logon("alice", 2),  # failures only
        _logon("carol", 1), _logon("carol", 2, event_id=4624, LogonType="2"),  # not rule 2
    ]
    assert run(rule, events) == [{"_time": BUCKET, "TargetUserName": "bob", "rule_count": 2}]


def test_neq_condition() -> None:
    rule = read_sigma(EVENT_COUNT.replace("gte: 3", "neq: 3"))[0]
    assert rule.stages[-1] == Filter(Not(Predicate("count", Kind.EQ, 3)), command="where")


def _error(text: str) -> RuleglotError:
    with pytest.raises(RuleglotError) as info:
        read_sigma(text)
    return info.value


def test_unknown_rule_is_positioned() -> None:
    err = _error(EVENT_COUNT.replace("    - failed_logon", "    - no_such_rule"))
    assert (err.category, err.construct, err.line, err.col) == ("invalid", "correlation", 17, 7)
    assert "no_such_rule" in str(err)


def test_unsupported_type_is_positioned() -> None:
    err = _error(EVENT_COUNT.replace("type: event_count", "type: value_median"))
    assert (err.category, err.construct, err.line, err.col) == (
        "unsupported", "correlation", 15, 9)


def test_temporal_ordered_unsupported() -> None:
    err = _error(TEMPORAL.replace("type: temporal", "type: temporal_ordered"))
    assert (err.category, err.construct) == ("unsupported", "correlation")


def test_bad_condition_is_positioned() -> None:
    err = _error(EVENT_COUNT.replace("gte: 3", "between: 3"))
    assert (err.category, err.construct, err.line) == ("invalid", "correlation", 21)


def test_extended_condition_unsupported() -> None:
    err = _error(TEMPORAL + "  condition: failed_logon and success_logon\n")
    assert (err.category, err.construct) == ("unsupported", "correlation")


def test_aliases_are_refused_at_their_key() -> None:
    """``aliases`` name a group-by field differently per rule; grouping by the alias name
    alone found no event carrying it, so the correlation silently never fired (QA)."""
    aliased = TEMPORAL.replace(
        "  group-by:\n    - TargetUserName\n",
        "  aliases:\n    account:\n      failed_logon: TargetUserName\n"
        "      success_logon: SubjectUserName\n  group-by:\n    - account\n",
    )
    assert "aliases" in aliased
    err = _error(aliased)
    line = aliased.splitlines().index("  aliases:") + 1
    assert (err.category, err.construct, err.line, err.col) == (
        "unsupported", "correlation:aliases", line, 3)


def test_bad_timespan_is_positioned() -> None:
    err = _error(EVENT_COUNT.replace("timespan: 5m", "timespan: 5 minutes"))
    assert (err.category, err.construct, err.line) == ("invalid", "correlation", 20)


_FAILED_LOGONS = """\
title: failed logons
id: 0e95725d-7320-415d-80f7-004da920fc11
name: failed_logon
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
---
title: many failed logons
id: 0e95725d-7320-415d-80f7-004da920fc12
correlation:
  type: event_count
  rules:
    - failed_logon
  group-by:
    - TargetUserName
  timespan: 1h
  condition:
    gte: 1
"""


def test_eval_counts_only_the_log_source_events_of_a_correlation(tmp_path: Path) -> None:
    """``ruleglot eval`` runs a correlation on its log source's events, as it runs a filter
    rule (it counted every event before: a Sysmon event with the same EventID counted)."""
    import json as _json

    from click.testing import CliRunner

    from translator.cli import main

    rule = tmp_path / "corr.yml"
    rule.write_text(_FAILED_LOGONS)
    events = tmp_path / "e.jsonl"
    stamp = "2024-03-13T15:00:0{}Z"
    events.write_text("".join(_json.dumps(e) + "\n" for e in [
        {"Channel": "Security", "EventID": 4625, "TargetUserName": "x",
         "TimeCreated_SystemTime": stamp.format(0)},
        {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 4625,
         "TargetUserName": "x", "TimeCreated_SystemTime": stamp.format(1)},
    ]))  # fmt: skip

    def counts(*extra: str) -> list[int]:
        out = CliRunner().invoke(main, ["eval", str(rule), "--events", str(events), *extra])
        assert out.exit_code == 0, out.output
        return [_json.loads(line)["row"]["count"] for line in out.stdout.splitlines()]

    assert counts() == [1]
    assert counts("--profile", "none") == [2]  # no log-source profile: every event
    rule.write_text(_FAILED_LOGONS.replace("product: windows", "product: zeek"))
    out = CliRunner().invoke(main, ["eval", str(rule), "--events", str(events)])
    assert out.stdout == "" and "1 rule(s) not run" in out.stderr
