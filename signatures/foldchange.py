"""Log2 fold change per treatment group: mean(treated) - mean(controls) on the log2 scale.

Imports numpy only. Shapes follow signatures.cd: X is (n_samples, n_genes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def log2_fold_change_batch(
    X: np.ndarray, groups: Sequence[Sequence[int]], *, controls: Sequence[int] | None = None, group_controls: Sequence[Sequence[int]] | None = None
) -> np.ndarray:
    """(n_groups, n_genes) float32: mean of each group's rows minus the mean of its controls.

    controls: None compares each group with every other row of X; otherwise the
    shared control rows. group_controls: instead, each group's own control rows
    (as signatures.cd takes them).
    Values are expected on the log2 scale already, so a difference of means is
    the log2 fold change.
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    total = X.sum(axis=0)  # (genes,)
    control_mean = None if controls is None else X[np.asarray(controls, dtype=np.int64)].mean(axis=0)
    out = np.empty((len(groups), X.shape[1]), dtype=np.float32)
    for i, g in enumerate(groups):
        g = np.asarray(g, dtype=np.int64)
        treated_sum = X[g].sum(axis=0)
        if group_controls is not None:
            own = np.asarray(group_controls[i], dtype=np.int64)
            if len(own) == 0:
                raise ValueError(f"group {i} has no controls to compare with.")
            out[i] = treated_sum / len(g) - X[own].mean(axis=0)
        elif control_mean is None:
            if len(g) >= n:
                raise ValueError(f"group {i} holds every row of the batch; there are no controls to compare with.")
            out[i] = treated_sum / len(g) - (total - treated_sum) / (n - len(g))
        else:
            out[i] = treated_sum / len(g) - control_mean
    return out
