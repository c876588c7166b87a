"""ruleglot's own expectation cases: every ``corpus/cases/**/*.yml`` file must hold as written.

Each file is data (a Sigma rule and events with the verdict the specification gives them, or the
error the rule must be refused with, or an SPL search and the result rows it must return);
:func:`translator.cases.run_own_case` runs it through the same path as ``ruleglot eval``. One
test per file, so a failure names the case.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from translator.cases import run_own_case

CASES_DIR = Path(__file__).parent.parent / "corpus" / "cases"
CASE_FILES = sorted(CASES_DIR.rglob("*.yml"))


def test_cases_exist() -> None:
    assert CASE_FILES, f"no case files in {CASES_DIR}"


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case(path: Path) -> None:
    result = run_own_case(path)
    assert result.ok, f"{path.name}: {result.detail}"


def test_the_readme_main_job_passes_on_the_bundled_cases() -> None:
    """The README's first command runs ``ruleglot eval --cases corpus/cases``: every file of
    every kind there must load and hold (it once crashed on the SPL case's format)."""
    from click.testing import CliRunner

    from translator.cli import main

    result = CliRunner().invoke(main, ["eval", "--cases", str(CASES_DIR)])
    assert result.exit_code == 0, result.output
    assert f"cases: {len(CASE_FILES)} passed, 0 failed, 0 error(s)" in result.output
