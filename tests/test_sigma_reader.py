"""Sigma reader: Sigma detection snippets -> IR trees, positioned errors, and a no-crash property.

Most cases are one line: a ``detection`` snippet (flow-style YAML, indented under ``detection:``
by :func:`rule_text`), the condition, and the IR the reader must build from what pySigma parsed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.sigma import read_sigma
from ir.errors import CATEGORIES, RuleglotError
from ir.nodes import (
    And,
    Expr,
    FieldRef,
    Kind,
    LogSource,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
    Rule,
    TimePart,
    Wildcard,
)

SEED = Path(__file__).resolve().parents[2] / "shared/seeds/psexec_execution_over_smb_share.yml"

HEADER = "title: t\nlogsource: {product: windows}\n"  # two lines: detection starts on line 3
MANY, ONE = Wildcard.MANY, Wildcard.ONE


def rule_text(detection: str, condition: str = "sel") -> str:
    body = "".join(f"  {line}\n" for line in detection.splitlines())
    return f"{HEADER}detection:\n{body}  condition: {condition}\n"


def P(field: str | None, kind: str, value: object, cased: bool = False) -> Predicate:  # noqa: N802
    return Predicate(field, Kind(kind), value, cased)  # type: ignore[arg-type]


def A(*args: Expr) -> And:  # noqa: N802
    return And(args)


def O(*args: Expr) -> Or:  # noqa: N802, E743
    return Or(args)


def pat(*parts: str | Wildcard) -> Pattern:
    return Pattern(parts)


def read_expr(detection: str, condition: str = "sel") -> Expr:
    [rule] = read_sigma(rule_text(detection, condition))
    return rule.filters[0].expr


# --- values and modifiers ----------------------------------------------------------------------

VALUE_CASES = [
    # plain values
    ("sel: {a: foo}", P("a", "eq", "foo")),
    ("sel: {a: ''}", P("a", "eq", "")),
    ("sel: {a: 4688}", P("a", "eq", 4688)),
    ("sel: {a: 1.5}", P("a", "eq", 1.5)),
    ("sel: {a: true}", P("a", "eq", True)),
    ("sel: {a: yes}", P("a", "eq", True)),  # YAML 1.1, as pySigma reads it
    ("sel: {a: 'yes'}", P("a", "eq", "yes")),
    ("sel: {a: null}", P("a", "null", None)),
    ("sel: {a: }", P("a", "null", None)),
    ("sel: {a: []}", P("a", "null", None)),
    ("sel: {a: '%admin_account%'}", P("a", "eq", "%admin_account%")),
    ("sel: {a: [x, y]}", O(P("a", "eq", "x"), P("a", "eq", "y"))),
    ("sel: {a: 1, b: x}", A(P("a", "eq", 1), P("b", "eq", "x"))),
    ("sel: [{a: 1, b: 2}, {c: 3}]", O(A(P("a", "eq", 1), P("b", "eq", 2)), P("c", "eq", 3))),
    # wildcards in plain values
    ("sel: {a: 'foo*'}", P("a", "startswith", "foo")),
    ("sel: {a: '*foo'}", P("a", "endswith", "foo")),
    ("sel: {a: '*foo*'}", P("a", "contains", "foo")),
    ("sel: {a: 'f*o'}", P("a", "wildcard", pat("f", MANY, "o"))),
    ("sel: {a: 'fo?'}", P("a", "wildcard", pat("fo", ONE))),
    ("sel: {a: '*'}", P("a", "wildcard", pat(MANY))),
    ("sel: {a: '*a*b*'}", P("a", "wildcard", pat(MANY, "a", MANY, "b", MANY))),
    (r"sel: {a: 'foo\*'}", P("a", "eq", "foo*")),
    (r"sel: {a: 'x\?*'}", P("a", "startswith", "x?")),
    (r"sel: {a: '\\*\ADMIN$'}", P("a", "wildcard", pat("\\", MANY, "\\ADMIN$"))),
    (r"sel: {a: 'C:\Windows\*'}", P("a", "eq", "C:\\Windows*")),  # \* escapes the star
    # contains / startswith / endswith / all
    ("sel: {a|contains: foo}", P("a", "contains", "foo")),
    ("sel: {a|startswith: foo}", P("a", "startswith", "foo")),
    ("sel: {a|endswith: foo}", P("a", "endswith", "foo")),
    ("sel: {a|contains: 'x*y'}", P("a", "wildcard", pat(MANY, "x", MANY, "y", MANY))),
    ("sel: {a|contains: '*x'}", P("a", "contains", "x")),
    ("sel: {a|startswith: 'x?'}", P("a", "wildcard", pat("x", ONE, MANY))),
    ("sel: {a|contains: [x, y]}", O(P("a", "contains", "x"), P("a", "contains", "y"))),
    ("sel: {a|contains|all: [x, y]}", A(P("a", "contains", "x"), P("a", "contains", "y"))),
    ("sel: {a|all|endswith: [x, y]}", A(P("a", "endswith", "x"), P("a", "endswith", "y"))),
    ("sel: {a|all: x}", P("a", "eq", "x")),
    # cased
    ("sel: {a|cased: Foo}", P("a", "eq", "Foo", cased=True)),
    ("sel: {a|contains|cased: Foo}", P("a", "contains", "Foo", cased=True)),
    ("sel: {a|cased|startswith: Foo}", P("a", "startswith", "Foo", cased=True)),
    ("sel: {a|cased: 'F*o'}", P("a", "wildcard", pat("F", MANY, "o"), cased=True)),
    # regular expressions and their flags
    ("sel: {a|re: 'x.*y'}", P("a", "regex", Regex("x.*y"))),
    ("sel: {a|re: '^a\\d+$'}", P("a", "regex", Regex(r"^a\d+$"))),
    ("sel: {a|re|i: x}", P("a", "regex", Regex("x", "i"))),
    ("sel: {a|re|m: x}", P("a", "regex", Regex("x", "m"))),
    ("sel: {a|re|s: x}", P("a", "regex", Regex("x", "s"))),
    ("sel: {a|re|i|m|s: x}", P("a", "regex", Regex("x", "ims"))),
    ("sel: {a|re|ignorecase|multiline|dotall: x}", P("a", "regex", Regex("x", "ims"))),
    ("sel: {a|re: [x, y]}", O(P("a", "regex", Regex("x")), P("a", "regex", Regex("y")))),
    # cidr
    ("sel: {a|cidr: 10.0.0.0/8}", P("a", "cidr", "10.0.0.0/8")),
    ("sel: {a|cidr: 10.1.2.3}", P("a", "cidr", "10.1.2.3/32")),
    ("sel: {a|cidr: '2001:db8::/32'}", P("a", "cidr", "2001:db8::/32")),
    # encodings (values as pySigma computes them)
    ("sel: {a|base64: abc}", P("a", "eq", "YWJj")),
    ("sel: {a|base64|contains: abc}", P("a", "contains", "YWJj")),
    (
        "sel: {a|base64offset|contains: ping}",
        O(P("a", "contains", "cGluZ"), P("a", "contains", "Bpbm"), P("a", "contains", "waW5n")),
    ),
    (
        "sel: {a|wide|base64offset|contains: ping}",
        O(*(P("a", "contains", v) for v in ("cABpAG4AZw", "AAaQBuAGcA", "wAGkAbgBnA"))),
    ),
    ("sel: {a|wide|base64: abc}", P("a", "eq", "YQBiAGMA")),
    ("sel: {a|wide: ab}", P("a", "eq", "a\x00b\x00")),
    ("sel: {a|utf16be|base64: abc}", P("a", "eq", "AGEAYgBj")),
    # windash
    (
        "sel: {a|windash|contains: ' -f '}",
        O(*(P("a", "contains", f" {d}f ") for d in "-/\u2013\u2014\u2015")),
    ),
    ("sel: {a|windash: x}", P("a", "eq", "x")),
    # exists, numeric comparisons, neq
    ("sel: {a|exists: true}", P("a", "exists", True)),
    ("sel: {a|exists: false}", P("a", "exists", False)),
    ("sel: {a|gt: 5}", P("a", "gt", 5)),
    ("sel: {a|gte: 5}", P("a", "gte", 5)),
    ("sel: {a|lt: 1.5}", P("a", "lt", 1.5)),
    ("sel: {a|lte: -1}", P("a", "lte", -1)),
    ("sel: {a|neq: x}", Not(P("a", "eq", "x"))),
    ("sel: {a|neq: [x, y]}", Not(O(P("a", "eq", "x"), P("a", "eq", "y")))),
    ("sel: {a: 1, b|neq: 2}", A(P("a", "eq", 1), Not(P("b", "eq", 2)))),
    ("sel: {a|contains|neq: x}", Not(P("a", "contains", "x"))),
    # field references
    ("sel: {a|fieldref: b}", P("a", "fieldref", FieldRef("b"))),
    ("sel: {a|fieldref|startswith: b}", P("a", "fieldref", FieldRef("b", "startswith"))),
    ("sel: {a|fieldref|endswith: b}", P("a", "fieldref", FieldRef("b", "endswith"))),
    ("sel: {a|fieldref|contains: b}", P("a", "fieldref", FieldRef("b", "contains"))),
    # timestamp parts
    ("sel: {t|minute: 30}", P("t", "timepart", TimePart("minute", 30))),
    ("sel: {t|hour: 3}", P("t", "timepart", TimePart("hour", 3))),
    ("sel: {t|day: 1}", P("t", "timepart", TimePart("day", 1))),
    ("sel: {t|week: 52}", P("t", "timepart", TimePart("week", 52))),
    ("sel: {t|month: 12}", P("t", "timepart", TimePart("month", 12))),
    ("sel: {t|year: 2024}", P("t", "timepart", TimePart("year", 2024))),
    # keywords: field-less, matched anywhere
    ("sel: [evil]", P(None, "contains", "evil")),
    ("sel: evil", P(None, "contains", "evil")),
    ("sel: [evil, bad]", O(P(None, "contains", "evil"), P(None, "contains", "bad"))),
    ("sel: ['a*b']", P(None, "wildcard", pat(MANY, "a", MANY, "b", MANY))),
    ("sel: ['*a?b']", P(None, "wildcard", pat(MANY, "a", ONE, "b", MANY))),
    ("sel: ['*evil*']", P(None, "contains", "evil")),
    ("sel: ['evil*']", P(None, "contains", "evil")),
    ("sel: ['*']", P(None, "wildcard", pat(MANY))),
    ("sel: ['']", P(None, "wildcard", Pattern((MANY,)))),  # an empty keyword: any value
    ("sel: [42]", P(None, "contains", "42")),
    ("sel: [true]", P(None, "contains", "true")),
    ("sel: {'|re': 'ev.l'}", P(None, "regex", Regex("ev.l"))),
    ("sel: {'|re|i': 'ev.l'}", P(None, "regex", Regex("ev.l", "i"))),
    ("sel: {'|contains': evil}", P(None, "contains", "evil")),
    ("sel: {'|cased': Evil}", P(None, "contains", "Evil", cased=True)),
    ("sel: {'|all': [a, b]}", A(P(None, "contains", "a"), P(None, "contains", "b"))),
    ("sel: {'|base64': abc}", P(None, "contains", "YWJj")),
]


@pytest.mark.parametrize(("detection", "expected"), VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_and_modifiers(detection: str, expected: Expr) -> None:
    assert read_expr(detection) == expected


# --- conditions --------------------------------------------------------------------------------

THREE = "sel1: {a: 1}\nsel2: {b: 2}\nsel3: {c: 3}\nother: {d: 4}"
a1, b2, c3, d4 = P("a", "eq", 1), P("b", "eq", 2), P("c", "eq", 3), P("d", "eq", 4)

CONDITION_CASES = [
    ("sel1 and sel2", A(a1, b2)),
    ("sel1 or sel2", O(a1, b2)),
    ("not sel1", Not(a1)),
    ("sel1 and not sel2", A(a1, Not(b2))),
    ("not (sel1 or sel2)", Not(O(a1, b2))),
    ("(sel1 or sel2) and sel3", A(O(a1, b2), c3)),
    ("sel1 or sel2 and sel3", O(a1, A(b2, c3))),  # and binds tighter
    ("sel1 and (sel2 and sel3)", A(a1, b2, c3)),  # nested ands flattened
    ("(sel1 or sel2) or (sel3 or other)", O(a1, b2, c3, d4)),
    ("((sel1))", a1),
    ("1 of sel*", O(a1, b2, c3)),
    ("any of sel*", O(a1, b2, c3)),
    ("all of sel*", A(a1, b2, c3)),
    ("1 of sel* and not other", A(O(a1, b2, c3), Not(d4))),
    ("all of them", A(a1, b2, c3, d4)),
    ("1 of them", O(a1, b2, c3, d4)),
    ("not 1 of sel*", Not(O(a1, b2, c3))),
    ("[sel1, sel2]", O(a1, b2)),  # a list of conditions: any of them
]


CONDITION_IDS = [c for c, _ in CONDITION_CASES]


@pytest.mark.parametrize(("condition", "expected"), CONDITION_CASES, ids=CONDITION_IDS)
def test_conditions(condition: str, expected: Expr) -> None:
    assert read_expr(THREE, condition) == expected


# --- the seed rule, metadata and positions -----------------------------------------------------


def test_seed_rule() -> None:
    if not SEED.exists():
        pytest.skip(f"shared seed rule not found at {SEED}")
    [rule] = read_sigma(SEED.read_text(encoding="utf-8"), str(SEED))
    assert rule.exclusions == (P("SubjectUserName", "eq", "%admin_account%"),)
    rows = [(p.field, str(p.kind), str(p.value)) for p in rule.indicators]
    assert rows == [
        ("EventID", "eq", "5145"),
        ("ShareName", "wildcard", "\\\\*\\ADMIN$"),
        ("ShareName", "wildcard", "\\\\*\\IPC$"),
        ("RelativeTargetName", "contains", "PSEXESVC"),
    ]
    assert [(p.span.line, p.span.col) for p in rule.indicators if p.span] == [
        (19, 14), (21, 9), (22, 9), (23, 34),
    ]
    assert rule.exclusion_predicates[0].span.line == 25  # type: ignore[union-attr]
    assert rule.filters[0].span.line == 26  # type: ignore[union-attr]
    assert rule.span is not None and (rule.span.line, rule.span.col) == (1, 1)
    assert rule.span.path == str(SEED)
    assert rule.logsource == LogSource(product="windows", service="security")
    assert rule.tags == ("attack.lateral_movement", "attack.t1021.002")
    assert (rule.level, rule.status, rule.author) == ("medium", "experimental", "mdecrevoisier")
    assert rule.falsepositives == ("Administrator activity",)
    assert len(rule.references) == 5 and rule.language == "sigma"


def test_metadata() -> None:
    text = (
        "title: Meta\nid: 5f1ab9c4-2f3e-4bd3-8c3c-0e1a7b6e2f10\nstatus: test\nlevel: high\n"
        "description: d\nauthor: me\ndate: 2024-01-02\nmodified: 2024/02/03\n"
        "references: [https://x]\nfalsepositives: [Unknown]\ntags: [attack.t1059]\n"
        "logsource: {category: process_creation, product: windows, definition: sysmon}\n"
        "detection: {sel: {Image|endswith: '\\cmd.exe'}, condition: sel}\n"
    )
    [rule] = read_sigma(text)
    assert rule == Rule(
        title="Meta",
        stages=rule.stages,
        logsource=LogSource("windows", "process_creation", None, "sysmon"),
        id="5f1ab9c4-2f3e-4bd3-8c3c-0e1a7b6e2f10",
        description="d",
        status="test",
        level="high",
        author="me",
        date="2024-01-02",
        modified="2024-02-03",
        references=("https://x",),
        falsepositives=("Unknown",),
        tags=("attack.t1059",),
        language="sigma",
    )
    assert rule.indicators == (P("Image", "endswith", "\\cmd.exe"),)


def test_positions_of_keywords_lists_and_conditions() -> None:
    text = rule_text("kw:\n  - evil\n  - bad\nsel: {a: [x, y]}", "[kw, sel]")
    [rule] = read_sigma(text, "k.yml")
    spans = [(p.value_text(), p.span.line, p.span.col) for p in rule.indicators if p.span]
    assert spans == [("evil", 5, 7), ("bad", 6, 7), ("x", 7, 13), ("y", 7, 16)]
    assert all(p.span is not None and p.span.path == "k.yml" for p in rule.indicators)
    assert rule.filters[0].span is not None and rule.filters[0].span.line == 8


def test_collection_with_global_part() -> None:
    text = (
        "action: global\ntitle: shared\nlogsource: {product: windows}\n"
        "detection:\n  base: {EventID: 1}\n  condition: base and sel\n"
        "---\ndetection:\n  sel: {Image|endswith: '\\a.exe'}\n"
        "---\ntitle: own\ndetection:\n  sel: {Image|endswith: '\\b.exe'}\n"
    )
    first, second = read_sigma(text)
    assert (first.title, second.title) == ("shared", "shared")  # global keys win, as in pySigma
    assert first.filters[0].expr == A(P("EventID", "eq", 1), P("Image", "endswith", "\\a.exe"))
    assert second.filters[0].expr == A(P("EventID", "eq", 1), P("Image", "endswith", "\\b.exe"))
    assert [p.span.line for p in second.indicators if p.span] == [5, 13]
    assert first.span is not None and first.span.line == 8
    assert second.span is not None and second.span.line == 11


def test_collection_repeat_and_reset() -> None:
    text = (
        "title: one\nlogsource: {product: windows}\ndetection: {sel: {a: 1}, condition: sel}\n"
        "---\naction: repeat\ntitle: two\ndetection: {sel: {a: 2}}\n---\naction: reset\n"
    )
    one, two = read_sigma(text)
    assert (one.title, one.filters[0].expr) == ("one", P("a", "eq", 1))
    assert (two.title, two.filters[0].expr) == ("two", P("a", "eq", 2))


# --- errors ------------------------------------------------------------------------------------

D = rule_text  # detection on line 4 (col 3), condition on the line after the snippet

ERROR_CASES = [
    # (text, category, line, col, construct)
    ("title: t\ndetection: [a,\n", "syntax", 2, 15, None),
    ("title: t\n\tfoo: bar\n", "syntax", 2, 1, None),
    ("title: t\x07\n", "syntax", 1, 9, None),
    ('title: "open\n', "syntax", 1, 13, None),
    ("", "invalid", 1, 1, None),
    ("---\n---\n", "invalid", 1, 1, None),
    ("- a\n- b\n", "invalid", 1, 1, None),
    ("title: t\nlogsource: {product: w}\n", "invalid", 1, 1, None),
    ("title: t\nlogsource: {product: w}\ndetection:\n  sel: {a: 1}\n", "invalid", 3, 1, None),
    ("title: t\nlogsource: {product: w}\ndate: 2020-13-45\n", "invalid", 3, 7, None),
    # 'level: severe' and tags without a namespace are kept with a warning (test_sigma_legacy.py)
    (D("sel: {a|foo: x}"), "invalid", 4, 9, "foo"),
    (D("sel: {a|utf16le|base64: x}"), "invalid", 4, 9, "utf16le"),
    # pySigma writes utf16's BOM as UTF-8 bytes: refused rather than mistranslated
    (D("sel: {a|utf16|base64: abc}"), "unsupported", 4, 9, "utf16"),
    (D("sel: {a|re: '('}"), "invalid", 4, 15, "re"),
    (D("sel: {a|cidr: 10.0.0.1/8}"), "invalid", 4, 17, "cidr"),
    (D("sel: {a|base64: 'x*'}"), "invalid", 4, 19, "base64"),
    (D("sel: {a|exists: 'yes'}"), "invalid", 4, 19, "exists"),
    (D("sel: {a|gt: x}"), "invalid", 4, 15, "gt"),
    (D("sel: {a|contains: [x, 5]}"), "invalid", 4, 25, "contains"),
    (D("sel: {}"), "invalid", 4, 8, None),
    (D("sel: {a: 1}", "sel and"), "invalid", 5, 21, None),
    (D("sel: {a: 1}", "sel or (sel"), "invalid", 5, 25, None),
    (D("sel: {a: 1}", "sel and nope"), "invalid", 5, 22, "identifier"),
    (D("sel: {a: 1}", "'sel and nope'"), "invalid", 5, 23, "identifier"),
    (D("sel: {a: 1}", "sel and 1 of nope*"), "invalid", 5, 14, "selector"),
    (D("sel: {a: 1}", "sel | count() > 5"), "unsupported", 5, 20, "count"),  # no timeframe
    (D("sel: [foo, null]"), "invalid", 4, 14, "keyword"),
    (D("sel: {a|expand: '%x%'}"), "unsupported", 4, 19, "expand"),
    (D("sel: {a|expand|contains: 'x%y%'}"), "unsupported", 4, 28, "expand"),
    (D("sel: {a: 1}\nsel: {b: 2}"), "invalid", 5, 3, "duplicate-key"),
    # a correlation rule needs the rules it correlates; an unsupported type is still refused
    ("title: c\ncorrelation:\n  type: event_count\n", "invalid", 2, 1, "correlation"),
    ("title: f\nlogsource: {product: w}\nfilter:\n  rules: [x]\n", "unsupported", 3, 1, "filter"),
    ("action: foo\ntitle: t\n", "invalid", 1, 9, "action"),
    ("a: &x [*x]\n", "invalid", 1, 4, None),
]


@pytest.mark.parametrize(("text", "category", "line", "col", "construct"), ERROR_CASES,
                         ids=[repr(c[0]) for c in ERROR_CASES])
def test_errors(text: str, category: str, line: int, col: int, construct: str | None) -> None:
    with pytest.raises(RuleglotError) as info:
        read_sigma(text, "r.yml")
    error = info.value
    got = (error.category, error.line, error.col, error.construct)
    assert got == (category, line, col, construct)
    assert error.path == "r.yml"
    assert error.source_line == (text.splitlines() or [""])[line - 1]


# --- property: any text reads or fails with a position inside it -------------------------------

VALID = rule_text(
    "sel:\n  EventID: 4688\n  Image|endswith: ['\\cmd.exe', '\\pwsh.exe']\n"
    "  CommandLine|contains|all: [' -enc ', 'bypass']\nfilter: {User|re|i: '^nt auth'}\n"
    "kw: [mimikatz, 'sekurlsa::*']",
    "(sel or kw) and not filter",
)


def check_read(text: str) -> None:
    try:
        rules = read_sigma(text)
    except RuleglotError as error:
        assert error.category in CATEGORIES
        if error.line is not None:
            assert 1 <= error.line <= max(1, len(text.splitlines()))
            assert error.col is not None and error.col >= 1
    else:
        assert isinstance(rules, list) and all(isinstance(r, Rule) for r in rules)


@st.composite
def mutated_rule(draw: st.DrawFn) -> str:
    text = VALID
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["delete", "insert", "line-dup", "line-drop", "indent"]))
        if op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)) :]
        elif op == "insert":
            alphabet = st.sampled_from(list("*?|:-[]{}'\"\\ \n\t#&!%,ab01") + ["not ", " and "])
            text = text[:at] + "".join(draw(st.lists(alphabet, max_size=6))) + text[at:]
        else:
            lines = text.splitlines(keepends=True) or [""]
            i = draw(st.integers(0, len(lines) - 1))
            if op == "line-dup":
                lines.insert(i, lines[i])
            elif op == "line-drop":
                del lines[i]
            else:
                lines[i] = " " * draw(st.integers(0, 3)) + lines[i].lstrip(" ")
            text = "".join(lines)
    return text


def test_valid_rule_reads() -> None:
    [rule] = read_sigma(VALID)
    assert len(rule.indicators) == 7 and len(rule.exclusions) == 1


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_reads_or_fails_inside(text: str) -> None:
    check_read(text)


@settings(max_examples=200, deadline=None)
@given(mutated_rule())
def test_mutated_rule_reads_or_fails_inside(text: str) -> None:
    check_read(text)
