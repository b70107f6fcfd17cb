"""Signature quality against known targets: where a perturbagen's target set ranks in its own signatures.

The paper's Fig. 5-6 analysis: take a perturbagen whose targets are known (a
transcription factor's target genes, say), and for each of its signatures ask
where the target set's members rank. A signature that captures the
perturbation puts them at one end: a TF knockout lowers its targets, so they
rank near the bottom by CD.

Inputs. A GMT file (`term<TAB>description<TAB>gene<TAB>gene...`; genes as
symbols, aliases or Entrez ids, resolved through the gene registry as the set
search resolves a pasted list: search.set_search.resolve_set). A term names a
perturbagen: it matches the signatures whose `pert_id` equals it, or whose
perturbagen name (`pert_name`, the L1000 pert_iname) or target gene
(`target_gene`, the gene a knockout, knockdown or overexpression is aimed at)
equals it ignoring case; "STAT3" matches every STAT3 knockout (sibling sgRNAs
included) and a compound named STAT3 if there were one. The description
declares the direction the perturbagen moves the set when its first word is
"up" or "down" (`down: targets of STAT3`); otherwise the direction is not
declared and both are tested (two-sided).

Per signature, with N genes in the release and r_i = rank_up of member i
(1 = the signature's most positive CD coefficient, signatures.store.ranks_up):

- z: the set search's Mann-Whitney z of the members' ranks against the other
  genes' (search.set_search.set_z, which derives it): z > 0 = the set is up,
  z < 0 = down. A member without a CD in the signature (rank 0) counts as the
  middle rank.
- p: from z by the normal approximation (no continuity correction, as scipy's
  `mannwhitneyu(method="asymptotic", use_continuity=False)`): one-sided in the
  declared direction (down: P(Z <= z) = Phi(z); up: 1 - Phi(z)), two-sided
  2 (1 - Phi(|z|)) when none is declared.
- ES: the enrichment score of GSEA's bridge plot in its classic, unweighted
  form (the Kolmogorov-Smirnov running sum). Walking down the signature from
  position 1 (most up) to N (most down), with m ranked members at positions
  p_1 < ... < p_m, the running sum after position x is

      RS(x) = #{j: p_j <= x} / m - #{non-members at positions <= x} / (N - m)

  It rises by 1/m at each member and falls by 1/(N - m) at every other gene,
  starts and ends at 0. ES = the value of RS farthest from 0, with its sign:
  ES > 0 when the members crowd the top (up), ES < 0 the bottom (down).
  Its largest deviation |ES| is the two-sample KS statistic D of the members'
  positions against the others' (scipy.stats.ks_2samp), which the tests check.
  RS is linear between members, so its extremes lie at the members:
  after member j, j/m - (p_j - j)/(N - m) (the highest), and just before it,
  (j - 1)/m - (p_j - j)/(N - m) (the lowest). Members without a CD have no
  position and are left out of the ES and the plot (counted in `n_no_rank`).

The ES describes the shape the plot shows; the p-value is the z's. Comparing
two releases (an RNA-seq-like one against one computed from the L1000
profiles themselves, say): signatures are matched by `sig_id`, which is
`<batch>:<pert_id>:<dose>:<time>` in both when they come from the same
profiles, and, where the ids differ, by (pert_id, cell line, dose, time) when
that key names one signature in each. A release's "only here" members are the
set's members its store holds and the other's does not: for an RNA-seq-like
release against an L1000 one, the genes only the model predicts. Their ranks
are reported separately (their median rank in the declared direction).

Report: one self-contained HTML page (plotly.js embedded, no network) with
a summary per term and release, the per-signature table and, per term and
release, a bridge plot: the running sums above, the members' positions as
ticks below (one row per signature, "only here" members in orange).

`running_sum`, `enrichment_score`, `p_from_z` and `read_gmt` import numpy
and scipy only; `evaluate` and the report need Django (imported inside them).
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import norm

from search.set_search import set_z

DIRECTIONS = ("up", "down")
SIGNIFICANT = 0.05
MAX_PLOTTED = 40  # signatures per bridge plot; the table lists every one
ONLY_HERE_COLOUR = "rgb(230,120,20)"
MEMBER_COLOUR = "rgb(60,60,60)"


class EvaluationError(ValueError):
    """An input the evaluation cannot use; the message says what is wrong and what was expected."""


# ---------------------------------------------------------------------------
# GMT files.


@dataclass(frozen=True)
class TermSet:
    term: str
    description: str
    entries: list[str]
    direction: str | None  # "up", "down" or None (not declared)
    line: int


def _declared_direction(description: str) -> str | None:
    words = description.strip().split(maxsplit=1)
    first = words[0].rstrip(":;,.").lower() if words else ""
    return first if first in DIRECTIONS else None


def read_gmt(path) -> list[TermSet]:
    """The sets of a GMT file, in file order; raises EvaluationError for a file that is not one."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvaluationError(f"Cannot read the GMT file {path}: {exc.strerror or exc}.") from None
    if b"\0" in data:
        raise EvaluationError(f"{path} is not a GMT file: it holds binary data (NUL bytes); expected text lines term<TAB>description<TAB>gene...")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EvaluationError(f"{path} is not a GMT file: byte {exc.start} is not UTF-8 text; expected text lines term<TAB>description<TAB>gene...") from None
    sets, seen = [], {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        term = fields[0].strip()
        entries = [f.strip() for f in fields[2:] if f.strip()]
        if not term:
            raise EvaluationError(f"{path}, line {n}: the term (first field) is empty; expected term<TAB>description<TAB>gene...")
        if not entries:
            raise EvaluationError(f"{path}, line {n}: term {term!r} lists no gene; expected term<TAB>description<TAB>gene<TAB>gene... (tab-separated).")
        if term in seen:
            raise EvaluationError(f"{path}, line {n}: term {term!r} appears again (first on line {seen[term]}); each term must be unique.")
        seen[term] = n
        description = fields[1].strip() if len(fields) > 1 else ""
        sets.append(TermSet(term, description, entries, _declared_direction(description), n))
    if not sets:
        raise EvaluationError(f"{path} holds no gene set; expected lines term<TAB>description<TAB>gene...")
    return sets


# ---------------------------------------------------------------------------
# Numerics.


def _checked_positions(positions, n_genes: int) -> np.ndarray:
    p = np.sort(np.asarray(positions, dtype=np.int64))
    m = len(p)
    if not 0 < m < n_genes:
        raise ValueError(f"a set must hold between 1 and n_genes - 1 ({n_genes - 1}) ranked genes, found {m}.")
    if p[0] < 1 or p[-1] > n_genes or np.any(np.diff(p) == 0):
        raise ValueError(f"positions must be distinct ranks in 1..{n_genes}, found {p[0]}..{p[-1]} with {int(np.sum(np.diff(p) == 0))} repeats.")
    return p


def running_sum(positions, n_genes: int) -> tuple[np.ndarray, np.ndarray]:
    """The running sum RS as a polyline (x, y): exact, since RS is linear between members; x in 0..n_genes."""
    p = _checked_positions(positions, n_genes)
    m = len(p)
    j = np.arange(1, m + 1)
    misses = (p - j) / (n_genes - m)  # non-members above member j, as a fraction of all non-members
    before, after = (j - 1) / m - misses, j / m - misses  # RS just before and at member j
    x = np.concatenate([[0], np.repeat(p, 2) - np.tile([1, 0], m), [n_genes]]).astype(np.float64)
    y = np.concatenate([[0.0], np.column_stack([before, after]).ravel(), [0.0]])
    return x, y


def enrichment_score(positions, n_genes: int) -> float:
    """ES: the running sum's value farthest from 0, signed (> 0: members near position 1, the top)."""
    p = _checked_positions(positions, n_genes)
    m = len(p)
    j = np.arange(1, m + 1)
    misses = (p - j) / (n_genes - m)
    top, bottom = float(np.max(j / m - misses)), float(np.min((j - 1) / m - misses))
    return top if top >= -bottom else bottom


def p_from_z(z, direction: str | None) -> np.ndarray:
    """p of the set's z: one-sided in the declared direction (z < 0 is down), two-sided without one."""
    z = np.asarray(z, dtype=np.float64)
    if direction == "down":
        return norm.cdf(z)
    if direction == "up":
        return norm.sf(z)
    if direction is None:
        return 2.0 * norm.sf(np.abs(z))
    raise ValueError(f"direction must be 'up', 'down' or None, found {direction!r}.")


def directed_ranks(rank_up: np.ndarray, n_genes: int, direction: str | None) -> np.ndarray:
    """Ranks in the declared direction (down: 1 = most negative CD); rank_up when none is declared. 0 stays 0."""
    r = np.asarray(rank_up, dtype=np.int64)
    if direction != "down":
        return r
    return np.where(r > 0, n_genes + 1 - r, 0)


# ---------------------------------------------------------------------------
# The evaluation of releases.


@dataclass
class SignatureScore:
    signature: object  # signatures.models.Signature
    n_members: int  # members the store holds
    n_no_rank: int  # of them, without a CD in this signature
    z: float
    p: float
    es: float  # NaN when no member has a rank
    positions: np.ndarray  # rank_up of the ranked members, in `symbols` order
    symbols: list[str]
    only_here: np.ndarray  # bool per entry of `positions`: a member the other release's store does not hold
    median_rank: float  # in the declared direction
    median_rank_only_here: float  # NaN without such members
    matched: object = None  # the SignatureScore of the same signature in the other release


@dataclass
class ReleaseTerm:
    """One term in one release."""

    release: object
    n_genes: int  # genes in the release's store
    genes: list  # conversion.models.Gene the store holds, in entry order
    unresolved: list  # search.set_search.Unresolved
    only_here: list  # genes of `genes` the other release's store does not hold
    scores: list[SignatureScore] = field(default_factory=list)
    note: str = ""  # why nothing was scored

    def summary(self) -> dict:
        z = np.array([s.z for s in self.scores])
        es = np.array([s.es for s in self.scores])
        p = np.array([s.p for s in self.scores])
        only = np.array([s.median_rank_only_here for s in self.scores], dtype=float)
        return {
            "n_signatures": len(self.scores),
            "n_perturbagens": len({s.signature.pert_id for s in self.scores}),
            "n_members": len(self.genes),
            "n_only_here": len(self.only_here),
            "median_es": float(np.nanmedian(es)) if len(es) and not np.all(np.isnan(es)) else float("nan"),
            "median_z": float(np.median(z)) if len(z) else float("nan"),
            "fraction_significant": float(np.mean(p < SIGNIFICANT)) if len(p) else float("nan"),
            "median_rank_only_here": float(np.nanmedian(only)) if len(only) and not np.all(np.isnan(only)) else float("nan"),
        }


@dataclass
class TermResult:
    set: TermSet
    releases: list[ReleaseTerm]  # the release, then the one compared with


@dataclass
class Evaluation:
    release: object
    compare: object | None
    gmt: Path
    terms: list[TermResult]
    unmatched_terms: list[str]  # terms that name no perturbagen of any release evaluated

    @property
    def releases(self) -> list:
        return [self.release] + ([self.compare] if self.compare is not None else [])


def matching_signatures(release, term: str):
    """The signatures of `release` the term names: its pert_id, or its perturbagen name or target gene ignoring case."""
    from django.db.models import Q

    from signatures.models import Signature

    where = Q(pert_id=term) | Q(pert_name__iexact=term) | Q(target_gene__iexact=term)
    return Signature.objects.filter(where, release=release).select_related("cell_line").order_by("column")


def _score_term(store, genes, only_here_ids: set[int], signatures, direction: str | None) -> list[SignatureScore]:
    from search.set_search import set_ranks

    if not signatures:
        return []
    n = store.n_genes
    columns = np.array([s.column for s in signatures], dtype=np.int64)
    ranks = set_ranks(store, genes, columns)  # (members, signatures) rank_up, 0 = no CD
    z = set_z(ranks, n)
    p = p_from_z(z, direction)
    only = np.array([g.entrez_id in only_here_ids for g in genes], dtype=bool)
    out = []
    for k, sig in enumerate(signatures):
        r = ranks[:, k]
        ranked = r > 0
        es = enrichment_score(r[ranked], n) if ranked.any() else float("nan")
        d = directed_ranks(r, n, direction)
        here = ranked & only
        out.append(
            SignatureScore(
                signature=sig, n_members=len(genes), n_no_rank=int((~ranked).sum()), z=float(z[k]), p=float(p[k]), es=es,
                positions=r[ranked].astype(np.int64), symbols=[g.symbol for g, keep in zip(genes, ranked) if keep], only_here=only[ranked],
                median_rank=float(np.median(d[ranked])) if ranked.any() else float("nan"),
                median_rank_only_here=float(np.median(d[here])) if here.any() else float("nan"),
            )
        )
    return out


def _match(scores: list[SignatureScore], others: list[SignatureScore]) -> None:
    """Pair each signature with the other release's: by sig_id, else by (pert_id, cell line, dose, time) when unique in both."""
    by_id = {s.signature.sig_id: s for s in others}

    def key(s):
        sig = s.signature
        return (sig.pert_id, sig.cell_line.name, sig.dose, sig.time)

    by_key: dict[tuple, list[SignatureScore]] = {}
    for s in others:
        by_key.setdefault(key(s), []).append(s)
    mine: dict[tuple, int] = {}
    for s in scores:
        mine[key(s)] = mine.get(key(s), 0) + 1
    for s in scores:
        other = by_id.get(s.signature.sig_id)
        if other is None and mine[key(s)] == 1 and len(by_key.get(key(s), [])) == 1:
            other = by_key[key(s)][0]
        if other is not None:
            s.matched, other.matched = other, s


def evaluate(release, gmt, *, compare=None) -> Evaluation:
    """Score every signature each GMT term names, in `release` and in `compare` when given.

    Raises EvaluationError for a GMT file that is not one or whose terms name
    no perturbagen, signatures.store.StoreError when a store cannot be read.
    """
    from search.set_search import resolve_set
    from search.stores import store_for

    sets = read_gmt(gmt)
    releases = [release] + ([compare] if compare is not None else [])
    stores = [store_for(r) for r in releases]
    matched = {t.term: [list(matching_signatures(r, t.term)) for r in releases] for t in sets}
    unmatched = [t.term for t in sets if not any(matched[t.term])]
    if len(unmatched) == len(sets):
        names = ", ".join(repr(t) for t in unmatched[:5]) + (f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else "")
        where = " or ".join(r.name for r in releases)
        raise EvaluationError(
            f"No term of {Path(gmt).name} names a perturbagen of release {where}: {names}. A term must equal a signature's pert_id, "
            "perturbagen name or target gene (e.g. STAT3 for STAT3 knockouts)."
        )
    terms = []
    for t in sets:
        if not any(matched[t.term]):
            continue
        resolved = [resolve_set(t.term, t.entries, s) for s in stores]
        held = [{g.entrez_id for g in r.genes} for r in resolved]
        result = TermResult(set=t, releases=[])
        for i, (r, gs, store) in enumerate(zip(releases, resolved, stores)):
            other_held = held[1 - i] if len(releases) == 2 else held[i]
            only_ids = {g.entrez_id for g in gs.genes} - other_held
            rt = ReleaseTerm(release=r, n_genes=store.n_genes, genes=gs.genes, unresolved=gs.unresolved, only_here=[g for g in gs.genes if g.entrez_id in only_ids])
            sigs = matched[t.term][i]
            if not sigs:
                rt.note = f"no signature of release {r.name} is of perturbagen {t.term}"
            elif not 0 < len(gs.genes) < store.n_genes:
                rt.note = f"{len(gs.genes)} of the set's {len(t.entries)} genes are in release {r.name}; a set needs 1 to {store.n_genes - 1}"
            else:
                rt.scores = _score_term(store, gs.genes, only_ids, sigs, t.direction)
            result.releases.append(rt)
        if len(result.releases) == 2:
            _match(result.releases[0].scores, result.releases[1].scores)
        terms.append(result)
    return Evaluation(release=release, compare=compare, gmt=Path(gmt), terms=terms, unmatched_terms=unmatched)


# ---------------------------------------------------------------------------
# Tables.

SUMMARY_COLUMNS = ["term", "direction", "release", "signatures", "perturbagens", "members", "median ES", "median z", f"p < {SIGNIFICANT}", "only here", "median rank only here"]
TABLE_COLUMNS = [
    "term", "direction", "release", "sig_id", "pert_id", "pert_name", "pert_type", "cell_line", "dose", "dose_unit", "time", "time_unit",
    "n_members", "n_no_rank", "es", "z", "p_value", "median_rank", "n_only_here", "median_rank_only_here", "matched_sig_id",
]


def _num(x, fmt: str = ".3g") -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, fmt)


def summary_rows(evaluation: Evaluation) -> list[list[str]]:
    rows = []
    for t in evaluation.terms:
        for rt in t.releases:
            s = rt.summary()
            rows.append([
                t.set.term, t.set.direction or "both", rt.release.name, str(s["n_signatures"]), str(s["n_perturbagens"]), str(s["n_members"]),
                _num(s["median_es"], ".3f"), _num(s["median_z"], ".2f"), _num(s["fraction_significant"], ".0%"), str(s["n_only_here"]),
                _num(s["median_rank_only_here"], ".0f"),
            ])  # fmt: skip
    return rows


def signature_rows(evaluation: Evaluation) -> list[list[str]]:
    rows = []
    for t in evaluation.terms:
        for rt in t.releases:
            for s in rt.scores:
                sig = s.signature
                rows.append([
                    t.set.term, t.set.direction or "both", rt.release.name, sig.sig_id, sig.pert_id, sig.pert_name, sig.pert_type, sig.cell_line.name,
                    _num(sig.dose, "g"), sig.dose_unit, _num(sig.time, "g"), sig.time_unit, str(s.n_members), str(s.n_no_rank), _num(s.es, ".6g"),
                    _num(s.z, ".6g"), _num(s.p, ".6g"), _num(s.median_rank, "g"), str(int(s.only_here.sum())), _num(s.median_rank_only_here, "g"),
                    s.matched.signature.sig_id if s.matched is not None else "",
                ])  # fmt: skip
    return rows


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain, aligned table for the terminal."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def tsv_text(evaluation: Evaluation) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(TABLE_COLUMNS)
    writer.writerows(signature_rows(evaluation))
    return out.getvalue()


# ---------------------------------------------------------------------------
# The HTML report.


def bridge_figure(rt: ReleaseTerm, term: TermSet):
    """The bridge plot of one term in one release: running sums (top), member ticks per signature (bottom)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    n = rt.n_genes
    scores = rt.scores[:MAX_PLOTTED]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.55, 0.45], vertical_spacing=0.04)
    for k, s in enumerate(scores):
        sig = s.signature
        label = " ".join(x for x in (sig.cell_line.name, sig.pert_id, f"{_num(sig.dose, 'g')}{sig.dose_unit}", f"{_num(sig.time, 'g')}{sig.time_unit}") if x)
        if len(s.positions):
            x, y = running_sum(s.positions, n)
            fig.add_trace(
                go.Scatter(x=x, y=y, mode="lines", name=label, legendgroup=str(k), line={"width": 1.2},
                           hovertemplate=f"{html.escape(sig.sig_id)}<br>ES {s.es:.3f}, z {s.z:.2f}, p {s.p:.2g}<extra></extra>"),
                row=1, col=1,
            )  # fmt: skip
        for only, colour in ((False, MEMBER_COLOUR), (True, ONLY_HERE_COLOUR)):
            pick = s.only_here == only
            if not pick.any():
                continue
            fig.add_trace(
                go.Scatter(
                    x=s.positions[pick], y=np.full(int(pick.sum()), k), mode="markers", showlegend=False, legendgroup=str(k),
                    marker={"symbol": "line-ns-open", "size": 12, "color": colour, "line": {"width": 1.5, "color": colour}},
                    text=[html.escape(sym) for sym, keep in zip(s.symbols, pick) if keep],
                    hovertemplate="%{text}: rank_up %{x}" + (" (only in this release)" if only else "") + "<extra></extra>",
                ),
                row=2, col=1,
            )
    fig.add_hline(y=0, line={"width": 0.8, "color": "rgb(150,150,150)"}, row=1, col=1)
    fig.update_xaxes(range=[0, n + 1], title_text=f"position in the signature by CD (1 = most up, {n:,} = most down)", row=2, col=1)
    fig.update_yaxes(title_text="running sum", row=1, col=1)
    ticks = [f"{s.signature.cell_line.name} {s.signature.pert_id}" for s in scores]
    fig.update_yaxes(tickvals=list(range(len(scores))), ticktext=ticks, autorange="reversed", row=2, col=1)
    more = f" (first {MAX_PLOTTED} of {len(rt.scores)} signatures)" if len(rt.scores) > MAX_PLOTTED else ""
    fig.update_layout(title=f"{term.term} in {rt.release.name}: {len(rt.genes)} members{more}", height=360 + 18 * len(scores), margin={"t": 50})
    return fig


def unresolved_text(rt: ReleaseTerm, *, limit: int | None = 8) -> str:
    """The set's entries a release does not use, in one sentence: unknown and ambiguous ones with
    their messages, the genes the release's store lacks by name (`limit` of each, None: all)."""
    cut = lambda items: items if limit is None or len(items) <= limit else items[:limit] + [f"and {len(items) - limit} more"]
    parts = []
    unknown = [u.message for u in rt.unresolved if u.reason != "not_in_release"]
    if unknown:
        parts.append(" ".join(cut(unknown)))
    absent = [u.query for u in rt.unresolved if u.reason == "not_in_release"]
    if absent:
        parts.append(f"{len(absent)} genes are not among the release's {rt.n_genes:,}: {', '.join(cut(absent))}.")
    return " ".join(parts)


def _html_table(header: list[str], rows: list[list[str]], caption: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(evaluation: Evaluation) -> str:
    """The whole report as one page; plotly.js is embedded once, with the first figure."""
    names = " against ".join(r.name for r in evaluation.releases)
    parts, first = [], True
    for t in evaluation.terms:
        parts.append(f"<h2>{html.escape(t.set.term)}</h2><p>{html.escape(t.set.description)}</p>")
        for rt in t.releases:
            if rt.unresolved:
                parts.append(f"<p class=note>{html.escape(rt.release.name)}: {html.escape(unresolved_text(rt, limit=None))}</p>")
            if rt.note:
                parts.append(f"<p class=note>{html.escape(rt.note)}.</p>")
            if rt.scores:
                parts.append(bridge_figure(rt, t.set).to_html(full_html=False, include_plotlyjs=True if first else False))
                first = False
    unmatched = ""
    if evaluation.unmatched_terms:
        unmatched = f"<p class=note>Terms naming no perturbagen of {html.escape(names)}: {html.escape(', '.join(evaluation.unmatched_terms))}.</p>"
    title = f"Signatures of {names} against {evaluation.gmt.name}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right;font-size:90%}}caption{{text-align:left;font-weight:bold}}.note{{color:#555}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p>For each term's perturbagen, where the term's genes rank in each of its signatures by CD. ES: the classic (unweighted) GSEA
running-sum enrichment score, &gt; 0 when the genes sit at the top (up), &lt; 0 at the bottom (down). z and p: the Mann-Whitney z of
the genes' ranks (the set search's), p by the normal approximation, one-sided in the direction the term's description declares
(two-sided when it declares none). "Only here": members this release holds and the other does not (for an RNA-seq-like release
against an L1000 one, the genes only the model predicts); their median rank is in the declared direction (1 = the end the set
should reach). In the bridge plots those members' ticks are orange.</p>
{_html_table(SUMMARY_COLUMNS, summary_rows(evaluation), "Summary per term and release")}
{unmatched}
{''.join(parts)}
<h2>Every signature</h2>
<div style="overflow-x:auto">{_html_table(TABLE_COLUMNS, signature_rows(evaluation))}</div>
</body></html>
"""


def write_outputs(evaluation: Evaluation, *, html_path, tsv_path) -> None:
    """Write the report and the table, each atomically; both are rendered before either is written."""
    from conversion.files import atomic_path

    page, table = report_html(evaluation), tsv_text(evaluation)
    with atomic_path(html_path) as html_tmp, atomic_path(tsv_path) as tsv_tmp:
        html_tmp.write_text(page, encoding="utf-8")
        tsv_tmp.write_text(table, encoding="utf-8")
