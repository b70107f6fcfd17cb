"""The GEO layout of the synthetic world stays what it was for a seed: the tests and the demo depend on its values.

Checksums of the tiny world of seed 0 (written before the lincs2020 layout
existed): its text files byte for byte, its HDF5 files by their arrays (the
HDF5 library's own bytes may differ between versions; the values may not).
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
ARRAYS_SHA256 = {
    "l1000": "86dc099f8542fe70d7e7cad61cb94991583b587c318ea96ecd988a8d38ee71d1",
    "archs4": "3dda697992ee1ad11c3cfb472d040f7ab1931a2d4d604bd9899ec88a94f63683",
    "gtex_l1000": "6c54531d58bb72354e5f5b601a4e21a5b60f39e2ac35e28c7f4e4b29f48830e0",
    "gtex_rnaseq": "0833ba001ffef8c9acff5c206181d81c80b11ef4e483cb0d4b17a0960834f90d",
}


def _sha256_of_arrays(path) -> str:
    """Every dataset of an HDF5 file, by name, as its raw bytes."""
    digest = hashlib.sha256()
    with h5py.File(path, "r") as h5:
        names = []
        h5.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        for name in sorted(names):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(h5[name][()]).tobytes())
    return digest.hexdigest()


def test_the_geo_manifest_has_no_new_keys(tiny_world):
    assert list(tiny_world) == GEO_KEYS
    assert list(json.loads((Path(tiny_world["l1000"]).parent / "manifest.json").read_text())) == GEO_KEYS


def test_the_geo_text_files_of_seed_0_are_unchanged(tiny_world):
    got = {key: hashlib.sha256(Path(tiny_world[key]).read_bytes()).hexdigest() for key in TEXT_SHA256}
    assert got == TEXT_SHA256


def test_the_geo_matrices_of_seed_0_are_unchanged(tiny_world):
    got = {key: _sha256_of_arrays(tiny_world[key]) for key in ARRAYS_SHA256}
    assert got == ARRAYS_SHA256
