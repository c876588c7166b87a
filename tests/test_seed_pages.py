"""The two seed catalog pages, rebuilt from their rule bodies: every table and row of the seed
pages is on ruleglot's page, with corpus counts over both shared corpora.

The seed pages (``../shared/seeds/*.txt``) are text copies of another catalog's pages; their
README lists what they get wrong, and this test holds ruleglot to the README, not to the errors:

* ``TERM`` listed as a bare search term is the indexed term inside ``TERM(...)``
  (``TERM(EventCode=4688)`` is the one term ``EventCode=4688``), and the seed's indicator row
  ``EventCode eq`` for it is that term on ``_raw``;
* values cut off on a seed page are matched as prefixes (an empty cell matches any value);
* kinds are the IR's: the Sigma page's ``match`` is ``contains`` (``|contains``), the SPL page's
  ``match`` and ``regex_match`` are ``regex`` (``match()`` and ``| regex``);
* the SPL seed lists a quoted search term with its quotes; the term is the text inside them;
* the SPL seed's title adds the search's data category to the rule's title;
* the SPL seed names the ``bin`` stage ``bucket`` (its alias); the Sigma seed splits the
  detection into condition and selections, which ruleglot shows as one filter stage whose text
  is the detection block.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from translator import api
from translator.catalog import count_indicators, load_rules
from translator.explain import Counts, RulePage, rule_page
from translator.pages import render_markdown

from .conftest import SHARED_CORPUS, shared

SEEDS = SHARED_CORPUS.parent / "seeds"
SIGMA_SEED = ("000_9bbe22fa5bdeae1d.txt", "psexec_execution_over_smb_share.yml", "sigma")
SPL_SEED = ("002_512ebc871449074d.txt", "impacket_psexec.yml", "spl")

SECTIONS = ("MITRE ATT&CK coverage", "Event coverage", "Exclusions", "Indicators", "Search terms")
#: (language, seed kind) -> the IR's kind; see the module docstring.
KINDS = {("sigma", "match"): "contains", ("spl", "match"): "regex", ("spl", "regex_match"): "regex"}


def seed(name: str) -> Path:
    path = SEEDS / name
    if not path.exists():
        pytest.skip(f"seed pages not found at {path}")
    return path


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", line)]


def _clean(cell: str) -> str:
    """A Markdown cell's text: code spans unwrapped, ``\\|`` unescaped."""
    cell = cell.strip()
    if cell.startswith("`") and cell.endswith("`"):
        cell = cell.strip("`").strip()
    return cell.replace("\\|", "|")


def _is_separator(line: str) -> bool:
    return "---" in line and set(line.strip()) <= {"|", "-"}


def tables(text: str) -> dict[str, list[list[str]]]:
    """Each section's table rows: the lines with a ``|`` after a header row and its ``|---|``
    line, up to the first line without one. Tolerates the seed pages' broken rows: a missing
    leading ``|``, a row cut off after its kind (its values on a line of its own, lost)."""
    out: dict[str, list[list[str]]] = {}
    section: str | None = None
    in_table = False
    lines = text.splitlines()
    for index, line in enumerate(lines):
        heading = line.lstrip("# ").strip()
        if heading in SECTIONS:
            section, in_table = heading, False
            continue
        if "|" not in line:
            in_table = False
            continue
        if _is_separator(line):
            continue
        if index + 1 < len(lines) and _is_separator(lines[index + 1]):
            in_table = section is not None  # a header row starts the section's table
            continue
        if in_table and section is not None:
            cells = [_clean(c) for c in _cells(line)]
            if any(cells):
                out.setdefault(section, []).append(cells)
    return out


def _load(seed_files: tuple[str, str, str], counts: Counts) -> tuple[str, RulePage, str]:
    page_name, body_name, language = seed_files
    body = seed(body_name)
    text = body.read_text(encoding="utf-8")
    options = {"undefined_macros": "empty"} if language == "spl" else {}
    (rule,) = api.parse(text, language, str(body), **options)
    page = rule_page(rule, text, str(body), counts)
    return seed(page_name).read_text(encoding="utf-8"), page, render_markdown(page)


@pytest.fixture(scope="module")
def corpus_counts() -> Counts:
    """Indicator counts over both shared corpora (the seed rules are in neither)."""
    loaded = load_rules([shared("sigma"), shared("spl", "detections")], jobs=2)
    assert len(loaded.entries) > 5000
    return Counts(count_indicators(e.rule for e in loaded.entries), includes_rule=False)


def _matches(seed_row: list[str], row: list[str]) -> bool:
    """Every seed cell is a prefix of ours (a cut-off value is a prefix of the whole one)."""
    return len(row) >= len(seed_row) and all(
        ours.startswith(theirs) for theirs, ours in zip(seed_row, row, strict=False)
    )


def _fix_seed_row(section: str, language: str, row: list[str]) -> Iterator[list[str]]:
    """The seed row as the README says it should read (see the module docstring)."""
    if section == "Indicators":
        field, kind, *rest = row + [""]
        if language == "spl" and (field, kind) == ("EventCode", "eq"):
            yield ["_raw", "term", "EventCode=" + rest[0]]
            return
        yield [field, KINDS.get((language, kind), kind), rest[0]]
    elif section == "Search terms":
        stage, term = row[0], row[1].strip('"')
        yield [stage, "", "TERM("] if term == "TERM" else [stage, term]
    else:
        yield row


def _our_row_matches(section: str, seed_row: list[str], ours: list[list[str]]) -> bool:
    if section == "Search terms" and seed_row[1:] == ["", "TERM("]:
        return any(r[0] == seed_row[0] and r[2].startswith("TERM(") for r in ours)
    return any(_matches(seed_row, r) for r in ours)


@pytest.mark.parametrize("seed_files", [SIGMA_SEED, SPL_SEED], ids=["sigma", "spl"])
def test_every_seed_table_row_is_on_our_page(seed_files, corpus_counts: Counts) -> None:
    seed_text, page, markdown = _load(seed_files, corpus_counts)
    language = seed_files[2]
    theirs, ours = tables(seed_text), tables(markdown)
    expected_sections = {"MITRE ATT&CK coverage", "Event coverage", "Indicators"}
    expected_sections |= {"Exclusions"} if language == "sigma" else {"Search terms"}
    assert set(theirs) == expected_sections  # the parser found every seed table...
    assert sum(map(len, theirs.values())) == {"sigma": 5, "spl": 13}[language]  # ...and row
    missing = []
    for section, rows in theirs.items():
        assert section in ours, f"no {section} table on our page"
        for row in rows:
            for fixed in _fix_seed_row(section, language, row):
                if not _our_row_matches(section, fixed, ours[section]):
                    missing.append((section, row, fixed))
    assert missing == []


@pytest.mark.parametrize("seed_files", [SIGMA_SEED, SPL_SEED], ids=["sigma", "spl"])
def test_title_description_body_and_stages(seed_files, corpus_counts: Counts) -> None:
    seed_text, page, markdown = _load(seed_files, corpus_counts)
    lines = seed_text.splitlines()
    # the title: the SPL seed adds the data category, "(Windows Event Log)", to the rule's own
    assert lines[1].startswith(page.title) and f"# {page.title}\n" in markdown
    assert lines[2] in markdown  # the description (the page's first sentence of it)
    body_lines = {line.strip() for line in page.body.splitlines()}
    start, end = lines.index("Rule body yaml") + 1, lines.index("Stages and Predicates")
    assert {line.strip() for line in lines[start:end]} <= body_lines
    stage_text = "\n".join(s.text for s in page.stages)
    if seed_files[2] == "spl":
        headings = [line for line in lines if re.match(r"Stage \d+: ", line)]
        ours = [f"Stage {s.number}: {s.command}" for s in page.stages]
        assert [h.replace("bucket", "bin") for h in headings] == ours
        stages_end = lines.index("Indicators")
        written = [line for line in lines[end + 1 : stages_end] if not line.startswith("Stage ")]
        assert len(written) == len(page.stages)
        for line in written:
            assert line in stage_text
    else:
        assert "condition: selection and not filter" in stage_text
        for line in ("EventID: 5145", "RelativeTargetName|contains: PSEXESVC", "filter:"):
            assert line in stage_text


def test_corpus_counts_come_from_the_shared_corpora(corpus_counts: Counts) -> None:
    _, page, _ = _load(SIGMA_SEED, corpus_counts)
    counts = {(r.field, r.kind, r.value): r.corpus for r in page.indicators}
    assert all(isinstance(n, int) for n in counts.values())
    # SigmaHQ has several rules on Security 5145 (detailed file share) events
    assert counts[("EventID", "eq", "5145")] >= 5
    _, spl_page, _ = _load(SPL_SEED, corpus_counts)
    assert all(isinstance(r.corpus, int) for r in spl_page.indicators)
