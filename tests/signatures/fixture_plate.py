"""The real L1000 Level 3 plate from the shared fixtures, as signatures see it (skipped when absent, failed in CI)."""

from functools import lru_cache

from tests.data.fixtures import fixture_path

PLATE_FIXTURE = "cmapPy_tests/test_l1000.gct"


@lru_cache(maxsize=1)
def _read():
    from conversion.formats.gct import read_gct

    return read_gct(fixture_path(PLATE_FIXTURE))


def load_plate():
    """(matrix (377, 978), col_meta with an inst_id column); skipped or failed as fixture_path says."""
    fixture_path(PLATE_FIXTURE)
    matrix, _, col_ids, _, col_meta = _read()
    meta = col_meta.loc[list(col_ids)].reset_index(names="inst_id")
    return matrix, meta
