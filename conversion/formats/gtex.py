"""The GTEx paired set (GEO GSE92743): the same samples measured by L1000 and by RNA-seq.

Two GCTX files, one per platform, whose column ids name the same samples
(possibly in different orders and with unpaired extras). Pairs are matched
by sample id.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from conversion.formats import open_matrix
from conversion.formats.errors import FormatError


@dataclass
class PairedSet:
    sample_ids: np.ndarray  # (n,)
    l1000: np.ndarray  # (n, genes_l1000) float32
    l1000_gene_ids: np.ndarray  # row ids of the L1000 file (Entrez ids as str)
    rnaseq: np.ndarray  # (n, genes_rna) float32
    rnaseq_gene_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.sample_ids)


def read_paired(l1000_path, rnaseq_path, *, l1000_rows=None, rnaseq_rows=None) -> PairedSet:
    """Read both files and keep the samples present in both, in the L1000 file's order."""
    with open_matrix(l1000_path) as lr, open_matrix(rnaseq_path) as rr:
        common = np.intersect1d(lr.col_ids, rr.col_ids)
        if len(common) == 0:
            raise FormatError(
                f"GTEx paired set: expected sample ids shared by {Path(l1000_path).name} and {Path(rnaseq_path).name}, found none "
                f"(e.g. {str(lr.col_ids[0])!r} vs {str(rr.col_ids[0])!r}).",
                path=l1000_path,
            )
        l_pos = {s: i for i, s in enumerate(lr.col_ids)}
        r_pos = {s: i for i, s in enumerate(rr.col_ids)}
        ordered = [s for s in lr.col_ids if s in r_pos]
        l1000 = lr.read(cols=[l_pos[s] for s in ordered], rows=l1000_rows)
        rnaseq = rr.read(cols=[r_pos[s] for s in ordered], rows=rnaseq_rows)
        l_genes = lr.row_ids if l1000_rows is None else lr.row_ids[np.asarray(l1000_rows)]
        r_genes = rr.row_ids if rnaseq_rows is None else rr.row_ids[np.asarray(rnaseq_rows)]
    return PairedSet(np.asarray(ordered, dtype=object), l1000, np.asarray(l_genes), rnaseq, np.asarray(r_genes))
