"""Training data from real-format files: L1000 Level 3 GCTX/GCT and ARCHS4 HDF5 counts.

L1000 Level 3 values are used as they are (log2, quantile-normalised by the
Broad pipeline). RNA-seq counts become log2(count + 1), then are quantile
normalised to a reference fitted here, on the training samples, and saved in
the bundle so new data are mapped to the same scale.

ARCHS4 keys genes by symbol and Ensembl id; the NCBI gene_info table joins
them to Entrez ids (Ensembl first, then the current symbol, then an unambiguous
synonym or previous symbol). Every landmark that cannot be matched is reported
by Entrez id, never silently dropped.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from conversion.formats import MissingGenesError, open_matrix
from conversion.formats.archs4 import Archs4Reader
from conversion.formats.errors import FormatError
from conversion.formats.l1000 import landmark_positions, row_entrez_ids
from conversion.formats.ncbi import GeneMap, read_gene_map
from conversion.normalize import QuantileReference, log2p1


def read_entrez_list(path: str | Path) -> list[str]:
    """Entrez ids, one per line (blank lines and '#' comments ignored), or the rows of a GCTX/GCT file."""
    path = Path(path)
    if not path.exists():
        raise FormatError(f"Gene list {path} does not exist.", path=path)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\x89HDF") or head.startswith(b"#1."):
        with open_matrix(path) as reader:
            return [str(e) for e in row_entrez_ids(reader)]
    ids = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    ids = [i for i in ids if i]
    bad = [i for i in ids if not i.isdigit()]
    if bad:
        raise FormatError(f"Gene list {path}: expected one Entrez id per line, found {bad[0]!r}.", path=path)
    return ids


@dataclass
class TrainingData:
    l1000: np.ndarray  # (n_x, n_lm) Level 3 landmark values, unpaired with the RNA-seq
    rnaseq: np.ndarray  # (n_y, n_out) log2(count+1), quantile-normalised to `reference`
    landmark_entrez_ids: list[str]
    landmark_symbols: list[str]
    output_entrez_ids: list[str]
    output_symbols: list[str]
    reference: np.ndarray  # (n_out,) sorted quantile reference
    description: dict = field(default_factory=dict)

    @property
    def landmark_columns(self) -> np.ndarray:
        """Positions of the landmark genes among the output genes, in landmark order."""
        position = {g: i for i, g in enumerate(self.output_entrez_ids)}
        return np.array([position[g] for g in self.landmark_entrez_ids])

    @property
    def rnaseq_landmarks(self) -> np.ndarray:
        return self.rnaseq[:, self.landmark_columns]


def _sample(n_total: int, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    if limit is None or limit >= n_total:
        return np.arange(n_total)
    return np.sort(rng.choice(n_total, size=limit, replace=False))


def load_l1000(path, *, landmark_entrez_ids=None, max_samples=None, seed=0, chunk_size=10_000):
    """Landmark rows of a Level 3 file: ((n, n_lm) float32, landmark Entrez ids, row-meta symbols).

    Without an explicit list the landmarks are the rows flagged `pr_is_lm`.
    """
    with open_matrix(path) as reader:
        meta = reader.row_meta
        entrez = [str(e) for e in row_entrez_ids(reader)]
        if landmark_entrez_ids is None:
            if "pr_is_lm" not in meta.columns:
                raise FormatError(f"L1000 file {path}: no landmark list was given and the rows have no pr_is_lm metadata to find them.", path=path)
            flags = pd.to_numeric(meta["pr_is_lm"], errors="coerce").fillna(0).to_numpy().astype(bool)
            landmark_entrez_ids = [e for e, f in zip(entrez, flags) if f]
        rows = landmark_positions(meta, landmark_entrez_ids, path=path)
        symbols = meta["pr_gene_symbol"].astype(str).to_numpy()[rows].tolist() if "pr_gene_symbol" in meta.columns else [""] * len(rows)
        cols = _sample(reader.shape[0], max_samples, np.random.default_rng(seed))
        blocks = [reader.read(cols=cols[lo:lo + chunk_size], rows=rows) for lo in range(0, len(cols), chunk_size)]
    return np.concatenate(blocks), [str(e) for e in landmark_entrez_ids], symbols


# The paper's output genes: ARCHS4 genes with at least MIN_COUNT reads in at least
# MIN_SAMPLE_FRACTION of the training samples (23,614 genes in Jeon et al. 2022).
MIN_COUNT = 10
MIN_SAMPLE_FRACTION = 0.02


def expressed_genes(archs4: Archs4Reader, samples: np.ndarray, candidates: np.ndarray, *, min_count: float, min_fraction: float, chunk_size: int) -> np.ndarray:
    """bool (len(candidates),): the candidate gene columns with at least `min_count` counts in at least
    `min_fraction` of `samples`, counted chunk by chunk (memory: one chunk of samples x candidates)."""
    passing = np.zeros(len(candidates), dtype=np.int64)
    for lo in range(0, len(samples), chunk_size):
        passing += (archs4.read_samples(samples[lo:lo + chunk_size], genes=candidates) >= min_count).sum(axis=0)
    return passing >= min_fraction * len(samples)


def load_training_data(
    l1000_path,
    archs4_path,
    gene_info,
    *,
    landmark_entrez_ids=None,
    output_entrez_ids=None,
    max_l1000: int | None = 200_000,
    max_rnaseq: int | None = 50_000,
    seed: int = 0,
    chunk_size: int = 2_000,
    min_count: float = MIN_COUNT,
    min_sample_fraction: float = MIN_SAMPLE_FRACTION,
    progress=None,
) -> TrainingData:
    """Read, match by Entrez id and normalise the unpaired training sets (see module doc).

    gene_info: a GeneMap or the path of an NCBI Homo_sapiens.gene_info file.

    Output genes: the given list, else the paper's rule: every ARCHS4 gene with
    an Entrez id and at least `min_count` counts in at least
    `min_sample_fraction` of the training samples (the landmarks are kept
    whatever their counts: step 1 needs them). The landmark genes must be among
    them. Memory: max_rnaseq x n_out float32.
    """
    say = progress or (lambda message: None)
    genes = gene_info if isinstance(gene_info, GeneMap) else read_gene_map(gene_info)
    say("reading L1000 landmark profiles")
    l1000, landmarks, l1000_symbols = load_l1000(l1000_path, landmark_entrez_ids=landmark_entrez_ids, max_samples=max_l1000, seed=seed)
    with Archs4Reader(archs4_path) as archs4:
        mapped = [genes.entrez(s, e) for s, e in zip(archs4.symbols, archs4.ensembl_ids)]
        column_of = {}
        for position, entrez in enumerate(mapped):
            if entrez is not None:
                column_of.setdefault(entrez, position)
        samples = _sample(archs4.n_samples, max_rnaseq, np.random.default_rng(seed + 1))
        if output_entrez_ids is None:
            candidates = sorted(column_of, key=column_of.get)
            say(f"counting reads of {len(candidates)} ARCHS4 genes in {len(samples)} samples (rule: >= {min_count:g} counts in >= {min_sample_fraction:.1%})")
            keep = expressed_genes(archs4, samples, np.array([column_of[e] for e in candidates]), min_count=min_count, min_fraction=min_sample_fraction, chunk_size=chunk_size)
            landmark_set = set(landmarks)
            output_entrez_ids = [e for e, k in zip(candidates, keep) if k or e in landmark_set]
            gene_rule = {
                "rule": f"ARCHS4 genes with an Entrez id and at least {min_count:g} counts in at least {min_sample_fraction:.1%} of the {len(samples)} training samples; landmarks always kept",
                "min_count": min_count, "min_sample_fraction": min_sample_fraction, "n_candidates": len(candidates),
                "n_passing": int(keep.sum()), "n_landmarks_below": int(sum(1 for e, k in zip(candidates, keep) if e in landmark_set and not k)),
            }
        else:
            gene_rule = {"rule": "the list given (--output-genes)"}
        output_entrez_ids = [str(e) for e in output_entrez_ids]
        missing = [e for e in output_entrez_ids if e not in column_of]
        if missing:
            raise MissingGenesError(
                f"ARCHS4 file {archs4_path}: expected all {len(output_entrez_ids)} output genes, found {len(output_entrez_ids) - len(missing)}: "
                f"missing Entrez ids {', '.join(missing[:20])}{' ...' if len(missing) > 20 else ''}.",
                missing=missing, path=archs4_path,
            )
        absent = [e for e in landmarks if e not in set(output_entrez_ids)]
        if absent:
            raise MissingGenesError(
                f"expected the {len(landmarks)} landmark genes among the output genes, found {len(landmarks) - len(absent)}: missing Entrez ids {', '.join(absent[:20])}.",
                missing=absent, path=archs4_path,
            )
        gene_columns = np.array([column_of[e] for e in output_entrez_ids])
        say(f"reading {len(samples)} ARCHS4 samples x {len(gene_columns)} genes")
        rnaseq = np.empty((len(samples), len(gene_columns)), dtype=np.float32)
        for lo in range(0, len(samples), chunk_size):
            rnaseq[lo:lo + chunk_size] = log2p1(archs4.read_samples(samples[lo:lo + chunk_size], genes=gene_columns))
        archs4_version = _archs4_version(archs4)
    reference = QuantileReference.fit(rnaseq)
    for lo in range(0, len(rnaseq), chunk_size):
        rnaseq[lo:lo + chunk_size] = reference.transform(rnaseq[lo:lo + chunk_size])
    symbol = lambda e, fallback="": genes.symbol_of.get(e, fallback)  # noqa: E731 - current NCBI symbols
    return TrainingData(
        l1000=l1000,
        rnaseq=rnaseq,
        landmark_entrez_ids=landmarks,
        landmark_symbols=[symbol(e, s) for e, s in zip(landmarks, l1000_symbols)],
        output_entrez_ids=output_entrez_ids,
        output_symbols=[symbol(e) for e in output_entrez_ids],
        reference=reference.values.astype(np.float32),
        description={
            "l1000": {"path": str(l1000_path), "n_samples": int(len(l1000))},
            "rnaseq": {"path": str(archs4_path), "n_samples": int(len(rnaseq)), "archs4_version": archs4_version},
            "gene_info": "gene registry" if isinstance(gene_info, GeneMap) else str(gene_info),
            "n_landmarks": len(landmarks),
            "n_output_genes": len(output_entrez_ids),
            "output_genes": gene_rule,
            "seed": seed,
        },
    )


def _archs4_version(archs4: Archs4Reader) -> str:
    """ARCHS4 files record their release in meta/info/version; older ones do not."""
    node = archs4._h5.get("meta/info/version")
    if node is None:
        return ""
    value = node[()]
    return value.decode() if isinstance(value, bytes) else str(value)
