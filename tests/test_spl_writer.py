"""The one SPL writer (``backends.spl.emit.SplWriter``): every stage class has a writer method,
round trips as data (``tests/data/spl_roundtrip.txt``, one case a line), tstats from its agreed
stages, and the property SPL-readable IR -> SPL -> IR is an identity."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import ir.nodes as nodes
from backends.spl import read_spl, read_spl_search
from backends.spl.emit import SplWriter
from backends.spl.macros import MacroTable
from ir.errors import RuleglotError, Span
from ir.events import Event
from ir.nodes import (
    Aggregation,
    BinOp,
    Condition,
    DataModel,
    FieldValue,
    Filter,
    Kind,
    Literal,
    Predicate,
    Rule,
    Stage,
    Stats,
)
from tests.strategies import spl_pipelines
from translator import api
from translator.check import _rows_run, check_pairs, translate_pair

CASES = Path(__file__).parent / "data" / "spl_roundtrip.txt"


def _cases() -> list[tuple[str, str]]:
    out = []
    for line in CASES.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        source, _, written = line.partition("  ==>  ")
        out.append((source, written or source))
    return out


def write(stages: tuple[Stage, ...]) -> str:
    return api.emit(Rule("t", stages, language="spl"), "spl")


def test_every_stage_class_has_a_writer_method() -> None:
    """A stage added to the IR (``ir.nodes.Stage``) without a ``<node>_spl`` method fails."""
    classes = [getattr(nodes, name.strip()) for name in str(nodes.Stage).split("|")]
    assert len(classes) >= 18
    for cls in classes:
        method = SplWriter.TRANSFORMS.get(cls)
        assert method is not None, f"no SPL writer method for {cls.__name__}"
        assert method.__name__ == f"{cls.__name__.lower()}_spl"


@pytest.mark.parametrize(("source", "written"), _cases())
def test_round_trip_cases(source: str, written: str) -> None:
    """Whole rules: the stages and the time range (``Rule.timerange``) both come back."""
    (rule,) = read_spl(source)
    assert api.emit(rule, "spl") == written
    (back,) = read_spl(written)
    assert (back.stages, back.timerange) == (rule.stages, rule.timerange)


def test_round_trip_cases_cover_every_command_of_the_grammar() -> None:
    grammar = (Path(api.__file__).parent.parent / "backends" / "spl" / "spl.lark").read_text()
    commands = {
        m.group(1).lower()
        for m in re.finditer(r'^([A-Z]+): "([a-z]+)"i$', grammar, re.M)
        if m.group(1) not in ("BY", "AS", "FROM")
    }
    text = CASES.read_text().lower()
    missing = [c for c in sorted(commands) if not re.search(rf"(^|\| ){c}\b", text, re.M)]
    assert not missing


def _tstats(where: Predicate | None = None) -> tuple[Stage, ...]:
    model = DataModel("Endpoint.Processes", (("summariesonly", "true"),), span=Span(1, 3))
    stats = Stats(
        (Aggregation("count"), Aggregation("min", "_time", "firstTime")),
        ("Processes.dest", "_time"),
        "tstats",
        (("span", "1h"),),
    )
    middle = (Filter(where, "tstats"),) if where is not None else ()
    return (model, *middle, stats)


def test_tstats_is_written_from_its_datamodel_filter_and_stats_stages() -> None:
    where = Predicate("Processes.process_name", Kind.EQ, "net.exe")
    assert write(_tstats(where)) == (
        "| tstats summariesonly=true count, min(_time) as firstTime"
        ' from datamodel=Endpoint.Processes where Processes.process_name="net.exe"'
        " by Processes.dest, _time span=1h"
    )
    assert write(_tstats()) == (
        "| tstats summariesonly=true count, min(_time) as firstTime"
        " from datamodel=Endpoint.Processes by Processes.dest, _time span=1h"
    )
    # without a data model (``tstats count where index=x by host``)
    stats = Stats((Aggregation("count"),), ("host",), "tstats")
    assert write((Filter(Predicate("index", Kind.EQ, "x"), "tstats"), stats)) == (
        '| tstats count where index="x" by host'
    )


def test_what_tstats_cannot_say_is_a_positioned_error() -> None:
    condition = Condition(BinOp(">", FieldValue("a"), Literal(1)), span=Span(1, 40))
    stages = _tstats()
    bad = (stages[0], Filter(condition, "tstats", span=Span(1, 40)), stages[1])
    with pytest.raises(RuleglotError) as err:
        write(bad)
    assert (err.value.category, err.value.construct, err.value.col) == ("unsupported", "tstats", 40)
    with pytest.raises(RuleglotError) as err:  # a data model with no tstats after it
        write(stages[:1])
    assert (err.value.construct, err.value.line, err.value.col) == ("tstats", 1, 3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spl_pipelines)
def test_spl_readable_pipelines_write_and_read_back_to_the_same_ir(
    stages: tuple[Stage, ...],
) -> None:
    text = write(stages)
    assert tuple(read_spl_search(text)) == stages, text


MACROS = MacroTable.from_dict(
    {
        "sysmon": '(source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational")',
        "ctime(f)": "convert timeformat=%Y ctime($f$)",
    }
)
SEARCH = (
    "`sysmon` EventCode=1 Image=*x* | stats count min(_time) as firstTime by host"
    " | `ctime(firstTime)` | `t_filter`"
)


def keep(stages: tuple[Stage, ...] | None = None) -> str:
    rule = api.parse(SEARCH, "spl", macros=MACROS)[0]
    if stages is not None:
        rule = replace(rule, stages=stages)
    return api.emit(rule, "spl", keep_macros=True, macros=MACROS)


def test_macros_are_kept_as_calls_where_their_stages_are_unchanged() -> None:
    assert keep() == (
        '`sysmon` EventCode=1 Image="*x*" | stats count, min(_time) as firstTime by host'
        " | `ctime(firstTime)` | `t_filter`"
    )
    stages = api.parse(SEARCH, "spl", macros=MACROS)[0].stages
    first = stages[0]
    assert isinstance(first, Filter) and isinstance(first.expr, nodes.And)
    # a migration renames the field the search terms test: the source macro stays a call
    renamed = replace(first, expr=nodes.And((*first.expr.args[:2], Predicate("Img", Kind.EQ, 1))))
    assert keep((renamed, *stages[1:])) == (
        "`sysmon` EventCode=1 Img=1 | stats count, min(_time) as firstTime by host"
        " | `ctime(firstTime)` | `t_filter`"
    )
    # ... and changes what the ctime macro expanded into: that stage is written expanded
    converted = stages[2]
    assert isinstance(converted, nodes.Convert)
    changed = replace(converted, options=(("timeformat", "%d"),))
    assert keep((*stages[:2], changed)).endswith(
        "| convert timeformat=%d ctime(firstTime) | `t_filter`"
    )
    # without the option, the expanded search
    assert "`" not in api.translate(SEARCH, "spl", "spl", macros=MACROS)
    assert "`ctime(firstTime)`" in api.translate(
        SEARCH, "spl", "spl", macros=MACROS, keep_macros=True
    )


def test_check_spl_to_spl_compares_the_rows_of_source_and_rewrite() -> None:
    rule = api.parse("index=x | stats count by host", "spl")[0]
    pair = translate_pair("t.spl", rule, "spl", "spl", lossy=False, options={})
    assert pair.result.compared == "rows" and pair.rows is not None
    events = [Event.from_fields({"index": "x", "host": h}) for h in "aab"]
    [result] = check_pairs([pair], events, limit=20)
    assert result.status == "equivalent"
    assert result.rows == {"source": 2, "translation": 2} and result.generated > 0
    # a rewrite that loses a row differs, and the report shows the first row apart
    other = api.parse("index=x | stats count by host | head 1", "spl")[0]
    pair.rows = (pair.rows[0], _rows_run(other, None))
    pair.result.status = "equivalent"
    [result] = check_pairs([pair], events, limit=20)
    assert result.status == "differs" and result.rows is not None
    assert result.rows["first_difference"]["row"] == 1
    assert result.rows["first_difference"]["translation"] is None
