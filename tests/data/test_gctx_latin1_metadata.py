"""Latin-1 bytes in CMap metadata (a 0xB5 micro sign in pert_idose) decode without crashing."""

import h5py
import numpy as np

from conversion.formats.gctx import GctxReader


def test_latin1_micro_sign_in_metadata_is_decoded_as_latin1(tmp_path):
    path = tmp_path / "latin1.gctx"
    with h5py.File(path, "w") as h5:
        h5.attrs["version"] = np.bytes_("GCTX1.0")
        h5["0/DATA/0/matrix"] = np.zeros((2, 3), dtype=np.float32)
        h5["0/META/ROW/id"] = np.array([b"1", b"2", b"3"])
        h5["0/META/COL/id"] = np.array([b"a", b"b"])
        h5["0/META/COL/pert_idose"] = np.array([b"10 \xb5M", b"-666"])
    with GctxReader(path) as r:
        assert r.col_meta["pert_idose"].iloc[0] == "10 \u00b5M"
        assert r.col_meta["pert_idose"].isna().iloc[1]
