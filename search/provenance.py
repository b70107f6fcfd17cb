"""What produced the numbers a page, a download or the API shows, and what a gene's values are.

Every answer names its release, the model that made the RNA-seq-like profiles,
and how the signatures were computed (control mode, CD shrinkage gamma,
minimum replicates), so a table read months later can be traced and
reproduced. A gene's status says whether L1000 measured it, CMap inferred it,
or only this model predicts it: in every case the values shown are the model's
predictions, which is easy to forget for a landmark gene.

How far to trust a gene: its reliability is the gene-wise Pearson r of the
model on paired L1000/RNA-seq samples (evaluate_translator), copied into the
release when it was computed (signatures.GeneReliability); below
settings.RELIABILITY_WARNING_BELOW the gene carries a warning. And a gene the
model predicts as constant among a signature's profiles has no CD there
(signatures.cd): how many signatures lack it is said beside its results.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from signatures.provenance import release_provenance

STATUS_NOTES = {
    "landmark": "measured by L1000; values shown are the model's RNA-seq-like predictions",
    "inferred": "inferred by CMap from the landmarks; values shown are the model's RNA-seq-like predictions",
    "model_only": "predicted only by this model (neither measured by L1000 nor inferred by CMap)",
    "other": "neither measured by L1000 nor inferred by CMap",
}


def status_note(gene) -> str:
    """What a gene's values are, as one clause (STATUS_NOTES), with a note when the model does not output it."""
    note = STATUS_NOTES.get(gene.status, STATUS_NOTES["other"])
    if not gene.in_model_output:
        note += "; not among the model's output genes, so no signature holds it"
    return note


@dataclass(frozen=True)
class Reliability:
    """How well the release's model predicts a gene on paired samples (None: not measured)."""

    pcc: float | None
    rmse: float | None
    n_samples: int | None
    paired_set: str
    threshold: float

    @property
    def measured(self) -> bool:
        return self.pcc is not None

    @property
    def warning(self) -> bool:
        return self.pcc is not None and self.pcc < self.threshold

    @property
    def note(self) -> str:
        if self.pcc is None:
            if self.n_samples is None:
                return "has no measured reliability: no paired evaluation of this release's model was recorded"
            return "has no measured reliability: the model's paired evaluation does not include this gene"
        note = f"is predicted with r = {self.pcc:.2f} on paired L1000/RNA-seq samples (n = {self.n_samples}; {self.paired_set})"
        if self.warning:
            note += f"; below {self.threshold:.2f}, the level under which this site warns: its values are weakly predicted, treat its hits with caution"
        return note


def gene_reliability(release, gene) -> Reliability:
    """The gene's reliability in `release` (one indexed query)."""
    from signatures.models import GeneReliability

    source = release.reliability or {}
    threshold = float(settings.RELIABILITY_WARNING_BELOW)
    if not source:
        return Reliability(pcc=None, rmse=None, n_samples=None, paired_set="", threshold=threshold)
    row = GeneReliability.objects.filter(release=release, entrez_id=gene.pk).values_list("pcc", "rmse").first()
    pcc, rmse = row if row is not None else (None, None)
    return Reliability(pcc=pcc, rmse=rmse, n_samples=int(source.get("n_samples", 0)), paired_set=str(source.get("paired_set", "")), threshold=threshold)


@dataclass(frozen=True)
class CdCoverage:
    """In how many of the release's signatures the gene has no CD (constant among their profiles)."""

    n_without_cd: int
    n_signatures: int

    @property
    def note(self) -> str:
        if not self.n_without_cd:
            return ""
        return (
            f"no CD in {self.n_without_cd} of {self.n_signatures} signatures: the model predicts the gene as constant among "
            "those signatures' profiles, so they have no direction for it and never list it"
        )


def cd_coverage(release, gene) -> CdCoverage:
    """Counted when the release's stores were written (signatures.store); a gene the model does not output: 0."""
    from search.stores import store_for

    store = store_for(release)
    n = store.signatures_without_cd(gene.pk) if store.has_gene(gene.pk) else 0
    return CdCoverage(n_without_cd=n, n_signatures=store.n_signatures)


@dataclass(frozen=True)
class GeneInRelease:
    """What to know about a gene's values before reading its hits."""

    status_note: str
    reliability: Reliability
    coverage: CdCoverage


def gene_in_release(release, gene) -> GeneInRelease:
    return GeneInRelease(status_note=status_note(gene), reliability=gene_reliability(release, gene), coverage=cd_coverage(release, gene))


def download_header(release, gene, params) -> str:
    """The first line of a download: what produced the table, the gene, its status and reliability, and the query."""
    about = gene_in_release(release, gene)
    notes = "; ".join(n for n in (about.status_note, about.reliability.note, about.coverage.note) if n)
    return f"l1kweb {release_provenance(release).describe()}; query gene={gene.symbol} (Entrez {gene.entrez_id}; {notes}) {params.describe()}"
