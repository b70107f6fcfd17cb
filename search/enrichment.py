"""Which annotations (mechanisms of action, targets) are over-represented among a list's top perturbagens.

A gene's top list of compounds is often dominated by one mechanism (DUSP6
down-regulators are mostly MEK and BRAF inhibitors). For each annotation term
this module counts the top list's perturbagens that carry it and compares with
every perturbagen of the same kind in the release:

- the unit is the perturbagen (pert_id), not the signature, so a compound
  profiled at ten doses counts once in the list and once in the background;
- one-sided Fisher exact test (over-representation): with N background
  perturbagens, K of them carrying the term, n in the list and k of those
  carrying it, p = P(X >= k) for X ~ Hypergeometric(N, K, n);
- Benjamini-Hochberg FDR over the terms tested for that list (every term
  carried by at least one listed perturbagen).

Perturbagens without annotation stay in the background and in the list: an
unannotated compound is not evidence for any mechanism, and dropping it would
inflate every term's share.

Imports numpy and scipy only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.stats import hypergeom

# A term carried by fewer listed perturbagens than this is reported but never called enriched.
MIN_LISTED = 2
FDR_THRESHOLD = 0.05


@dataclass(frozen=True, slots=True)
class TermEnrichment:
    term: str
    listed: int  # k: listed perturbagens with the term
    n_listed: int  # n: perturbagens in the list
    background: int  # K: background perturbagens with the term
    n_background: int  # N: perturbagens in the background
    p_value: float
    fdr: float
    perturbagens: tuple[str, ...]  # the listed perturbagens with the term, in list order

    @property
    def fold(self) -> float:
        """Observed share of the list over the background's share."""
        return (self.listed / self.n_listed) / (self.background / self.n_background)

    @property
    def enriched(self) -> bool:
        return self.listed >= MIN_LISTED and self.fdr <= FDR_THRESHOLD


def split_terms(value: str | None) -> frozenset[str]:
    """The terms of one stored annotation ("MEK inhibitor|RAF inhibitor"); empty for none."""
    if not value:
        return frozenset()
    return frozenset(t.strip() for t in str(value).split("|") if t.strip())


def benjamini_hochberg(p_values: Iterable[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (step-up, monotone, capped at 1), in the input order."""
    p = np.asarray(list(p_values), dtype=np.float64)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


@dataclass(frozen=True)
class Background:
    """Every background perturbagen's terms, with each term's number of carriers counted once.

    Counting carriers walks the whole background; a release's background is
    built once (search.mechanisms keeps it per process) and then serves every
    list.
    """

    annotations: Mapping[str, frozenset[str]]
    carriers: Mapping[str, int]  # term -> background perturbagens that carry it

    @classmethod
    def of(cls, annotations: Mapping[str, frozenset[str]]) -> Background:
        carriers: dict[str, int] = {}
        for terms in annotations.values():
            for term in terms:
                carriers[term] = carriers.get(term, 0) + 1
        return cls(annotations=annotations, carriers=carriers)


def enrichment(listed: Iterable[str], background: Background | Mapping[str, frozenset[str]]) -> list[TermEnrichment]:
    """Terms over-represented among `listed` perturbagens, most significant first.

    `listed`: the list's perturbagen ids in list order (repeats are counted
    once). `background`: every background perturbagen id -> its terms (an
    empty set for an unannotated one), or a Background built from such a
    mapping; listed ids missing from it are added to the background as
    unannotated.
    """
    order = list(dict.fromkeys(listed))
    if not order:
        return []
    if not isinstance(background, Background):
        background = Background.of(background)
    annotations = background.annotations
    members: dict[str, list[str]] = {}
    for pert in order:
        for term in annotations.get(pert, ()):
            members.setdefault(term, []).append(pert)
    if not members:
        return []
    n_background, n_listed = len(annotations) + sum(p not in annotations for p in order), len(order)
    terms = sorted(members)
    k = np.array([len(members[t]) for t in terms])
    big_k = np.array([background.carriers[t] for t in terms])
    p = hypergeom.sf(k - 1, n_background, big_k, n_listed)
    fdr = benjamini_hochberg(p)
    rows = [
        TermEnrichment(
            term=t, listed=int(k[i]), n_listed=n_listed, background=int(big_k[i]), n_background=n_background,
            p_value=float(p[i]), fdr=float(fdr[i]), perturbagens=tuple(members[t]),
        )
        for i, t in enumerate(terms)
    ]
    rows.sort(key=lambda r: (r.p_value, -r.listed, r.term))
    return rows
