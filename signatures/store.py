"""Signature stores: one release's CD and log2FC matrices on disk.

A store is a directory holding three files:

- ``cd.gctx`` and ``logfc.gctx``: signature-major GCTX (the CMap layout):
  ``/0/DATA/0/matrix`` is (n_signatures, n_genes) float32, rows (genes) are
  Entrez ids as strings with ``pr_gene_symbol`` row metadata, columns are
  signature ids. These are the downloadable, CMap-readable matrices and give
  one signature's values in one read (``read_signature``).
- ``gene_major.h5``: the same values transposed, (n_genes, n_signatures), in
  contiguous layout, plus ``rank_up`` (int16 up to 32,767 genes, ``rank_dtype``): each gene's rank inside each signature
  by CD (1 = the signature's most positive coefficient; 0 where the gene has
  no coefficient, NaN in ``cd``: ``ranks_up``), and ``n_without_cd``: per
  gene, the number of signatures in which it has none. One gene's values
  across all signatures are one contiguous byte range, so the search reads a
  gene with a single read per dataset (``read_gene``). Contiguous layout rather
  than HDF5 chunks: a chunk per gene row would be rewritten once per signature
  block while the store is written; a contiguous row is written in pieces and
  read whole.
- ``store.json``: counts and format version, written last; a directory without
  it is not a complete store.

A store is written into a fresh sibling directory and swapped in for the
store directory only when every file is complete and on disk
(``conversion.files.atomic_directory``): a writer that fails or is killed
midway leaves the previous store (or none) as it was, and a reader that holds
an open store keeps reading the files it opened. An open ``SignatureStore``
opens all its files at once, so it reads one version of the directory.

This module imports numpy, pandas, h5py, the data layer's plain GCTX writer
(``conversion.formats.gctx``) and ``conversion.files``, never Django; Django code
calls it.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from conversion.files import atomic_directory
from conversion.formats.gctx import GctxWriter

FORMAT_VERSION = 1
CD_FILE = "cd.gctx"
LOGFC_FILE = "logfc.gctx"
GENE_MAJOR_FILE = "gene_major.h5"
MANIFEST_FILE = "store.json"


class StoreError(Exception):
    """A store that is missing, incomplete or asked for something it does not hold."""


@dataclass(frozen=True)
class GeneValues:
    """One gene across all signatures of a store, in signature (column) order."""

    cd: np.ndarray  # float32 (n_signatures,)
    logfc: np.ndarray  # float32 (n_signatures,)
    rank_up: np.ndarray | None  # int16 (int32 past 32,767 genes), (n_signatures,): 1 = the signature's most positive CD coefficient; None when not read

    def rank_down(self, n_genes: int) -> np.ndarray:
        """Rank in the down direction: 1 = the signature's most negative CD coefficient."""
        return (n_genes + 1 - self.rank_up.astype(np.int32)).astype(np.int32)


def rank_dtype(n_genes: int) -> np.dtype:
    """int16 where every rank fits (n_genes <= 32,767: 23,614 genes), int32 otherwise.

    Ranks are exact either way; CD and log2FC stay float32, because rounded to
    float16 they change top-100 lists (bench/bench_store_precision.py,
    docs/benchmarks.md).
    """
    return np.dtype(np.int16) if n_genes <= np.iinfo(np.int16).max else np.dtype(np.int32)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


RANK_THREADS = max(1, min(4, usable_cores()))
RANK_ROWS_PER_TASK = 128


def ranks_up(cd: np.ndarray) -> np.ndarray:
    """Each gene's rank inside each signature by CD, descending: (k, n_genes) -> int32 (k, n_genes).

    Rank 1 is the largest coefficient; ties are broken by gene position
    (stable sort). A gene without a coefficient (NaN: constant among the
    signature's samples, signatures.cd) has rank 0, "no rank", and is placed
    between the positive and the negative coefficients while the others are
    ranked, so a positive coefficient's rank counts only larger ones and a
    negative one's down rank ``n_genes + 1 - rank_up`` only smaller ones.
    Without NaNs the ranks are a permutation of 1..n_genes in every row.

    A block of many signatures is ranked on RANK_THREADS threads, rows of
    RANK_ROWS_PER_TASK at a time (numpy's sort releases the GIL): at 23,614
    genes the sorts are most of the merge's time (bench/bench_release.py,
    docs/benchmarks.md).
    """
    cd = np.asarray(cd)
    if cd.ndim != 2 or RANK_THREADS == 1 or cd.shape[0] < 2 * RANK_ROWS_PER_TASK:
        return _ranks_up(cd)
    out = np.empty(cd.shape, dtype=np.int32)

    def rank(start: int) -> None:
        out[start : start + RANK_ROWS_PER_TASK] = _ranks_up(cd[start : start + RANK_ROWS_PER_TASK])

    with ThreadPoolExecutor(RANK_THREADS) as pool:
        list(pool.map(rank, range(0, cd.shape[0], RANK_ROWS_PER_TASK)))
    return out


def _ranks_up(cd: np.ndarray) -> np.ndarray:
    missing = np.isnan(cd)
    order = np.argsort(-np.where(missing, 0, cd), axis=1, kind="stable")  # (k, n_genes): gene positions, best first
    ranks = np.empty(cd.shape, dtype=np.int32)
    positions = np.broadcast_to(np.arange(1, cd.shape[1] + 1, dtype=np.int32), cd.shape)
    np.put_along_axis(ranks, order, positions, axis=1)
    ranks[missing] = 0
    return ranks


def _as_bytes(values) -> np.ndarray:
    """Fixed-length byte strings, the dtype CMap tools write for ids and text metadata."""
    strings = [str(v) for v in values]
    encoded = [s.encode("utf-8") for s in strings]
    width = max((len(b) for b in encoded), default=1) or 1
    return np.array(encoded, dtype=f"S{width}")


class StoreWriter:
    """Write a store signature block by signature block, with bounded memory.

    ``n_signatures`` must be known up front (the merge step sums its batch
    chunks); blocks may come in any order but must cover 0..n_signatures-1.
    The files are written into a temporary directory beside ``directory``;
    nothing changes at ``directory`` unless every block was written and the
    writer closed without an exception, and then the whole store is swapped in.
    """

    def __init__(self, directory, gene_entrez_ids, n_signatures: int, *, symbols=None):
        self.directory = Path(directory)
        genes = np.asarray([int(g) for g in gene_entrez_ids], dtype=np.int64)
        if genes.ndim != 1 or len(genes) == 0:
            raise StoreError(f"gene_entrez_ids must be a non-empty list of Entrez ids, found {len(genes)}.")
        if len(np.unique(genes)) != len(genes):
            raise StoreError(f"gene_entrez_ids must be unique, found {len(genes) - len(np.unique(genes))} duplicates.")
        if symbols is not None and len(symbols) != len(genes):
            raise StoreError(f"symbols must have one entry per gene ({len(genes)}), found {len(symbols)}.")
        if n_signatures < 0:
            raise StoreError(f"n_signatures must be >= 0, found {n_signatures}.")
        self.genes = genes
        self.symbols = [str(s) for s in symbols] if symbols is not None else [str(g) for g in genes]
        self.n_signatures = int(n_signatures)
        self._written = np.zeros(self.n_signatures, dtype=bool)
        self._without_cd = np.zeros(len(genes), dtype=np.int64)
        self._sig_ids: list[str] = [""] * self.n_signatures
        self._open = False

    def __enter__(self) -> StoreWriter:
        self._swap = atomic_directory(self.directory, fsync=True)
        tmp = self._swap.__enter__()
        self._gctx, self._gm = {}, None
        try:
            row_ids = [str(g) for g in self.genes]
            row_meta = pd.DataFrame({"pr_gene_id": self.genes, "pr_gene_symbol": self.symbols}, index=row_ids)
            self._gctx = {
                "cd": GctxWriter(tmp / CD_FILE, row_ids, self.n_signatures, row_meta=row_meta),
                "logfc": GctxWriter(tmp / LOGFC_FILE, row_ids, self.n_signatures, row_meta=row_meta),
            }
            self._gm = h5py.File(tmp / GENE_MAJOR_FILE, "w")
            shape = (len(self.genes), self.n_signatures)
            # Contiguous (no chunks=): one gene row is one byte range on disk.
            self._gm_cd = self._gm.create_dataset("cd", shape=shape, dtype="float32")
            self._gm_logfc = self._gm.create_dataset("logfc", shape=shape, dtype="float32")
            self._gm_rank = self._gm.create_dataset("rank_up", shape=shape, dtype=rank_dtype(len(self.genes)))
            self._gm.create_dataset("gene_entrez_ids", data=self.genes)
            self._gm.create_dataset("symbols", data=_as_bytes(self.symbols))
        except BaseException:
            self._abort()
            raise
        self._open = True
        return self

    def write(self, start: int, sig_ids, cd: np.ndarray, logfc: np.ndarray, *, col_meta: dict[str, list] | None = None) -> None:
        """Write signatures start..start+k-1: cd and logfc are (k, n_genes)."""
        if not self._open:
            raise StoreError("StoreWriter.write called outside its `with` block.")
        cd = np.asarray(cd, dtype=np.float32)
        logfc = np.asarray(logfc, dtype=np.float32)
        k = len(sig_ids)
        expected = (k, len(self.genes))
        if cd.shape != expected or logfc.shape != expected:
            raise StoreError(f"cd and logfc blocks must be (signatures, genes) = {expected}, found {cd.shape} and {logfc.shape}.")
        if start < 0 or start + k > self.n_signatures:
            raise StoreError(f"Signatures {start}..{start + k - 1} fall outside the store's 0..{self.n_signatures - 1}.")
        if k == 0:
            return
        meta = None if col_meta is None else pd.DataFrame(col_meta)
        self._gctx["cd"].write(start, cd, sig_ids, meta)
        self._gctx["logfc"].write(start, logfc, sig_ids, meta)
        self._gm_cd[:, start : start + k] = cd.T
        self._gm_logfc[:, start : start + k] = logfc.T
        self._gm_rank[:, start : start + k] = ranks_up(cd).T
        self._without_cd += np.isnan(cd).sum(axis=0)
        self._sig_ids[start : start + k] = [str(s) for s in sig_ids]
        self._written[start : start + k] = True

    def __exit__(self, exc_type, exc, tb) -> None:
        self._open = False
        if exc_type is None and not self._written.all():
            missing = np.flatnonzero(~self._written)
            self._abort()
            raise StoreError(f"Store {self.directory} is missing {len(missing)} of {self.n_signatures} signatures (first missing column {missing[0]}).")
        if exc_type is not None:
            self._abort()
            return
        try:
            self._gm.create_dataset("sig_ids", data=_as_bytes(self._sig_ids) if self._sig_ids else np.array([], dtype="S1"))
            self._gm.create_dataset("n_without_cd", data=self._without_cd.astype(np.int32))
            self._gm.close()
            for out in self._gctx.values():
                out.close()
            # store.json last: a directory without it is not a complete store.
            manifest = {"format_version": FORMAT_VERSION, "n_signatures": self.n_signatures, "n_genes": len(self.genes)}
            (self._swap.tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
        except BaseException:
            self._abort()
            raise
        self._swap.commit()

    def _abort(self) -> None:
        """Close and drop everything written; the store directory is untouched."""
        try:
            if self._gm is not None:
                self._gm.close()
            for out in self._gctx.values():
                out.abort()
        finally:
            self._swap.discard()


def write_store(
    directory, gene_entrez_ids, sig_ids, cd: np.ndarray, logfc: np.ndarray, *, symbols=None, col_meta: dict[str, list] | None = None
) -> Path:
    """Write a whole store at once: cd and logfc are (n_signatures, n_genes) float32."""
    sig_ids = list(sig_ids)
    with StoreWriter(directory, gene_entrez_ids, len(sig_ids), symbols=symbols) as writer:
        writer.write(0, sig_ids, cd, logfc, col_meta=col_meta)
    return Path(directory)


class SignatureStore:
    """Read access to a complete store; use as a context manager or call close().

    All three files are opened here, so an open store keeps reading the
    version of the directory it opened even when a new store is swapped in.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        manifest_path = self.directory / MANIFEST_FILE
        if not manifest_path.exists():
            raise StoreError(f"{self.directory} is not a complete signature store: {MANIFEST_FILE} is missing.")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format_version") != FORMAT_VERSION:
            raise StoreError(f"{manifest_path}: expected format_version {FORMAT_VERSION}, found {manifest.get('format_version')}.")
        self._files: list[h5py.File] = []
        self._rows: dict[str, np.ndarray] = {}
        try:
            self._gm = self._open(GENE_MAJOR_FILE)
            self._gctx = {"cd": self._open(CD_FILE), "logfc": self._open(LOGFC_FILE)}
            self.gene_entrez_ids = self._gm["gene_entrez_ids"][:].astype(np.int64)
            self.symbols = np.array([s.decode("utf-8") for s in self._gm["symbols"][:]], dtype=object)
            self.sig_ids = np.array([s.decode("utf-8") for s in self._gm["sig_ids"][:]], dtype=object)
            self.n_signatures = int(manifest["n_signatures"])
            self.n_genes = len(self.gene_entrez_ids)
            if self._gm["cd"].shape != (self.n_genes, self.n_signatures):
                raise StoreError(
                    f"{self.directory / GENE_MAJOR_FILE}: expected (genes, signatures) = ({self.n_genes}, {self.n_signatures}) "
                    f"as {MANIFEST_FILE} says, found {self._gm['cd'].shape}."
                )
            self._rows = self._mapped_rows(self.directory / GENE_MAJOR_FILE)
            # Every gene's count, read once: 4 bytes a gene, asked for on every gene page and answer.
            self._without_cd = self._gm["n_without_cd"][:] if "n_without_cd" in self._gm else None
        except BaseException:
            self.close()
            raise
        self._gene_pos = {int(g): i for i, g in enumerate(self.gene_entrez_ids)}

    def _mapped_rows(self, path: Path) -> dict[str, np.ndarray]:
        """The gene-major datasets as read-only memory maps of their byte ranges in `path`, where they are
        contiguous and uncompressed (as StoreWriter writes them). A gene's row is then a view of the page
        cache: a page's grouping by perturbagen reads a few thousand of its values, not the whole row
        through h5py, and the exact query ranks the row without copying it first."""
        rows = {}
        for name in ("cd", "logfc", "rank_up"):
            ds = self._gm[name]
            offset = ds.id.get_offset()
            if offset is None or ds.size == 0 or ds.chunks is not None or not ds.dtype.isnative:
                continue
            rows[name] = np.memmap(path, dtype=ds.dtype, mode="r", offset=offset, shape=ds.shape)
        return rows

    def _row(self, name: str, i: int) -> np.ndarray:
        mapped = self._rows.get(name)
        return mapped[i].view(np.ndarray) if mapped is not None else self._gm[name][i]

    def _open(self, name: str) -> h5py.File:
        try:
            f = h5py.File(self.directory / name, "r")
        except OSError as exc:
            raise StoreError(f"{self.directory} is not a complete signature store: {name} cannot be read ({exc}).") from None
        self._files.append(f)
        return f

    def __enter__(self) -> SignatureStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._rows = {}  # a row already handed out keeps its map open until it is dropped
        for f in self._files:
            f.close()

    def gene_position(self, entrez_id) -> int:
        try:
            return self._gene_pos[int(entrez_id)]
        except (KeyError, ValueError):
            raise StoreError(f"Gene {entrez_id} is not in the signature store {self.directory} ({self.n_genes} genes).") from None

    def has_gene(self, entrez_id) -> bool:
        try:
            return int(entrez_id) in self._gene_pos
        except ValueError:
            return False

    def read_gene(self, entrez_id, *, ranks: bool = True) -> GeneValues:
        """One gene's CD, log2FC and (unless not `ranks`) rank across all signatures (one contiguous row per dataset),
        read-only views of the memory-mapped store where it is mapped (`_mapped_rows`)."""
        i = self.gene_position(entrez_id)
        return GeneValues(cd=self._row("cd", i), logfc=self._row("logfc", i), rank_up=self._row("rank_up", i) if ranks else None)

    def read_gene_ranks(self, entrez_id) -> np.ndarray:
        """One gene's rank_up across all signatures, alone (a fifth of read_gene's bytes with int16 ranks)."""
        return self._row("rank_up", self.gene_position(entrez_id))

    def signatures_without_cd(self, entrez_id) -> int:
        """In how many signatures the gene has no CD (constant among the signature's samples)."""
        i = self.gene_position(entrez_id)
        if self._without_cd is not None:
            return int(self._without_cd[i])
        return int(np.isnan(self._row("cd", i)).sum())  # a store written before the count was kept

    def read_gene_block(self, start: int, stop: int, runs=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Genes start..stop-1: cd, logfc, rank_up, each (stop-start, signatures).

        All signatures, or with ``runs`` (a list of [a, b) column ranges) those
        columns in that order, read range by range.
        """
        if runs is None:
            return self._gm["cd"][start:stop], self._gm["logfc"][start:stop], self._gm["rank_up"][start:stop]
        out = []
        for name in ("cd", "logfc", "rank_up"):
            ds = self._gm[name]
            parts = [ds[start:stop, a:b] for a, b in runs]
            out.append(parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1) if parts else ds[start:stop, 0:0])
        return out[0], out[1], out[2]

    def _matrix(self, metric: str) -> h5py.Dataset:
        return self._gctx[metric]["0/DATA/0/matrix"]

    def read_signature(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """One signature's (cd, logfc), each float32 (n_genes,), from the signature-major GCTX."""
        if not 0 <= int(column) < self.n_signatures:
            raise StoreError(f"Signature column {column} is outside the store's 0..{self.n_signatures - 1}.")
        return self._matrix("cd")[int(column)], self._matrix("logfc")[int(column)]

    def read_signature_block(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Signatures start..stop-1: cd and logfc, each (stop-start, n_genes)."""
        return self._matrix("cd")[start:stop], self._matrix("logfc")[start:stop]


def open_store(directory) -> SignatureStore:
    return SignatureStore(directory)
