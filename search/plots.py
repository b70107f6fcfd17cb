"""The volcano plot of one perturbation type (DESIGN.md "Volcano plot"), as Plotly figure JSON.

x = log2FC, y = |CD|; concordant up-regulating points blue, concordant
down-regulating red, darker for larger |CD x log2FC|; discordant points (CD and
log2FC disagree in sign) grey. `customdata` carries the signature id so a click
can highlight the table row. Plain Python: built here as a dict and drawn by
the local plotly.min.js.
"""

from __future__ import annotations

import math
from html import escape

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
    name, cell, dose_unit, time_unit = (escape(str(p.get(k) or "")) for k in ("perturbagen", "cell_line", "dose_unit", "time_unit"))
    return (
        f"{name}<br>cell line {cell}<br>dose {_fmt(p.get('dose'))} {dose_unit}"
        f"<br>time {_fmt(p.get('time'))} {time_unit}<br>CD {p['cd']:.4g}<br>log2FC {p['logfc']:.4g}<br>rank {p['rank']}"
    )


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
            colors = [shade(rgb, math.sqrt(abs(p["cd"] * p["logfc"]) / strongest)) for p in pts]
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


def _gene_hover(p: dict) -> list:
    """customdata of one gene's point: [entrez id (the key a click highlights), symbol (escaped), CD, rank]."""
    return [p["entrez_id"], escape(str(p["symbol"])), round(p["cd"], 6), p["rank"]]


def signature_volcano_figure(points: list[dict], *, title: str = "", webgl: bool = False) -> dict:
    """The volcano of one signature's genes, in the gene volcano's conventions (x = log2FC, y = |CD|, concordant
    up blue and down red, darker for larger |CD x log2FC|, discordant grey).

    points: dicts with entrez_id, symbol, cd, logfc, rank (in the gene's direction). A gene's direction is
    the sign of its CD. `webgl` draws with scattergl, for the thousands of genes of a full release. The
    hover text is built in the browser from `customdata` (hovertemplate) rather than sent per point.
    """
    traces = []
    for label, pts, colors in _coloured_groups(points, lambda p: "up" if p["cd"] > 0 else "down"):
        traces.append(
            {
                "type": "scattergl" if webgl else "scatter",
                "mode": "markers",
                "name": label,
                "x": [round(p["logfc"], 6) for p in pts],
                "y": [round(abs(p["cd"]), 6) for p in pts],
                "customdata": [_gene_hover(p) for p in pts],
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
