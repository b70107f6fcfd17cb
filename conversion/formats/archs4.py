"""ARCHS4 human gene-count HDF5 files (https://maayanlab.cloud/archs4).

Layout: `data/expression` (genes, samples) integer counts; gene symbols in
`meta/genes/symbol` (v2; `meta/genes/gene_symbol` in some releases, `meta/genes`
or `meta/genes/genes` in v1), Ensembl ids in `meta/genes/ensembl_gene` (or
`ensembl_gene_id`), sample fields under `meta/samples/*`. We hand out counts as
(samples, genes), like every other matrix here.
"""

from collections.abc import Iterator

import h5py
import numpy as np

from conversion.formats._common import Hdf5Reader, contiguous_runs, decode_text
from conversion.formats.errors import FormatError

EXPRESSION = "data/expression"
SYMBOL_FIELDS = ("meta/genes/symbol", "meta/genes/gene_symbol", "meta/genes/genes", "meta/genes")
ENSEMBL_FIELDS = ("meta/genes/ensembl_gene", "meta/genes/ensembl_gene_id")
SAMPLE_ID_FIELDS = ("meta/samples/geo_accession", "meta/Sample_geo_accession")


class Archs4Reader(Hdf5Reader):
    kind = "ARCHS4"

    def _open(self) -> None:
        h5 = self._h5
        if EXPRESSION not in h5:
            raise FormatError(f"ARCHS4 file {self.path}: expected dataset /{EXPRESSION}, found none.", path=self.path)
        self._expr = h5[EXPRESSION]
        n_genes, n_samples = self._expr.shape
        self.symbols = self._first_text(SYMBOL_FIELDS, n_genes, what="gene symbols")
        ens = self._first_text(ENSEMBL_FIELDS, n_genes, what="Ensembl ids", required=False)
        self.ensembl_ids = ens if ens is not None else np.array([""] * n_genes, dtype=object)
        ids = self._first_text(SAMPLE_ID_FIELDS, n_samples, what="sample ids", required=False)
        self.sample_ids = ids if ids is not None else np.array([f"sample{i}" for i in range(n_samples)], dtype=object)

    def _first_text(self, fields, n: int, *, what: str, required: bool = True):
        for field in fields:
            node = self._h5.get(field)
            if isinstance(node, h5py.Dataset):
                if node.shape != (n,):
                    raise FormatError(
                        f"ARCHS4 file {self.path}: expected {n} {what} in /{field} to match /{EXPRESSION}, found shape {node.shape}.",
                        path=self.path,
                    )
                return decode_text(node[()]).astype(str).astype(object)
        if required:
            raise FormatError(f"ARCHS4 file {self.path}: expected {what} in one of {', '.join('/' + f for f in fields)}, found none.", path=self.path)
        return None

    @property
    def n_samples(self) -> int:
        return self._expr.shape[1]

    @property
    def n_genes(self) -> int:
        return self._expr.shape[0]

    def read_samples(self, indices, genes=None) -> np.ndarray:
        """Counts (len(indices), len(genes)) for sample positions `indices` (any order); genes = positions or None."""
        idx = np.asarray(indices, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_samples):
            raise IndexError(f"ARCHS4 sample positions must lie in [0, {self.n_samples}), found {idx.min()}..{idx.max()}.")
        gene_pos = None if genes is None else np.asarray(genes, dtype=np.int64)
        uniq, inverse = np.unique(idx, return_inverse=True)
        n_out_genes = self.n_genes if gene_pos is None else len(gene_pos)
        sorted_block = np.empty((len(uniq), n_out_genes), dtype=self._expr.dtype)
        filled = 0
        for lo, hi, part in contiguous_runs(uniq, max_gap=8, max_run=1024):
            try:
                span = self._expr[:, lo:hi]  # (genes, span)
            except OSError as exc:
                raise FormatError(f"ARCHS4 file {self.path}: could not read samples {lo}..{hi - 1} ({exc}).", path=self.path) from None
            span = span[:, part - lo]
            if gene_pos is not None:
                span = span[gene_pos]
            sorted_block[filled : filled + len(part)] = span.T
            filled += len(part)
        return sorted_block[inverse]

    def select_samples(self, n: int | None = None, *, seed: int = 0, mask=None) -> np.ndarray:
        """Sorted positions of a random subset of n samples (all when n is None), among those where mask is True.

        Sorted, so that reading them walks the file forwards.
        """
        pool = np.arange(self.n_samples) if mask is None else np.flatnonzero(np.asarray(mask, dtype=bool))
        if mask is not None and len(mask) != self.n_samples:
            raise ValueError(f"ARCHS4 sample mask must have {self.n_samples} entries, found {len(mask)}.")
        if n is None or n >= len(pool):
            return pool
        return np.sort(np.random.default_rng(seed).choice(pool, size=n, replace=False))

    def iter_samples(self, indices, chunk_size: int, genes=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (sample positions, counts (chunk, genes)) over `indices` in order, chunk by chunk."""
        idx = np.asarray(indices, dtype=np.int64).ravel()
        for lo in range(0, len(idx), chunk_size):
            part = idx[lo : lo + chunk_size]
            yield part, self.read_samples(part, genes=genes)
