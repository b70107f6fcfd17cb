"""An independent, per-signature implementation of the reference characteristic direction.

A direct transcription of the Ma'ayan lab ``chdir`` function (genes x samples,
sklearn-style PCA written out with numpy's SVD, the full ``dd`` matrix and its
inverse), used as the oracle in tests and in bench/bench_cd.py. Deliberately
shares no code with signatures.cd.
"""

import numpy as np


def chdir_reference(data: np.ndarray, sampleclass: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """data: (genes, samples); sampleclass: 1 = control, 2 = treated, 0 = not used.

    Returns b (genes,), unit length, b > 0 = higher in treated.
    """
    sampleclass = np.asarray(sampleclass)
    used = sampleclass != 0
    data = np.asarray(data, dtype=np.float64)[:, used]
    m1 = sampleclass[used] == 1
    m2 = sampleclass[used] == 2
    # scipy.stats.zscore(data) with its default axis=0, ddof=0: each sample across genes.
    data = (data - data.mean(axis=0)) / data.std(axis=0)
    meanvec = data[:, m2].mean(axis=1) - data[:, m1].mean(axis=1)
    # PCA(n_components=None).fit(data.T): centre each gene, SVD.
    samples = data.T
    centred = samples - samples.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    explained_variance_ratio = s**2 / np.sum(s**2)
    keep_pc = int(np.sum(explained_variance_ratio > 0.001))
    v = vt[:keep_pc].T  # (genes, k)
    r = centred @ v  # pca.transform(data.T)[:, :keep_pc]
    n = samples.shape[0]
    dd = (r.T @ r) / (n - 2)
    sigma = np.mean(np.diag(dd))
    shrunk = np.linalg.inv(gamma * dd + sigma * (1 - gamma) * np.eye(keep_pc))
    b = v @ (shrunk @ (v.T @ meanvec))
    return b / np.linalg.norm(b)
