"""What produced the numbers a page, a download or the API shows, and what a gene's values are.

Every answer names its release, the model that made the RNA-seq-like profiles,
and how the signatures were computed (control mode, CD shrinkage gamma,
minimum replicates), so a table read months later can be traced and
reproduced. A gene's status says whether L1000 measured it, CMap inferred it,
or only this model predicts it: in every case the values shown are the model's
predictions, which is easy to forget for a landmark gene.
"""

from __future__ import annotations

from dataclasses import dataclass

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
class ReleaseProvenance:
    name: str
    model_version: str
    dataset: str
    controls: str
    gamma: float
    min_replicates: int

    def describe(self) -> str:
        return (
            f"release {self.name}; model {self.model_version}; dataset {self.dataset}; controls {self.controls}; "
            f"gamma {self.gamma:g}; min replicates {self.min_replicates}"
        )


def release_provenance(release) -> ReleaseProvenance:
    """The settings a release was computed with (signatures.compute.start_release records them in `params`)."""
    params = release.params or {}
    return ReleaseProvenance(
        name=release.name,
        model_version=release.model_version or "unknown",
        dataset=release.dataset.name,
        controls=str(params.get("controls", "all")),
        gamma=float(params.get("gamma", 1.0)),
        min_replicates=int(params.get("min_replicates", 2)),
    )


def download_header(release, gene, params) -> str:
    """The first line of a download: what produced the table, the gene and its status, and the query."""
    return (
        f"l1kweb {release_provenance(release).describe()}; "
        f"query gene={gene.symbol} (Entrez {gene.entrez_id}; {status_note(gene)}) {params.describe()}"
    )
