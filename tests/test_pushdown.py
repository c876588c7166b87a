"""ir/pushdown.py: a filter after stats/tstats that tests only group keys, moved before it.

The property: the moved pipeline returns the same rows as the original, run by the one
pipeline runner (``translator.api.run``) on generated events, for generated searches mixing
group-key tests, aggregate tests, column-shaping stages between, renames and multivalue
values. Then unit tests on shapes from security_content, and the Sigma writer carrying the
test into the detection.
"""

from __future__ import annotations

import datetime
import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from backends.sigma.emit import emit_sigma
from backends.spl import read_spl
from ir.datamodels import cim_windows
from ir.evaluator import compile_predicate
from ir.events import Event
from ir.extractions import Inexact, invert
from ir.fieldprofiles import Extraction
from ir.lookups import LookupProvider
from ir.nodes import (
    DataModel,
    Expr,
    Filter,
    Kind,
    Predicate,
    Regex,
    Rename,
    Rule,
    Stats,
    predicates,
)
from ir.pushdown import group_filters, push_group_filters
from tests.conftest import shared
from translator.api import macros, parse, run

NOW = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
VALUES = ["a", "A", "ab", "b", "x1", 7, "7", "a", "ab"]

#: stages between the stats and the filter (some take a group key out: the filter then stays)
BETWEEN = [
    "rename user as u",
    "rename * as f_*",
    "eval other=1",
    'eval user="a"',
    "fillnull value=z other",
    "fillnull value=z user",
    "table user proc count",
    "fields - user",
    "convert ctime(count)",
    "sort 0 user",
    "where count > 1",
    "lookup roles x AS proc OUTPUT y",
    "lookup roles x AS proc OUTPUT y AS user",
    'rex field=proc "(?<user>.)"',
]

#: filters after them, on group keys (under either name), aggregates, or other fields
FILTERS = [
    "search user=a*",
    "search u=a*",
    "search f_user=a*",
    'where user="A"',
    'where u="A"',
    'regex proc="^a"',
    'regex proc!="b"',
    "search NOT user=b",
    "where isnull(user)",
    "search user=a proc=7",
    "search (user=a OR proc=b) NOT host=x1",
    "search count>1",
    "where user=proc",
    "search user=7",
    "where len(user) > 1",
    "search vals=a",
]


@st.composite
def searches(draw: st.DrawFn) -> str:
    by = draw(st.lists(st.sampled_from(["user", "proc", "host"]), min_size=1, unique=True))
    between = draw(st.lists(st.sampled_from(BETWEEN), max_size=2))
    tests = draw(st.lists(st.sampled_from(FILTERS), min_size=1, max_size=2))
    if draw(st.booleans()):
        by = ["user", "proc"]  # the names most filters test
        between = [b for b in between if "user" not in b]
    parts = ["search *", f"stats count values(other) as vals by {' '.join(by)}"]
    for at, test in enumerate(tests):
        parts.extend(between if at == 0 else [])
        parts.append(test)
    return " | ".join(parts)


def _events(multi: bool) -> st.SearchStrategy[list[dict[str, Any]]]:
    value = st.sampled_from(VALUES)
    key = st.one_of(value, value, value, st.none())  # null: a missing by-field, now and then
    proc = st.one_of(key, st.lists(value, min_size=1, max_size=3)) if multi else key
    # every by-field may also be absent (the review found none was: a missing key makes no
    # row, a pushed test must keep exactly that)
    event = st.fixed_dictionaries({}, optional={"user": key, "proc": proc, "host": key,
                                                "other": value})
    return st.lists(event, min_size=1, max_size=10)


def _provider() -> LookupProvider:
    folder = Path(tempfile.mkdtemp(prefix="ruleglot-pushdown-"))
    (folder / "roles.csv").write_text("x,y\na,b\nab,A\n7,a\n", encoding="utf-8")
    return LookupProvider(folder)


LOOKUPS = _provider()


def _rows(rule: Rule, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return run(rule, events, fields="none", lookups=LOOKUPS, now=NOW)


@settings(max_examples=1000, deadline=None)
@given(searches(), st.booleans(), st.data())
def test_moved_filters_give_the_same_rows(search: str, multi: bool, data: st.DataObject):
    (rule,) = read_spl(search)
    # ``proc`` may be a list in these events: the pushdown is told so
    stages = push_group_filters(rule.stages, lambda name: multi and name == "proc")
    events = data.draw(_events(multi))
    rows = _rows(rule, events)
    event(
        f"{'a filter moved' if stages != rule.stages else 'nothing moved'}, "
        f"{'rows' if rows else 'no rows'}"
    )
    assert _rows(replace(rule, stages=stages), events) == rows


def test_told_single_valued_a_multivalue_key_is_what_breaks_it():
    """The multivalue condition is needed: a test on a key that is several values reads the
    event's any-value (``ir.nodes``), not the row's one value."""
    (rule,) = read_spl("search * | stats count by proc | search NOT proc=a")
    events = [{"proc": ["a", "b"]}]
    moved = replace(rule, stages=push_group_filters(rule.stages))
    assert _rows(rule, events) == [{"proc": "b", "count": 1}]
    assert _rows(moved, events) == []
    kept = push_group_filters(rule.stages, lambda name: name == "proc")
    assert kept == rule.stages


def test_what_moves_and_under_which_name():
    (rule,) = read_spl(
        "search * | stats count by Processes.user Processes.dest | rename Processes.* as * "
        '| eval other=1 | where count > 2 | search user=admin* | regex dest="^ws"'
    )
    found = group_filters(rule.stages)
    assert [g.at for g in found] == [4, 5]
    assert found[0].expr == Predicate("Processes.user", Kind.STARTSWITH, "admin")
    moved = push_group_filters(rule.stages)
    assert [type(s).__name__ for s in moved] == ["Filter", "Filter", "Stats", "Rename", "Eval",
                                                 "Filter"]  # fmt: skip
    assert moved[-1] == rule.stages[3]  # the test on count stays after the stats
    assert [s.command for s in moved[:2]] == ["search", "regex"]  # type: ignore[union-attr]


def test_not_moved():
    for search in (
        "search * | stats count by user | where count > 2",  # an aggregate
        "search * | stats count by user | eval user=lower(user) | search user=a",  # rewritten
        "search * | stats count by user | head 5 | search user=a",  # keeps the first rows
        "search * | stats count by user | sort user | search user=a",  # 10,000-row limit
        "search * | stats values(user) as user by user | search user=a",  # named twice
        "search * | bin _time span=1h | stats count by _time | where _time > 5",  # a bucket
        "search * | stats count by user | search a",  # a bare term reads _raw
        "search * | stats count by user | where user != lower(user)",  # an eval condition
        "search * | eval user=mvappend(a, b) | stats count by user | search user=a",  # several
        "search * | rename x{}.y as user | stats count by user | search user=a",
        "search * | eventstats count by user | search user=a",  # not an aggregation of rows
    ):
        (rule,) = read_spl(search)
        assert push_group_filters(rule.stages, lambda name: "{}" in name) == rule.stages, search


def test_a_second_stats_is_passed_too():
    (rule,) = read_spl(
        "search * | stats count by user host | stats sum(count) as n by user | search user=a"
    )
    moved = push_group_filters(rule.stages)
    assert isinstance(moved[0], Filter) and isinstance(moved[1], Stats)
    assert len(moved) == 3


def test_before_the_time_bucket_of_a_correlation():
    """A filter moved before ``bin _time | stats``: the pair stays one shape."""
    (rule,) = read_spl(
        "EventCode=4625 | bin _time span=5m | stats count by _time, TargetUserName "
        "| where count > 2 | search TargetUserName!=admin"
    )
    moved = push_group_filters(rule.stages)
    assert [type(s).__name__ for s in moved] == ["Filter", "Filter", "Bin", "Stats", "Filter"]
    assert moved[1].command == "search"  # type: ignore[union-attr]
    docs = list(yaml.safe_load_all(emit_sigma(rule).yaml))
    assert docs[-1]["correlation"]["type"] == "event_count"
    assert "admin" in str(docs[0]["detection"])


# --- tstats: into its where clause, fillnull_value modelled ------------------------------

REGASM = (
    "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=regasm.exe "
    "by _time Processes.process_name Processes.process Processes.dest span=1h "
    '| rename Processes.* as * | regex process="(?i)(regasm\\.exe.{0,4}$)"'
)


def test_tstats_filter_joins_its_where():
    (rule,) = read_spl(REGASM)
    moved = push_group_filters(rule.stages, datamodels=cim_windows())
    assert len(moved) == len(rule.stages) - 1
    assert isinstance(moved[0], DataModel) and isinstance(moved[1], Filter)
    assert moved[1].command == "tstats"
    assert "Processes.process" in {p.field for p in _leaves(moved[1].expr)}


def test_tstats_fillnull_value_is_the_missing_key():
    """With ``fillnull_value=null`` a row missing ``process`` reads "null": ``NOT process=a``
    holds there, so the moved test keeps events missing it."""
    (rule,) = read_spl(
        "| tstats fillnull_value=null count from datamodel=Endpoint.Processes "
        "by Processes.process | rename Processes.* as * | search NOT process=a"
    )
    moved = push_group_filters(rule.stages, datamodels=cim_windows())
    where = moved[1]
    assert isinstance(where, Filter) and where.command == "tstats"
    null = Predicate("Processes.process", Kind.NULL, None)
    assert null in set(_leaves(where.expr))


def _leaves(expr: Expr) -> list[Predicate]:
    return list(predicates(expr))


# --- real shapes from security_content ------------------------------------------------------

CORPUS_SHAPES = {
    # regex on a by-field after drop_dm_object_name and two security_content_ctime converts
    "endpoint/detect_regasm_with_no_command_line_arguments.yml": "regex",
    "endpoint/windows_alternate_datastream___process_execution.yml": "regex",
    "endpoint/windows_network_share_interaction_with_net.yml": "regex",
    # a raw search: stats by COMPUTERNAME, MESSAGE | search MESSAGE=...
    "deprecated/unsuccessful_netbackup_backups.yml": "search",
}


def _corpus_rule(name: str) -> Rule:
    spl = shared("spl")
    path = spl / "detections" / name
    text = path.read_text(encoding="utf-8")
    (rule,) = parse(text, "spl", str(path), macros=macros(spl / "macros"))
    return rule


def test_corpus_shapes_move_and_the_sigma_rule_keeps_the_test():
    for name, command in CORPUS_SHAPES.items():
        rule = _corpus_rule(name)
        found = group_filters(rule.stages, datamodels=cim_windows())
        assert [rule.stages[g.at].command for g in found] == [command], name  # type: ignore[union-attr]
        result = emit_sigma(rule, lossy=True)
        constructs = {w["construct"] for w in result.warnings}
        assert command not in constructs, name
        assert all(w["effect"] == "shaping" for w in result.warnings if w.get("drops_stage"))


def test_corpus_aggregate_and_lookup_filters_stay():
    """A test on ``values(...) as process`` (an aggregate) or on a lookup's output is not a
    group key: the Sigma writer still reports it as a dropped stage that costs meaning."""
    for name in (
        "deprecated/suspicious_powershell_command_line_arguments.yml",
        "endpoint/attacker_tools_on_endpoint.yml",
    ):
        rule = _corpus_rule(name)
        assert group_filters(rule.stages, datamodels=cim_windows()) == [], name


def test_corpus_tstats_rows_unchanged_on_shared_events():
    """The regasm detection (fillnull_value=null through its summariesonly macro) run with its
    regex moved into tstats' where gives the same rows on real Sysmon process events."""
    rule = _corpus_rule("endpoint/detect_regasm_with_no_command_line_arguments.yml")
    moved = replace(rule, stages=push_group_filters(rule.stages, datamodels=cim_windows()))
    events_dir = shared("events")
    events: list[dict[str, Any]] = []
    for path in sorted(events_dir.rglob("*.jsonl"))[:60]:
        events.extend(json.loads(line) for line in path.read_text().splitlines() if line)
    # plus events the where clause keeps, with and without the regex's match
    process = {
        "Event": {
            "System": {
                "EventID": 1,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "ws1",
            },
            "EventData": {"Image": "C:\\Windows\\regasm.exe", "CommandLine": ""},
        }
    }
    for command in ("regasm.exe", "C:\\x\\regasm.exe /u a.dll", "regasm.exe  "):
        event = json.loads(json.dumps(process))
        event["Event"]["EventData"]["CommandLine"] = command
        events.append(event)
    original = run(rule, events, now=NOW)
    assert original  # the real shape finds something to compare
    assert run(moved, events, now=NOW) == original


def test_an_anchored_regex_on_a_file_name_is_dropped_not_misplaced():
    """A moved ``regex registry_value_name="^[0-9a-f]{8}"`` (qakbot's registry detection) is a
    test on the basename of ``TargetObject``: ``^`` there is not ``^`` on the path, so there
    is no nearest form (it would match no event); unanchored, the path's regex holds on at
    least the same events."""
    name = Extraction("name", ("TargetObject",), "basename")
    anchored = Predicate("name", Kind.REGEX, Regex("^[0-9a-fA-F]{8}"))
    with pytest.raises(Inexact) as info:
        invert(anchored, name)
    assert info.value.nearest is None
    loose = Predicate("name", Kind.REGEX, Regex("[0-9a-fA-F]{8}$"))
    with pytest.raises(Inexact) as info:
        invert(loose, name)
    assert info.value.nearest == Predicate("TargetObject", Kind.REGEX, Regex("[0-9a-fA-F]{8}$"))
    path = Event({"TargetObject": "\\Software\\Microsoft\\A3BC3475"})
    assert compile_predicate(info.value.nearest, {})(path)  # type: ignore[arg-type]


TSTATS_TESTS = [
    "search process=a*",
    "search NOT process=a",
    'where process="A"',
    'regex user="^x"',
    "where isnull(user)",
    "search user=null",
    'search NOT user="null"',
    "search (process=b OR user=a) NOT process=ab",
]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["", "fillnull_value=null "]),
    st.sampled_from(TSTATS_TESTS),
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "CommandLine": st.sampled_from(["a", "A", "ab", "b", "null"]),
                "User": st.sampled_from(["a", "x1", "null", "X"]),
            },
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_tstats_moved_filters_give_the_same_rows(option: str, test: str, data: list[Any]):
    """Through the data-model profile, with and without ``fillnull_value``: the test joins
    tstats' where and the rows do not change (Sysmon 1 events: Processes.process is
    CommandLine, Processes.user is User)."""
    (rule,) = read_spl(
        f"| tstats {option}count from datamodel=Endpoint.Processes "
        f"by Processes.process Processes.user | rename Processes.* as * | {test}"
    )
    moved = push_group_filters(rule.stages, datamodels=cim_windows())
    assert isinstance(moved[-1], Rename)  # every test here is on group keys: it moved
    events = [
        {"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"},
                   "EventData": {"Image": "C:\\x\\a.exe", **fields}}}
        for fields in data
    ]  # fmt: skip
    rows = run(rule, events, now=NOW)
    event(f"{len(rows)} rows")
    assert run(replace(rule, stages=moved), events, now=NOW) == rows
