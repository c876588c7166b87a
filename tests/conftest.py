"""Shared test settings: where ../shared/corpus is, and hypothesis profiles.

Tests that read the shared corpus skip with a message when it is absent (a fresh clone without
``../shared``); CI always has it. ``HYPOTHESIS_PROFILE=thorough`` (set when ``CI`` is) runs more
examples than the default ``fast`` profile.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

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
