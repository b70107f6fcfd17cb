"""Evaluation against baselines on a paired set (the paper's Fig. 3 comparisons).

Inputs are arrays in the bundle's gene order: `l1000` (n, n_in) Level 3 landmark
values and `truth` (n, n_out) RNA-seq of the same samples on the bundle's
quantile scale, NaN in the columns of output genes the paired set lacks (GEO's
GSE92743 measures fewer genes than a model outputs): every metric is computed
over the genes the paired set has, and a gene it lacks has no gene-wise value.

Landmark step (step 1): G(x) vs ratio scaling vs raw L1000, each against the
RNA-seq landmark genes. All genes: the two-step model vs linear regression vs each
gene's training mean vs randomly paired real profiles. The linear baseline is a
baseline pipeline end to end: ratio-scaled L1000 -> least-squares map from
landmarks to all genes fitted on the training RNA-seq. Per-sample PCC on absolute
expression is high for any profile with the right gene means, hence the mean
baseline beside it (DESIGN.md).
"""

import numpy as np
from scipy.stats import rankdata

# Ridge penalty of the linear baseline, relative to the mean diagonal of X^T X;
# only there to keep the normal equations well-conditioned for collinear landmarks.
RIDGE = 1e-3


def fit_baselines(l1000: np.ndarray, rnaseq_landmarks: np.ndarray, rnaseq_all: np.ndarray) -> dict:
    """Baselines fitted on the training data: l1000 (n_x, n_in), rnaseq_* (n_y, n_in|n_out), unpaired.

    ratio_scale (n_in,): mean(RNA-seq) / mean(L1000) per landmark gene.
    linear (n_in + 1, n_out): [landmarks, 1] @ linear ~ all genes, least squares on RNA-seq.
    gene_mean (n_out,): each output gene's training mean.
    """
    mean_x = l1000.mean(axis=0, dtype=np.float64)
    mean_y = rnaseq_landmarks.mean(axis=0, dtype=np.float64)
    ratio = np.divide(mean_y, mean_x, out=np.ones_like(mean_y), where=np.abs(mean_x) > 1e-12)
    X = np.hstack([rnaseq_landmarks.astype(np.float64), np.ones((len(rnaseq_landmarks), 1))])
    gram = X.T @ X
    gram[np.diag_indices_from(gram)] += RIDGE * np.trace(gram) / len(gram)
    linear = np.linalg.solve(gram, X.T @ rnaseq_all.astype(np.float64))
    return {
        "ratio_scale": ratio.astype(np.float32),
        "linear": linear.astype(np.float32),
        "gene_mean": rnaseq_all.mean(axis=0, dtype=np.float64).astype(np.float32),
    }


def apply_linear(linear: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(n, n_in) -> (n, n_out) with the fitted [weights; intercept]."""
    return landmarks.astype(np.float32) @ linear[:-1] + linear[-1]


# --- metrics: every function takes (samples, genes) arrays of equal shape ---

def _rowwise_pcc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # A constant row carries no information: its correlation is reported as 0, not NaN.
    informative = (np.ptp(a, axis=1) > 0) & (np.ptp(b, axis=1) > 0)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.divide((a * b).sum(axis=1), denom, out=np.zeros(len(a)), where=informative & (denom > 0))


def samplewise_pcc(pred, truth) -> np.ndarray:
    return _rowwise_pcc(np.asarray(pred, np.float64), np.asarray(truth, np.float64))


def samplewise_spearman(pred, truth) -> np.ndarray:
    return _rowwise_pcc(rankdata(pred, axis=1), rankdata(truth, axis=1))


def samplewise_rmse(pred, truth) -> np.ndarray:
    return np.sqrt(((np.asarray(pred, np.float64) - truth) ** 2).mean(axis=1))


def genewise_pcc(pred, truth) -> np.ndarray:
    return samplewise_pcc(np.asarray(pred).T, np.asarray(truth).T)


def genewise_rmse(pred, truth) -> np.ndarray:
    return samplewise_rmse(np.asarray(pred).T, np.asarray(truth).T)


def _derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """A permutation with no fixed point: every sample is paired with another one."""
    if n < 2:
        raise ValueError(f"random pairing needs at least 2 samples, found {n}.")
    order = rng.permutation(n)
    paired = np.empty(n, dtype=int)
    paired[order] = np.roll(order, 1)
    return paired


def _summary(values: np.ndarray) -> dict:
    return {"mean": float(np.mean(values)), "median": float(np.median(values)), "n": int(len(values))}


def evaluate_predictions(
    *,
    truth_landmarks: np.ndarray,
    truth_all: np.ndarray,
    step1: dict[str, np.ndarray],
    full: dict[str, np.ndarray],
) -> dict:
    """Score named predictions. step1: name -> (n, n_in); full: name -> (n, n_out).

    Returns {"per_sample": ..., "per_gene": ..., "summary": ...}; the arrays are for
    plots, the summary (means and medians) is what metrics.json keeps.
    """
    result = {"per_sample": {}, "per_gene": {}, "summary": {}}
    for level, preds, truth in (("landmarks", step1, truth_landmarks), ("all_genes", full, truth_all)):
        for name, pred in preds.items():
            if pred.shape != truth.shape:
                raise ValueError(f"prediction {name!r} has shape {pred.shape}, expected {truth.shape}.")
            per_sample = {
                "pcc": samplewise_pcc(pred, truth),
                "spearman": samplewise_spearman(pred, truth),
                "rmse": samplewise_rmse(pred, truth),
            }
            per_gene = {"pcc": genewise_pcc(pred, truth), "rmse": genewise_rmse(pred, truth)}
            result["per_sample"].setdefault(level, {})[name] = per_sample
            result["per_gene"].setdefault(level, {})[name] = per_gene
            result["summary"].setdefault(level, {})[name] = {
                **{f"sample_{k}": _summary(v) for k, v in per_sample.items()},
                **{f"gene_{k}": _summary(v) for k, v in per_gene.items()},
            }
    return result


def evaluate_bundle(bundle, l1000: np.ndarray, truth_all: np.ndarray, *, seed: int = 0) -> dict:
    """Full evaluation of a bundle on a paired set in the bundle's gene order (see module doc)."""
    if len(l1000) != len(truth_all):
        raise ValueError(f"the paired set must have as many L1000 as RNA-seq profiles, found {len(l1000)} and {len(truth_all)}.")
    position = {g: i for i, g in enumerate(bundle.output_entrez_ids)}
    missing = [g for g in bundle.input_entrez_ids if g not in position]
    if missing:
        raise ValueError(f"the bundle's output genes lack {len(missing)} landmark genes (Entrez ids {', '.join(missing[:10])}), so step 1 cannot be scored.")
    lm = np.array([position[g] for g in bundle.input_entrez_ids])
    truth_landmarks = truth_all[:, lm]
    evaluated = ~np.isnan(truth_all).any(axis=0)  # (n_out,) the output genes the paired set has
    if np.isnan(truth_landmarks).any():
        raise ValueError("the paired RNA-seq lacks some landmark genes, so step 1 cannot be scored.")
    b = bundle.baselines
    ratio = l1000 * b["ratio_scale"]
    rng = np.random.default_rng(seed)
    step1 = {"model (G)": bundle.predict_landmarks(l1000), "ratio scaling": ratio, "raw L1000": l1000}
    full = {
        "two-step model": bundle.predict(l1000)[:, evaluated],
        "linear regression": apply_linear(b["linear"], ratio)[:, evaluated],
        "training mean": np.broadcast_to(b["gene_mean"][evaluated], (len(truth_all), int(evaluated.sum()))),
        "random pairs": truth_all[_derangement(len(truth_all), rng)][:, evaluated],
    }
    result = evaluate_predictions(truth_landmarks=truth_landmarks, truth_all=truth_all[:, evaluated], step1=step1, full=full)
    result["evaluated_genes"] = evaluated
    gene_pcc = result["per_gene"]["all_genes"]
    result["summary"]["share_of_genes_model_beats"] = {
        name: float(np.mean(gene_pcc["two-step model"]["pcc"] > gene_pcc[name]["pcc"]))
        for name in ("linear regression", "training mean")
    }
    # The output ReLU clips: how often the model predicts exactly 0, against how often the RNA-seq is near 0.
    predicted, measured = full["two-step model"], truth_all[:, evaluated]
    result["summary"]["zeros"] = {
        "predicted_exactly_0": float(np.mean(predicted == 0)),
        "measured_at_most_0.01": float(np.mean(measured <= 0.01)),
        "genes_predicted_0_in_half_the_samples": int(np.sum(np.mean(predicted == 0, axis=0) >= 0.5)),
    }
    result["summary"]["n_samples"] = int(len(l1000))
    result["summary"]["n_genes_evaluated"] = int(evaluated.sum())
    result["summary"]["n_genes_missing"] = int((~evaluated).sum())
    return result


def gene_reliability(result: dict, *, paired_set: str) -> dict:
    """The two-step model's gene-wise PCC and RMSE from an `evaluate_bundle` result, as a bundle keeps them
    (Bundle.reliability: arrays in the bundle's output gene order, with what they were measured on)."""
    from datetime import datetime, timezone

    per_gene = result["per_gene"]["all_genes"]["two-step model"]
    evaluated = result["evaluated_genes"]
    pcc, rmse = (np.full(len(evaluated), np.nan, dtype=np.float32) for _ in range(2))  # NaN: a gene the paired set lacks
    pcc[evaluated], rmse[evaluated] = per_gene["pcc"], per_gene["rmse"]
    return {
        "pcc": pcc,
        "rmse": rmse,
        "n_samples": int(result["summary"]["n_samples"]),
        "paired_set": paired_set,
        "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def load_paired_for_bundle(bundle, l1000_path, rnaseq_path, *, rnaseq_values: str = "log2") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a GTEx-style paired set in the bundle's gene order: (sample_ids, l1000 (n, n_in), truth (n, n_out)).

    rnaseq_values: "counts" (raw counts: log2(count + 1) is taken), "log2" (any
    log2 expression: log2(count + 1) as the synthetic world ships it, or
    GSE92743's log2 RPKM, itself quantile-normalised) or "normalized" (already on
    the bundle's quantile scale). Counts and log2 values are quantile-normalised
    onto the bundle's reference, as the training RNA-seq was; that uses only each
    sample's ranks, so log2 RPKM and log2 counts land on the same scale. Output
    genes the RNA-seq lacks are NaN columns (each sample is mapped onto the
    reference's quantiles at the number of genes it has); the landmarks must all
    be there.
    """
    import pandas as pd

    from conversion.formats.gtex import read_paired
    from conversion.formats.l1000 import entrez_ids_of, landmark_positions
    from conversion.normalize import QuantileReference, log2p1

    if rnaseq_values not in ("counts", "log2", "normalized"):
        raise ValueError(f"rnaseq_values must be counts, log2 or normalized, found {rnaseq_values!r}.")
    paired = read_paired(l1000_path, rnaseq_path)
    l1000 = paired.l1000[:, landmark_positions(paired.l1000_gene_ids, bundle.input_entrez_ids, path=l1000_path)]
    landmark_positions(paired.rnaseq_gene_ids, bundle.input_entrez_ids, path=rnaseq_path)  # names any missing landmark
    have = pd.Series(np.arange(len(paired.rnaseq_gene_ids)), index=entrez_ids_of(paired.rnaseq_gene_ids))
    found = have[~have.index.duplicated(keep="first")].reindex([int(g) for g in bundle.output_entrez_ids])
    present = found.notna().to_numpy()
    values = paired.rnaseq[:, found.to_numpy()[present].astype(np.int64)]
    if rnaseq_values == "counts":
        values = log2p1(values)
    if rnaseq_values != "normalized":
        reference = np.asarray(bundle.quantile_reference, dtype=np.float64)
        if present.sum() != len(reference):
            reference = np.interp(np.linspace(0, 1, int(present.sum())), np.linspace(0, 1, len(reference)), reference)
        values = QuantileReference(reference).transform(values)
    truth = np.full((len(values), len(present)), np.nan, dtype=np.float32)
    truth[:, present] = values
    return paired.sample_ids, l1000, truth
