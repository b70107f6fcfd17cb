"""The evaluation report: one self-contained HTML page with Plotly violin plots.

plotly.js is embedded in the page (include_plotlyjs=True on the first figure), so
the report opens offline and can be mailed as one file.
"""

import html
from pathlib import Path

import plotly.graph_objects as go

from conversion.files import atomic_path

_TITLES = {
    ("per_sample", "landmarks"): "Landmark genes (step 1), per sample",
    ("per_sample", "all_genes"): "All output genes (two steps), per sample",
    ("per_gene", "landmarks"): "Landmark genes (step 1), per gene",
    ("per_gene", "all_genes"): "All output genes (two steps), per gene",
}
_METRIC_NAMES = {"pcc": "Pearson correlation", "spearman": "Spearman correlation", "rmse": "RMSE (log2 units)"}


def _violins(values_by_method: dict, title: str, metric: str) -> go.Figure:
    fig = go.Figure()
    for method, metrics in values_by_method.items():
        fig.add_trace(go.Violin(y=metrics[metric], name=method, box_visible=True, meanline_visible=True, points=False))
    fig.update_layout(title=f"{title}: {_METRIC_NAMES[metric]}", yaxis_title=_METRIC_NAMES[metric], showlegend=False, height=420)
    return fig


def _summary_table(summary: dict) -> str:
    rows = []
    for level in ("landmarks", "all_genes"):
        for method, stats in summary.get(level, {}).items():
            cells = "".join(f"<td>{stats[key]['median']:.3f}</td>" for key in ("sample_pcc", "sample_spearman", "sample_rmse", "gene_pcc", "gene_rmse"))
            rows.append(f"<tr><td>{html.escape(level)}</td><td>{html.escape(method)}</td>{cells}</tr>")
    head = "<tr><th>level</th><th>method</th><th>sample PCC</th><th>sample Spearman</th><th>sample RMSE</th><th>gene PCC</th><th>gene RMSE</th></tr>"
    return f"<table><caption>Medians</caption>{head}{''.join(rows)}</table>"


def write_report(result: dict, path: str | Path, *, title: str, description: str = "") -> Path:
    """Write the report for an `evaluate_bundle` result atomically."""
    path = Path(path)
    figures, first = [], True
    for (kind, level), heading in _TITLES.items():
        methods = result[kind].get(level, {})
        if not methods:
            continue
        for metric in next(iter(methods.values())):
            fig = _violins(methods, heading, metric)
            figures.append(fig.to_html(full_html=False, include_plotlyjs=True if first else False))
            first = False
    share = result["summary"].get("share_of_genes_model_beats", {})
    share_html = "".join(f"<li>{html.escape(k)}: {v:.1%} of genes</li>" for k, v in share.items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(description)}</p>
<p>{result['summary'].get('n_samples', '?')} paired samples.</p>
{_summary_table(result['summary'])}
<p>Share of genes where the two-step model's gene-wise PCC beats:</p><ul>{share_html}</ul>
{''.join(figures)}
</body></html>
"""
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
