"""Where the shared real-file fixtures live: `<repo>/../shared/fixtures` (absent in some checkouts).

A developer's checkout without them skips the tests that read them; in CI
(`CI=true`) a missing fixture fails the test, so a CI run can never pass
without having read the real files.
"""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / ".." / "shared" / "fixtures"


def fixture_path(relative: str) -> Path:
    """The fixture's path; when it is missing, a failure in CI and a skip elsewhere."""
    path = FIXTURES / relative
    if not path.exists():
        message = f"shared fixture {relative} not present at {FIXTURES.resolve()}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}: CI must run with ../shared beside the checkout.")
        pytest.skip(message)
    return path
