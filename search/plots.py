"""The volcano plot of one perturbation type (DESIGN.md "Volcano plot"), as Plotly figure JSON.

x = log2FC, y = |CD|; concordant up-regulating points blue, concordant
down-regulating red, darker for larger |CD x log2FC|; discordant points (CD and
log2FC disagree in sign) grey. `customdata` carries the signature id so a click
can highlight the table row. Plain Python: built here as a dict and drawn by
the local plotly.min.js; a signature's volcano of every gene from numpy arrays.
"""

from __future__ import annotations

from html import escape

import numpy as np

UP_RGB = (31, 95, 191)  # the site's --up blue
DOWN_RGB = (192, 57, 43)  # --down red
GREY = "rgb(158,158,158)"
LIGHT = 0.25  # weakest points keep a quarter of the colour, mixed with white


def shade(rgb: tuple[int, int, int], strength: float) -> str:
    """`rgb` mixed with white: strength 0 -> light, 1 -> the full colour."""
    t = LIGHT + (1 - LIGHT) * min(max(strength, 0.0), 1.0)
    r, g, b = (round(255 - (255 - c) * t) for c in rgb)
    return f"rgb({r},{g},{b})"


def _fmt(x) -> str:
    return "" if x is None else (f"{x:g}")


def _hover(p: dict) -> str:
    """Hover text in Plotly's HTML subset; names and units are escaped, so a
    perturbagen called "<a href=...>" is shown as text, never as a link."""
    return (
        f"{_escaped(p.get('perturbagen'))}<br>cell line {_escaped(p.get('cell_line'))}<br>dose {_fmt(p.get('dose'))} {_escaped(p.get('dose_unit'))}"
        f"<br>time {_fmt(p.get('time'))} {_escaped(p.get('time_unit'))}<br>CD {p['cd']:.4g}<br>log2FC {p['logfc']:.4g}<br>rank {p['rank']}"
    )


def _escaped(value) -> str:
    return escape(str(value or ""))


def _coloured_groups(points: list[dict], direction_of):
    """(label, points, colours) for concordant up, concordant down and discordant points: the
    concordant ones shaded by |CD x log2FC| against the strongest, the discordant grey."""
    strongest = max((abs(p["cd"] * p["logfc"]) for p in points), default=0.0) or 1.0
    groups = {"up": [], "down": [], "discordant": []}
    for p in points:
        groups["discordant" if p["cd"] * p["logfc"] < 0 else direction_of(p)].append(p)
    for name, label in (("up", "Up (concordant)"), ("down", "Down (concordant)"), ("discordant", "Discordant")):
        pts = groups[name]
        if name == "discordant":
            colors = [GREY] * len(pts)
        else:
            rgb = UP_RGB if name == "up" else DOWN_RGB
            colors = shades(rgb, np.sqrt(np.abs(np.array([p["cd"] * p["logfc"] for p in pts], dtype=np.float64)) / strongest))
        yield label, pts, colors


def volcano_figure(points: list[dict], *, title: str = "") -> dict:
    """points: dicts with sig_id, perturbagen, cell_line, dose, time, cd, logfc, rank, direction.

    Returns {"data": [traces], "layout": {...}} with one trace each for
    concordant up, concordant down and discordant points.
    """
    traces = []
    for label, pts, colors in _coloured_groups(points, lambda p: p["direction"]):
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": label,
                "x": [round(p["logfc"], 6) for p in pts],
                "y": [round(abs(p["cd"]), 6) for p in pts],
                "customdata": [p["sig_id"] for p in pts],
                "text": [_hover(p) for p in pts],
                "hovertemplate": "%{text}<extra></extra>",
                "marker": {"color": colors, "size": 9, "line": {"width": 0.5, "color": "rgb(80,80,80)"}},
            }
        )
    layout = {
        "title": {"text": title},
        "xaxis": {"title": {"text": "log2 fold change"}, "zeroline": True},
        "yaxis": {"title": {"text": "|CD coefficient|"}, "rangemode": "tozero"},
        "hovermode": "closest",
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
        "height": 380,
        "legend": {"orientation": "h"},
    }
    return {"data": traces, "layout": layout}


def shades(rgb: tuple[int, int, int], strength: np.ndarray) -> list[str]:
    """`shade` of every value of `strength` (float64), computed as `shade` computes one."""
    t = LIGHT + (1 - LIGHT) * np.clip(strength, 0.0, 1.0)
    channels = [np.round(255 - (255 - c) * t).astype(np.int64).tolist() for c in rgb]
    return [f"rgb({r},{g},{b})" for r, g, b in zip(*channels)]


def signature_volcano_figure(entrez_ids, symbols, cd, logfc, rank, *, title: str = "", webgl: bool = False) -> dict:
    """The volcano of one signature's genes, in the gene volcano's conventions (x = log2FC, y = |CD|, concordant
    up blue and down red, darker for larger |CD x log2FC|, discordant grey).

    Arrays over the genes plotted (numpy; symbols a list): Entrez id, symbol, CD, log2FC and the gene's rank
    in its direction, which is the sign of its CD. `webgl` draws with scattergl, for the thousands of genes
    of a full release. The hover text is built in the browser from `customdata` ([entrez id, symbol, CD,
    rank]: hovertemplate) rather than sent per point. Built from whole arrays: a full release's 23,614
    genes as one dict per point cost more than the rest of the page.
    """
    cd = np.asarray(cd, dtype=np.float64)
    logfc = np.asarray(logfc, dtype=np.float64)
    product = cd * logfc
    strongest = float(np.abs(product).max()) if len(product) else 0.0
    strongest = strongest or 1.0
    discordant = product < 0
    groups = (
        ("Up (concordant)", ~discordant & (cd > 0), UP_RGB),
        ("Down (concordant)", ~discordant & ~(cd > 0), DOWN_RGB),
        ("Discordant", discordant, None),
    )
    traces = []
    for label, keep, rgb in groups:
        at = np.flatnonzero(keep)
        colors = [GREY] * len(at) if rgb is None else shades(rgb, np.sqrt(np.abs(product[at]) / strongest))
        names = [escape(str(symbols[i])) for i in at.tolist()]
        traces.append(
            {
                "type": "scattergl" if webgl else "scatter",
                "mode": "markers",
                "name": label,
                "x": [round(v, 6) for v in logfc[at].tolist()],
                "y": [round(v, 6) for v in np.abs(cd[at]).tolist()],
                "customdata": [list(row) for row in zip(np.asarray(entrez_ids)[at].tolist(), names, [round(v, 6) for v in cd[at].tolist()], np.asarray(rank)[at].tolist())],
                "hovertemplate": "%{customdata[1]}<br>CD %{customdata[2]:.4g}<br>log2FC %{x:.4g}<br>rank %{customdata[3]}<extra></extra>",
                "marker": {"color": colors, "size": 5 if webgl else 7, "line": {"width": 0 if webgl else 0.5, "color": "rgb(80,80,80)"}},
            }
        )
    layout = {
        "title": {"text": escape(title)},
        "xaxis": {"title": {"text": "log2 fold change"}, "zeroline": True},
        "yaxis": {"title": {"text": "|CD coefficient|"}, "rangemode": "tozero"},
        "hovermode": "closest",
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
        "height": 420,
        "legend": {"orientation": "h"},
    }
    return {"data": traces, "layout": layout}
