"""Mechanism-of-action and target enrichment of a result list's compounds (search.enrichment) against the release.

The background is every compound (pert_type chemical) of the release with its
annotation terms, read once per release with one query and kept in this
process (search.process_memo: at a million signatures, unpickling it from the
shared cache on every request cost seconds); the list is the compounds of a
result list's hits.
"""

from __future__ import annotations

from search.enrichment import Background, TermEnrichment, enrichment, split_terms
from search.process_memo import ProcessMemo
from signatures.models import PertType, Signature

FIELDS = {"moa": "pert_moa", "target": "pert_targets"}
_backgrounds: ProcessMemo[Background] = ProcessMemo()


def release_annotations(release, kind: str) -> Background:
    """Every compound of `release` -> its terms of `kind` ("moa" or "target"), with the terms' carrier counts."""

    def read() -> Background:
        rows = Signature.objects.filter(release=release, pert_type=PertType.CHEMICAL).values_list("pert_id", FIELDS[kind]).distinct().order_by()
        found: dict[str, frozenset[str]] = {}
        for pert_id, value in rows:
            found[pert_id] = found.get(pert_id, frozenset()) | split_terms(value)
        return Background.of(found)

    return _backgrounds.get(f"{release.cache_stamp}:{kind}", read)


def list_enrichment(release, hit_list, kind: str) -> list[TermEnrichment]:
    """Terms of `kind` over-represented among the compounds of `hit_list` (most significant first)."""
    listed = [h.signature.pert_id for h in hit_list.hits if h.signature.pert_type == PertType.CHEMICAL]
    if not listed:
        return []
    return enrichment(listed, release_annotations(release, kind))
