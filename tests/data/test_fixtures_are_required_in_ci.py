"""In CI a missing real-file fixture is a failure, never a silent skip."""

import pytest

from tests.data.fixtures import fixture_path


def test_a_missing_fixture_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="shared fixture no/such.gctx not present.*CI must run with ../shared"):
        fixture_path("no/such.gctx")


def test_a_missing_fixture_skips_elsewhere(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="shared fixture no/such.gctx not present"):
        fixture_path("no/such.gctx")
