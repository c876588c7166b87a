"""Commands the IR keeps as text that the evaluator runs (``ir/stages/commands.py``,
``ir/stages/timechart.py``): ``addtotals``, ``replace``, ``outputlookup``, ``transaction``,
``timechart``.

Expectations come from the Splunk Search Reference page of each command (its documented
examples, named in each test) and from the readings documented in those modules where the
page is silent.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ir.errors import RuleglotError, Span
from ir.events import Event
from ir.nodes import Command
from ir.pipeline import run_pipeline
from translator.api import parse
from translator.cli import main

NOW = 1700000000.0


def run(stages, events):
    return run_pipeline(stages, [Event(e) for e in events], now=NOW)


def fields(rows):
    return [dict(r.fields) for r in rows]


# --- addtotals (Search Reference, "addtotals") ---------------------------------------------------


def test_addtotals_row_sum_of_the_listed_fields_into_fieldname():
    # security_content's usage: eval scores, then addtotals fieldname=Score f1 f2 f3
    stage = Command("addtotals", "fieldname=Score utf, lookup other")
    rows = run([stage], [{"utf": 2, "lookup": "2", "other": 0, "x": 7},
                         {"utf": 0, "lookup": "no", "x": 1}])
    assert [r.get("Score") for r in rows] == [4, 0]


def test_addtotals_defaults_to_every_numeric_field_into_total():
    rows = run([Command("addtotals", "")], [{"a": 1, "b": 2.5, "c": "text"}])
    assert rows[0].get("Total") == 3.5


def test_addtotals_wildcards_and_no_numeric_value_gives_no_total():
    # "addtotals fieldname=sum count*" in the page's examples: only fields matching count*
    rows = run([Command("addtotals", "fieldname=sum count*")],
               [{"count1": 1, "count2": 2, "other": 5}, {"other": 5}])
    assert rows[0].get("sum") == 3
    assert "sum" not in rows[1].fields


def test_addtotals_col_appends_a_summary_row_with_its_label():
    # "addtotals col=t labelfield=change_name label=ALL": a last row of column sums
    stage = Command("addtotals", "row=f col=t labelfield=change_name label=ALL a b")
    rows = run([stage], [{"a": 1, "b": 2}, {"a": 3, "b": "x"}])
    assert fields(rows) == [{"a": 1, "b": 2}, {"a": 3, "b": "x"},
                            {"a": 4, "b": 2, "change_name": "ALL"}]


# --- replace (Search Reference, "replace") -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "before", "after"),
    [
        ('127.0.0.1 WITH localhost IN host', "127.0.0.1", "localhost"),
        ('127.0.0.1 WITH localhost IN host', "127.0.0.10", "127.0.0.10"),  # whole value
        ('*localhost WITH localhost IN host', "www.localhost", "localhost"),
        ('"* localhost" WITH "localhost *" IN host', "0 localhost", "localhost 0"),
        ('"::ffff:*" with * in host', "::ffff:10.0.0.1", "10.0.0.1"),  # security_content's
        ('a WITH b, c* WITH d IN host', "cat", "d"),
        ('aa WITH b IN host', "AA", "AA"),  # case-sensitive
    ],
)
def test_replace_whole_values_with_wildcards(args, before, after):
    rows = run([Command("replace", args)], [{"host": before, "other": before}])
    assert rows[0].get("host") == after
    assert rows[0].get("other") == before


def test_replace_each_value_of_a_multivalue_and_refuses_no_field_list():
    rows = run([Command("replace", "a* WITH x IN f")], [{"f": ["ab", "b"]}])
    assert rows[0].get("f") == ["x", "b"]
    with pytest.raises(RuleglotError) as caught:
        run([Command("replace", "a WITH b", span=Span(1, 3))], [{}])
    assert caught.value.construct == "replace:fields"


# --- outputlookup (Search Reference, "outputlookup") ---------------------------------------------


def test_outputlookup_passes_the_rows_through():
    rows = run([Command("outputlookup", "append=t previously_seen.csv")], [{"a": 1}, {"a": 2}])
    assert fields(rows) == [{"a": 1}, {"a": 2}]


# --- transaction (Search Reference, "transaction") -----------------------------------------------


def test_transaction_groups_by_field_with_count_duration_and_union():
    events = [
        {"_time": 100, "user": "u1", "result_id": 4720, "dest": "h"},
        {"_time": 160, "user": "u1", "result_id": 4726, "dest": "h"},
        {"_time": 130, "user": "u2", "result_id": 4720},
        {"_time": 140, "result_id": 1},  # no user: in no transaction
    ]
    rows = run([Command("transaction", "user connected=false maxspan=240m")], events)
    assert fields(rows) == [
        {"user": "u1", "result_id": [4720, 4726], "dest": "h", "_time": 100, "duration": 60,
         "eventcount": 2},
        {"user": "u2", "result_id": 4720, "_time": 130, "duration": 0, "eventcount": 1},
    ]


def test_transaction_maxspan_opens_at_the_newest_row():
    # newest first: 400 opens; 250 joins (span 150 <= 200); 100 would make 300: a new one
    events = [{"_time": t, "k": "a"} for t in (100, 250, 400)]
    rows = run([Command("transaction", "k maxspan=200s")], events)
    assert [(r.get("_time"), r.get("eventcount")) for r in rows] == [(250, 2), (100, 1)]


def test_transaction_maxpause_is_the_gap_to_the_oldest_member():
    events = [{"_time": t, "dest": "d"} for t in (0, 200, 500, 700)]
    rows = run([Command("transaction", "dest connected=false maxpause=5m")], events)
    assert [r.get("eventcount") for r in rows] == [4]
    rows = run([Command("transaction", "dest maxpause=250s")], events)
    assert [(r.get("_time"), r.get("duration")) for r in rows] == [(500, 200), (0, 200)]


@pytest.mark.parametrize(
    ("args", "construct"),
    [
        ("a b maxspan=5m", "transaction:fields"),
        ("a startswith=x", "transaction:startswith"),
        ("a maxspan=2mon", "transaction:maxspan"),
        ("a mvlist=t", "transaction:mvlist"),
    ],
)
def test_transaction_refuses_what_it_does_not_model_by_name(args, construct):
    with pytest.raises(RuleglotError) as caught:
        run([Command("transaction", args, span=Span(1, 2))], [{"_time": 1, "a": 1}])
    assert (caught.value.category, caught.value.construct) == ("unsupported", construct)


def test_transaction_leaves_out_rows_without_a_numeric_time():
    # tstats ... by _time with fillnull_value="null" can give _time="null" (no event lacks one)
    rows = run([Command("transaction", "a")], [{"a": 1}, {"a": 1, "_time": "null"},
                                               {"a": 1, "_time": 5}])
    assert fields(rows) == [{"a": 1, "_time": 5, "duration": 0, "eventcount": 1}]


# --- timechart (Search Reference, "timechart") ---------------------------------------------------


def test_timechart_count_fills_empty_buckets_with_zero():
    events = [{"_time": t} for t in (0, 10, 299, 300, 900)]
    rows = run([Command("timechart", "limit=0 span=5m count")], events)
    assert [(r.get("_time"), r.get("count")) for r in rows] == [
        (0, 3), (300, 1), (600, 0), (900, 1)]
    assert rows[0].get("_span") == 300


def test_timechart_aggregation_by_field_with_limit_zero():
    events = [{"_time": 0, "host": "a", "b": 2}, {"_time": 1, "host": "a", "b": 4},
              {"_time": 70, "host": "b", "b": 1}, {"_time": 65, "b": 9}]
    rows = run([Command("timechart", "span=1m limit=0 avg(b) by host")], events)
    assert fields(rows) == [
        {"_time": 0, "_span": 60, "a": 3},
        {"_time": 60, "_span": 60, "NULL": 9, "b": 1},
    ]
    rows = run([Command("timechart", "span=1m max(b) AS top")], events)
    assert [r.get("top") for r in rows] == [4, 9]


@pytest.mark.parametrize(
    ("args", "construct"),
    [
        ("count", "timechart:span"),
        ("span=1mon count", "timechart:span"),
        ("span=5m count by host", "timechart:limit"),
        ("span=5m limit=0 count avg(x) by host", "timechart:aggregation"),
        ("span=5m count(eval(x>1)) AS n", "timechart:aggregation"),
        ("span=5m useother=f count", "timechart:useother"),
        ("span=5m bins=10 count", "timechart:bins"),
    ],
)
def test_timechart_refuses_what_it_does_not_model_by_name(args, construct):
    with pytest.raises(RuleglotError) as caught:
        run([Command("timechart", args, span=Span(1, 2))], [{"_time": 1}])
    assert (caught.value.category, caught.value.construct) == ("unsupported", construct)


def test_the_reader_keeps_these_commands_as_text_that_runs():
    (rule,) = parse("| makeresults | addtotals fieldname=Score a, b | timechart span=1h count",
                    "spl")
    commands = [s for s in rule.stages if isinstance(s, Command)]
    assert [(c.name, c.args) for c in commands][-2:] == [
        ("addtotals", "fieldname=Score a, b"), ("timechart", "span=1h count")]
    rows = run(commands[-2:], [{"_time": 5, "a": 1, "b": 2}])
    assert fields(rows) == [{"_time": 0, "_span": 3600, "count": 1}]


def test_eval_says_the_lookup_write_is_not_performed(tmp_path):
    search = tmp_path / "write.spl"
    search.write_text("search a=1 | stats count by a | outputlookup seen.csv\n")
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"a": "1"}) + "\n" + json.dumps({"a": "2"}) + "\n")
    result = CliRunner().invoke(
        main, ["eval", "--from", "spl", "--fields", "none", str(search), "--events", str(events)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["row"] for line in result.stdout.splitlines()] == [
        {"a": "1", "count": 1}]
    assert "writes not performed" in result.stderr and "outputlookup (1)" in result.stderr
    assert not (tmp_path / "seen.csv").exists()
