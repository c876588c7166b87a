"""SPL reader: searches -> IR stages, positioned errors, macros, security_content YAML, the seed,
corpus coverage and a no-crash property.

Most cases are one line: the SPL text and the IR the reader must build from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.spl import MacroTable, read_spl, read_spl_search
from backends.spl.macros import Macro
from ir.errors import RuleglotError
from ir.nodes import (
    Aggregation,
    And,
    Bin,
    BinOp,
    Call,
    Command,
    Condition,
    Convert,
    DataModel,
    Dedup,
    Eval,
    EvalExpr,
    Expr,
    FieldRef,
    FieldValue,
    FillNull,
    Filter,
    ForEach,
    Head,
    Kind,
    Literal,
    Lookup,
    MultiValue,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
    Rename,
    Rex,
    Sort,
    Stage,
    Stats,
    Subsearch,
    Table,
    UnaryOp,
    Wildcard,
)

from .conftest import shared

SEED = Path(__file__).resolve().parents[2] / "shared/seeds/impacket_psexec.yml"
MANY, ONE = Wildcard.MANY, Wildcard.ONE


def P(field: str | None, kind: str, value: object, cased: bool = False) -> Predicate:  # noqa: N802
    return Predicate(field, Kind(kind), value, cased)  # type: ignore[arg-type]


def T(text: str, cased: bool = False) -> Predicate:  # noqa: N802
    return P(None, "term", text, cased)


def A(*args: Expr) -> And:  # noqa: N802
    return And(args)


def O(*args: Expr) -> Or:  # noqa: N802, E743
    return Or(args)


def F(name: str) -> FieldValue:  # noqa: N802
    return FieldValue(name)


def L(value: str | int | float | bool | None) -> Literal:  # noqa: N802
    return Literal(value)


def pat(*parts: str | Wildcard) -> Pattern:
    return Pattern(parts)


def search(spl: str, **options: object) -> Expr:
    (stage,) = read_spl_search(spl, **options)  # type: ignore[arg-type]
    assert isinstance(stage, Filter) and stage.command == "search"
    return stage.expr


def where(condition: str) -> Expr:
    (stage,) = read_spl_search(f"| where {condition}")
    assert isinstance(stage, Filter) and stage.command == "where"
    return stage.expr


def eval_expr(expression: str) -> EvalExpr:
    (stage,) = read_spl_search(f"| eval x={expression}")
    assert isinstance(stage, Eval)
    return stage.assignments[0][1]


def error(spl: str, **options: object) -> RuleglotError:
    with pytest.raises(RuleglotError) as info:
        read_spl_search(spl, **options)  # type: ignore[arg-type]
    return info.value


# --- search: precedence, case, NOT vs !=, IN, TERM, CASE, escapes, wildcards, CIDR ------------

SEARCH_CASES: list[tuple[str, Expr]] = [
    # precedence (Search Manual): NOT, then OR, then AND (implicit or explicit)
    ("A=1 B=2 OR C=3", A(P("A", "eq", 1), O(P("B", "eq", 2), P("C", "eq", 3)))),
    ("A=1 AND B=2 OR C=3", A(P("A", "eq", 1), O(P("B", "eq", 2), P("C", "eq", 3)))),
    ("error NOT 403 OR 404", A(T("error"), O(Not(T("403")), T("404")))),
    ("(a OR b) c", A(O(T("a"), T("b")), T("c"))),
    ("NOT (a b)", Not(A(T("a"), T("b")))),
    ("NOT NOT a", Not(Not(T("a")))),
    ("a OR b OR c", O(T("a"), T("b"), T("c"))),
    ("a or b", A(T("a"), T("or"), T("b"))),  # operators are upper case only
    ("a And b", A(T("a"), T("And"), T("b"))),
    # field=value: case-insensitive, * the only wildcard, ? literal
    ("f=x", P("f", "eq", "x")),
    ("f=*x*", P("f", "contains", "x")),
    ("f=x*", P("f", "startswith", "x")),
    ("f=*x", P("f", "endswith", "x")),
    ("f=a*b", P("f", "wildcard", pat("a", MANY, "b"))),
    ("f=*a*b*", P("f", "wildcard", pat(MANY, "a", MANY, "b", MANY))),
    ("f=a?b", P("f", "eq", "a?b")),
    ("f=*a?", P("f", "endswith", "a?")),
    ("f=*", P("f", "exists", True)),
    ('f="*"', P("f", "exists", True)),
    ("f=4688", P("f", "eq", 4688)),
    ('f="4688"', P("f", "eq", "4688")),
    ("f=-1", P("f", "eq", -1)),
    ("f=1.5", P("f", "eq", "1.5")),
    ("f=007", P("f", "eq", "007")),
    ('f="a b"', P("f", "eq", "a b")),
    ("f = x", P("f", "eq", "x")),
    ("f==x", P("f", "eq", "x")),
    ("index=main sourcetype=x", A(P("index", "eq", "main"), P("sourcetype", "eq", "x"))),
    ("Processes.process_name=cmd.exe", P("Processes.process_name", "eq", "cmd.exe")),
    ("f=*GetCurrent()*", P("f", "contains", "GetCurrent()")),
    # CASE and TERM
    ("f=CASE(Abc)", P("f", "eq", "Abc", cased=True)),
    ('f=CASE("A b*")', P("f", "startswith", "A b", cased=True)),
    ("CASE(Error)", T("Error", cased=True)),
    ("TERM(EventCode=4688)", T("EventCode=4688")),
    ("TERM(10.0.0.1) x", A(T("10.0.0.1"), T("x"))),
    ("f=TERM(a.b)", P("f", "eq", "a.b")),
    # escapes: \\ and \" only; any other backslash is kept; * cannot be escaped
    (r'f="C:\\Windows\\*"', P("f", "startswith", "C:\\Windows\\")),
    (r"f=C:\\Windows\\x.exe", P("f", "eq", "C:\\Windows\\x.exe")),
    (r'f="a\"b"', P("f", "eq", 'a"b')),
    (r'f="\d\w"', P("f", "eq", r"\d\w")),
    (r'f="a\*b"', P("f", "wildcard", pat("a\\", MANY, "b"))),
    (r"f=*\"x\":true*", P("f", "contains", '"x":true')),
    # NOT vs !=
    ("NOT f=x", Not(P("f", "eq", "x"))),
    ("f!=x", A(P("f", "exists", True), Not(P("f", "eq", "x")))),
    ("f!=*x", A(P("f", "exists", True), Not(P("f", "endswith", "x")))),
    ("NOT f=*", Not(P("f", "exists", True))),
    # IN
    ('f IN (a, "b", c*)', O(P("f", "eq", "a"), P("f", "eq", "b"), P("f", "startswith", "c"))),
    ("f IN (4657 4656)", O(P("f", "eq", 4657), P("f", "eq", 4656))),
    ("f IN (x)", P("f", "eq", "x")),
    ("NOT f IN (a, b)", Not(O(P("f", "eq", "a"), P("f", "eq", "b")))),
    # comparisons with numbers
    ("f>5", P("f", "gt", 5)),
    ("f>=5 g<2.5 h<=-1", A(P("f", "gte", 5), P("g", "lt", 2.5), P("h", "lte", -1))),
    # CIDR
    ("ip=10.0.0.0/8", P("ip", "cidr", "10.0.0.0/8")),
    ("ip=10.1.2.3/8", P("ip", "cidr", "10.0.0.0/8")),
    ("ip=fe80::/10", P("ip", "cidr", "fe80::/10")),
    ("ip=10.0.0.1", P("ip", "eq", "10.0.0.1")),
    ("path=a/b", P("path", "eq", "a/b")),
    # bare words and phrases: indexed terms of _raw
    ("error", T("error")),
    ('"access denied"', T("access denied")),
    ('"<EventID>4688<"', T("<EventID>4688<")),
    ("web* *.exe", A(T("web*"), T("*.exe"))),
    (r'"a\"b" c\\d', A(T('a"b'), T("c\\d"))),
    ("search x=1", P("x", "eq", 1)),
    ("SEARCH x", T("x")),
]


@pytest.mark.parametrize(("spl", "expected"), SEARCH_CASES, ids=[c[0] for c in SEARCH_CASES])
def test_search(spl: str, expected: Expr) -> None:
    assert search(spl) == expected


AND_FIRST_CASES: list[tuple[str, Expr]] = [
    ("A=1 B=2 OR C=3", O(A(P("A", "eq", 1), P("B", "eq", 2)), P("C", "eq", 3))),
    ("error NOT 403 OR 404", O(A(T("error"), Not(T("403"))), T("404"))),
    ("a OR b c", O(T("a"), A(T("b"), T("c")))),
    ("a (b OR c)", A(T("a"), O(T("b"), T("c")))),
]


@pytest.mark.parametrize(("spl", "expected"), AND_FIRST_CASES, ids=[c[0] for c in AND_FIRST_CASES])
def test_search_and_first(spl: str, expected: Expr) -> None:
    assert search(spl, search_precedence="and-first") == expected


@pytest.mark.parametrize("spl", ["*", "search *", "", "   ", "| search *", "|"])
def test_search_for_everything_makes_no_stage(spl: str) -> None:
    assert read_spl_search(spl) == ()


def test_later_search_and_subsearches() -> None:
    assert read_spl_search("a | search b=1") == (
        Filter(T("a")),
        Filter(P("b", "eq", 1)),
    )
    sub = Subsearch("search", (Filter(T("b")), Table(("c",), "fields")))
    assert read_spl_search("a [search b | fields c] d") == (Filter(A(T("a"), T("d"))), sub)
    assert read_spl_search("[search b | fields c]") == (sub,)


# --- where: predicates where a kind says it exactly, Conditions otherwise ---------------------

WHERE_CASES: list[tuple[str, Expr]] = [
    ('f="x"', P("f", "eq", "x", cased=True)),
    ('f=="x"', P("f", "eq", "x", cased=True)),
    ('"x"=f', P("f", "eq", "x", cased=True)),
    ("'my field'=\"x\"", P("my field", "eq", "x", cased=True)),
    ("f=g", P("f", "fieldref", FieldRef("g"), cased=True)),
    ("f='g h'", P("f", "fieldref", FieldRef("g h"), cased=True)),
    ("f>5", P("f", "gt", 5)),
    ("f>=5.5", P("f", "gte", 5.5)),
    ("5<f", P("f", "gt", 5)),
    ("f<-1", P("f", "lt", -1)),
    ('match(f, "(?i)a|b")', P("f", "regex", Regex("(?i)a|b"))),
    (r'match(f, "\d+")', P("f", "regex", Regex(r"\d+"))),
    ('match(f, "(?<n>x)")', P("f", "regex", Regex("(?P<n>x)"))),
    ('like(f, "a%b_")', P("f", "wildcard", pat("a", MANY, "b", ONE), cased=True)),
    ('like(f, "%.exe")', P("f", "endswith", ".exe", cased=True)),
    ('f LIKE "%x%"', P("f", "contains", "x", cased=True)),
    ('like(f, "abc")', P("f", "eq", "abc", cased=True)),
    ("isnull(f)", P("f", "null", None)),
    ("isnotnull(f)", Not(P("f", "null", None))),
    ('cidrmatch("10.0.0.0/8", src)', P("src", "cidr", "10.0.0.0/8")),
    ('f IN ("a", "b")', O(P("f", "eq", "a", cased=True), P("f", "eq", "b", cased=True))),
    ('in(f, "a")', P("f", "eq", "a", cased=True)),
    ('NOT f="x"', Not(P("f", "eq", "x", cased=True))),
    (
        'f="a" AND g="b" OR h="c"',
        O(A(P("f", "eq", "a", True), P("g", "eq", "b", True)), P("h", "eq", "c", True)),
    ),
    (
        'f="a" and (g="b" or h="c")',
        A(P("f", "eq", "a", True), O(P("g", "eq", "b", True), P("h", "eq", "c", True))),
    ),
    # Conditions: numeric equality, !=, anything without an exact predicate kind
    ("f=5", Condition(BinOp("=", F("f"), L(5)))),
    ('f!="x"', Condition(BinOp("!=", F("f"), L("x")))),
    ("len(f) > 200", Condition(BinOp(">", Call("len", (F("f"),)), L(200)))),
    ('searchmatch("x")', Condition(Call("searchmatch", (L("x"),)))),
    ("a XOR b", Condition(BinOp("XOR", F("a"), F("b")))),
    # PCRE's own syntax is read as PCRE means it (ir.functions.pcre_to_python), as eval does
    (r'match(f, "\x{202E}")', P("f", "regex", Regex(r"\u202e"))),
    (r'match(f, "[[:digit:]]x\z")', P("f", "regex", Regex(r"[0-9]x\Z"))),
    ("count>5 AND (x<.5 OR y<.5)", A(P("count", "gt", 5), O(P("x", "lt", 0.5), P("y", "lt", 0.5)))),
    ("f IN (g)", Condition(Call("in", (F("f"), F("g"))))),
    ("NOT f IN (g)", Not(Condition(Call("in", (F("f"), F("g")))))),
]


@pytest.mark.parametrize(("condition", "expected"), WHERE_CASES, ids=[c[0] for c in WHERE_CASES])
def test_where(condition: str, expected: Expr) -> None:
    assert where(condition) == expected


# --- eval expressions -------------------------------------------------------------------------

EVAL_CASES: list[tuple[str, EvalExpr]] = [
    ("1", L(1)),
    ("1.5", L(1.5)),
    ("-2", L(-2)),
    ('"a\\"b"', L('a"b')),
    ("f", F("f")),
    ("'f g'", F("f g")),
    ("Processes.process", F("Processes.process")),
    ("true", L(True)),
    ("null()", L(None)),
    ("true()", L(True)),
    ("-f", UnaryOp("-", F("f"))),
    ("NOT f", UnaryOp("NOT", F("f"))),
    ("a + b * c", BinOp("+", F("a"), BinOp("*", F("b"), F("c")))),
    ("(a + b) * c", BinOp("*", BinOp("+", F("a"), F("b")), F("c"))),
    ("a - b - c", BinOp("-", BinOp("-", F("a"), F("b")), F("c"))),
    ("a % 2", BinOp("%", F("a"), L(2))),
    ('a . "x" . b', BinOp(".", BinOp(".", F("a"), L("x")), F("b"))),
    ('a."x"', BinOp(".", F("a"), L("x"))),
    ("a < b + 1", BinOp("<", F("a"), BinOp("+", F("b"), L(1)))),
    (
        "a=1 AND b=2 OR c",
        BinOp("OR", BinOp("AND", BinOp("=", F("a"), L(1)), BinOp("=", F("b"), L(2))), F("c")),
    ),
    ("a OR b XOR c", BinOp("XOR", BinOp("OR", F("a"), F("b")), F("c"))),
    ("NOT a=1 AND b", BinOp("AND", UnaryOp("NOT", BinOp("=", F("a"), L(1))), F("b"))),
    ("a and b or c", BinOp("OR", BinOp("AND", F("a"), F("b")), F("c"))),
    ('a LIKE "x%"', BinOp("LIKE", F("a"), L("x%"))),
    ('IF(a>1, "x", null())', Call("if", (BinOp(">", F("a"), L(1)), L("x"), L(None)))),
    ("now()", Call("now")),
    ('mvfilter(match(f, "x"))', Call("mvfilter", (Call("match", (F("f"), L("x"))),))),
    (
        'case(a=1, "one", 1=1, "other")',
        Call("case", (BinOp("=", F("a"), L(1)), L("one"), BinOp("=", L(1), L(1)), L("other"))),
    ),
    ('a IN ("x", "y")', Call("in", (F("a"), L("x"), L("y")))),
    ('a NOT IN ("x")', UnaryOp("NOT", Call("in", (F("a"), L("x"))))),
]


@pytest.mark.parametrize(("expression", "expected"), EVAL_CASES, ids=[c[0] for c in EVAL_CASES])
def test_eval_expression(expression: str, expected: EvalExpr) -> None:
    assert eval_expr(expression) == expected


def test_eval_assignments() -> None:
    assert read_spl_search("| eval a=1, b=\"x\" c=a+b, 'd e'=1, x-y=2, {k}=v") == (
        Eval(
            (
                ("a", L(1)),
                ("b", L("x")),
                ("c", BinOp("+", F("a"), F("b"))),
                ("d e", L(1)),
                ("x-y", L(2)),
                ("{k}", F("v")),
            )
        ),
    )


# --- every other command ----------------------------------------------------------------------

_RAW_RE = Predicate("_raw", Kind.REGEX, Regex("a|b"))

COMMAND_CASES: list[tuple[str, tuple[Stage, ...]]] = [
    ('| regex _raw="a|b"', (Filter(_RAW_RE, "regex"),)),
    ('| regex "a|b"', (Filter(_RAW_RE, "regex"),)),
    ('| regex f!="a(?<n>b)"', (Filter(Not(P("f", "regex", Regex("a(?P<n>b)"))), "regex"),)),
    ('| regex f = "x"', (Filter(P("f", "regex", Regex("x")), "regex"),)),
    ('| rex field=f max_match=0 "(?<x>\\\\d+)"', (Rex("(?<x>\\d+)", "f", None, 0),)),
    ('| rex "(?<x>.)"', (Rex("(?<x>.)"),)),
    ('| rex mode=sed field=x "s/a/b/g"', (Rex("s/a/b/g", "x", "sed"),)),
    (
        '| rename a as b, "c d" AS e Processes.* as *',
        (Rename((("a", "b"), ("c d", "e"), ("Processes.*", "*"))),),
    ),
    ("| table _time, host user, *", (Table(("_time", "host", "user", "*")),)),
    ("| fields - a, b", (Table(("a", "b"), "fields", remove=True),)),
    ("| fields + a", (Table(("a",), "fields"),)),
    ("| fields a predicted(b)", (Table(("a", "predicted(b)"), "fields"),)),
    (
        "| stats count dc(x) as n values(*) as * by a, b",
        (
            Stats(
                (
                    Aggregation("count"),
                    Aggregation("dc", "x", "n"),
                    Aggregation("values", "*", "*"),
                ),
                ("a", "b"),
            ),
        ),
    ),
    (
        "| stats count(eval(x>1)) as c",
        (Stats((Aggregation("count", BinOp(">", F("x"), L(1)), "c"),)),),
    ),
    (
        '| stats values(f) AS "Some Name" BY g',
        (Stats((Aggregation("values", "f", "Some Name"),), ("g",)),),
    ),
    (
        "| eventstats avg(x) as m by u",
        (Stats((Aggregation("avg", "x", "m"),), ("u",), "eventstats"),),
    ),
    (
        "| streamstats current=f count",
        (Stats((Aggregation("count"),), (), "streamstats", (("current", "f"),)),),
    ),
    (
        "| tstats summariesonly=true count min(_time) as firstTime"
        " from datamodel=Endpoint.Processes"
        " where Processes.process_name=cmd.exe by Processes.dest _time span=1h",
        (
            DataModel("Endpoint.Processes", (("summariesonly", "true"),)),
            Filter(P("Processes.process_name", "eq", "cmd.exe"), "tstats"),
            Stats(
                (Aggregation("count"), Aggregation("min", "_time", "firstTime")),
                ("Processes.dest", "_time"),
                "tstats",
                (("span", "1h"),),
            ),
        ),
    ),
    (
        "| tstats count where index=x (a=1 OR b=2) by host",
        (
            Filter(A(P("index", "eq", "x"), O(P("a", "eq", 1), P("b", "eq", 2))), "tstats"),
            Stats((Aggregation("count"),), ("host",), "tstats"),
        ),
    ),
    ("| bin _time span=1h", (Bin("_time", "1h"),)),
    ("| bucket span=5m", (Bin("_time", "5m"),)),
    ("| bin x bins=10 as y", (Bin("x", None, 10, "y"),)),
    (
        "| dedup 2 a b keepempty=true sortby -_time",
        (Dedup(("a", "b"), 2, (("keepempty", "true"), ("sortby", "-_time"))),),
    ),
    ("| sort 0 - count, +x num(y)", (Sort((("count", True), ("x", False), ("y", False)), 0),)),
    ("| sort -count", (Sort((("count", True),)),)),
    ("| sort count desc", (Sort((("count", True),)),)),
    ("| head 5", (Head(5),)),
    ("| head", (Head(10),)),
    ("| tail 3", (Head(3, "tail"),)),
    (
        "| lookup local=true tbl f1 AS g1, f2 OUTPUT o1 AS p1 o2",
        (
            Lookup(
                "tbl",
                (("f1", "g1"), ("f2", "f2")),
                (("o1", "p1"), ("o2", "o2")),
                options=(("local", "true"),),
            ),
        ),
    ),
    ("| lookup tbl f OUTPUTNEW o", (Lookup("tbl", (("f", "f"),), (("o", "o"),), "OUTPUTNEW"),)),
    ("| inputlookup x.csv", (Lookup("x.csv", command="inputlookup"),)),
    (
        "| inputlookup append=t x.csv where a=1",
        (
            Lookup("x.csv", command="inputlookup", options=(("append", "t"),)),
            Filter(P("a", "eq", 1)),
        ),
    ),
    ("| fillnull value=NULL a b", (FillNull("NULL", ("a", "b")),)),
    ("| fillnull", (FillNull(),)),
    (
        '| convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime) ctime(lastTime) AS l',
        (
            Convert(
                (("ctime", "firstTime", None), ("ctime", "lastTime", "l")),
                (("timeformat", "%Y-%m-%dT%H:%M:%S"),),
            ),
        ),
    ),
    ('| makemv delim="," f', (MultiValue("f", "makemv", (("delim", ","),)),)),
    ("| mvexpand f", (MultiValue("f", "mvexpand"),)),
    (
        "| join type=left user [search index=x | fields user]",
        (
            Subsearch(
                "join",
                (Filter(P("index", "eq", "x")), Table(("user",), "fields")),
                ("user",),
                (("type", "left"),),
            ),
        ),
    ),
    ("| append [| inputlookup x]", (Subsearch("append", (Lookup("x", command="inputlookup"),)),)),
    (
        "| appendpipe [stats count | where count>0]",
        (
            Subsearch(
                "appendpipe", (Stats((Aggregation("count"),)), Filter(P("count", "gt", 0), "where"))
            ),
        ),
    ),
    ("| appendpipe [| head 1]", (Subsearch("appendpipe", (Head(1),)),)),
    ("| iplocation src", (Command("iplocation", "src"),)),
    ('| spath input=x path="a|b"', (Command("spath", 'input=x path="a|b"'),)),
    (
        '| foreach * [eval <<FIELD>>=if(<<FIELD>>="null",null(),<<FIELD>>)]',
        (
            ForEach(
                ("*",),
                (
                    Eval(
                        (
                            (
                                "<<FIELD>>",
                                Call(
                                    "if",
                                    (
                                        BinOp("=", FieldValue("<<FIELD>>"), Literal("null")),
                                        Literal(None),
                                        FieldValue("<<FIELD>>"),
                                    ),
                                ),
                            ),
                        )
                    ),
                ),
            ),
        ),
    ),
    (
        "| rest /services/x | outputlookup y.csv",
        (Command("rest", "/services/x"), Command("outputlookup", "y.csv")),
    ),
    ("| makeresults", (Command("makeresults"),)),
    ("| Transaction user", (Command("transaction", "user"),)),
    ("| STATS count", (Stats((Aggregation("count"),)),)),
]


@pytest.mark.parametrize(("spl", "expected"), COMMAND_CASES, ids=[c[0][:60] for c in COMMAND_CASES])
def test_command(spl: str, expected: tuple[Stage, ...]) -> None:
    assert read_spl_search(spl) == expected


def test_comments_are_removed_and_positions_kept() -> None:
    (stage,) = read_spl_search("```a comment | x=1``` b=2 ```more```")
    assert isinstance(stage, Filter) and stage.expr == P("b", "eq", 2)
    assert stage.expr.span is not None and stage.expr.span.col == 23
    assert read_spl_search('a="```x```"') == (Filter(P("a", "eq", "```x```")),)


# --- errors -----------------------------------------------------------------------------------

ERROR_CASES: list[tuple[str, str, str | None, int, int]] = [
    # spl, category, construct, line, col
    ("a OR", "syntax", "search", 1, 3),
    ("OR a", "syntax", "search", 1, 1),
    ("NOT", "syntax", "search", 1, 1),
    ("a AND OR b", "syntax", "search", 1, 3),
    ("()", "syntax", "search", 1, 1),
    ('a "unterminated', "syntax", "search", 1, 3),
    ("a (b", "syntax", "search", 1, 5),
    ("a\n| eval x=", "syntax", "eval", 2, 10),
    ("| where (a", "syntax", "where", 1, 11),
    ("| stats count(", "syntax", "stats", 1, 15),
    ("| rename a", "invalid", "rename", 1, 10),
    ("| rename a to b", "invalid", "rename", 1, 12),
    ("| rex", "invalid", "rex", 1, 3),
    ("| regex", "invalid", "regex", 1, 3),
    ("| dedup", "invalid", "dedup", 1, 3),
    ("| head x", "unsupported", "head", 1, 8),
    ("| bin x minspan=1h", "unsupported", "bin", 1, 9),
    ("f>abc", "unsupported", "comparison", 1, 3),
    ("f IN ()", "invalid", "IN", 1, 1),
    ("a OR NOT [search b]", "unsupported", "subsearch", 1, 10),  # NOT [..] ANDed: an exclusion
    ("a NOT NOT [search b]", "unsupported", "subsearch", 1, 11),
    ("a OR [search b]", "unsupported", "subsearch", 1, 6),
    ("| tstats count where [| inputlookup x]", "unsupported", "subsearch", 1, 22),
    ("| search OR x=1", "syntax", "search", 1, 10),  # what pySigma-backend-splunk writes (#74)
    ("a ]", "syntax", "search", 1, 3),
    ("| lookup", "invalid", "lookup", 1, 3),
    ("| convert x", "invalid", "convert", 1, 11),
    ("| makemv a b", "invalid", "makemv", 1, 12),
]


@pytest.mark.parametrize(
    ("spl", "category", "construct", "line", "col"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_error(spl: str, category: str, construct: str | None, line: int, col: int) -> None:
    exc = error(spl)
    assert (exc.category, exc.construct, exc.line, exc.col) == (category, construct, line, col), (
        str(exc)
    )
    assert exc.source_line == spl.splitlines()[line - 1]


def test_syntax_error_names_what_was_expected_and_draws_a_caret() -> None:
    exc = error("| eval x=(1")
    assert "expected" in exc.message and "')'" in exc.message
    assert (exc.line, exc.col) == (1, 12)  # just past the end
    assert str(exc).endswith("    | eval x=(1\n" + " " * 15 + "^")


def test_bad_options_are_errors() -> None:
    assert error("a", search_precedence="sql").construct == "option"
    assert error("a", undefined_macros="maybe").construct == "option"


# --- macros -----------------------------------------------------------------------------------

MACROS = MacroTable.from_dict(
    {
        "win": "index=win sourcetype=x",
        "ctime(f)": "convert ctime($f$)",
        "pair(a, b)": "$a$=$b$",
        "outer": "`win` `inner`",
        "inner": "`undefined_one`",
        "cyc": "`cyc2`",
        "cyc2": "`cyc`",
        "broken": "eval x=(",
    }
)

MACRO_CASES: list[tuple[str, tuple[Stage, ...]]] = [
    ("`win` a", (Filter(A(P("index", "eq", "win"), P("sourcetype", "eq", "x"), T("a"))),)),
    ("a | `ctime(firstTime)`", (Filter(T("a")), Convert((("ctime", "firstTime", None),)))),
    ("`pair(f, 1)`", (Filter(P("f", "eq", 1)),)),
    ('`pair(f, "a,b")`', (Filter(P("f", "eq", "a,b")),)),
    ("a | `my_detection_filter`", (Filter(T("a")),)),  # an undefined *_filter is a no-op
    ("`win_filter` a", (Filter(T("a")),)),
    ("| `drop_dm_object_name(Processes)`", (Rename((("Processes.*", "*"),)),)),
    ('| `drop_dm_object_name("Web")`', (Rename((("Web.*", "*"),)),)),
    ('a | eval x="`not_a_macro`"', (Filter(T("a")), Eval((("x", L("`not_a_macro`")),)))),
]


@pytest.mark.parametrize(("spl", "expected"), MACRO_CASES, ids=[c[0] for c in MACRO_CASES])
def test_macro(spl: str, expected: tuple[Stage, ...]) -> None:
    assert read_spl_search(spl, macros=MACROS) == expected


MACRO_ERROR_CASES: list[tuple[str, str, str, int, int]] = [
    # spl, category, message part, line, col (the call's backtick)
    ("a `nope` b", "invalid", "macro `nope` is not defined", 1, 3),
    ("a\n | `outer`", "invalid", "`undefined_one` (called from `inner`) is not defined", 2, 4),
    ("`cyc`", "invalid", "macro cycle: cyc -> cyc2 -> cyc", 1, 1),
    ("x `ctime(a,b)`", "invalid", "takes 1 argument(s), called with 2", 1, 3),
    ("`ctime`", "invalid", "takes 1 argument(s), called with 0", 1, 1),
    ("a `win", "syntax", "unterminated macro call", 1, 3),
    ("a | `broken` ", "syntax", "in the expansion of macro `broken`", 1, 5),
]


@pytest.mark.parametrize(
    ("spl", "category", "part", "line", "col"),
    MACRO_ERROR_CASES,
    ids=[c[0] for c in MACRO_ERROR_CASES],
)
def test_macro_error(spl: str, category: str, part: str, line: int, col: int) -> None:
    exc = error(spl, macros=MACROS)
    assert exc.category == category and exc.construct in ("macro", "eval"), str(exc)
    assert part in exc.message and (exc.line, exc.col) == (line, col), str(exc)


def test_a_wrong_call_names_every_arity_the_macro_is_defined_with() -> None:
    table = MacroTable.from_dict({"m": "a=1", "m(x, y)": "a=$x$", "m(x)": "a=$x$", "n": "b=1"})
    table.add(Macro("m", "a=2"))  # redefined: still one arity
    exc = error("`m(1, 2, 3)`", macros=table)
    assert "macro `m` takes 0 or 1 or 2 argument(s), called with 3" in exc.message, str(exc)
    assert error("`n(1)`", macros=table).message.startswith("macro `n` takes 0 argument(s)")


def test_without_a_table_every_macro_is_undefined() -> None:
    assert error("`drop_dm_object_name(X)`").message == "macro `drop_dm_object_name` is not defined"
    assert read_spl_search("a | `x_filter`") == (Filter(T("a")),)
    assert read_spl_search("`anything` a", undefined_macros="empty") == (Filter(T("a")),)


def test_macro_depth_limit() -> None:
    table = MacroTable.from_dict({f"m{i}": f"`m{i + 1}`" for i in range(40)})
    exc = error("`m0`", macros=table)
    assert "nested more than" in exc.message and exc.construct == "macro"


def test_macro_table_from_security_content_folder() -> None:
    table = MacroTable.from_folder(shared("spl", "macros"))
    assert "security_content_ctime(1)" in table and "security_content_summariesonly" in table
    stages = read_spl_search(
        "| tstats `security_content_summariesonly` count from datamodel=X", macros=table
    )
    assert isinstance(stages[0], DataModel) and isinstance(stages[1], Stats)
    assert dict(stages[0].options)["summariesonly"] == "false"


# --- security_content YAML and positions ------------------------------------------------------

DETECTION = """\
name: Test Detection
id: 0a1b2c3d-0000-0000-0000-000000000000
date: '2024-10-17'
author: Someone, Splunk
status: production
description: Finds things.
search: '`win` EventCode=4688 ''x''
  | where match(process, "(?i)psexec") | `test_detection_filter`'
how_to_implement: Ingest Sysmon.
known_false_positives: Admins.
references:
- https://example.com/a
tags:
  mitre_attack_id:
  - T1021.002
  - T1569
"""


def test_security_content_detection() -> None:
    (rule,) = read_spl(DETECTION, "d.yml", macros=MACROS)
    assert (rule.title, rule.id, rule.date, rule.author, rule.status) == (
        "Test Detection",
        "0a1b2c3d-0000-0000-0000-000000000000",
        "2024-10-17",
        "Someone, Splunk",
        "production",
    )
    assert rule.tags == ("attack.t1021.002", "attack.t1569")
    assert rule.falsepositives == ("Admins.",)
    assert rule.references == ("https://example.com/a",)
    assert rule.logsource.definition == "Ingest Sysmon."
    assert rule.language == "spl" and rule.source_text is not None
    assert rule.source_text.startswith("`win` EventCode=4688 'x'")
    search_stage, where_stage = rule.stages
    assert isinstance(search_stage, Filter) and isinstance(where_stage, Filter)
    spans = [(p.span.line, p.span.col) for p in search_stage.expr.args]  # type: ignore[union-attr]
    assert spans == [(7, 10), (7, 10), (7, 16), (7, 31)]  # the macro's two, then as written
    assert (where_stage.span.line, where_stage.span.col) == (8, 5)  # type: ignore[union-attr]
    assert (where_stage.expr.span.line, where_stage.expr.span.col) == (8, 11)  # type: ignore[union-attr]


STYLES: list[tuple[str, str]] = [
    ("plain", "search: index=x foo | where a>1\n"),
    ("literal", "search: |\n  index=x foo\n  | where a>1\n"),
    ("folded", "search: >-\n    index=x foo\n    | where a>1\n"),
    ("double", 'search: "index=x \\"foo\\"\n  | where a>1"\n'),
    ("single", "search: 'index=x ''foo''\n  | where a>1'\n"),
]


@pytest.mark.parametrize(("style", "body"), STYLES, ids=[s[0] for s in STYLES])
def test_positions_inside_every_yaml_scalar_style(style: str, body: str) -> None:
    text = "name: t\n" + body
    lines = text.splitlines()
    (rule,) = read_spl(text, "x.yml")
    search_stage, where_stage = rule.stages
    assert isinstance(search_stage, Filter) and isinstance(where_stage, Filter)
    for node, written in [
        (search_stage.expr.args[0], "index=x"),
        (where_stage, "where"),
        (where_stage.expr, "a>1"),
    ]:  # type: ignore[union-attr]
        span = node.span
        assert span is not None
        assert lines[span.line - 1][span.col - 1 :].startswith(written), (style, span)
    broken = text.replace("a>1", "a>")
    lines = broken.splitlines()
    with pytest.raises(RuleglotError) as info:
        read_spl(broken, "x.yml")
    exc = info.value
    assert exc.category == "syntax" and exc.source_line == lines[exc.line - 1]  # type: ignore[operator]
    assert lines[exc.line - 1][: exc.col - 1].rstrip().endswith("a>")  # type: ignore[index, operator]


def test_yaml_errors_and_sniffing() -> None:
    with pytest.raises(RuleglotError) as info:
        read_spl("name: x\nsearch: [unclosed\n", "x.yml")
    assert info.value.category == "syntax" and info.value.line is not None
    with pytest.raises(RuleglotError) as info:
        read_spl("name: x\n", "x.yml")
    assert info.value.category == "invalid" and info.value.construct == "search"
    assert read_spl("search: a=1\n")[0].stages == (Filter(P("a", "eq", 1)),)  # sniffed as YAML
    assert read_spl("a=1")[0].stages == (Filter(P("a", "eq", 1)),)  # plain SPL
    (rule,) = read_spl("a b", "rules/my_search.spl")
    assert rule.title == "my_search" and rule.source_text == "a b" and rule.language == "spl"


# --- the seed ---------------------------------------------------------------------------------


def test_seed_impacket_psexec() -> None:
    if not SEED.exists():
        pytest.skip(f"seed not found at {SEED}")
    text = SEED.read_text(encoding="utf-8")
    (rule,) = read_spl(text, str(SEED), undefined_macros="empty")
    re_psexec = Regex(r"(?i)(\w{8}\.exe)|(psexec)")
    assert rule.stages == (
        Filter(
            O(T("EventCode=4688"), T("<EventID>4688<"), T("EventCode=5145"), T("<EventID>5145<")),
            "search",
        ),
        Filter(P("_raw", "regex", re_psexec), "regex"),
        Eval((("file_name", F("Relative_Target_Name")),)),
        Filter(
            O(P("parent_process_name", "regex", re_psexec), P("file_name", "regex", re_psexec)),
            "where",
        ),
        Table(
            (
                "_time",
                "host",
                "user",
                "signature_id",
                "user",
                "dest_host",
                "process_id",
                "process_name",
                "process_path",
                "process",
                "parent_process_id",
                "parent_process_name",
                "parent_process_path",
                "file_name",
            )
        ),  # fmt: skip
        Bin(span_text="10s"),
        Stats((Aggregation("values", "*", "*"),), ("_time", "host")),
        Filter(
            A(P("signature_id", "regex", Regex("4688")), P("signature_id", "regex", Regex("5145"))),
            "where",
        ),
    )
    assert rule.title == "Impacket PSexec" and rule.id == "5398.5498"
    assert rule.tags == ("attack.t1569.002", "attack.t1021")
    first = rule.stages[0]
    assert isinstance(first, Filter) and first.span is not None
    line = text.splitlines()[first.span.line - 1]
    assert line[first.span.col - 1 :].startswith("(TERM(EventCode=4688)")
    # the same with a table that defines the two macros as empty
    table = MacroTable.from_dict({"get_endpoint_data": "", "get_endpoint_data_winevent": ""})
    assert read_spl(text, str(SEED), macros=table)[0].stages == rule.stages
    with pytest.raises(RuleglotError) as info:
        read_spl(text, str(SEED))
    assert info.value.construct == "macro" and "get_endpoint_data" in info.value.message


# --- the corpus -------------------------------------------------------------------------------


def test_security_content_corpus_parses() -> None:
    folder = shared("spl", "detections")
    macros = MacroTable.from_folder(shared("spl", "macros"))
    files = sorted(folder.rglob("*.yml"))
    failures: list[RuleglotError] = []
    for path in files:
        try:
            rules = read_spl(path.read_text(encoding="utf-8"), str(path), macros=macros)
        except RuleglotError as exc:
            failures.append(exc)
            continue
        assert rules and all(rule.language == "spl" for rule in rules)
    assert len(files) == 1711
    assert len(failures) <= len(files) * 0.02, "\n".join(str(f) for f in failures)
    for exc in failures:  # every failure is positioned and named
        assert exc.line is not None and exc.col is not None and exc.construct, str(exc)


def test_pysigma_queries_parse() -> None:
    """A sample of what pySigma-backend-splunk writes (the benchmark checks all of it)."""
    from sigma.backends.splunk import SplunkBackend
    from sigma.collection import SigmaCollection

    files = sorted(shared("sigma", "rules").rglob("*.yml"))[::40]
    backend = SplunkBackend()
    for path in files:
        try:
            queries = backend.convert(SigmaCollection.from_yaml(path.read_text(encoding="utf-8")))
        except Exception:
            continue
        for query in queries:
            if "| search OR" in str(query):  # pySigma's invalid output (its issue #74)
                continue
            stages = read_spl_search(str(query))
            assert stages and isinstance(stages[0], Filter), query


# --- no crash: any text parses or raises a positioned RuleglotError ---------------------------

REAL_SEARCHES = [
    '`sysmon` EventCode=1 (Image="*\\\\cmd.exe" OR OriginalFileName=cmd.exe) NOT User IN ("a", b*)'
    " | stats count min(_time) as firstTime by host | `security_content_ctime(firstTime)`",
    "| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes where"
    " Processes.process_name=x by Processes.dest | `drop_dm_object_name(Processes)`"
    ' | where match(process, "(?i)a|b") AND count > 5 | eval x=if(a="b", 1, 0), y=a."c"',
    "| inputlookup x.csv | join type=left user [search index=x | fields user]"
    ' | rex field=a "(?<b>.)"'
    " | lookup t a AS b OUTPUT c | table a, b c | sort - count | head 5 | iplocation src",
]


def _check(text: str) -> None:
    try:
        rules = read_spl(text)
    except RuleglotError as exc:
        assert exc.category in ("syntax", "invalid", "unsupported"), str(exc)
        assert exc.line is not None and exc.col is not None
        assert 1 <= exc.line <= max(len(text.splitlines()), 1), (exc.line, text)
        assert exc.col >= 1
        assert "cannot read SPL input" not in exc.message, exc.message
    else:
        assert isinstance(rules, list) and rules


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_parses_or_raises_a_positioned_error(text: str) -> None:
    _check(text)


@st.composite
def mutated_search(draw: st.DrawFn) -> str:
    chars = list(draw(st.sampled_from(REAL_SEARCHES)))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(chars)))
        action = draw(st.sampled_from(["insert", "delete", "cut"]))
        if action == "insert":
            chars.insert(pos, draw(st.sampled_from(list("|[]()\"'`=!<>*\\ \n,.$%aZ09"))))
        elif action == "delete" and chars:
            del chars[min(pos, len(chars) - 1)]
        else:
            del chars[pos : pos + draw(st.integers(1, 30))]
    return "".join(chars)


@settings(max_examples=200, deadline=None)
@given(mutated_search())
def test_mutated_searches_parse_or_raise_a_positioned_error(text: str) -> None:
    _check(text)


def _covered(spl: str, span: Any) -> str:
    """The text a one-line span covers (end column exclusive, as lark's end positions are)."""
    return spl[span.col - 1 : span.end_col - 1]


def test_spans_take_in_brackets_and_parentheses_at_a_constructs_edges() -> None:
    """Positions are read from tokens (no lark ``propagate_positions``): the brackets of a
    subsearch and the parentheses of a where group, a call, ``IN (...)`` and ``(expr)`` are kept in
    the tree so that a construct's span still starts and ends on them."""
    where = '| where (a=1 OR b=2) AND lower(c)="x" AND d IN (1, 2)'
    (stage,) = read_spl_search(where)
    assert isinstance(stage, Filter) and isinstance(stage.expr, And)
    group, call_cmp, in_op = stage.expr.args
    assert _covered(where, group.span) == "(a=1 OR b=2)"
    assert isinstance(call_cmp, Condition)
    assert _covered(where, call_cmp.expr.left.span) == "lower(c)"  # type: ignore[attr-defined]
    assert _covered(where, in_op.span) == "d IN (1, 2)"
    search = "x=1 w IN (a, b)"
    (stage,) = read_spl_search(search)
    assert isinstance(stage, Filter) and isinstance(stage.expr, And)
    assert _covered(search, stage.expr.args[1].span) == "w IN (a, b)"
    with pytest.raises(RuleglotError) as caught:
        read_spl_search("x=1 OR NOT [| inputlookup t | fields u]")
    assert (caught.value.line, caught.value.col) == (1, 12)  # the "["
