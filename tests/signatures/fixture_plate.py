"""The real L1000 Level 3 plate from the shared fixtures, as signatures see it (skips when absent)."""

from functools import lru_cache
from pathlib import Path

import pytest

PLATE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "cmapPy_tests" / "test_l1000.gct"


@lru_cache(maxsize=1)
def _read():
    from conversion.formats.gct import read_gct

    return read_gct(PLATE)


def load_plate():
    """(matrix (377, 978), col_meta with an inst_id column) or a skip."""
    if not PLATE.exists():
        pytest.skip(f"fixture plate {PLATE} is not present")
    matrix, _, col_ids, _, col_meta = _read()
    meta = col_meta.loc[list(col_ids)].reset_index(names="inst_id")
    return matrix, meta
