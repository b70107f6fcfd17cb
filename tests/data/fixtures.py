"""Where the shared real-file fixtures live: `<repo>/../shared/fixtures` (absent in some checkouts)."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / ".." / "shared" / "fixtures"


def fixture_path(relative: str) -> Path:
    """The fixture's path, or skip the test cleanly when the shared folder is not there."""
    path = FIXTURES / relative
    if not path.exists():
        pytest.skip(f"shared fixture {relative} not present at {FIXTURES}")
    return path
