"""Pipelines of SPL stages over handmade events, built directly from IR nodes.

Expectations come from the Splunk Search Reference page of each command (named in each test)
and from the choices documented in ``ir/stages/`` where the reference is silent.
"""

from __future__ import annotations

import pytest

from ir.errors import RuleglotError, Span
from ir.events import MISSING, Event
from ir.lookups import LookupProvider, LookupTable
from ir.nodes import (
    Aggregation,
    Bin,
    BinOp,
    Call,
    Command,
    Condition,
    Convert,
    Dedup,
    Eval,
    FieldValue,
    FillNull,
    Filter,
    ForEach,
    Head,
    Kind,
    Literal,
    Lookup,
    MultiValue,
    Or,
    Predicate,
    Regex,
    Rename,
    Rex,
    Sort,
    Stats,
    Subsearch,
    Table,
)
from ir.pipeline import Row, event_time, run_pipeline

NOW = 1700000000.0


def run(stages, events, **options):
    options.setdefault("now", NOW)
    return run_pipeline(stages, [Event(e) for e in events], **options)


def fields(rows):
    return [dict(r.fields) for r in rows]


def match(field, pattern):
    return Condition(Call("match", (FieldValue(field), Literal(pattern))))


# --- the seed: security_content "Impacket PSexec" ------------------------------------------------


def _psexec_event(host, stamp, code, **extra):
    raw = f"EventCode={code} host={host} " + " ".join(f"{k}={v}" for k, v in extra.items())
    return {"_raw": raw, "host": host, "TimeCreated_SystemTime": stamp, "signature_id": code,
            "EventCode": code, **extra}


SEED_EVENTS = [
    # host A: a 4688 and a 5145 in the same 10-second bucket (12:00:00-12:00:10)
    _psexec_event("A", "2024-01-01T12:00:01.250Z", "4688", parent_process_name="abcdefgh.exe",
                  process_name="cmd.exe", user="bob"),
    _psexec_event("A", "2024-01-01T12:00:07Z", "5145", Relative_Target_Name="RAndOm12.exe",
                  user="SYSTEM"),
    # host A: a 4688 without the regex shape in the same bucket: filtered out by `regex _raw`
    _psexec_event("A", "2024-01-01T12:00:03Z", "4688", parent_process_name="cmd.exe"),
    # host B: a 4688 and a 5145 in different buckets: no detection
    _psexec_event("B", "2024-01-01T12:00:08Z", "4688", parent_process_name="qwertyui.exe"),
    _psexec_event("B", "2024-01-01T12:00:12Z", "5145", Relative_Target_Name="PSEXESVC.exe"),
    # another event code entirely
    _psexec_event("A", "2024-01-01T12:00:02Z", "4624", parent_process_name="psexec.exe"),
]

SEED_REGEX = r"(\w{8}\.exe)|(psexec)"
SEED_STAGES = (
    Filter(Or(tuple(
        Predicate(None, Kind.TERM, term) for term in
        ("EventCode=4688", "<EventID>4688<", "EventCode=5145", "<EventID>5145<")
    ))),
    Filter(Predicate("_raw", Kind.REGEX, Regex(SEED_REGEX, "i")), command="regex"),
    Eval((("file_name", FieldValue("Relative_Target_Name")),)),
    Filter(Or((match("parent_process_name", "(?i)" + SEED_REGEX),
               match("file_name", "(?i)" + SEED_REGEX))), command="where"),
    Table(("_time", "host", "user", "signature_id", "user", "dest_host", "process_id",
           "process_name", "process_path", "process", "parent_process_id",
           "parent_process_name", "parent_process_path", "file_name")),
    Bin(span_text="10s"),
    Stats((Aggregation("values", "*", "*"),), by=("_time", "host")),
    Filter(Condition(BinOp("AND", Call("match", (FieldValue("signature_id"), Literal("4688"))),
                           Call("match", (FieldValue("signature_id"), Literal("5145"))))),
           command="where"),
)


def test_seed_impacket_psexec_shape():
    rows = run(SEED_STAGES, SEED_EVENTS)
    assert fields(rows) == [{
        "_time": 1704110400,
        "host": "A",
        "file_name": "RAndOm12.exe",
        "parent_process_name": "abcdefgh.exe",
        "process_name": "cmd.exe",
        "signature_id": ["4688", "5145"],
        "user": ["SYSTEM", "bob"],
    }]


def test_seed_without_last_where_keeps_each_bucket():
    rows = run(SEED_STAGES[:-1], SEED_EVENTS)
    assert [(r.get("host"), r.get("_time"), r.get("signature_id")) for r in rows] == [
        ("A", 1704110400, ["4688", "5145"]),
        ("B", 1704110400, "4688"),
        ("B", 1704110410, "5145"),
    ]


# --- the event-time rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"_time": 12.5}, 12.5),
        ({"_time": "2024-01-01T00:00:00+01:00"}, 1704063600.0),
        ({"TimeCreated_SystemTime": "2019-03-19T23:40:38.7138232Z"}, 1553038838.7138232),
        ({"@timestamp": "2020-10-22T03:52:03.612Z"}, 1603338723.612),
        ({"UtcTime": "2020-09-22 08:28:20.866"}, 1600763300.866),
        ({"EventTime": "2020-09-22 04:28:20", "@timestamp": "2020-09-22T08:28:23Z"},
         1600763303.0),
        ({"EventTime": "2020-09-22 04:28:20"}, 1600748900.0),
        ({"Other": "2020-09-22 04:28:20"}, None),
        ({"UtcTime": "garbage"}, None),
    ],
)
def test_event_time(event, expected):
    found = event_time(Event(event))
    assert found == pytest.approx(expected) if expected is not None else found is None


def test_evtx_event_time_and_raw_survive_eval():
    nested = {"Event": {"System": {"EventID": 1, "TimeCreated": {
        "#attributes": {"SystemTime": "2024-01-01T00:00:05Z"}}, "Computer": "h"}}}
    rows = run([Eval((("x", Literal(1)),))], [nested])
    assert rows[0].get("_time") == 1704067205
    assert rows[0].get("_raw").startswith('{"Event"')
    assert rows[0].get("x") == 1


# --- eval, where ---------------------------------------------------------------------------------


def test_eval_assignments_see_previous_ones_and_null_removes():
    rows = run(
        [Eval((
            ("a", BinOp("+", FieldValue("n"), Literal(1))),
            ("b", BinOp("*", FieldValue("a"), Literal(2))),
            ("n", Call("null")),
        ))],
        [{"n": "4"}],
    )
    assert fields(rows) == [{"a": 5, "b": 10}]


def test_eval_where_stats_by():
    events = [
        {"user": "a", "bytes": "10", "action": "allowed"},
        {"user": "a", "bytes": "30", "action": "blocked"},
        {"user": "b", "bytes": "5", "action": "allowed"},
        {"user": "c", "bytes": "7"},
        {"bytes": "100"},
    ]
    stages = [
        Eval((("kb", BinOp("/", FieldValue("bytes"), Literal(10))),)),
        Filter(Condition(BinOp(">=", FieldValue("kb"), Literal(0.7))), command="where"),
        Stats(
            (
                Aggregation("count"),
                Aggregation("sum", "kb", "total"),
                Aggregation("count", BinOp("=", FieldValue("action"), Literal("blocked")),
                            "blocked"),
                Aggregation("values", "action"),
                Aggregation("dc", "action"),
            ),
            by=("user",),
        ),
    ]
    assert fields(run(stages, events)) == [
        {"user": "a", "count": 2, "total": 4, "blocked": 1,
         "values(action)": ["allowed", "blocked"], "dc(action)": 2},
        {"user": "c", "count": 1, "total": 0.7, "blocked": 0, "dc(action)": 0},
    ]


# --- stats family (Search Reference: stats, eventstats, streamstats, "Aggregate functions") ------

STATS_EVENTS = [
    {"h": "x", "v": "10", "s": "b", "_time": 30},
    {"h": "x", "v": "9", "s": "a", "_time": 10},
    {"h": "y", "v": "100", "s": ["c", "a"], "_time": 20},
    {"h": "x", "v": "oops", "_time": 40},
]


@pytest.mark.parametrize(
    ("agg", "expected"),
    [
        (Aggregation("count"), 4),
        (Aggregation("count", "s"), 4),  # each value of a multivalue counts
        (Aggregation("dc", "s"), 3),
        (Aggregation("distinct_count", "h"), 2),
        (Aggregation("values", "v"), ["10", "100", "9", "oops"]),  # lexicographic
        (Aggregation("list", "h"), ["x", "x", "y", "x"]),
        (Aggregation("min", "v"), "9"),  # numbers before text: the least number
        (Aggregation("max", "v"), "oops"),  # text above numbers
        (Aggregation("max", "_time"), 40),
        (Aggregation("sum", "v"), 119),  # non-numbers ignored
        (Aggregation("avg", "v"), pytest.approx(119 / 3)),
        (Aggregation("range", "v"), 91),
        (Aggregation("median", "v"), 10),
        (Aggregation("perc50", "v"), 10),
        (Aggregation("p100", "v"), 100),
        (Aggregation("stdev", "_time"), pytest.approx(12.909944)),
        (Aggregation("mode", "h"), "x"),
        (Aggregation("earliest", "v"), "9"),
        (Aggregation("latest", "v"), "oops"),
        (Aggregation("first", "v"), "10"),
        (Aggregation("last", "v"), "oops"),
        (Aggregation("latest_time", "s"), 30),
    ],
)
def test_stats_functions(agg, expected):
    rows = run([Stats((Aggregation(agg.function, agg.argument, "out"),))], STATS_EVENTS)
    assert len(rows) == 1
    assert rows[0].get("out") == expected


def test_stats_default_names_and_no_rows():
    rows = run([Stats((Aggregation("count"), Aggregation("dc", "h"), Aggregation("values", "h")))],
               [])
    assert fields(rows) == [{"count": 0, "dc(h)": 0}]


def test_stats_by_drops_rows_missing_a_by_field_and_sorts_groups():
    events = [{"n": "10"}, {"n": "9"}, {"n": "x"}, {"other": 1}]
    rows = run([Stats((Aggregation("count"),), by=("n",))], events)
    assert fields(rows) == [{"n": "9", "count": 1}, {"n": "10", "count": 1},
                            {"n": "x", "count": 1}]


def test_stats_multivalue_by_field_puts_a_row_in_each_group():
    rows = run([Stats((Aggregation("count"),), by=("s",))], STATS_EVENTS)
    assert fields(rows) == [{"s": "a", "count": 2}, {"s": "b", "count": 1},
                            {"s": "c", "count": 1}]


def test_stats_wildcard_alias():
    rows = run([Stats((Aggregation("values", "*", "all_*"),), by=("h",))],
               [{"h": "x", "a": "1", "b": "2"}, {"h": "x", "a": "3"}])
    assert fields(rows) == [{"h": "x", "all_a": ["1", "3"], "all_b": "2"}]


def test_stats_eval_argument_needs_alias():
    with pytest.raises(RuleglotError) as caught:
        run([Stats((Aggregation("count", BinOp("=", FieldValue("a"), Literal(1))),))], [])
    assert caught.value.category == "invalid"


def test_eventstats_adds_group_aggregates_to_each_row():
    rows = run([Stats((Aggregation("count", alias="n"),), by=("h",), command="eventstats")],
               [{"h": "x"}, {"h": "y"}, {"h": "x"}, {"z": 1}])
    assert [r.get("n") for r in rows] == [2, 1, 2, MISSING]


def test_streamstats_running_count_and_window():
    events = [{"h": "x", "v": 1}, {"h": "y", "v": 10}, {"h": "x", "v": 2}, {"h": "x", "v": 3}]
    rows = run([Stats((Aggregation("sum", "v", "s"),), by=("h",), command="streamstats")],
               events)
    assert [r.get("s") for r in rows] == [1, 10, 3, 6]
    rows = run([Stats((Aggregation("sum", "v", "s"),), by=("h",), command="streamstats",
                      options=(("window", "2"),))], events)
    assert [r.get("s") for r in rows] == [1, 10, 3, 5]
    rows = run([Stats((Aggregation("count", alias="c"),), command="streamstats",
                      options=(("current", "f"),))], events)
    assert [r.get("c") for r in rows] == [0, 1, 2, 3]


def test_tstats_without_a_data_model_is_unsupported_with_its_position():
    stage = Stats((Aggregation("count"),), command="tstats", span=Span(1, 3))
    with pytest.raises(RuleglotError) as caught:
        run([stage], [{}])
    assert caught.value.category == "unsupported"
    assert caught.value.construct == "tstats"
    assert (caught.value.line, caught.value.col) == (1, 3)


# --- bin (Search Reference: bin) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "event", "field", "expected"),
    [
        (Bin(span_text="10s"), {"_time": 1704110409.9}, "_time", 1704110400),
        (Bin(span_text="1h"), {"_time": 1704113999}, "_time", 1704110400),
        (Bin(span_text="1d"), {"_time": 1704153599}, "_time", 1704067200),
        (Bin(span_text="5m"), {"UtcTime": "2024-01-01 12:04:59.999"}, "_time", 1704110400),
        (Bin(span_text="1mon"), {"_time": 1706745599}, "_time", 1704067200),
        (Bin(span_text="10s", alias="bucket"), {"_time": 15}, "bucket", 10),
        (Bin("size", span_text="10"), {"size": "37"}, "size", "30-40"),
        (Bin("size", span_text="10"), {"size": "big"}, "size", "big"),
        (Bin("size", span_text="10"), {}, "size", MISSING),
    ],
)
def test_bin(stage, event, field, expected):
    assert run([stage], [event])[0].get(field) == expected


def test_bin_without_span_is_unsupported():
    with pytest.raises(RuleglotError) as caught:
        run([Bin(bins=100)], [])
    assert caught.value.construct == "bin:bins"


# --- dedup, sort, head/tail ----------------------------------------------------------------------


def test_dedup_keeps_first_per_combination_and_drops_missing():
    events = [{"a": 1, "b": "x", "i": 0}, {"a": 1, "b": "x", "i": 1}, {"a": 1, "b": "y", "i": 2},
              {"a": 2, "i": 3}, {"a": "1", "b": "x", "i": 4}]
    assert [r.get("i") for r in run([Dedup(("a", "b"))], events)] == [0, 2]
    assert [r.get("i") for r in run([Dedup(("a", "b"), count=2)], events)] == [0, 1, 2]
    kept = run([Dedup(("a", "b"), options=(("keepempty", "true"),))], events)
    assert [r.get("i") for r in kept] == [0, 2, 3]
    consecutive = run([Dedup(("a",), options=(("consecutive", "true"),))], events)
    assert [r.get("i") for r in consecutive] == [0, 3, 4]


def test_sort_numeric_lexicographic_descending_limit():
    events = [{"v": "10"}, {"v": "9"}, {"v": "b"}, {"v": "A"}, {}, {"v": "100"}]
    assert [r.get("v") for r in run([Sort((("v", False),))], events)] == [
        "9", "10", "100", "A", "b", MISSING]
    assert [r.get("v") for r in run([Sort((("v", True),), limit=2)], events)] == ["b", "A"]
    ips = [{"ip": "10.0.0.10"}, {"ip": "10.0.0.9"}]
    assert [r.get("ip") for r in run([Sort((("ip", False),))], ips)] == ["10.0.0.9", "10.0.0.10"]


def test_sort_by_two_keys_is_stable():
    events = [{"a": 1, "b": 2, "i": 0}, {"a": 1, "b": 1, "i": 1}, {"a": 0, "b": 2, "i": 2},
              {"a": 1, "b": 1, "i": 3}]
    rows = run([Sort((("a", True), ("b", False)))], events)
    assert [r.get("i") for r in rows] == [1, 3, 0, 2]


def test_head_and_tail():
    events = [{"i": i} for i in range(5)]
    assert [r.get("i") for r in run([Head(2)], events)] == [0, 1]
    assert [r.get("i") for r in run([Head(2, command="tail")], events)] == [4, 3]


# --- rename, table, fields -----------------------------------------------------------------------


def test_rename_plain_and_wildcards():
    events = [{"Processes.process_name": "cmd.exe", "Processes.user": "bob", "x": 1, "y": 2}]
    rows = run([Rename((("Processes.*", "*"), ("x", "y"), ("gone", "x")))], events)
    assert fields(rows) == [{"process_name": "cmd.exe", "user": "bob", "y": 1}]
    rows = run([Rename((("*_ip", "ip_*"),))], [{"src_ip": "1", "dest_ip": "2", "n": 0}])
    assert fields(rows) == [{"n": 0, "ip_src": "1", "ip_dest": "2"}]


def test_table_keeps_listed_fields_in_order():
    events = [{"b": 2, "a": 1, "c": 3, "ab": 4, "_raw": "raw text", "_time": 5}]
    rows = run([Table(("c", "a*", "missing"))], events)
    assert list(rows[0].fields.items()) == [("c", 3), ("a", 1), ("ab", 4)]
    assert rows[0].get("_raw") is MISSING and rows[0].get("_time") is MISSING
    rows = run([Table(("_raw", "_time", "a"))], events)
    assert fields(rows) == [{"_raw": "raw text", "_time": 5, "a": 1}]


def test_fields_keep_and_remove():
    events = [{"a": 1, "b": 2, "c": 3, "_raw": "r", "TimeCreated_SystemTime": "2024-01-01T00:00Z"}]
    kept = run([Table(("a",), command="fields")], events)[0]
    assert kept.fields == {"a": 1} and kept.get("_raw") == "r" and kept.get("_time") == 1704067200
    removed = run([Table(("b", "c"), command="fields", remove=True)], events)[0]
    assert set(removed.fields) == {"a", "_raw", "TimeCreated_SystemTime"}
    no_raw = run([Table(("_raw",), command="fields", remove=True)], events)[0]
    assert no_raw.get("_raw") is MISSING and no_raw.get("_time") == 1704067200


# --- rex (Search Reference: rex) -----------------------------------------------------------------


def test_rex_named_groups_pcre_syntax():
    events = [{"_raw": "user=bob src=10.0.0.1 user=eve"}, {"_raw": "nothing"}]
    rows = run([Rex(r"user=(?<user>\w+)\s+src=(?<src>\S+)")], events)
    assert rows[0].get("user") == "bob" and rows[0].get("src") == "10.0.0.1"
    assert rows[1].get("user") is MISSING
    rows = run([Rex(r"user=(?<user>\w+)", max_match=0)], events)
    assert rows[0].get("user") == ["bob", "eve"]


def test_rex_on_a_field_and_sed_mode():
    events = [{"cmd": "C:\\Windows\\cmd.exe /c whoami"}]
    rows = run([Rex(r"(?i)\\(?<exe>[^\\]+\.exe)", field="cmd")], events)
    assert rows[0].get("exe") == "cmd.exe"
    rows = run([Rex("s/(\\w+)\\.exe/<\\1>/g", field="cmd", mode="sed")], events)
    assert rows[0].get("cmd") == "C:\\Windows\\<cmd> /c whoami"
    rows = run([Rex("s/o/0/2", field="cmd", mode="sed")], [{"cmd": "foo boo"}])
    assert rows[0].get("cmd") == "fo0 boo"
    rows = run([Rex("y/abc/xyz/", field="cmd", mode="sed")], [{"cmd": "aabbcc"}])
    assert rows[0].get("cmd") == "xxyyzz"


# --- lookup (Search Reference: lookup, inputlookup; ir/lookups.py) -------------------------------


@pytest.fixture
def lookup_folder(tmp_path):
    (tmp_path / "tools.csv").write_text(
        "tool,is_bad,family\npsexec.exe,true,sysinternals\n*.ps1,true,script\n"
        "notepad.exe,false,\n",
        encoding="utf-8",
    )
    (tmp_path / "tools.yml").write_text(
        "name: attacker_tools\nfilename: tools.csv\nmatch_type: WILDCARD(tool)\n"
        "case_sensitive_match: 'false'\nmin_matches: 1\ndefault_match: 'unknown'\n",
        encoding="utf-8",
    )
    (tmp_path / "nets.csv").write_text("net,zone\n10.0.0.0/8,internal\n10.1.0.0/16,lab\n",
                                       encoding="utf-8")
    (tmp_path / "nets.yml").write_text(
        "name: zones\nfilename: nets.csv\nmatch_type: CIDR(net)\n", encoding="utf-8")
    (tmp_path / "plain.csv").write_text("k,v\nA,1\n", encoding="utf-8")
    return tmp_path


def test_lookup_wildcard_case_insensitive_and_default_match(lookup_folder):
    provider = LookupProvider(lookup_folder)
    stage = Lookup("attacker_tools", inputs=(("tool", "process"),),
                   outputs=(("is_bad", "is_bad"), ("family", "fam")))
    events = [{"process": "PsExec.EXE"}, {"process": "run.ps1"}, {"process": "calc.exe"},
              {"other": 1}, {"process": "notepad.exe"}]
    rows = run([stage], events, lookups=provider)
    assert [(r.get("is_bad"), r.get("fam")) for r in rows] == [
        ("true", "sysinternals"),
        ("true", "script"),
        ("unknown", "unknown"),  # min_matches 1, default_match
        (MISSING, MISSING),  # a missing input field: untouched
        ("false", MISSING),  # an empty cell is no value
    ]


def test_lookup_cidr_multiple_matches_and_outputnew(lookup_folder):
    provider = LookupProvider(lookup_folder)
    stage = Lookup("zones", inputs=(("net", "ip"),), outputs=(("zone", "zone"),))
    rows = run([stage], [{"ip": "10.1.2.3"}, {"ip": "10.9.9.9"}, {"ip": "8.8.8.8", "zone": "x"}],
               lookups=provider)
    assert [r.get("zone") for r in rows] == [["internal", "lab"], "internal", "x"]
    new_only = Lookup("zones", inputs=(("net", "ip"),), outputs=(("zone", "zone"),),
                      mode="OUTPUTNEW")
    rows = run([new_only], [{"ip": "10.1.2.3", "zone": "mine"}, {"ip": "10.1.2.3"}],
               lookups=provider)
    assert [r.get("zone") for r in rows] == ["mine", ["internal", "lab"]]


def test_lookup_default_is_case_sensitive_and_names_resolve(lookup_folder):
    provider = LookupProvider(lookup_folder)
    for name in ("plain", "plain.csv", "PLAIN"):
        rows = run([Lookup(name, inputs=(("k", "k"),))], [{"k": "A"}, {"k": "a"}],
                   lookups=provider)
        assert [r.get("v") for r in rows] == ["1", MISSING]
    assert "tools.csv" in provider and "attacker_tools" in provider and "nope" not in provider


def test_lookup_without_provider_or_table_is_an_error(lookup_folder):
    with pytest.raises(RuleglotError) as caught:
        run([Lookup("zones", inputs=(("net", "ip"),))], [])
    assert caught.value.category == "io"
    with pytest.raises(RuleglotError) as caught:
        run([Lookup("nope", inputs=(("net", "ip"),))], [], lookups=LookupProvider(lookup_folder))
    assert caught.value.construct == "lookup:nope"


def test_inputlookup_and_in_memory_tables():
    provider = LookupProvider()
    provider.add(LookupTable("t", ["a", "b"], [{"a": "1", "b": "x"}, {"a": "2"}]))
    rows = run([Lookup("t", command="inputlookup")], [{"ignored": 1}], lookups=provider)
    assert fields(rows) == [{"a": "1", "b": "x"}, {"a": "2"}]
    rows = run([Lookup("t", command="inputlookup", options=(("append", "t"),))], [{"e": 1}],
               lookups=provider)
    assert len(rows) == 3


# --- fillnull, convert, makemv/mvexpand ----------------------------------------------------------


def test_fillnull_listed_and_all_fields():
    events = [{"a": 1, "b": None}, {"c": 3}]
    assert fields(run([FillNull(fields=("b", "z"))], events)) == [
        {"a": 1, "b": "0", "z": "0"}, {"c": 3, "b": "0", "z": "0"}]
    assert fields(run([FillNull(value="NULL")], events)) == [
        {"a": 1, "b": "NULL", "c": "NULL"}, {"c": 3, "a": "NULL", "b": "NULL"}]


@pytest.mark.parametrize(
    ("conversion", "options", "value", "expected"),
    [
        ("ctime", (), 1700000000, "11/14/2023 22:13:20"),
        ("ctime", (("timeformat", "%Y-%m-%dT%H:%M:%S"),), "1700000000", "2023-11-14T22:13:20"),
        ("ctime", (), "not a time", "not a time"),
        ("mktime", (), "11/14/2023 22:13:20", 1700000000),
        ("dur2sec", (), "1+01:01:01", 90061),
        ("dur2sec", (), "00:10:15", 615),
        ("mstime", (), "01:02.5", 62.5),
        ("memk", (), "2m", 2048),
        ("rmcomma", (), "1,234,567", 1234567),
        ("rmunit", (), "42kb", 42),
        ("num", (), "7", 7),
        ("num", (), "seven", MISSING),
        ("auto", (), "seven", "seven"),
    ],
)
def test_convert(conversion, options, value, expected):
    rows = run([Convert(((conversion, "f", None),), options=options)], [{"f": value}])
    assert rows[0].get("f") == expected


def test_convert_alias_and_wildcard():
    rows = run([Convert((("ctime", "*Time", "*_text"),))],
               [{"firstTime": 0, "lastTime": 86400, "other": 1}])
    assert rows[0].get("first_text") == "01/01/1970 00:00:00"
    assert rows[0].get("last_text") == "01/02/1970 00:00:00"
    assert rows[0].get("firstTime") == 0


def test_makemv_and_mvexpand():
    rows = run([MultiValue("s", options=(("delim", ","),))], [{"s": "a,b,,c"}, {"s": "x"}])
    assert [r.get("s") for r in rows] == [["a", "b", "c"], "x"]
    rows = run([MultiValue("s")], [{"s": "a b"}])
    assert rows[0].get("s") == ["a", "b"]
    rows = run([MultiValue("s", options=(("tokenizer", r"(\d+)"),))], [{"s": "a1b22"}])
    assert rows[0].get("s") == ["1", "22"]
    rows = run([MultiValue("s", command="mvexpand")], [{"s": ["a", "b"], "k": 1}, {"k": 2}])
    assert fields(rows) == [{"s": "a", "k": 1}, {"s": "b", "k": 1}, {"k": 2}]


# --- unsupported stages, aliases, rows -----------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "construct"),
    [
        (Command("outputlookup", "x.csv", span=Span(2, 5)), "outputlookup"),
        (Subsearch("join", (Filter(Predicate("a", Kind.EQ, 1)),), options=(("usetime", "t"),),
                   span=Span(2, 5)), "join:usetime"),
        (Subsearch("append", (), options=(("maxout", "5"),), span=Span(2, 5)), "append:maxout"),
        (Subsearch("map", (), span=Span(2, 5)), "map"),
        (Eval((("x", Call("searchmatch", (Literal("a=1"),))),), span=Span(2, 5)),
         "eval:searchmatch"),
    ],
)
def test_unsupported_stages_are_named_with_their_span(stage, construct):
    with pytest.raises(RuleglotError) as caught:
        run([stage], [{}])
    assert caught.value.category == "unsupported"
    assert caught.value.construct == construct
    assert caught.value.line == 2


def test_aliases_apply_like_fieldalias():
    stages = [Filter(Predicate("Image", Kind.ENDSWITH, "\\cmd.exe")), Table(("Image", "host"))]
    events = [{"NewProcessName": "C:\\x\\cmd.exe", "host": "h", "Image": "stale"},
              {"Image": "C:\\y\\cmd.exe"}]
    rows = run(stages, events, aliases={"Image": "NewProcessName"})
    assert fields(rows) == [{"Image": "C:\\x\\cmd.exe", "host": "h"}]


def test_filter_on_rows_uses_predicate_semantics():
    stages = [
        Eval((("lowered", Call("lower", (FieldValue("a"),))),)),
        Filter(Predicate("lowered", Kind.EQ, "ABC")),  # search: case-insensitive
        Filter(Predicate(None, Kind.CONTAINS, "zzz")),  # a keyword sees the row's fields
    ]
    assert len(run(stages, [{"a": "AbC", "b": "xzzzx"}, {"a": "abc"}])) == 1


def test_rows_are_events_and_never_change_in_place():
    events = [Event({"a": 1})]
    rows = run_pipeline([Eval((("a", Literal(2)),))], events)
    assert isinstance(rows[0], Event) and isinstance(rows[0], Row)
    assert events[0].get("a") == 1 and rows[0].get("a") == 2


# --- foreach --------------------------------------------------------------------------------------


def test_foreach_runs_the_template_once_per_matching_field():
    """SPL reference, "foreach": ``<<FIELD>>`` stands for each field the wildcard list names."""
    total = Eval((("total", BinOp("+", FieldValue("total"), FieldValue("<<FIELD>>"))),))
    stages = [
        Eval((("total", Literal(0)),)),
        ForEach(("n_*",), (total,)),
    ]
    rows = run(stages, [{"n_a": 1, "n_b": 2, "other": 100}])
    assert fields(rows)[0]["total"] == 3


def test_foreach_star_skips_raw_and_time_and_fields_the_template_creates():
    flag = Eval(
        (
            (
                "hit",
                Call(
                    "if",
                    (
                        Call("match", (FieldValue("<<FIELD>>"), Literal("x"))),
                        Literal(1),
                        FieldValue("hit"),
                    ),
                ),
            ),
        )
    )
    rows = run([ForEach(("*",), (flag,))], [{"_raw": "x", "a": "y"}, {"a": "y", "b": ["q", "x"]}])
    assert [r.get("hit") for r in rows] == [MISSING, 1]  # _raw is not a field of "*"


def test_foreach_refuses_other_modes_and_templates():
    with pytest.raises(RuleglotError) as err:
        run([ForEach(("*",), (Head(1),))], [{"a": 1}])
    assert err.value.construct == "foreach"
    with pytest.raises(RuleglotError) as err:
        run([ForEach(("x",), (), (("mode", "multivalue"),))], [{"a": 1}])
    assert err.value.construct == "foreach"
