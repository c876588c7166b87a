"""Fuzzing as tests (issue 21): mutated Sigma YAML, SPL, macro files, IR JSON and events fed
to the readers and the CLI give only ruleglot errors, positioned inside the input, in bounded
time; and a mutated sample of the shared corpus does the same in CI.

Mutations are the byte-level kind fuzzers use (delete, duplicate, insert a token that means
something to YAML, SPL or JSON, swap two lines), applied to real rules, so most mutants are
nearly valid and reach deep into the readers."""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.spl.macros import MacroTable
from ir import serialize
from ir.errors import RuleglotError
from ir.evaluator import compile_rule
from ir.logsources import NO_PROFILE
from translator import api
from translator.cli import main
from translator.inputs import read_events

from .conftest import shared

SIGMA = """title: Suspicious Encoded PowerShell
id: 5b0e4f3c-6d6f-4c1c-9b0a-000000000001
status: test
description: "multi\\nline"
references:
    - https://example.com/a
tags:
    - attack.execution
    - attack.t1059.001
logsource:
    product: windows
    category: process_creation
detection:
    selection_img:
        Image|endswith:
            - '\\\\powershell.exe'
            - '\\\\pwsh.exe'
    selection_cli:
        CommandLine|contains|all:
            - ' -e'
            - 'JAB'
        CommandLine|re: '(?i)-enc(odedcommand)?\\s+[a-z0-9+/=]{20,}'
    filter:
        ParentImage|startswith: 'C:\\\\Program Files\\\\'
        User|cidr: 10.0.0.0/8
    keywords:
        - 'Invoke-*Expression'
    condition: all of selection_* and not filter or 1 of keywords
level: high
"""

SPL = (
    'index=main sourcetype=XmlWinEventLog EventCode=1 (Image="*\\\\powershell.exe" OR '
    'CommandLine="* -enc *") NOT User=SYSTEM | rex field=CommandLine "-enc\\s+(?<b64>\\S+)" '
    '| eval len=len(b64), m=if(match(b64, "^[A-Za-z0-9+/=]+$"), 1, 0) | where len > 20 '
    '| stats count min(_time) as first by host, User | `security_content_ctime(first)` '
    "| `my_filter`\n"
)

MACRO = (
    'name: security_content_ctime\ndefinition: convert timeformat="%Y-%m-%dT%H:%M:%S" '
    "ctime($field$)\narguments:\n  - field\n"
)

EVENT = json.dumps({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                    "Image": "C:\\Windows\\powershell.exe", "CommandLine": "x -enc JABAB",
                    "User": "a", "Nested": {"k": [1, 2.5, None, True]}})

#: Tokens that mean something to YAML, SPL, JSON or ruleglot's readers.
TOKENS = [
    "\n", "  ", "\t", ":", "- ", "|", "*", "?", "\\", '"', "'", "`", "&a", "*a", "!!python/none",
    "{", "}", "[", "]", "(", ")", ",", "#", "%", "$", "=", "!=", "NOT ", " OR ", " AND ", "|re",
    "|contains", "|all", "|base64offset", "|cidr", "|expand", "|windash", "|exists", "null",
    "~", "1 of ", "all of ", "them", "\ufeff", "\x00", "é", "\u2028", "9" * 30, "-1e999",
    '{"node": "Nonsense"}', "[[[[[[[[", "(a+)+$", "eval x=", "| stats ", "| where ", "| rex ",
    "| regex ", "| lookup ", "| tstats ", "`undefined`", "$arg$", "\r\n", "---\n", "...\n",
]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            text = draw(st.sampled_from(TOKENS))
            continue
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "insert", "duplicate", "swap", "truncate"]))
        if action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)):]
        elif action == "insert":
            token = draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)))
            text = text[:at] + token + text[at:]
        elif action == "duplicate":
            end = min(len(text), at + draw(st.integers(1, 40)))
            text = text[:end] + text[at:end] + text[end:]
        elif action == "swap":
            lines = text.split("\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        else:
            text = text[:at]
    return text


def _positioned_inside(err: RuleglotError, text: str) -> None:
    assert err.category in ("syntax", "invalid", "unsupported", "io", "events")
    if err.line is not None:
        assert 1 <= err.line <= text.count("\n") + 2, (err, err.line)
        if err.col is not None:
            assert err.col >= 1


def _read_and_use(text: str, read: str, **options) -> None:
    """Read ``text``, then write and compile what was read: only ruleglot errors."""
    start = time.perf_counter()
    try:
        for rule in api.parse(text, read, "fuzz", **options):
            for write in ("sigma", "spl", "ir"):
                try:
                    api.emit_translation(rule, write, lossy=True)
                except RuleglotError as err:
                    assert err.category in ("unsupported", "invalid"), err
            with contextlib.suppress(RuleglotError):
                compile_rule(rule, NO_PROFILE)
    except RuleglotError as err:
        _positioned_inside(err, text)
    assert time.perf_counter() - start < 10


#: examples per property; ``RULEGLOT_FUZZ_EXAMPLES=5000`` for a fuzzing campaign
EXAMPLES = int(os.environ.get("RULEGLOT_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@FUZZ
@given(mutated(SIGMA))
def test_mutated_sigma_gives_only_ruleglot_errors(text: str) -> None:
    _read_and_use(text, "sigma")


@FUZZ
@given(mutated(SPL))
def test_mutated_spl_gives_only_ruleglot_errors(text: str) -> None:
    _read_and_use(text, "spl", macros=MacroTable.from_dict({}), undefined_macros="empty")


@FUZZ
@given(mutated(MACRO), mutated(SPL))
def test_mutated_macro_files_give_only_ruleglot_errors(macro: str, search: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "m.yml").write_text(macro, encoding="utf-8", errors="surrogatepass")
        table = MacroTable.from_folder(folder)
    for err in table.errors:
        assert err.path is not None and err.path.endswith("m.yml")
    _read_and_use(search, "spl", macros=table, undefined_macros="empty")


_IR = serialize.dumps(api.parse(SIGMA, "sigma", "seed.yml")[0])


@FUZZ
@given(mutated(_IR))
def test_mutated_ir_json_gives_only_ruleglot_errors(text: str) -> None:
    _read_and_use(text, "ir")


@FUZZ
@given(st.lists(mutated(EVENT), min_size=1, max_size=4))
def test_mutated_events_give_events_or_positioned_errors(lines: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "events.jsonl")
        path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
        for item in read_events(path):
            if isinstance(item, RuleglotError):
                assert item.category == "events" and item.line is not None
                assert item.line <= len("\n".join(lines).split("\n"))


@settings(max_examples=max(15, EXAMPLES // 4), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated(SIGMA))
def test_the_cli_never_shows_a_traceback(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        rule = Path(folder, "rule.yml")
        rule.write_text(text, encoding="utf-8", errors="surrogatepass")
        for args in (["translate", str(rule), "--to", "spl"], ["explain", str(rule)],
                     ["check", str(rule), "--no-generated"]):
            result = CliRunner().invoke(main, args)
            assert not (result.exception and not isinstance(result.exception, SystemExit)), (
                args, result.exception)
            assert result.exit_code in (0, 1, 2), (args, result.output)


def test_mutated_shared_corpus_gives_only_ruleglot_errors() -> None:
    """Every 25th SigmaHQ rule and security_content detection, each mutated three ways with a
    fixed seed: CI meets the shapes real rules have, broken."""
    root = shared()
    rng = random.Random(21)
    files = sorted((root / "sigma" / "rules").rglob("*.yml"))[::25]
    spl_files = sorted((root / "spl" / "detections").rglob("*.yml"))[::25]
    macros = MacroTable.from_folder(root / "spl" / "macros")
    tried = 0
    start = time.perf_counter()
    for read, paths in (("sigma", files), ("spl", spl_files)):
        for path in paths:
            text = path.read_text(encoding="utf-8")
            for _ in range(3):
                at = rng.randrange(len(text) + 1)
                token = rng.choice(TOKENS)
                mutant = rng.choice([
                    text[:at] + token + text[at:],
                    text[:at] + text[at + rng.randint(1, 20):],
                    text[:at],
                ])
                options = {"macros": macros, "undefined_macros": "empty"} if read == "spl" else {}
                _read_and_use(mutant, read, **options)
                tried += 1
    assert tried > 300
    assert time.perf_counter() - start < 300
