"""The Spark engine gives exactly the evaluator's matches (issue 9), or a named refusal.

One SparkSession (``local[2]``) for the whole module. Java 17 is installed with apt when no
``java`` is on PATH (CI runs as root on Debian); without PySpark the module is skipped.

* regexes: Python ``re`` and the Java rewrite agree on texts chosen where the engines differ;
* properties: random IR rules on random events, Spark and the evaluator, rule by rule;
* the shared corpus: a deliberate subset of SigmaHQ rules covering every predicate kind, and
  the leading search of security_content's source-macro detections (terms, field profile);
* CLI and library: ``--engine spark`` prints the default engine's lines; refusals are named;
* pipelines: each SPL stage kind on hand-made events, and a few security_content searches on
  shared events, give the default engine's rows; what is not compiled is refused by name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ir.errors import RuleglotError
from ir.evaluator import RuleSet, compile_rule
from ir.events import Event
from ir.logsources import NO_PROFILE
from ir.nodes import Filter, Kind, Predicate, Rule
from tests import strategies as s
from translator.api import compile_rules, evaluate, fields_for, parse, profile

from .conftest import SHARED_CORPUS, shared

pyspark = pytest.importorskip(
    "pyspark", reason="pyspark is not installed: pip install -e '.[test]'"
)

from backends.spark import spark_session  # noqa: E402
from backends.spark.events import View, canonical_row, schema, write_parquet  # noqa: E402
from backends.spark.regex import to_java  # noqa: E402
from backends.spark.run import compile_all, match_events, match_paths, read_events  # noqa: E402


def _ensure_java() -> None:
    if shutil.which("java"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("no java on PATH and cannot install openjdk-17-jre-headless here")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "openjdk-17-jre-headless"], check=True, env=env
    )


@pytest.fixture(scope="module")
def spark():
    _ensure_java()
    session = spark_session("local[2]")
    yield session
    session.stop()


# --- regexes: the Java rewrite means what Python's pattern means ----------------------------

TEXTS = [
    "abc", "ABC", "a\nb\n", "line\r\nnext", "x\u2028y", "", "foo bar", "foo_bar",
    "caf\u00e9 ok", "\u212a", "k", "K", "s\u017f", "\u0661\u0662", "12", "a\x1cb", "\u00a0",
    "C:\\Windows\\System32\\cmd.exe", "the end\n", "\u0130i",
]  # fmt: skip
PATTERNS = [
    ("abc$", ""), ("b$", ""), ("(?m)^$", ""), ("(?m)^next", ""), (r"^b", "m"), (r"y$", ""),
    (r"\bbar", ""), (r"\Bbar", ""), (r"\B", ""), (r"caf\w", ""), (r"\w+ ok", ""),
    (r"\d\d", ""), (r"a\sb", ""), (r"\s", ""), (r"[A-Z]", "i"), (r"k", "i"), (r"\u212a", "i"),
    (r"S", "i"), (r"[^a-z]", "i"), (r"a.b", ""), (r"a.b", "s"), (r".", ""), (r"\\system32\\", "i"),
    (r"(?P<x>o)(?P=x)", ""), (r"(a|b)+c", ""), (r"fo{2,}", ""), (r"fo{1,2}?b", ""),
    (r"(?<=foo )bar", ""), (r"(?<!x)ok", ""), (r"\Aabc\Z", ""), (r"end\Z", ""),
    (r"(?i:abc)", ""), (r"(?-i:abc)", "i"), (r"[\d\s]", ""), (r"[^\W_]", ""), (r"i", "i"),
]  # fmt: skip


def test_regex_rewrite_agrees_with_python_on_texts_where_engines_differ(spark):
    cases = [(p, f, t) for p, f in PATTERNS for t in TEXTS]
    rows = [(i, t, to_java(p, f)) for i, (p, f, t) in enumerate(cases)]
    frame = spark.createDataFrame(rows, "i int, t string, p string")
    got = {r["i"]: r["m"] for r in frame.selectExpr("i", "t RLIKE p AS m").collect()}
    flags = {"i": re.I, "m": re.M, "s": re.S}
    wrong = []
    for i, (pattern, letters, text) in enumerate(cases):
        value = 0
        for letter in letters:
            value |= flags[letter]
        expected = re.search(pattern, text, value) is not None
        if got[i] != expected:
            wrong.append((pattern, letters, text, expected))
    assert not wrong


@pytest.mark.parametrize(
    ("pattern", "flags", "construct"),
    [("(a)?(?(1)b|c)", "", "regex conditional group"), (r"(a)\1", "i", "regex backreference")],
)
def test_regexes_java_cannot_mean_the_same_are_refused_by_name(pattern, flags, construct):
    with pytest.raises(RuleglotError) as caught:
        to_java(pattern, flags)
    assert caught.value.category == "unsupported" and caught.value.construct == construct


# --- properties: random rules, random events --------------------------------------------------

REFUSED = {"timepart", "cidr (IPv6 network)", "regex backreference"}


def _spark_vs_evaluator(spark, exprs, events) -> None:
    rules = [Rule(f"r{i}", (Filter(e),)) for i, e in enumerate(exprs)]
    run = compile_all(rules, NO_PROFILE, lambda _: None)
    for _, err in run.errors:
        assert err.category == "unsupported" and err.construct in REFUSED, err
    got = set(match_events(spark, run, events))
    ruleset = RuleSet(compile_rule(rules[i]) for i in run.indices)
    expected = {
        (run.indices[r], e) for e, event in enumerate(events) for r in ruleset.match(Event(event))
    }
    assert got == expected


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(s.exprs, min_size=8, max_size=8), st.lists(s.events, min_size=12, max_size=12))
def test_random_rules_match_the_same_random_events(spark, exprs, events):
    _spark_vs_evaluator(spark, exprs, events)


def test_every_predicate_kind_on_nested_and_flat_events(spark):
    events = [
        {"Event": {"System": {"EventID": 4688, "Channel": "Security",
                              "Provider": {"#attributes": {"Name": "X"}}},
                   "EventData": {"NewProcessName": "C:\\Windows\\CMD.exe", "Threat Name": "T",
                                 "IpAddress": "10.1.2.3", "Empty": None}}},
        {"Image": "c:\\tools\\cmd.exe", "Port": "443", "Tags": ["a", "EVIL", None],
         "IP": "010.1.2.3", "User": {"Name": "bob"}, "Ref": "C:\\TOOLS", "_raw": "x EventCode=1 y"},
        {"Image": None, "Port": 80.0, "Tags": [], "IP": "10.255.255.255"},
    ]  # fmt: skip
    p = Predicate
    exprs = [
        p("NewProcessName", Kind.ENDSWITH, "\\cmd.exe"),
        p("Image", Kind.EQ, "C:\\TOOLS\\CMD.EXE", cased=True),
        p("Image", Kind.EQ, "C:\\TOOLS\\CMD.EXE"),
        p("ThreatName", Kind.EQ, "t"),
        p("Provider_Name", Kind.EQ, "x"),
        p("EventID", Kind.EQ, 4688),
        p("Port", Kind.GTE, 100),
        p("Port", Kind.EQ, 80),
        p("Tags", Kind.EQ, "evil"),
        p("IP", Kind.CIDR, "10.0.0.0/8"),
        p("IpAddress", Kind.CIDR, "10.1.2.0/24"),
        p("Empty", Kind.NULL, None),
        p("Image", Kind.NULL, None),
        p("Image", Kind.EXISTS, False),
        p("User.Name", Kind.EQ, "BOB"),
        p("Event.System.Channel", Kind.EQ, "security"),
        p(None, Kind.CONTAINS, "evil"),
        p(None, Kind.TERM, "EventCode=1"),
        p(None, Kind.TERM, "eventcode"),
        p("Image", Kind.FIELDREF, s.FieldRef("Ref", "startswith")),
        p("Image", Kind.REGEX, s.Regex(r"\\cmd\.EXE$", "i")),
    ]
    _spark_vs_evaluator(spark, exprs, events)


# --- the shared corpus: a representative subset -------------------------------------------

#: SigmaHQ rules chosen to cover each predicate kind and log-source shape (keywords, regex,
#: cidr, null/exists, fieldref, numbers, wildcards, the 4688 audit branch with its aliases).
SIGMA_SUBSET_PER_KIND = 6


def _sigma_subset() -> list[Rule]:
    root = shared("sigma", "rules", "windows")
    by_kind: dict[str, list[Rule]] = {}
    for path in sorted(root.rglob("*.yml")):
        try:
            rules = parse(path.read_text(encoding="utf-8"), "sigma", str(path))
        except RuleglotError:
            continue
        for rule in rules:
            kinds = {str(p.kind) for f in rule.filters for p in _all_predicates(f)}
            kinds |= {"keyword" for f in rule.filters for x in _all_predicates(f) if not x.field}
            kinds.add(rule.logsource.category or rule.logsource.service or "-")
            for kind in kinds:
                bucket = by_kind.setdefault(kind, [])
                if len(bucket) < SIGMA_SUBSET_PER_KIND and rule not in bucket:
                    bucket.append(rule)
    chosen: dict[str, Rule] = {}
    for bucket in by_kind.values():
        for rule in bucket:
            chosen.setdefault(rule.title, rule)
    return list(chosen.values())


def _all_predicates(stage: Filter):
    from ir.nodes import predicates

    return predicates(stage.expr)


def _event_files(limit: int = 60) -> list[Path]:
    from translator.inputs import EVENT_SUFFIXES, expand_paths

    files = list(expand_paths([shared("events")], EVENT_SUFFIXES))
    step = max(1, len(files) // limit)
    return files[::step][:limit]


def _evaluator_matches(rules, indices, files, fields=None):
    from translator.parallel import match_files

    chosen = profile("windows")
    compiled = [compile_rule(rules[i], chosen, fields_for(rules[i], fields)) for i in indices]
    out = set()
    for result in match_files(RuleSet(compiled), files):
        for event_index, matched in result.matches:
            out.update((str(result.path), event_index, indices[r]) for r in matched)
    return out


def test_sigma_subset_matches_like_the_evaluator_on_shared_events(spark):
    rules = _sigma_subset()
    files = _event_files()
    run = compile_all(rules, profile("windows"), lambda r: fields_for(r, None))
    for _, err in run.errors:
        assert err.category == "unsupported", err
    assert len(run.indices) >= 0.9 * len(rules)
    got, total = match_paths(spark, run, files, count=True)
    expected = _evaluator_matches(rules, run.indices, files)
    assert expected, "the subset should match some events"
    assert set(got) == expected
    assert total and total > 1000


def test_rules_cut_into_small_jobs_match_like_one_job(spark):
    """Jobs are an execution choice: cutting the rules into jobs of three (each with its own
    pushdown and shared guard columns) gives exactly the matches of one job of all rules."""
    rules = _sigma_subset()[:40]
    files = _event_files(6)
    run = compile_all(rules, profile("windows"), lambda r: None)
    ruleset = run.ruleset
    events = read_events(spark, files, ruleset.views).persist()
    small = ruleset.jobs(3)
    assert len(small) > 5 and sorted(i for job in small for i in job) == sorted(
        i for job in ruleset.jobs() for i in job
    )
    plan = ruleset.job_frame(events, small[0])._jdf.queryExecution().analyzed().toString()
    assert "_shared0" in plan, "guards used by several rules of a job are one column"
    whole = set(ruleset.collect(events, chunk=len(rules)))
    assert whole, "the subset should match some of these events"
    assert set(ruleset.collect(events, chunk=3)) == whole
    expected = _evaluator_matches(rules, run.indices, files)
    assert {(f, e, run.indices[r]) for f, e, r in whole} == expected
    events.unpersist()


def test_spl_leading_searches_match_like_the_evaluator(spark):
    from dataclasses import replace

    import orjson

    from backends.spl import MacroTable

    macros = MacroTable.from_folder(shared("spl", "macros"))
    index = [orjson.loads(x) for x in shared("spl", "INDEX.jsonl").read_text().splitlines()]
    paths = [e["path"] for e in index if e.get("search_kind") == "macro_first"][::8][:80]
    rules = []
    for rel in paths:
        path = SHARED_CORPUS / "spl" / rel
        try:
            found = parse(path.read_text(encoding="utf-8"), "spl", str(path), macros=macros)
        except RuleglotError:
            continue
        for rule in found:
            if rule.leading_filters:
                rules.append(replace(rule, stages=rule.leading_filters))
    files = _event_files(30)
    run = compile_all(rules, profile("windows"), lambda r: fields_for(r, None))
    assert not run.errors
    got, _ = match_paths(spark, run, files)
    assert set(got) == _evaluator_matches(rules, run.indices, files)


def test_searches_keyed_by_source_and_eventcode_match_like_the_evaluator(spark, tmp_path):
    """A search read through a field profile is keyed, as RuleSet keys it, by ``source`` and
    ``EventCode`` of the event as the profile extends it, not by its own ``Channel``: the
    jobs' ``Channel`` pushdown must not apply to it, in memory or over Parquet (found by the
    whole-corpus differential: seven PowerShell 4104 searches matched nothing on Spark)."""
    spl = (
        'search source="XmlWinEventLog:Microsoft-Windows-PowerShell/Operational" '
        "EventCode=4104 ScriptBlockText=*mimikatz*"
    )
    rules = parse(spl, "spl")
    events = [
        {
            "Channel": "Microsoft-Windows-PowerShell/Operational",
            "EventID": 4104,
            "ScriptBlockText": "Invoke-Mimikatz",
        },
        {
            "Channel": "Microsoft-Windows-PowerShell/Operational",
            "EventID": 4103,
            "ScriptBlockText": "Invoke-Mimikatz",
        },
        {"Channel": "Security", "EventID": 4104, "ScriptBlockText": "mimikatz"},
    ]
    fields = "splunk_windows_xml"
    run = compile_all(rules, profile("windows"), lambda r: fields_for(r, fields))
    assert run.ruleset.rules[0].profile_keyed == fields
    assert run.ruleset.pushdown() is None
    expected = [(0, 0)]
    compiled = compile_rule(rules[0], NO_PROFILE, fields_for(rules[0], fields))
    assert [i for i, e in enumerate(events) if compiled.matches(Event(e))] == [0]
    assert match_events(spark, run, events) == expected
    source = tmp_path / "e.jsonl"
    source.write_text("\n".join(__import__("json").dumps(e) for e in events) + "\n")
    views = run.ruleset.views
    write_parquet(read_events(spark, [source], views), tmp_path / "store", views)
    got, _ = match_paths(spark, run, [tmp_path / "store"])
    assert [(rule, index) for _, index, rule in got] == expected


# --- CLI, library, Parquet, refusals -------------------------------------------------------

RULE = """title: cmd
id: 11111111-2222-3333-4444-555555555555
logsource: {category: process_creation, product: windows}
detection:
  sel: {Image|endswith: '\\\\cmd.exe'}
  condition: sel
"""
EVENTS = [
    {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\x\\CMD.exe"},
    {"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\y\\cmd.exe"},
    {"Channel": "Security", "EventID": 4688, "Image": "C:\\y\\cmd.exe"},
]


def test_library_engine_spark_equals_default(spark):
    rules = parse(RULE, "sigma")
    default = list(evaluate(rules, EVENTS))
    assert default == list(evaluate(rules, EVENTS, engine="spark"))
    assert [m.event_index for m in default] == [0, 1]


def test_cli_engine_spark_prints_the_default_engines_lines(spark, tmp_path):
    import orjson
    from click.testing import CliRunner

    from translator.cli import main

    (tmp_path / "r.yml").write_text(RULE)
    (tmp_path / "e.jsonl").write_bytes(b"\n".join(orjson.dumps(e) for e in EVENTS))
    args = ["eval", str(tmp_path / "r.yml"), "--events", str(tmp_path / "e.jsonl")]
    default = CliRunner().invoke(main, args)
    on_spark = CliRunner().invoke(main, [*args, "--engine", "spark"])
    assert default.exit_code == on_spark.exit_code == 0, on_spark.output
    lines = [x for x in on_spark.stdout.splitlines() if x.startswith("{")]
    assert lines == [x for x in default.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 2


def test_cli_without_pyspark_names_the_extra(monkeypatch, tmp_path):
    from click.testing import CliRunner

    import backends.spark.session as session
    from translator.cli import main

    real = session.importlib.util.find_spec
    monkeypatch.setattr(
        session.importlib.util, "find_spec", lambda n, *a: None if n == "pyspark" else real(n)
    )
    (tmp_path / "r.yml").write_text(RULE)
    (tmp_path / "e.jsonl").write_text("{}\n")
    args = ["eval", str(tmp_path / "r.yml"), "--events", str(tmp_path / "e.jsonl")]
    result = CliRunner().invoke(main, [*args, "--engine", "spark"])
    assert result.exit_code == 2
    assert "pyspark is not installed: pip install 'ruleglot[spark]'" in result.stderr


def test_parquet_store_gives_the_same_matches_and_refuses_missing_fields(spark, tmp_path):
    rules = parse(RULE, "sigma")
    run = compile_all(rules, profile("windows"), lambda r: None)
    events_file = tmp_path / "e.jsonl"
    events_file.write_text("\n".join(__import__("json").dumps(e) for e in EVENTS) + "\n")
    frame = read_events(spark, [events_file], run.ruleset.views)
    write_parquet(frame, tmp_path / "store", run.ruleset.views)
    from_json, _ = match_paths(spark, run, [events_file])
    from_parquet, _ = match_paths(spark, run, [tmp_path / "store"])
    assert [m[1:] for m in from_parquet] == [m[1:] for m in from_json] == [(0, 0), (1, 0)]
    narrow = [View(None, frozenset({"Channel"}), False)]
    write_parquet(read_events(spark, [events_file], narrow), tmp_path / "narrow", narrow)
    with pytest.raises(RuleglotError, match="lack what the rules read"):
        match_paths(spark, run, [tmp_path / "narrow"])


def test_pipelines_and_timeparts_are_refused_with_the_construct_and_position():
    from backends.spark.engine import compile_spark_rule

    (search,) = parse("index=x EventCode=1 | stats count by host", "spl")
    with pytest.raises(RuleglotError) as caught:
        compile_spark_rule(search, NO_PROFILE, fields_for(search, None))
    assert caught.value.category == "unsupported" and caught.value.construct == "Stats"
    assert caught.value.line == 1
    rule = Rule("t", (Filter(Predicate("Time", Kind.TIMEPART, s.TimePart("hour", 3))),))
    with pytest.raises(RuleglotError) as caught:
        compile_spark_rule(rule)
    assert caught.value.construct == "timepart"


def test_canonical_rows_fit_their_schema(spark):
    profiled = fields_for(parse(RULE, "sigma")[0], "splunk_windows")
    views = [
        View(None, frozenset({"Image", "Event.System"}), True),
        View(profiled, frozenset({"process_name"})),
    ]
    rows = [canonical_row("f", i, Event(e), views) for i, e in enumerate(EVENTS)]
    frame = spark.createDataFrame(rows, schema(views))
    assert frame.count() == 3


def test_dispatch_corners_match_like_the_evaluator(spark):
    """The evaluator's dispatch once hid rules from events they match (a multi-valued Channel,
    an EventID of 4688.0, a rule on _raw); both engines now key events with its functions."""
    rules = parse(RULE, "sigma") + parse('_raw="*needle*"', "spl")
    events = [
        {"Channel": ["Security", "Other"], "EventID": 4688, "NewProcessName": "C:\\x\\cmd.exe"},
        {"Channel": "Security", "EventID": 4688.0, "NewProcessName": "C:\\x\\cmd.exe"},
        {"Channel": "System", "Message": "a needle"},
    ]
    default = list(evaluate(rules, events))
    assert {(m.rule_index, m.event_index) for m in default} == {(0, 0), (0, 1), (1, 2)}
    assert default == list(evaluate(rules, events, engine="spark"))


def test_library_engine_spark_refuses_compiled_rules(spark):
    """A compiled rule does not carry its profiles; Spark would run it with others."""
    compiled = compile_rules(parse(RULE, "sigma"))
    with pytest.raises(RuleglotError) as info:
        list(evaluate(compiled, EVENTS, engine="spark"))
    assert info.value.construct == "engine"


# --- pipelines: SPL stages on Spark give the default engine's rows ---------------------------

PIPE_EVENTS = [
    {"host": "a", "user": "bob", "n": 5, "cmd": "Cmd.exe /c whoami", "_time": 100,
     "ip": "10.0.0.2", "tags": ["x", "y"], "flag": True, "obj": {"k": 1}},
    {"host": "a", "user": "alice", "n": "7", "cmd": "powershell -enc AAA", "_time": 50,
     "ip": "9.1.1.1"},
    {"host": "b", "user": "bob", "n": 2.5, "cmd": "net user", "_time": 3700,
     "tags": ["y", "z", "y"]},
    {"host": "b", "user": None, "cmd": "x", "_time": 7200.5},
    {"user": "carol", "n": "abc", "cmd": "whoami /all", "_time": 10},
    {"host": "c", "user": "dave", "n": -3, "cmd": "", "_time": 86500, "ip": "10.0.0.10"},
]  # fmt: skip
PIPE_SEARCHES = [
    # eval (arithmetic, concatenation, if/case/coalesce), table
    'search host=* | eval x=n*2, y=host."-".user, z=if(n>3,"big","small"), '
    'k=case(n>4, "a", n>1, "b"), co=coalesce(user, host, "none"), d=n/2, md=n%2, '
    'p=n+1, q="a"+host, nn=-n, rr=round(n/3,2) | table host user x y z k co d md p q nn rr',
    # stats with by: count, min/max of _time, values, dc; convert ctime
    "search * | stats count min(_time) as firstTime max(_time) as lastTime values(user) as "
    'users dc(user) as du by host | convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime)',
    # stats without by: multivalue values, sum, avg, earliest/latest/first/list/range
    "search * | stats count values(tags) as t sum(n) as s avg(n) as a earliest(user) as e "
    "latest(user) as l first(host) as f list(host) as li range(n) as r",
    # eventstats, where (a predicate and a condition), rename, fillnull
    "search * | eventstats count by host | where n > 2 OR isnull(n) | rename user as who "
    "| fillnull value=NA who | table host who n count",
    # text and multivalue functions
    'search * | eval l=lower(cmd), u=upper(host), len=len(cmd), r=replace(cmd, "(\\w+)", '
    '"<\\1>"), s=substr(cmd, 2, 3), c=mvcount(tags), i=mvindex(tags,1), j=mvjoin(tags,";"), '
    'f=mvfind(tags,"z"), sp=split(cmd," "), t=trim("  x "), la=mvindex(tags, mvcount(tags)-1), '
    'ta=mvindex(split(cmd," "), -2, -1), h=mvindex(tags, 0, 5) | table l u len r s c i j f sp t '
    "la ta h",
    # sort, head (their order is compared), dedup
    "search * | dedup host | sort - n | head 2 | table host user n",
    # bin _time, stats by _time; an open pipeline keeps every event field (raw values too)
    "search * | bin _time span=1h | stats count by _time",
    'search * | where match(cmd, "(?i)who") AND like(cmd, "%who%") | eval m=1',
]


@pytest.mark.parametrize(
    "search",
    PIPE_SEARCHES,
    ids=["eval", "stats-by", "stats", "eventstats", "functions", "dedup-sort-head", "bin", "open"],
)
def test_pipeline_stages_give_the_default_engines_rows(spark, search):
    from backends.spark.pipeline import compile_pipeline, run_plan
    from translator.api import run

    (rule,) = parse(search, "spl")
    want = run(rule, PIPE_EVENTS, fields="none")
    got = run_plan(spark, compile_pipeline(rule, None), [Event(e) for e in PIPE_EVENTS])
    assert got == want  # in the evaluator's order too
    assert want, "each search returns rows"


SYSMON = "Microsoft-Windows-Sysmon/Operational"
TSTATS_EVENTS = [
    {"Channel": SYSMON, "EventID": 1, "Image": "C:\\w\\cmd.exe", "Computer": "h1",
     "User": "u1", "UtcTime": "2024-01-01 10:00:00"},
    {"Channel": SYSMON, "EventID": 1, "Image": "C:\\w\\CMD.EXE", "Computer": "h1",
     "UtcTime": "2024-01-01 12:30:00"},
    {"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\w\\cmd.exe",
     "Computer": "h2", "TimeCreated_SystemTime": "2024-01-02T00:00:00Z"},
    {"Channel": SYSMON, "EventID": 3, "Image": "C:\\w\\cmd.exe", "Computer": "h3",
     "UtcTime": "2024-01-01 10:00:00"},
]  # fmt: skip
TSTATS_SEARCHES = [
    '| tstats summariesonly=false allow_old_summaries=true fillnull_value="null" count '
    "min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes "
    "where Processes.process_name=cmd.exe by Processes.dest Processes.user "
    "| `drop_dm_object_name(Processes)` | where count > 0",
    "| tstats count from datamodel=Endpoint.Processes where NOT Processes.dest=h2 "
    "by _time span=1h",
    "| tstats count from datamodel=Web by Web.url",
]


@pytest.mark.parametrize("search", TSTATS_SEARCHES, ids=["by-fillnull", "span", "no-rows"])
def test_tstats_gives_the_default_engines_rows(spark, search):
    from backends.spark.pipeline import compile_pipeline, run_plan
    from backends.spl.macros import MacroTable
    from translator.api import run

    (rule,) = parse(search, "spl", macros=MacroTable())  # the CIM app's built-in macros
    want = run(rule, TSTATS_EVENTS, fields="none")
    got = run_plan(spark, compile_pipeline(rule, None), [Event(e) for e in TSTATS_EVENTS])
    assert got == want
    assert bool(want) == ("Web" not in search)


@pytest.mark.parametrize(
    ("search", "construct", "column"),
    [
        ('search x=1 | rex field=cmd "(?<a>\\w+)"', "rex", 14),
        ("search x=1 | eval u=urldecode(cmd)", "eval:urldecode", 21),
        ("search x=1 | stats earliest_time(n) by host", "stats:earliest_time", 14),
        ("search x=1 | stats count by host allnum=t", "stats:options", 14),
        ("search x=1 | bin n span=5", "bin", 14),
        ("search x=1 | rename a* as b*", "rename:wildcard", 14),
    ],
)
def test_pipeline_constructs_not_compiled_are_refused_by_name_and_position(
    spark, search, construct, column
):
    from backends.spark.pipeline import compile_pipeline

    (rule,) = parse(search, "spl")
    with pytest.raises(RuleglotError) as caught:
        compile_pipeline(rule, None)
    assert caught.value.category == "unsupported"
    assert caught.value.construct == construct
    assert (caught.value.line, caught.value.col) == (1, column)


#: Real source-macro searches (stats, eval, fields, rename, table, convert) and event files
#: of the shared corpus on which the default engine returns rows for them.
CORPUS_PIPELINES = [
    "endpoint/suspicious_computer_account_name_change.yml",
    "endpoint/windows_default_group_policy_object_modified.yml",
    "endpoint/windows_identify_powershell_web_access_iis_pool.yml",
    "endpoint/wmi_permanent_event_subscription___sysmon.yml",
]
CORPUS_EVENT_FILES = [
    "evtx-attack-samples/Privilege Escalation/samaccount_spoofing_CVE-2021-42287_CVE-2021-42278"
    "_DC_securitylogs.evtx.jsonl",
    "evtx-attack-samples/Credential Access/ACL_ForcePwd_SPNAdd_User_Computer_Accounts.evtx.jsonl",
    "deepbluecli/Powershell-Invoke-Obfuscation-string-menu.evtx.jsonl",
    "evtx-attack-samples/Persistence/sysmon_20_21_1_CommandLineEventConsumer.evtx.jsonl",
]


def test_security_content_pipelines_give_the_default_engines_rows(spark):
    from backends.spark.pipeline import collect, compile_pipeline, read_pipeline_events
    from backends.spl import MacroTable
    from translator.api import run
    from translator.inputs import read_events as read_jsonl

    detections = shared("spl", "detections")
    macros = MacroTable.from_folder(shared("spl", "macros"))
    files = [shared("events", *name.split("/")) for name in CORPUS_EVENT_FILES]
    rules = []
    for name in CORPUS_PIPELINES:
        path = detections / name
        rules.extend(parse(path.read_text(encoding="utf-8"), "spl", str(path), macros=macros))
    plans = [compile_pipeline(rule, fields_for(rule, None)) for rule in rules]
    frame = read_pipeline_events(spark, files, plans, plans[0].profile).persist()
    events = [item[1] for f in files for item in read_jsonl(f) if not isinstance(item, Exception)]
    with_rows = 0
    for rule, plan in zip(rules, plans, strict=True):
        want = run(rule, events)
        assert collect(plan, frame) == want, rule.title
        with_rows += bool(want)
    frame.unpersist()
    assert with_rows == len(rules)


def test_cli_engine_spark_prints_the_default_engines_pipeline_rows(spark, tmp_path):
    import orjson
    from click.testing import CliRunner

    from translator.cli import main

    (tmp_path / "stats.spl").write_text(
        "search host=* | stats count min(_time) as firstTime values(user) as users by host\n"
    )
    (tmp_path / "table.spl").write_text('search * | eval who=coalesce(user, "-") | table who\n')
    (tmp_path / "e.jsonl").write_bytes(b"\n".join(orjson.dumps(e) for e in PIPE_EVENTS))
    args = ["eval", str(tmp_path), "--from", "spl", "--fields", "none"]
    args += ["--events", str(tmp_path / "e.jsonl")]
    default = CliRunner().invoke(main, args)
    on_spark = CliRunner().invoke(main, [*args, "--engine", "spark"])
    assert default.exit_code == on_spark.exit_code == 0, on_spark.output
    lines = [x for x in on_spark.stdout.splitlines() if x.startswith("{")]
    assert lines == [x for x in default.stdout.splitlines() if x.startswith("{")]
    assert len(lines) == 3 + 6
    (tmp_path / "rex.spl").write_text('search * | rex field=cmd "(?<w>\\w+)"\n')
    refused = CliRunner().invoke(main, [*args, "--engine", "spark"])
    assert refused.exit_code == 2
    assert "rex.spl:1:12: unsupported" in refused.stderr


# --- pipelines: bin on timestamps, the Python-exact aggregations ------------------------------

#: ``_time`` values the evaluator's ``bin`` reads (a number, a text timestamp, a multivalue's
#: first value) or leaves as they are (text that is no timestamp, booleans, objects).
TIMES = ["2024-01-01T12:04:00Z", ["7300", "x"], "junk", 3599.5, True, {"a": 1}]
SPREAD_EVENTS = [
    *({**e, "tm": tm} for e, tm in zip(PIPE_EVENTS, TIMES, strict=True)),
    {"host": "a", "n": "1e3", "_time": "2024-02-29 23:59:59.5"},
    {"host": "d", "n": 4, "_time": "03/01/2024 00:00:00"},
    {"host": "d", "n": [1, 2, "4", True], "_time": ["1704110500", 3]},
]
SPREAD_SEARCHES = [
    # the event's own _time (read at ingestion) and a computed one (read on the executors)
    "search * | bin _time span=1h | stats count by _time",
    "search * | bin _time span=1mon | eval _time=tm | bin _time span=1q | table _time host",
    # sample/population spread (Python's exact statistics), percentiles, mode, sumsq
    "search * | stats stdev(n) stdevp(n) var(n) varp(n) median(n) mode(n) sumsq(n) perc90(n) "
    "upperperc50(n) exactperc25(n) by host",
    "search * | stats stdev(n) as s var(n) as v mode(user) as m",
    "search * | eventstats stdev(n) as s varp(n) as v by host | table host n s v",
    # a removed _time reads the event's time again (Row.get), the output row has none
    "search * | rename _time as t | eval r=_time | stats count by r t",
]


@pytest.mark.parametrize(
    "search",
    SPREAD_SEARCHES,
    ids=["bin-event", "bin-computed", "spread-by", "spread", "events", "time"],
)
def test_bin_timestamps_and_spread_aggregations_give_the_default_engines_rows(spark, search):
    from backends.spark.pipeline import compile_pipeline, run_plan
    from translator.api import run

    (rule,) = parse(search, "spl")
    want = run(rule, SPREAD_EVENTS, fields="none")
    got = run_plan(spark, compile_pipeline(rule, None), [Event(e) for e in SPREAD_EVENTS])
    assert got == want
    assert want


# --- Sigma correlations: Filter, [Eval], Bin, Stats, where on Spark --------------------------

LOGON = """\
title: Failed logon
name: failed_logon
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
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
"""
CORRELATIONS = {
    "event_count": """\
title: Many failed logons
correlation:
  type: event_count
  rules: failed_logon
  group-by: [TargetUserName]
  timespan: 5m
  condition: {gte: 2}
""",
    "value_count": """\
title: Password spraying
correlation:
  type: value_count
  rules: [failed_logon]
  group-by: [IpAddress]
  timespan: 1h
  condition: {gt: 1, field: TargetUserName}
""",
    "temporal": """\
title: Failed then successful logon
correlation:
  type: temporal
  rules: [failed_logon, success_logon]
  group-by: [TargetUserName]
  timespan: 10m
""",
    "months": """\
title: Failed logons this month
correlation:
  type: event_count
  rules: failed_logon
  timespan: 1M
  condition: {neq: 1}
""",
}


def _logon(user, when, event_id=4625, **extra):
    """``when``: a minute of 2024-01-01T12 (read from ``UtcTime``) or an own ``_time``."""
    stamp = (
        {"UtcTime": f"2024-01-01 12:{when:02d}:00.000"}
        if isinstance(when, int)
        else {"_time": when}
    )
    return {"Channel": "Security", "EventID": event_id, "TargetUserName": user, **stamp, **extra}


CORRELATION_EVENTS = [
    _logon("bob", 1, IpAddress="10.0.0.1"),
    _logon("bob", 2, 4624, LogonType="3"),
    _logon("bob", "2024-01-01T12:04:59Z", IpAddress="10.0.0.1"),
    _logon("alice", 1, IpAddress="10.0.0.1"),
    _logon("alice", 7, 4624, LogonType="3"),
    _logon("carol", 4, IpAddress="10.0.0.2"),
    _logon("carol", 6, IpAddress="10.0.0.2"),  # the next 5m bucket
    _logon("carol", 8, 4624, LogonType="2"),  # not the second rule
    _logon("dave", 1704110460.0, IpAddress="10.0.0.2"),  # an own _time, epoch seconds
    _logon("dave", "yesterday"),  # no time bin reads: its own group
    _logon("erin", ["2024-01-31T23:59:59Z", 0], IpAddress="10.0.0.2"),
]


@pytest.mark.parametrize("kind", list(CORRELATIONS))
def test_sigma_correlations_give_the_default_engines_rows(spark, kind):
    from backends.sigma.reader import read_sigma
    from backends.spark.pipeline import compile_pipeline, run_plan
    from translator.api import run

    rule = read_sigma(LOGON + CORRELATIONS[kind])[-1]  # the detections it does not use too
    assert rule.title == CORRELATIONS[kind].split("\n")[0].removeprefix("title: ")
    want = run(rule, CORRELATION_EVENTS)
    plan = compile_pipeline(rule, fields_for(rule, None))
    assert run_plan(spark, plan, [Event(e) for e in CORRELATION_EVENTS]) == want
    assert want


def test_cli_engine_spark_prints_the_default_engines_correlation_rows(spark, tmp_path):
    import orjson
    from click.testing import CliRunner

    from translator.cli import main

    (tmp_path / "c.yml").write_text(LOGON + CORRELATIONS["temporal"])
    (tmp_path / "e.jsonl").write_bytes(b"\n".join(orjson.dumps(e) for e in CORRELATION_EVENTS))
    args = ["eval", str(tmp_path / "c.yml"), "--events", str(tmp_path / "e.jsonl")]
    default = CliRunner().invoke(main, args)
    on_spark = CliRunner().invoke(main, [*args, "--engine", "spark"])
    assert default.exit_code == on_spark.exit_code == 0, on_spark.output
    lines = [x for x in on_spark.stdout.splitlines() if x.startswith("{")]
    assert lines == [x for x in default.stdout.splitlines() if x.startswith("{")]
    assert lines
