"""ir/hoist.py: filters after column-shaping stages, moved before them with the same rows.

The property: the hoisted pipeline returns the same rows as the original, both run by the one
pipeline runner (``translator.api.run``) on generated events with missing fields, multivalue
values, mixed case and numbers, for generated searches mixing renames, evals (copies,
``if``/``case`` with literal results, other expressions), table/fields, sort, bin, rex,
fillnull, lookup and the filters after them. Then the shapes security_content uses, what
stays, and the Sigma writer keeping the moved test in the detection.
"""

from __future__ import annotations

import datetime
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from backends.sigma.emit import emit_sigma
from backends.sigma.lossy_effects import rule_effect
from backends.spl import read_spl
from backends.spl.buildsearch import where_tree
from ir.hoist import hoist_filters
from ir.lookups import LookupProvider
from ir.nodes import Eval, Filter, Kind, Predicate, Regex, Rename, Rule, Stats, Table
from tests.conftest import shared
from translator.api import macros, parse, run

NOW = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
VALUES = ["a", "A", "ab", "b", "1", 1, 0, "0", "true", "Match", "x y"]

#: column-shaping stages (some write a field the filters read: the filter then stays, or
#: reads the eval's inputs)
STAGES = [
    "rename user as u",
    "rename proc as user",
    "rename user as u, u as user",
    "rename p* as q*",
    "eval other=1",
    "eval u=user",
    'eval m=if(user==proc, "Match", "No Match")',
    'eval m=if(match(proc, "^a"), "true", "false")',
    'eval m=if(like(user, "a%"), 1, 0)',
    'eval m=case(user=="a", "one", proc=="b", "two")',
    'eval m=case(user=="a", 1, true(), 0)',
    'eval m=if(isnull(user), "none", "some")',
    "eval m=lower(user)",
    'eval m=if(len(user) > 1, "long", "short")',
    'eval user="b", m=user',
    "table user proc m u",
    "fields - proc",
    "sort 0 user",
    "sort user",
    "bin other span=2",
    "fillnull value=z other",
    "fillnull value=z user",
    "fillnull",
    "convert num(other)",
    'rex field=proc "(?<other>.)"',
    'rex field=proc "(?<user>.)"',
    "lookup roles x AS proc OUTPUT y",
    "lookup roles x AS proc OUTPUT y AS user",
]

FILTERS = [
    "search user=a*",
    "search u=a",
    "search NOT u=a",
    'where m="No Match"',
    'search m="true"',
    "search m=0",
    "search m=1 OR proc=b",
    "search NOT m=one",
    "search m=*",
    "where isnull(m)",
    'where user="A"',
    "where user=proc",
    "where u=proc",
    'regex proc="^a"',
    "search q=b",
    "search other=1",
    "search ab",
    "search user!=b",
]


@st.composite
def searches(draw: st.DrawFn) -> str:
    parts = ["search *"]
    for _ in range(draw(st.integers(1, 3))):
        parts.extend(draw(st.lists(st.sampled_from(STAGES), max_size=2)))
        parts.append(draw(st.sampled_from(FILTERS)))
    return " | ".join(parts)


def _events(multi: bool) -> st.SearchStrategy[list[dict[str, Any]]]:
    value = st.sampled_from(VALUES)
    some = st.one_of(value, st.lists(value, min_size=2, max_size=3)) if multi else value
    key = st.one_of(some, some, some, st.none())  # null (a JSON null) now and then
    event = st.fixed_dictionaries(
        {"user": key}, optional={"proc": key, "other": value, "u": value, "m": value}
    )
    return st.lists(event, min_size=1, max_size=8)


def _provider() -> LookupProvider:
    folder = Path(tempfile.mkdtemp(prefix="ruleglot-hoist-"))
    (folder / "roles.csv").write_text("x,y\na,b\nab,A\n1,a\n", encoding="utf-8")
    return LookupProvider(folder)


LOOKUPS = _provider()


def _rows(rule: Rule, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return run(rule, events, fields="none", lookups=LOOKUPS, now=NOW)


def _hoisted(search: str) -> tuple[Rule, Rule]:
    (rule,) = read_spl(search)
    return rule, replace(rule, stages=hoist_filters(rule.stages, where_tree))


@settings(max_examples=1500, deadline=None)
@given(searches(), st.booleans(), st.data())
def test_hoisted_filters_give_the_same_rows(search: str, multi: bool, data: st.DataObject):
    rule, hoisted = _hoisted(search)
    events = data.draw(_events(multi))
    rows = _rows(rule, events)
    event(f"{'moved' if hoisted.stages != rule.stages else 'kept'}, {'rows' if rows else 'none'}")
    assert _rows(hoisted, events) == rows


def test_rename_then_an_if_of_a_regex_becomes_the_regex():
    """o365_mailbox_folder_read_permission_granted's shape."""
    rule, hoisted = _hoisted(
        'Operation=x | eval isReadRole=if(match(AccessRights, "^(Owner|Reviewer)$"), "true", '
        '"false") | search isReadRole="true" | rename UserId as user | search user=bob '
        "| stats count by user"
    )
    first, second, *rest = hoisted.stages
    assert isinstance(first, Filter) and isinstance(second, Filter)
    assert second.expr == Predicate("AccessRights", Kind.REGEX, Regex("^(Owner|Reviewer)$"))
    assert [type(s) for s in rest] == [Filter, Eval, Rename, Stats]
    assert rest[0].expr == Predicate("UserId", Kind.EQ, "bob")  # type: ignore[union-attr]


def test_match_or_no_match_becomes_a_field_reference():
    """aws_ec2_snapshot_shared_externally's shape: ``if(a==b, "Match", "No Match")`` tested for
    ``"No Match"`` through a ``table`` is ``NOT a=b`` (a cased field reference; a missing side
    makes ``==`` false, so ``"No Match"``, as ``NOT`` of the reference on a missing field)."""
    rule, hoisted = _hoisted(
        'eventName=x | rename p.id as rid | eval match=if(rid==acct,"Match","No Match") '
        '| table _time rid acct match | where match = "No Match"'
    )
    moved = hoisted.stages[1]
    assert isinstance(moved, Filter) and moved.command == "where"
    assert moved.expr.arg.field == "p.id"  # type: ignore[union-attr]
    assert moved.expr.arg.kind is Kind.FIELDREF and moved.expr.arg.cased  # type: ignore[union-attr]
    events = [{"eventName": "x", "p.id": "1", "acct": "1"}, {"eventName": "x", "p.id": "1",
              "acct": "2"}, {"eventName": "x", "acct": "2"}]  # fmt: skip
    assert _rows(rule, events) == _rows(hoisted, events)
    assert len(_rows(rule, events)) == 2


def test_not_moved():
    for search in (
        "search * | eval m=if(match(a, b), 1, 0) | search m=0",  # regex from a field
        "search * | eval m=lower(user) | search m=a",  # no predicate says lower()
        "search * | rename user as u | search user=a",  # the old name is gone
        "search * | fillnull | search user=0",  # fills fields other rows have
        "search * | bin x bins=10 | search y=1",  # buckets from all rows' range
        "search * | sort user | search user=a",  # 10,000 rows
        "search * | table proc | search user=a",  # not kept
        "search * | table user | search ab",  # a bare term reads _raw
        "search * | eval {k}=v | search user=a",  # a name the row decides
        "search * | dedup user | search user=a",  # decides rows
        "search * | eventstats count by user | search user=a",  # aggregates over rows
        "search * | eval m=1 | where len(user) > m",  # an eval condition
        "search * | rename * as f_* | search f_user=a",  # wildcard rename
        "search * | rex field=proc \"(?'user'.)\" | search user=a",  # a PCRE-quoted group
        'search * | rex field=proc "(?<_KEY_1>.)=(?<_VAL_1>.)" | search user=a',  # named by text
    ):
        rule, hoisted = _hoisted(search)
        assert hoisted.stages == rule.stages, search


def test_a_filter_that_keeps_every_row_goes():
    """``case(..., true(), "b")`` tested with ``m=*``: every row has ``m``, nothing to decide."""
    rule, hoisted = _hoisted('search * | eval m=case(user=="a", "a", true(), "b") | search m=*')
    assert [type(s) for s in hoisted.stages] == [Filter, Eval]


def test_the_sigma_detection_keeps_the_hoisted_test():
    (rule,) = read_spl(
        'EventCode=4104 | eval hit=if(match(ScriptBlockText, "(?i)mimikatz"), 1, 0) '
        "| rename Computer as dest | search hit=1 | table dest ScriptBlockText"
    )
    result = emit_sigma(rule, lossy=True)
    assert "ScriptBlockText|re: (?i)mimikatz" in result.yaml
    assert not any(w["construct"] == "search" for w in result.warnings)
    assert isinstance(rule.stages[-1], Table)


def _corpus_rule(name: str) -> Rule:
    spl = shared("spl")
    path = spl / "detections" / name
    (rule,) = parse(
        path.read_text(encoding="utf-8"), "spl", str(path), macros=macros(spl / "macros")
    )
    return rule


def test_corpus_filters_behind_an_if_join_the_detection():
    """The two security_content detections the hoist makes shaping-only: ``eval
    isReadRole=if(match(...), "true", "false") | search isReadRole="true"``."""
    for name in (
        "cloud/o365_mailbox_folder_read_permission_granted.yml",
        "cloud/o365_mailbox_inbox_folder_shared_with_all_users.yml",
    ):
        rule = _corpus_rule(name)
        result = emit_sigma(rule, lossy=True)
        assert "AccessRights|re:" in result.yaml or "Item.ParentFolder.MemberRights|re:" in (
            result.yaml
        ), name
        assert rule_effect(result.warnings) == "shaping", name


def test_corpus_match_becomes_a_field_reference():
    """aws_ec2_snapshot_shared_externally: the rename, the ``!= NULL`` test and the
    Match/No Match test all join the detection; what is left is Sigma's uncased fieldref."""
    rule = _corpus_rule("cloud/aws_ec2_snapshot_shared_externally.yml")
    result = emit_sigma(rule, lossy=True)
    assert "fieldref" in result.yaml
    assert {w["construct"] for w in result.warnings if w["effect"] == "meaning"} == {"fieldref"}


def test_corpus_values_an_eval_cannot_give_a_predicate_stay():
    """``eval match=if(match(a, b), 1, 0)`` (a regex read from another field) and ``mvindex``
    of JSON arrays have no filter tree: the test stays where it is."""
    rule = _corpus_rule("cloud/aws_createaccesskey.yml")
    assert hoist_filters(rule.stages, where_tree) == rule.stages
    # o365_high_privilege_role_granted: the test on role_id passes the eval of role_name and
    # stops at the eval of role_id (mvindex)
    rule = _corpus_rule("cloud/o365_high_privilege_role_granted.yml")
    hoisted = hoist_filters(rule.stages, where_tree)
    at = next(i for i, s in enumerate(hoisted) if isinstance(s, Filter) and s.command == "where")
    before = hoisted[at - 1]
    assert isinstance(before, Eval) and before.assignments[0][0] == "role_id"
    assert isinstance(hoisted[at + 1], Eval) and hoisted[at + 1].assignments[0][0] == "role_name"  # type: ignore[union-attr]


def test_no_filter_moves_past_a_fillnull_without_fields() -> None:
    """``fillnull`` alone fills the fields some row has: a row lacking ``proc`` gets ``proc=0``
    only while a row holding ``proc`` is still there, so the filter stays after it (hypothesis
    found ``search * | fillnull | search ab`` moved, and the kept row lost its ``proc``)."""
    rule, hoisted = _hoisted("search * | fillnull | search ab")
    assert hoisted.stages == rule.stages
    events = [{"user": "a", "other": "ab"}, {"user": "a", "proc": None}]
    assert _rows(hoisted, events) == _rows(rule, events) == [
        {"user": "a", "other": "ab", "proc": "0"}
    ]
