"""On the real Level 3 fixture plate, batch CD agrees with the per-signature reference to 1e-6.

In `all` mode the reference's controls are picked here from the plate's own
metadata, independently of signatures.batches: every profile of the plate whose
pert_id differs from the signature's (its other doses are never controls).
"""

import numpy as np
import pytest

from signatures.batches import compute_batch, plan_batches
from tests.signatures.chdir_oracle import chdir_reference
from tests.signatures.fixture_plate import load_plate

TOLERANCE = 1e-6
N_CHECKED = 12  # oracle calls are a full SVD each; a spread of signatures keeps this test to seconds


@pytest.mark.parametrize("controls", ["all", "vehicle"])
def test_cd_of_the_fixture_plate_matches_the_reference(controls):
    matrix, meta = load_plate()
    plan = plan_batches(meta, controls=controls, min_replicates=1)
    assert plan.n_signatures == 351  # 328 trt_cp + 23 trt_poscon wells, each its own group
    batch = plan.batches[0]
    X = matrix[batch.positions]
    cd, _ = compute_batch(X, batch)
    for i in np.linspace(0, len(batch.groups) - 1, N_CHECKED).astype(int):
        cls = np.zeros(len(batch.positions), dtype=int)
        if batch.control_positions is None:
            pert_ids = meta["pert_id"].astype(str).to_numpy()[batch.positions]
            cls[pert_ids != batch.groups[i].pert_id] = 1
            assert (pert_ids == batch.groups[i].pert_id).sum() >= len(batch.groups[i].positions)
        else:
            cls[np.searchsorted(batch.positions, batch.control_positions)] = 1
        cls[np.searchsorted(batch.positions, batch.groups[i].positions)] = 2
        expected = chdir_reference(X.T, cls)
        np.testing.assert_allclose(cd[i], expected, rtol=0, atol=TOLERANCE, err_msg=batch.groups[i].sig_id)
