"""One signature as a page: its genes ranked by CD, its volcano points and its full table.

A signature's values are one row of the signature-major GCTX
(signatures.store.SignatureStore.read_signature): CD and log2FC, float32, over
the store's genes in store order. A gene the model predicts as constant among
the signature's profiles has no CD (NaN, signatures.cd) and rank 0: it is in no
top list and not in the volcano, and the full table shows it with empty cd and
rank. Ranks are recomputed with signatures.store.ranks_up, the function that
wrote the store's `rank_up`, so they are the ranks the gene pages show.

`top_genes` is plain numpy; the rest reads the store and the gene registry
(symbols and statuses: a gene's page is at its current symbol, and Enrichr
wants current symbols, so the registry's symbol is used where it knows the
gene, the store's otherwise).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from django.conf import settings

from conversion.models import Gene, GeneStatus
from signatures.provenance import release_provenance
from search.process_memo import ProcessMemo
from search.query import BadParameter, SignatureRow, signature_rows
from search.serializers import SIGNATURE_TOP_DEFAULT, SIGNATURE_TOP_MAX, SignatureTopQuerySerializer, first_error
from search.stores import store_for
from signatures.models import Signature
from signatures.store import ranks_up

DEFAULT_TOP = SIGNATURE_TOP_DEFAULT
MAX_TOP = SIGNATURE_TOP_MAX
# Above this many points the volcano is drawn with WebGL (scattergl): SVG with a
# full release's ~23,000 circles takes seconds to draw and to hover.
WEBGL_ABOVE = 5000
STATUS_LABELS = {**dict(GeneStatus.choices), "": "Not in the gene registry"}


def top_genes(cd: np.ndarray, n: int, *, direction: str) -> np.ndarray:
    """Positions of the `n` most up- (CD > 0, largest first) or down-regulated (CD < 0, most negative first) genes.

    cd: (n_genes,) with NaN for genes without a coefficient, which are never
    selected (NaN > 0 and NaN < 0 are both false). Ties break by gene position.
    """
    cd = np.asarray(cd, dtype=np.float64)
    candidates = np.flatnonzero(cd > 0 if direction == "up" else cd < 0)  # (m,)
    key = -cd[candidates] if direction == "up" else cd[candidates]
    return candidates[np.argsort(key, kind="stable")][:n]


@dataclass(frozen=True)
class GeneEntry:
    """One gene of a signature's top list."""

    entrez_id: int
    symbol: str
    status: str  # Gene.status; "" for a gene the registry does not know (it has no page)
    cd: float
    logfc: float
    rank: int  # the gene's rank inside the signature in the list's direction, 1 = most regulated

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


@dataclass
class SignatureGenes:
    """A signature's values over its store's genes, in store order."""

    release: object
    signature: SignatureRow
    entrez_ids: np.ndarray  # int64 (n_genes,)
    symbols: list[str]  # (n_genes,): the registry's symbol where it knows the gene, else the store's
    statuses: list[str]  # (n_genes,): Gene.status, "" where the registry does not know the gene
    cd: np.ndarray  # float32 (n_genes,), NaN = no CD
    logfc: np.ndarray  # float32 (n_genes,)
    rank_up: np.ndarray  # int32 (n_genes,), 0 = no rank
    n: int = DEFAULT_TOP  # the length of the top lists asked for

    @property
    def n_genes(self) -> int:
        return len(self.entrez_ids)

    @property
    def n_without_cd(self) -> int:
        return int(np.isnan(self.cd).sum())

    @property
    def provenance(self):
        return release_provenance(self.release)

    def top(self, direction: str) -> list[GeneEntry]:
        positions = top_genes(self.cd, self.n, direction=direction)
        rank = self.rank_up[positions].astype(np.int64)
        if direction == "down":
            rank = self.n_genes + 1 - rank
        return [
            GeneEntry(int(self.entrez_ids[i]), self.symbols[i], self.statuses[i], float(self.cd[i]), float(self.logfc[i]), int(r))
            for i, r in zip(positions, rank)
        ]

    @cached_property
    def up(self) -> list[GeneEntry]:
        return self.top("up")

    @cached_property
    def down(self) -> list[GeneEntry]:
        return self.top("down")

    def volcano(self) -> tuple:
        """Every gene with a CD (and a finite log2FC, so the figure's JSON stays valid): the arguments of
        search.plots.signature_volcano_figure, (entrez ids, symbols, cd, logfc, rank in the gene's direction)."""
        shown = np.flatnonzero(np.isfinite(self.cd) & np.isfinite(self.logfc))
        up = self.cd[shown] > 0
        rank = np.where(up, self.rank_up[shown], self.n_genes + 1 - self.rank_up[shown].astype(np.int64))
        return self.entrez_ids[shown], [self.symbols[i] for i in shown.tolist()], self.cd[shown], self.logfc[shown], rank

    def table_rows(self) -> list[list]:
        """Every store gene, in store order, in TABLE_COLUMNS order; a gene without a CD has empty cd and rank_up."""
        missing = np.isnan(self.cd)
        return [
            [int(e), s, None if missing[i] else float(self.cd[i]), float(self.logfc[i]), None if missing[i] else int(self.rank_up[i]), st]
            for i, (e, s, st) in enumerate(zip(self.entrez_ids, self.symbols, self.statuses))
        ]

    def download_header(self) -> str:
        """The first line of the signature's downloads: what produced it and which signature it is."""
        s = self.signature
        dose = f"{s.dose:g} {s.dose_unit}".strip() if s.dose is not None else "-"
        time = f"{s.time:g} {s.time_unit}".strip() if s.time is not None else "-"
        target = f"; target gene {s.target_gene}" if s.target_gene else ""
        no_cd = f"; without CD {self.n_without_cd} (the model predicts them as constant among the signature's profiles)" if self.n_without_cd else ""
        return (
            f"l1kweb {self.provenance.describe()}; signature {s.sig_id} (perturbagen {s.pert_name} ({s.pert_id}); type {s.pert_type}{target}; "
            f"cell line {s.cell_line}; dose {dose}; time {time}; batch {s.batch}; replicates {s.n_replicates}; "
            f"controls {s.controls}, {s.n_controls} profiles); genes {self.n_genes}{no_cd}"
        )


TABLE_COLUMNS = ["entrez_id", "symbol", "cd", "log2fc", "rank_up", "status"]


def parse_top_n(data, *, api: bool = False) -> int:
    """The `n` of a query string (search.serializers.SignatureTopQuerySerializer); BadParameter with one sentence.

    The API refuses a blank value, a page reads it (an empty form box) as absent."""
    query = SignatureTopQuerySerializer(data=data, blank_values_are_refused=api)
    if not query.is_valid():
        raise BadParameter(*first_error(query.errors, query.fields))
    return query.validated_data["n"]


def find_signature(release, sig_id: str) -> SignatureRow | None:
    """The signature `sig_id` of `release` (one query), or None."""
    if not sig_id.isprintable():
        return None
    found = signature_rows(Signature.objects.filter(release=release, sig_id=sig_id)[:1])
    return found[0] if found else None


def not_found(release, sig_id: str) -> str:
    return f"No signature {sig_id[:200]!r} in release {release.name}."


def read_signature_genes(release, signature: SignatureRow, *, n: int = DEFAULT_TOP) -> SignatureGenes:
    """The signature's values from the release's store, with the registry's symbols and statuses (one query).

    Raises signatures.store.StoreError when the store cannot be read.
    """
    store = store_for(release)
    cd, logfc = store.read_signature(signature.column)  # (n_genes,) each
    cd, logfc = np.asarray(cd, dtype=np.float32), np.asarray(logfc, dtype=np.float32)
    symbols, statuses = store_gene_names(release, store)
    return SignatureGenes(
        release=release, signature=signature, entrez_ids=store.gene_entrez_ids, symbols=symbols, statuses=statuses,
        cd=cd, logfc=logfc, rank_up=ranks_up(cd[None, :])[0], n=n,
    )


_names: ProcessMemo[tuple[list[str], list[str]]] = ProcessMemo(size=4)


def store_gene_names(release, store) -> tuple[list[str], list[str]]:
    """The registry's symbol and status of each of the store's genes, in store order (one query).

    Kept in this process per release (search.process_memo): looking up a full
    release's 23,614 genes took most of a signature request's time. An import
    may rename genes without a new release, so the names are read again after
    RESPONSE_CACHE_TIMEOUT seconds, as cached responses are.
    """

    def read() -> tuple[list[str], list[str]]:
        ids = store.gene_entrez_ids
        known = {e: (sym, st) for e, sym, st in Gene.objects.filter(entrez_id__in=[int(e) for e in ids]).values_list("entrez_id", "symbol", "status")}
        names = [known.get(int(e), (str(s), "")) for e, s in zip(ids, store.symbols)]
        return [sym for sym, _ in names], [st for _, st in names]

    window = int(time.time() // max(settings.RESPONSE_CACHE_TIMEOUT, 1))
    return _names.get(f"{release.cache_stamp}:{store.directory}:{window}", read)


def file_stem(sig_id: str) -> str:
    """A signature id as a file name part: ':' and other characters some systems refuse become '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", sig_id)
