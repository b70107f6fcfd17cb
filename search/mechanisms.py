"""Mechanism-of-action and target enrichment of a result list's compounds (search.enrichment) against the release.

The background is every compound (pert_type chemical) of the release with its
annotation terms, read once per release and kept in the shared cache; the
list is the compounds of a result list's hits.
"""

from __future__ import annotations

from django.core.cache import cache

from search.enrichment import TermEnrichment, enrichment, split_terms
from signatures.models import PertType, Signature

FIELDS = {"moa": "pert_moa", "target": "pert_targets"}


def release_annotations(release, kind: str) -> dict[str, frozenset[str]]:
    """Every compound of `release` -> its terms of `kind` ("moa" or "target")."""
    key = f"search:annotations:v1:{release.cache_stamp}:{kind}"
    found = cache.get(key)
    if found is None:
        rows = Signature.objects.filter(release=release, pert_type=PertType.CHEMICAL).values_list("pert_id", FIELDS[kind]).distinct().order_by()
        found = {}
        for pert_id, value in rows:
            found[pert_id] = found.get(pert_id, frozenset()) | split_terms(value)
        cache.set(key, found, timeout=24 * 3600)
    return found


def list_enrichment(release, hit_list, kind: str) -> list[TermEnrichment]:
    """Terms of `kind` over-represented among the compounds of `hit_list` (most significant first)."""
    listed = [h.signature.pert_id for h in hit_list.hits if h.signature.pert_type == PertType.CHEMICAL]
    if not listed:
        return []
    return enrichment(listed, release_annotations(release, kind))
