"""Readers and writers for the file formats l1kweb consumes and produces.

Plain numpy/pandas/h5py code without Django. Matrices are always
(samples, genes) = (GCTX columns, GCTX rows), float32, matching the HDF5
layout of `/0/DATA/0/matrix`.
"""

from pathlib import Path

from conversion.formats.errors import FormatError, MissingGenesError

__all__ = ["FormatError", "MissingGenesError", "open_matrix"]


def open_matrix(path):
    """Open a GCTX (HDF5) or GCT (text) file, or a dataset manifest, as a reader with the GctxReader interface.

    The format is decided by the file's first bytes, not its name, so a GCTX
    saved as `.h5` or a GCT saved as `.txt` opens the same way. A JSON file is
    a dataset manifest (conversion.formats.multi): its member files' columns
    read as one matrix.
    """
    from conversion.formats.gct import GctReader
    from conversion.formats.gctx import GctxReader
    from conversion.formats.multi import is_manifest, open_manifest

    path = Path(path)
    if not path.exists():
        raise FormatError(f"Matrix file {path} does not exist.", path=path)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head == b"\x89HDF\r\n\x1a\n":
        return GctxReader(path)
    if head.startswith(b"#1."):
        return GctReader(path)
    if is_manifest(path):
        return open_manifest(path)
    if path.suffix.lower() in (".gctx", ".h5", ".hdf5"):
        # Let the GCTX reader say that this is not HDF5 (e.g. truncated).
        return GctxReader(path)
    raise FormatError(
        # The file's bytes are not echoed: the message reaches forms and logs.
        f"Matrix file {path} is neither GCTX (HDF5) nor GCT text: expected an HDF5 signature or a '#1.2'/'#1.3' first line.",
        path=path,
    )
