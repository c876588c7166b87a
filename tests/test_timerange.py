"""SPL time modifiers as the rule's time range (``ir.nodes.TimeRange``, ``ir.timerange``,
``backends.spl.timerange``; issue 22): parsed as Splunk's Search Reference ("Time modifiers")
writes them, read only from the base search, applied to ``_time`` when run, written back to SPL
and savedsearches, reported to Sigma, compared by ``check``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.sigma.emit import emit_sigma
from backends.spl import read_spl, read_spl_search
from ir.errors import RuleglotError
from ir.events import Event
from ir.functions.times import relative_time
from ir.nodes import Filter, Predicate, Rule, Subsearch, TimeBound, TimeRange
from ir.timerange import parse_bound, parse_now, resolve, window
from translator import api
from translator.check import CheckResult, _ranges_differ
from translator.cli import main

#: a Wednesday afternoon (UTC)
NOW = dt.datetime(2024, 3, 13, 15, 45, 30, tzinfo=dt.UTC)


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(resolve(parse_bound(text), NOW), dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the Search Reference's examples: -5m, -40s, -4h, @d ("beginning of today"), @w6
        ("-5m", "2024-03-13T15:40:30"),
        ("-40s", "2024-03-13T15:44:50"),
        ("-h", "2024-03-13T14:45:30"),  # the integer defaults to 1
        ("-24h@h", "2024-03-12T15:00:00"),  # shift, then snap down to the hour
        ("@d", "2024-03-13T00:00:00"),
        ("-1d@d+8h", "2024-03-12T08:00:00"),  # steps in order
        ("@w0", "2024-03-10T00:00:00"),  # Sunday
        ("@w", "2024-03-10T00:00:00"),
        ("@w1", "2024-03-11T00:00:00"),  # Monday
        ("@w6", "2024-03-09T00:00:00"),  # the last Saturday
        ("@mon", "2024-03-01T00:00:00"),
        ("-1mon@mon", "2024-02-01T00:00:00"),
        ("@q", "2024-01-01T00:00:00"),
        ("-2y@y", "2022-01-01T00:00:00"),
        ("-30days", "2024-02-12T15:45:30"),
        ("now", "2024-03-13T15:45:30"),
        ("0", "1970-01-01T00:00:00"),
        ("1", "1970-01-01T00:00:01"),  # "earliest=1 ... UNIX epoch time 1"
        ("10/15/2019:20:00:00", "2019-10-15T20:00:00"),  # %m/%d/%Y:%H:%M:%S, read in UTC
    ],
)
def test_bounds_resolve_as_the_search_reference_describes(text: str, expected: str) -> None:
    assert _at(text) == dt.datetime.fromisoformat(expected).replace(tzinfo=dt.UTC)


_SHIFT = st.builds("{}{}{}".format, st.sampled_from("+-"), st.sampled_from(["", "1", "3", "13"]),
                   st.sampled_from(["s", "min", "h", "days", "w", "mon", "qtr", "y"]))
_SNAP = st.sampled_from(["", "@s", "@m", "@h", "@d", "@w", "@w0", "@w3", "@w6", "@mon", "@q", "@y"])
#: shifts and snaps chained in any order, two snaps in a row (``@d@h``) included
_MODIFIERS = st.lists(st.one_of(_SHIFT, _SNAP), max_size=5).map("".join)


@settings(max_examples=60, deadline=None)
@given(_MODIFIERS.filter(bool), st.integers(0, 4_000_000_000))
def test_a_range_bound_and_relative_time_agree(text: str, epoch: int) -> None:
    """``earliest=X`` and ``relative_time(now, X)`` are one meaning of a modifier (both
    shift and snap through :mod:`ir.functions.times`)."""
    now = dt.datetime.fromtimestamp(epoch, dt.UTC)
    assert resolve(parse_bound(text), now) == relative_time(epoch, text)


@pytest.mark.parametrize("text", ["@s1", "-1d@x", "+", "@", "-3", "1h", "@d@"])
def test_what_a_bound_refuses_relative_time_makes_null(text: str) -> None:
    """One grammar (``ir.functions.times.modifier_steps``): a text the range refuses is no
    modifier to ``relative_time`` either (``@s1``: a weekday digit on a unit other than ``w``)."""
    with pytest.raises(ValueError):
        parse_bound(text)
    assert relative_time(1_700_000_000, text) is None


def test_chained_snaps_round_in_turn() -> None:
    """``@d@h``: to midnight, then to the hour (already one): the same in both readers."""
    epoch = int(dt.datetime(2024, 3, 13, 15, 45, 30, tzinfo=dt.UTC).timestamp())
    midnight = dt.datetime(2024, 3, 13, tzinfo=dt.UTC).timestamp()
    assert relative_time(epoch, "@d@h") == midnight
    assert _at("@d@h").timestamp() == midnight


def test_absolute_and_relative_bounds() -> None:
    assert parse_bound("0") == TimeBound("0", epoch=0)
    assert not parse_bound("0").relative
    assert parse_bound("-24h@h").relative
    assert parse_bound("-24h@h").steps == (("shift", -24, "h"), ("snap", 0, "h"))


@pytest.mark.parametrize(
    "text", ["rt", "-rt-5m", "RT-1h", "yesterday", "-5x", "@w9", "13/01/2024:00:00:00", "-", "1h"]
)
def test_what_is_not_a_time_modifier_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text)):
        parse_bound(text)


def _event(stamp: str | None) -> Event:
    return Event({"_time": stamp, "a": 1} if stamp is not None else {"a": 1})


def test_window_keeps_earliest_inclusive_latest_exclusive() -> None:
    """ "greater than or equal to earliest and less than latest" (SPL2 "Time modifiers")."""
    keep = window(TimeRange(parse_bound("@d"), parse_bound("-1h")), NOW)
    assert keep.holds(_event("2024-03-13T00:00:00Z"))
    assert not keep.holds(_event("2024-03-12T23:59:59Z"))
    assert keep.holds(_event("2024-03-13T14:45:29Z"))
    assert not keep.holds(_event("2024-03-13T14:45:30Z"))
    assert not keep.holds(_event(None))  # no time: outside any applied bound


def test_relative_bounds_need_now_index_bounds_never_apply() -> None:
    tr = TimeRange(
        parse_bound("-1h"),
        parse_bound("1700000000"),
        index_earliest=parse_bound("-1d"),
    )
    keep = window(tr, None)
    assert (keep.earliest, keep.latest) == (None, 1700000000)
    assert [s.split(":")[0] for s in keep.skipped] == ["earliest=-1h", "_index_earliest=-1d"]
    assert window(tr, NOW).earliest == NOW.timestamp() - 3600
    assert not window(None, NOW).applies


def test_parse_now() -> None:
    assert parse_now("2024-03-13T15:45:30") == NOW
    assert parse_now("2024-03-13T16:45:30+01:00") == NOW
    with pytest.raises(ValueError):
        parse_now("yesterday")


# --- reading -----------------------------------------------------------------------------


def test_base_search_modifiers_are_the_range_not_predicates() -> None:
    (rule,) = read_spl("index=main earliest=-24h@h latest=now EventCode=4688 | stats count")
    assert rule.timerange == TimeRange(parse_bound("-24h@h"), parse_bound("now"))
    assert (rule.timerange.span.line, rule.timerange.span.col) == (1, 12)
    first = rule.stages[0]
    assert isinstance(first, Filter)
    fields = {p.field for p in rule.indicators}
    assert fields == {"index", "EventCode"}
    (only,) = read_spl("earliest=-1h")  # nothing else: no filter stage at all
    assert only.stages == () and only.timerange is not None


def test_detection_yaml_search_has_its_range() -> None:
    text = "name: x\nsearch: '`cloudtrail` earliest=-1h StartInstances | stats count'\n"
    (rule,) = read_spl(text, "x.yml", undefined_macros="empty")
    assert rule.timerange == TimeRange(parse_bound("-1h"))
    assert not any(p.field == "earliest" for p in rule.indicators)


@pytest.mark.parametrize(
    ("spl", "col", "category"),
    [
        ("a=1 OR earliest=-1h", 8, "unsupported"),  # under OR: a range is the whole search's
        ("NOT earliest=-1h a=1", 5, "unsupported"),
        ("a=1 | search earliest=-1h", 14, "unsupported"),  # after the first command
        ("a=1 | appendpipe [search earliest=-1h]", 26, "unsupported"),  # no base search
        ("a=1 | append [| inputlookup x.csv where earliest=-1h]", 41, "unsupported"),
        ("earliest=-1h earliest=-2h", 14, "unsupported"),
        ("earliest!=-1h", 1, "unsupported"),
        ("earliest=* a=1", 1, "unsupported"),
        ("a=1 earliest=yesterday", 5, "invalid"),
        ("earliest=-rt-5m", 1, "invalid"),
    ],
)
def test_modifiers_the_range_cannot_hold_are_positioned_errors(
    spl: str, col: int, category: str
) -> None:
    with pytest.raises(RuleglotError) as caught:
        read_spl(spl)
    assert (caught.value.category, caught.value.line, caught.value.col) == (category, 1, col)
    assert caught.value.construct == "earliest"


def test_a_subsearch_has_its_own_range() -> None:
    """"time ranges specified directly in the base search do not apply to subsearches"
    (Search Reference, "Time modifiers"): each base search keeps its own."""
    (rule,) = read_spl("index=a earliest=-1d | append [search index=b earliest=-30d x=1]")
    assert rule.timerange == TimeRange(parse_bound("-1d"))
    sub = rule.stages[-1]
    assert isinstance(sub, Subsearch)
    assert sub.timerange == TimeRange(parse_bound("-30d"))
    assert {p.field for s in sub.stages if isinstance(s, Filter) for p in _preds(s)} == {
        "index",
        "x",
    }
    with pytest.raises(RuleglotError) as caught:  # running it: named, never ignored
        api.run(rule, EVENTS, fields="none")
    assert (caught.value.category, caught.value.construct) == ("unsupported", "earliest")
    assert (caught.value.line, caught.value.col) == (1, 47)


def test_a_where_field_named_earliest_is_a_field() -> None:
    """``where`` compares the rows' fields (a ``stats ... as earliest``): not a time modifier."""
    (rule,) = read_spl("a=1 | stats min(_time) as earliest | where earliest>5")
    assert rule.timerange is None


def test_stages_alone_cannot_hold_a_range() -> None:
    with pytest.raises(RuleglotError) as caught:
        read_spl_search("earliest=-1h a=1")
    assert caught.value.construct == "earliest"


# --- writing -----------------------------------------------------------------------------


def test_spl_writer_refuses_a_range_before_a_generating_command() -> None:
    (rule,) = read_spl("| inputlookup x.csv")
    ranged = rule.__class__(rule.title, rule.stages, timerange=TimeRange(parse_bound("-1h")))
    with pytest.raises(RuleglotError) as caught:
        api.emit(ranged, "spl")
    assert (caught.value.category, caught.value.construct) == ("unsupported", "earliest")


def test_savedsearches_dispatch_times_are_the_range() -> None:
    (rule,) = read_spl("earliest=-24h@h EventCode=4688")
    stanza = api.emit_translation(rule, "spl", format="savedsearches").text
    assert "dispatch.earliest_time = -24h@h\n" in stanza
    assert "dispatch.latest_time = now\n" in stanza  # not given: the deployment's default
    assert "search = earliest=-24h@h EventCode=4688" in stanza


def test_sigma_writer_names_the_range() -> None:
    (rule,) = read_spl("earliest=-24h latest=-1h EventCode=4688")
    result = emit_sigma(rule, lossy=True)
    (warning,) = [w for w in result.warnings if w["construct"] == "timerange"]
    assert "earliest=-24h latest=-1h" in warning["message"]
    assert (warning["line"], warning["col"]) == (1, 1)
    assert "earliest" not in result.yaml
    with pytest.raises(RuleglotError) as caught:
        emit_sigma(rule)
    assert caught.value.construct == "timerange"


# --- running and checking ----------------------------------------------------------------


EVENTS = [
    {"_time": "2024-03-13T15:00:00Z", "EventCode": 4688},
    {"_time": "2024-03-13T10:00:00Z", "EventCode": 4688},
    {"EventCode": 4688},
]


def test_evaluate_applies_absolute_always_relative_with_now() -> None:
    (absolute,) = read_spl('earliest="03/13/2024:12:00:00" EventCode=4688')
    (relative,) = read_spl("earliest=-1h EventCode=4688")
    rules = [absolute, relative]

    def hits(now: dt.datetime | None) -> set[tuple[int, int]]:
        found = api.evaluate(rules, EVENTS, profile_name="none", fields="none", now=now)
        return {(m.rule_index, m.event_index) for m in found}

    assert hits(None) == {(0, 0), (1, 0), (1, 1), (1, 2)}
    assert hits(NOW) == {(0, 0), (1, 0)}
    (piped,) = read_spl('earliest="03/13/2024:12:00:00" EventCode=4688 | stats count')
    assert api.run(piped, EVENTS, fields="none") == [{"count": 1}]


def test_eval_cli_now_option_and_note(tmp_path: Path) -> None:
    rule = tmp_path / "r.spl"
    rule.write_text("earliest=-1h EventCode=4688\n")
    events = tmp_path / "e.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    args = ["eval", "--from", "spl", str(rule), "--fields", "none", "--profile", "none"]
    without = CliRunner().invoke(main, [*args, "--events", str(events)])
    assert without.exit_code == 0, without.output
    assert "time range bound not applied: earliest=-1h" in without.stderr
    assert without.stdout.count("event_index") == 3
    now = "2024-03-13T15:45:30Z"
    applied = CliRunner().invoke(main, [*args, "--now", now, "--events", str(events)])
    assert applied.exit_code == 0, applied.output
    assert [json.loads(line)["event_index"] for line in applied.stdout.splitlines()] == [0]
    bad = CliRunner().invoke(main, [*args, "--now", "soon", "--events", str(events)])
    assert bad.exit_code == 2 and "--now" in bad.output


def test_check_names_different_ranges() -> None:
    (source,) = read_spl("earliest=-24h EventCode=4688")
    (other,) = read_spl("earliest=-1h EventCode=4688")
    result = CheckResult("p", "t", None, "equivalent")
    assert _ranges_differ(source, other, result)
    assert result.status == "differs"
    assert result.compared == "time range: source earliest=-24h, translation earliest=-1h"
    same = CheckResult("p", "t", None, "equivalent")
    assert not _ranges_differ(source, source, same) and same.status == "equivalent"
    announced = CheckResult("p", "t", None, "lossy", warnings=[{"construct": "timerange"}])
    assert not _ranges_differ(source, other, announced)


def test_check_spl_to_spl_keeps_the_range(tmp_path: Path) -> None:
    rule = tmp_path / "r.spl"
    rule.write_text("earliest=-24h@h latest=now EventCode=4688\n")
    report = tmp_path / "r.json"
    out = CliRunner().invoke(
        main, ["check", "--from", "spl", "--to", "spl", str(rule), "--jobs", "1",
               "--report", str(report)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    (entry,) = json.loads(report.read_text())
    assert entry["status"] == "equivalent"
    assert entry["translation"].startswith("earliest=-24h@h latest=now ")


def test_range_is_not_a_predicate_anywhere() -> None:
    (rule,) = read_spl("earliest=-1h latest=now _index_earliest=-2h a=1 (b=2 OR c=3)")
    names = {p.field for f in rule.filters for p in _preds(f)}
    assert names == {"a", "b", "c"}


def _preds(stage: Filter) -> list[Predicate]:
    from ir.nodes import predicates

    return list(predicates(stage.expr))


_UNIT = st.sampled_from(["s", "m", "h", "d", "w", "mon", "q", "y", "min", "hours", "days"])
_STEP = st.one_of(
    st.builds(lambda sign, n, u: f"{sign}{n}{u}", st.sampled_from("+-"),
              st.sampled_from(["", "0", "1", "24", "365"]), _UNIT),
    st.sampled_from(["s", "m", "h", "d", "w0", "w6", "mon", "q", "y"]).map(lambda u: f"@{u}"),
)  # fmt: skip
_BOUND = st.one_of(
    st.just("now"),
    st.integers(0, 2_000_000_000).map(str),
    st.lists(_STEP, min_size=1, max_size=4).map("".join),
    st.datetimes(dt.datetime(1971, 1, 1), dt.datetime(2037, 1, 1)).map(
        lambda d: d.strftime("%m/%d/%Y:%H:%M:%S")
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), _BOUND.map(parse_bound)), min_size=4, max_size=4),
    st.sampled_from(["", "a=1", "a=1 OR b=2", "a=1 | stats count", "| stats count"]),
)
def test_any_range_writes_and_reads_back(bounds: list[TimeBound | None], search: str) -> None:
    """Rule.timerange -> SPL -> Rule.timerange is an identity, beside any search, and each
    bound resolves (no relative text the reader accepts fails to resolve)."""
    timerange = TimeRange(*bounds)
    if not timerange.bounds():
        return
    for _, bound in timerange.bounds():
        resolve(bound, NOW)
    stages = read_spl(search)[0].stages if search else ()
    text = api.emit(Rule("t", stages, timerange=timerange, language="spl"), "spl")
    (back,) = read_spl(text)
    assert (back.timerange, back.stages) == (timerange, stages), text


@pytest.mark.parametrize("text", ["rt", "-rt-5m", "RT-1h", "-Rt"])
def test_a_real_time_modifier_is_named_whatever_its_case(text: str) -> None:
    """Time units are case-insensitive (``-1D`` reads as ``-1d``), so is ``rt``: the error
    says it is a real-time modifier, not an unknown unit."""
    with pytest.raises(ValueError, match="real-time"):
        parse_bound(text)
