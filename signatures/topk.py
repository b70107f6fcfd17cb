"""Per-gene top lists, streamed over signature blocks with bounded memory.

For every gene and direction we keep three running top-k lists over the
signatures seen so far (DESIGN.md, gene-centric ranking):

- by CD coefficient: up = largest positive CD, down = most negative CD;
- by log2FC: up = largest log2FC among signatures whose CD for the gene is
  positive, down = most negative log2FC among those with negative CD;
- by the gene's rank inside the signature: up = smallest ``rank_up`` among
  signatures whose CD for the gene is positive, down = smallest
  ``rank_down = n_genes + 1 - rank_up`` among those with negative CD.

The direction is always the sign of the CD coefficient (DESIGN.md: a
signature up-regulates g when its CD for g is positive), whatever the list's
ranking metric; a signature whose log2FC has the other sign still ranks (by
its log2FC) and the search flags it discordant.

Each list carries the values of all three metrics, so the final rows need no
second pass over the store. Memory is O(n_genes x k x 6 lists) for the running
state plus one block (block_size x n_genes) -- independent of the number of
signatures. Runs on any torch device (CUDA when given one).

Imports numpy and torch only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

METRICS = ("cd", "logfc", "rank")
DIRECTIONS = ("up", "down")
FLAG_BITS = {"cd": 1, "logfc": 2, "rank": 4}


@dataclass
class TopRows:
    """The union of the three top lists, one row per (gene, direction, signature)."""

    gene: np.ndarray  # int64: gene position in the store
    direction: np.ndarray  # <U4: "up" / "down"
    signature: np.ndarray  # int64: signature column in the store
    cd: np.ndarray  # float32
    logfc: np.ndarray  # float32
    rank: np.ndarray  # int32: rank in this direction, 1 = the signature's most up (down) gene
    top_cd: np.ndarray  # bool
    top_logfc: np.ndarray  # bool
    top_rank: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.gene)


def _order(key: torch.Tensor, sig: torch.Tensor) -> torch.Tensor:
    """int64 keys that sort like (key descending, then store column ascending).

    Many signatures tie (ranks are integers; a gene clipped to 0 has log2FC 0
    in many of them) and torch.topk keeps an arbitrary subset of tied values;
    this order breaks ties by column exactly as `search.ranking` does, so the
    precomputed lists and the exact queries agree. float32 bits reinterpreted
    as integers, with the low 31 bits of negatives flipped, sort like the floats;
    adding +0.0 first turns -0.0 into +0.0, so signed zeros tie as they compare.
    """
    bits = (key + 0.0).contiguous().view(torch.int32).to(torch.int64)
    monotone = torch.where(bits < 0, bits ^ 0x7FFFFFFF, bits)
    return (monotone << 32) + (0xFFFFFFFF - sig)


def _best(key: torch.Tensor, sig: torch.Tensor, width: int) -> torch.Tensor:
    """Positions (n_genes, width) of each row's `width` best (key descending, then column ascending).

    float32 keys go through one int64 order key (_order); the rank lists'
    float64 keys (signatures.order.rank_key) do not fit one beside the column,
    so they are sorted twice, stably: by column, then by key.
    """
    if key.dtype == torch.float32:
        return torch.topk(_order(key, sig), width, dim=1, largest=True, sorted=False).indices
    by_column = torch.argsort(sig, dim=1, stable=True)
    by_key = torch.argsort(torch.gather(key + 0.0, 1, by_column), dim=1, descending=True, stable=True)
    return torch.gather(by_column, 1, by_key[:, :width])


class _List:
    """One running top-k list for all genes: keys and payloads, each (n_genes, <=k)."""

    def __init__(self, n_genes: int, device: torch.device, *, key_dtype=torch.float32):
        empty_f = torch.empty((n_genes, 0), dtype=torch.float32, device=device)
        self.key = torch.empty((n_genes, 0), dtype=key_dtype, device=device)
        self.sig = torch.empty((n_genes, 0), dtype=torch.int64, device=device)
        self.cd = empty_f
        self.logfc = empty_f
        self.rank = torch.empty((n_genes, 0), dtype=torch.int32, device=device)

    def merge(self, k: int, key, sig, cd, logfc, rank) -> None:
        if key.shape[1] > k:
            # Pre-select the block's own top k first, so the payloads are
            # concatenated and gathered at width 2k rather than k + block.
            pick = _best(key, sig, k)
            key, sig, cd, logfc, rank = (torch.gather(t, 1, pick) for t in (key, sig, cd, logfc, rank))
        key = torch.cat([self.key, key], dim=1)
        sig = torch.cat([self.sig, sig], dim=1)
        width = min(k, key.shape[1])
        best = _best(key, sig, width)  # (n_genes, width)
        self.key = torch.gather(key, 1, best)
        self.sig = torch.gather(sig, 1, best)
        self.cd = torch.gather(torch.cat([self.cd, cd], dim=1), 1, best)
        self.logfc = torch.gather(torch.cat([self.logfc, logfc], dim=1), 1, best)
        self.rank = torch.gather(torch.cat([self.rank, rank], dim=1), 1, best)


class TopKAccumulator:
    """Feed signature blocks with update(); collect the union of the top lists with rows()."""

    def __init__(self, n_genes: int, *, k: int = 100, device: str | torch.device = "cpu"):
        if k < 1:
            raise ValueError(f"k must be at least 1, found {k}.")
        self.n_genes = int(n_genes)
        self.k = int(k)
        self.device = torch.device(device)
        self.lists = {(d, m): _List(self.n_genes, self.device, key_dtype=torch.float64 if m == "rank" else torch.float32) for d in DIRECTIONS for m in METRICS}
        self.n_seen = 0

    def update(self, columns: np.ndarray, cd: np.ndarray, logfc: np.ndarray, rank_up: np.ndarray) -> None:
        """columns: (b,) store columns of the block; cd, logfc, rank_up: (b, n_genes)."""
        if cd.shape != (len(columns), self.n_genes) or logfc.shape != cd.shape or rank_up.shape != cd.shape:
            raise ValueError(
                f"blocks must be (signatures, genes) = ({len(columns)}, {self.n_genes}), found {cd.shape}, {logfc.shape}, {rank_up.shape}."
            )
        dev = self.device
        cd_t = torch.as_tensor(np.ascontiguousarray(cd.T), dtype=torch.float32, device=dev)  # (n_genes, b)
        fc_t = torch.as_tensor(np.ascontiguousarray(logfc.T), dtype=torch.float32, device=dev)
        rank_t = torch.as_tensor(np.ascontiguousarray(rank_up.T), dtype=torch.int32, device=dev)
        sig = torch.as_tensor(np.asarray(columns, dtype=np.int64), device=dev).expand(self.n_genes, -1).contiguous()
        neg_inf = torch.tensor(float("-inf"), device=dev)
        up, down = cd_t > 0, cd_t < 0
        rank_down = (self.n_genes + 1) - rank_t
        abs_cd = cd_t.double().abs()
        keys = {
            ("up", "cd"): torch.where(up, cd_t, neg_inf),
            ("down", "cd"): torch.where(down, -cd_t, neg_inf),
            ("up", "logfc"): torch.where(up, fc_t, neg_inf),
            ("down", "logfc"): torch.where(down, -fc_t, neg_inf),
            # -signatures.order.rank_key: the rank, then larger |CD|, in float64 as there
            ("up", "rank"): torch.where(up, -(rank_t.double() - 0.5 * (abs_cd / (1.0 + abs_cd))), neg_inf.double()),
            ("down", "rank"): torch.where(down, -(rank_down.double() - 0.5 * (abs_cd / (1.0 + abs_cd))), neg_inf.double()),
        }
        for (direction, metric), key in keys.items():
            ranks = rank_t if direction == "up" else rank_down
            self.lists[(direction, metric)].merge(self.k, key, sig, cd_t, fc_t, ranks)
        self.n_seen += len(columns)

    def rows(self) -> TopRows:
        """The union per (gene, direction) of the three lists, with flags; sorted by gene, direction, signature."""
        parts = []
        for d_index, direction in enumerate(DIRECTIONS):
            for metric in METRICS:
                lst = self.lists[(direction, metric)]
                valid = torch.isfinite(lst.key)  # -inf: a slot with no signature of the right sign
                genes = torch.arange(self.n_genes, device=self.device).unsqueeze(1).expand_as(lst.key)
                parts.append(
                    {
                        "gene": genes[valid].cpu().numpy(),
                        "dir": np.full(int(valid.sum()), d_index, dtype=np.int8),
                        "sig": lst.sig[valid].cpu().numpy(),
                        "cd": lst.cd[valid].cpu().numpy(),
                        "logfc": lst.logfc[valid].cpu().numpy(),
                        "rank": lst.rank[valid].cpu().numpy(),
                        "flag": np.full(int(valid.sum()), FLAG_BITS[metric], dtype=np.int8),
                    }
                )
        cat = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
        # One int64 key (gene, direction, signature) sorts faster than a 3-key lexsort.
        n_sigs = int(cat["sig"].max()) + 1 if len(cat["sig"]) else 1
        key = (cat["gene"].astype(np.int64) * 2 + cat["dir"]) * n_sigs + cat["sig"]
        order = np.argsort(key, kind="stable")
        cat = {name: v[order] for name, v in cat.items()}
        key = key[order]
        # Rows with the same (gene, direction, signature) came from several lists: OR their flags.
        starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]])) if len(key) else np.array([], dtype=np.int64)
        flags = np.bitwise_or.reduceat(cat["flag"], starts) if len(starts) else np.array([], dtype=np.int8)
        return TopRows(
            gene=cat["gene"][starts].astype(np.int64),
            direction=np.array(DIRECTIONS)[cat["dir"][starts]],
            signature=cat["sig"][starts].astype(np.int64),
            cd=cat["cd"][starts].astype(np.float32),
            logfc=cat["logfc"][starts].astype(np.float32),
            rank=cat["rank"][starts].astype(np.int32),
            top_cd=(flags & FLAG_BITS["cd"]) > 0,
            top_logfc=(flags & FLAG_BITS["logfc"]) > 0,
            top_rank=(flags & FLAG_BITS["rank"]) > 0,
        )
