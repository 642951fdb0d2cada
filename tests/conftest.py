"""Shared fixtures: the loopback HTTP farm and paths to the real-world test material."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.farm import Farm

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
SEED = SHARED / "seed" / "hamas-damascus.txt"


@pytest.fixture
def farm() -> Iterator[Farm]:
    with Farm() as f:
        yield f
