"""Shared test settings: where ../shared/corpus is, and hypothesis profiles.

Tests that read the shared corpus skip with a message when it is absent (a fresh clone without
``../shared``); CI always has it. ``HYPOTHESIS_PROFILE=thorough`` (set when ``CI`` is) runs more
examples than the default ``fast`` profile.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from .browser import CHROMIUM_ARGS, ensure_chromium

ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPUS = Path(os.environ.get("RULEGLOT_SHARED_CORPUS", ROOT.parent / "shared" / "corpus"))

settings.register_profile("fast", max_examples=100, deadline=None)
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "thorough" if os.environ.get("CI") else "fast")
)


def shared(*parts: str) -> Path:
    """A path inside ../shared/corpus, skipping the test when it is not there."""
    path = SHARED_CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared corpus not found at {path} (set RULEGLOT_SHARED_CORPUS)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium (:mod:`tests.browser`), one per test module; skips without Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = ensure_chromium()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(executable), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh desktop-sized page of the shared browser."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()
