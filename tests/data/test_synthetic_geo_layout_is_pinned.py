"""The GEO layout of the synthetic world stays what it was for a seed: the tests and the demo depend on its values.

Checksums of the tiny world of seed 0 (written before the lincs2020 layout
existed): its text files byte for byte; its HDF5 files by their arrays, not
the HDF5 library's own bytes, which may differ between versions. Every
dataset but the expression matrix is pinned exactly. The matrices come from
float32 matrix products and exp2 in OpenBLAS and numpy kernels chosen for the
CPU and the thread count at run time (AVX-512 or AVX2, one thread or two),
which round differently in the last bits, and a Poisson count next to such a
value may come out one apart: each matrix is pinned by its shape, mean,
standard deviation, quantiles and first rows' and columns' means, to within
what those roundings move (a change of the generator moves them far more).
"""

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np

GEO_KEYS = [
    "size", "seed", "gene_info", "ncbi_gene_info", "inst_info", "l1000", "truth", "archs4", "gtex_l1000", "gtex_rnaseq",
    "landmark_entrez_ids", "output_entrez_ids",
]

TEXT_SHA256 = {
    "inst_info": "ca6840d779c0e6b8d0e402d26d842a201e767f96bc8e8aa24098c96336edaf23",
    "gene_info": "3cc656469ff06fbe7127e597e2f737f218191d527a8d8eb18dc1e4eb1c170c50",
    "ncbi_gene_info": "2e89db3ac73490a7d96bc1823aa20a4ff51f37adcae30d7993cc456a47a7c77e",
    "truth": "e99d43bb9ce6b69a903a460a7fdb256532097619ef6fb136497a7602c07fc027",
}
MATRIX = {"l1000": "0/DATA/0/matrix", "archs4": "data/expression", "gtex_l1000": "0/DATA/0/matrix", "gtex_rnaseq": "0/DATA/0/matrix"}
OTHER_DATASETS_SHA256 = {
    "l1000": "abf5a513bcd4523ff7a0c0b045e3de49f177e02ef8cb9493ba6b614093bf1e19",
    "archs4": "657b35a4c06c228716d47456c26d1bdd71f9676b05bcdfab98f7722cb6d05915",
    "gtex_l1000": "7a77b1a3a80fbdcb5729dcad40fb5787a5b6fb07b384427171dbeec7b645f1ee",
    "gtex_rnaseq": "74c929082f12d161d43f602a219c42f374865bafd6bdccf8ae1723c7c76e4693",
}
# shape, mean, std, quantiles (1, 25, 50, 75, 99 %), means of the first 4 rows, of the first 4 columns
MATRIX_SUMMARY = {
    "l1000": ((414, 200), 9.021765, 2.149804, [3.7106, 7.6663, 9.0675, 10.4898, 13.7833], [8.6119, 8.6479, 8.5833, 8.688], [7.4057, 10.7858, 8.0693, 8.9737]),
    "archs4": ((630, 400), 807.29003, 8445.4955, [0.0, 14.0, 58.0, 223.0, 10947.03], [337.455, 238.2775, 205.48, 457.54], [1205.0286, 385.8333, 1234.1762, 672.7619]),
    "gtex_l1000": ((120, 100), 8.986176, 2.188734, [3.6694, 7.6347, 9.0515, 10.46, 13.7302], [9.0271, 9.0872, 9.1447, 9.0493], [7.9441, 10.6999, 12.3643, 6.6886]),
    "gtex_rnaseq": ((120, 600), 5.94873, 2.977505, [0.0, 4.0, 5.9069, 7.8265, 13.4576], [5.6869, 5.7191, 5.5879, 5.7149], [6.0295, 8.6572, 8.8084, 4.4479]),
}


def _read(path, matrix: str) -> tuple[str, np.ndarray]:
    """(sha256 of every dataset but `matrix`, by name, as raw bytes; the matrix as float64)."""
    digest = hashlib.sha256()
    with h5py.File(path, "r") as h5:
        names = []
        h5.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        for name in sorted(names):
            if name != matrix:
                digest.update(name.encode())
                digest.update(np.ascontiguousarray(h5[name][()]).tobytes())
        return digest.hexdigest(), h5[matrix][()].astype(np.float64)


def test_the_geo_manifest_has_no_new_keys(tiny_world):
    assert list(tiny_world) == GEO_KEYS
    assert list(json.loads((Path(tiny_world["l1000"]).parent / "manifest.json").read_text())) == GEO_KEYS


def test_the_geo_text_files_of_seed_0_are_unchanged(tiny_world):
    got = {key: hashlib.sha256(Path(tiny_world[key]).read_bytes()).hexdigest() for key in TEXT_SHA256}
    assert got == TEXT_SHA256


def test_the_geo_matrices_of_seed_0_are_unchanged(tiny_world):
    for key, matrix in MATRIX.items():
        others, x = _read(tiny_world[key], matrix)
        assert others == OTHER_DATASETS_SHA256[key], key
        shape, mean, std, quantiles, row_means, col_means = MATRIX_SUMMARY[key]
        assert x.shape == shape, key
        np.testing.assert_allclose([x.mean(), x.std()], [mean, std], rtol=1e-6, err_msg=key)
        np.testing.assert_allclose(np.quantile(x, [0.01, 0.25, 0.5, 0.75, 0.99]), quantiles, rtol=1e-5, atol=1e-4, err_msg=key)
        np.testing.assert_allclose(x[:4].mean(axis=1), row_means, rtol=1e-5, atol=5e-3, err_msg=key)
        np.testing.assert_allclose(x[:, :4].mean(axis=0), col_means, rtol=1e-5, atol=5e-3, err_msg=key)
