"""SPL -> Sigma: a file-name field (``process_name``, ``file_name``: the add-ons' basename of a
path) is written on the path with the same meaning (issue 19).

``process_name=x`` is the file name of ``Image`` (or of ``NewProcessName`` when ``Image`` is
absent): the Sigma writer writes the tree :func:`ir.extractions.invert` gives (``Image`` equal to
``x`` or ending in ``\\x`` or ``/x``; startswith/contains/wildcards a ``|re`` anchored after the
last separator), so the translation decides every event as the search does, with no warning.
What has no exact form (a non-ASCII letter under Sigma's case-insensitive matching) keeps the
old approximation and its ``basename`` warning.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.sigma import read_sigma
from backends.sigma.emit import emit_sigma
from backends.spl import read_spl
from ir.errors import RuleglotError
from ir.events import Event
from ir.nodes import And, Filter, Kind, LogSource, Pattern, Predicate, Rule, Wildcard
from translator.api import compile_rules

SYSMON = "Microsoft-Windows-Sysmon/Operational"
SOURCE = Predicate("source", Kind.EQ, f"XmlWinEventLog:{SYSMON}")


def _deciders(rule: Rule) -> tuple[Any, Any, str]:
    """The search as the evaluator reads it through Splunk's field profile, and its strict
    Sigma translation read back (run on every event: the log source is not under test)."""
    text = emit_sigma(rule).yaml
    (spl,) = compile_rules([rule], "none", fields="splunk_windows_xml")
    (back,) = read_sigma(text)
    (sigma,) = compile_rules([back], "none", fields="none")
    return (lambda f: spl.matches(Event(f))), (lambda f: sigma.matches(Event(f))), text


def _event(**fields: Any) -> dict[str, Any]:
    return {"Channel": SYSMON, "EventID": 1, **fields}


PATHS = [
    "C:\\Windows\\System32\\cmd.exe", "cmd.exe", "/usr/bin/cmd.exe", "C:\\x\\notcmd.exe",
    "C:\\cmd.exe\\x.exe", "C:\\X\\CMD.EXE", "C:\\x\\cmd.exe ", "C:\\x\\cmd.exe\n", "",
]  # fmt: skip


@pytest.mark.parametrize(
    "search",
    [
        "process_name=cmd.exe",
        "process_name=CMD.exe",
        "process_name=*md.exe",
        "process_name=cmd*",
        "process_name=*md*",
        "process_name=c*d.exe",
        'process_name IN ("cmd.exe", "notcmd.exe")',
        "NOT process_name=cmd.exe",
        "file_name=*.exe",
        "parent_process_name=cmd.exe",
    ],
)
def test_file_name_is_exact_on_real_shapes(search: str) -> None:
    """security_content's shapes (``process_name=x``, ``IN (...)``, wildcards): no warning,
    and every event (bare names, other folders, the other separator, a trailing space or
    newline, ``Image`` missing so that ``NewProcessName`` decides) decided alike."""
    (rule,) = read_spl(f'source="XmlWinEventLog:{SYSMON}" {search}')
    result = emit_sigma(rule, lossy=True)
    assert result.warnings == []
    spl, sigma, text = _deciders(rule)
    events = [_event(Image=p, TargetFilename=p, ParentImage=p) for p in PATHS]
    events += [_event(NewProcessName=p, ParentProcessName=p) for p in PATHS]
    events += [_event(Image=None, NewProcessName=p) for p in PATHS]
    hits = 0
    for fields in events:
        verdict = spl(fields)
        hits += verdict
        assert sigma(fields) == verdict, f"{text}\non {fields!r}"
    assert 0 < hits < len(events)


def test_a_bare_name_and_the_other_separator_match() -> None:
    """What the old ``Image|endswith: '\\\\cmd.exe'`` missed: a bare name, a ``/`` path."""
    (rule,) = read_spl(f'source="XmlWinEventLog:{SYSMON}" process_name=cmd.exe')
    _, sigma, text = _deciders(rule)
    assert sigma(_event(Image="cmd.exe")) and sigma(_event(Image="/opt/cmd.exe"))
    assert not sigma(_event(Image="C:\\x\\notcmd.exe"))
    assert yaml.safe_load(text)["logsource"] == {"product": "windows", "service": "sysmon"}


def test_no_exact_form_keeps_the_warning() -> None:
    """A non-ASCII letter in a wildcard pattern: ``re``'s case folding is not the
    evaluator's (ir.extractions.Inexact); lossy names it, strict refuses it."""
    (rule,) = read_spl(f'source="XmlWinEventLog:{SYSMON}" process_name=é*.exe')
    assert [w["construct"] for w in emit_sigma(rule, lossy=True).warnings] == ["basename"]
    with pytest.raises(RuleglotError) as caught:
        emit_sigma(rule)
    assert caught.value.construct == "basename"


_TEXT = st.text(alphabet=["a", "i", "I", "s", "S", "ſ", "ı", ".", "\\", "/", " "], max_size=6)
_KINDS = [Kind.EQ, Kind.STARTSWITH, Kind.ENDSWITH, Kind.CONTAINS, Kind.WILDCARD]


@st.composite
def _file_name_predicates(draw: st.DrawFn) -> Predicate:
    kind = draw(st.sampled_from(_KINDS))
    field = draw(st.sampled_from(["process_name", "file_name"]))
    cased = draw(st.booleans())
    if kind is Kind.WILDCARD:
        parts = draw(st.lists(st.one_of(_TEXT.filter(bool), st.sampled_from(list(Wildcard))),
                              min_size=1, max_size=4))  # fmt: skip
        return Predicate(field, kind, Pattern(tuple(parts)), cased)
    return Predicate(field, kind, draw(_TEXT), cased)


@settings(max_examples=150, deadline=None)
@given(p=_file_name_predicates(), paths=st.lists(_TEXT, min_size=1, max_size=6),
       negate=st.booleans())  # fmt: skip
def test_file_name_translation_decides_like_the_search(
    p: Predicate, paths: list[str], negate: bool
) -> None:
    """Any eq/startswith/endswith/contains/wildcard on a file name, cased or not, over paths
    of separators, spaces and the letters whose case folding differs (``ı``, ``ſ``): the
    strict translation, when it is written, decides every event as the search does."""
    from ir.nodes import Not

    leaf = Not(p) if negate else p
    rule = Rule("p", (Filter(And((SOURCE, leaf))),), LogSource(), language="spl")
    try:
        spl, sigma, text = _deciders(rule)
    except RuleglotError as err:
        assert err.construct == "basename"  # only what invert calls Inexact
        return
    for path in paths:
        for fields in (_event(Image=path, TargetFilename=path), _event(NewProcessName=path)):
            assert sigma(fields) == spl(fields), f"{text}\non {fields!r}"


def test_an_anchored_regex_on_a_file_name_is_dropped_not_written_on_the_path() -> None:
    """``regex process_name="^cmd"``: ``^`` on the whole path (it starts with the drive)
    matches no event the search matches (:func:`ir.extractions.invert` has no nearest form).
    The lossy translation drops the test, reported, as the data-model path does, so it still
    matches the search's events (wider), instead of writing ``Image|re: ^cmd``."""
    (rule,) = read_spl(f'source="XmlWinEventLog:{SYSMON}" EventCode=1 | regex process_name="^cmd"')
    result = emit_sigma(rule, lossy=True)
    (warning,) = result.warnings
    assert warning["construct"] == "basename" and "dropped" in warning["message"]
    assert "|re" not in result.yaml
    (spl,) = compile_rules([rule], "none", fields="splunk_windows_xml")
    (back,) = read_sigma(result.yaml)
    (sigma,) = compile_rules([back], "none", fields="none")
    for path in ("C:\\Windows\\System32\\cmd.exe", "/usr/bin/cmdx"):
        event = Event(_event(Image=path))
        assert spl.matches(event) and sigma.matches(event)
    assert not sigma.matches(Event(_event(Image=None)))  # the file name still has a value
