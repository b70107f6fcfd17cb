from html import escape

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from search.renderers import json_bytes
from search.serializers import signature_path, signature_path_prefix

register = template.Library()


@register.filter(is_safe=True)
def figures_json(value, element_id: str):
    """Django's json_script, compact, written by orjson (search.renderers.json_bytes; NaN as null, which JSON.parse
    reads), with <, > and & escaped by str.replace: json_script's str.translate over a signature page's 1.9 MB of
    figure JSON was one of its largest costs (bench/bench_signature_page.py)."""
    text = json_bytes(value, DjangoJSONEncoder().default).decode()
    text = text.replace("&", "\\u0026").replace("<", "\\u003C").replace(">", "\\u003E")
    return format_html('<script id="{}" type="application/json">{}</script>', element_id, mark_safe(text))


@register.filter
def get_item(mapping, key):
    return mapping.get(key, key)


@register.filter
def pipes(value: str) -> str:
    """A |-separated metadata list (mechanisms, targets) as text: "a|b" -> "a, b"."""
    return value.replace("|", ", ")


_DISCORDANT = ' class="discordant"'
_FLAG = '<span class="flag" title="Discordant: CD and log2FC disagree in sign">yes</span>'


def _num(value) -> str:
    return "" if value is None else f"{float(value):.4g}"


def _value(value) -> str:
    return "" if value is None else repr(float(value))


_SELF = ' <span class="flag self-target" title="self: the target\'s own expression is poorly predicted">self</span>'


class _GenePaths(dict):
    """The escaped page path of each distinct target gene, reversed once: a CRISPR table repeats its genes
    (several guides, cell lines), and reverse() per row cost as much as the rest of the row."""

    def __missing__(self, symbol: str) -> str:
        self[symbol] = path = escape(reverse("search:gene", args=[symbol]))
        return path


def _signature_link(prefix: str, sig_id: str) -> str:
    """A small link to the signature's page, under the perturbagen's name (search.serializers.signature_path:
    reverse() per row would cost as much as the rest of the row, and a page has up to 4,000 rows)."""
    href = signature_path(sig_id, prefix)
    return f'<br><a class="sig-link" href="{escape(href)}" title="Open signature {escape(sig_id)}">signature</a>'


def _perturbagen(s, self_target: bool, signature_prefix: str, gene_paths: _GenePaths) -> str:
    """The perturbagen cell: its name; a genetic perturbation's gene as a link to its page; a compound's mechanism and
    targets; a link to the signature's page."""
    return _perturbagen_name(s, self_target, gene_paths) + _signature_link(signature_prefix, s.sig_id)


def _perturbagen_name(s, self_target: bool, gene_paths: _GenePaths) -> str:
    sig = escape(s.sig_id)
    if s.target_gene:
        gene = escape(s.target_gene)
        label = escape(s.pert_name) if s.pert_name.upper() != s.target_gene.upper() else gene
        name = f'<a class="target-gene" href="{gene_paths[s.target_gene]}" title="{sig}">{label}</a>'
        if label != gene:
            name += f' <span class="muted">({gene})</span>'
        return name + (_SELF if self_target else "")
    name = f'<span title="{sig}">{escape(s.pert_name)}</span>'
    notes = [part for part in (s.pert_moa.replace("|", ", "), s.pert_targets.replace("|", ", ")) if part]
    if notes:
        name += f'<br><span class="muted moa">{escape(" · ".join(notes))}</span>'
    return name


@register.simple_tag
def hit_rows(hl):
    """The <tr> rows of one result table, built as one string.

    The same markup as a template loop over the hits, about ten times
    cheaper: a page has up to 4 x 1,000 rows of 10 cells, and rendering them
    node by node was most of the page's CPU time.
    """
    rows = []
    prefix, gene_paths = signature_path_prefix(), _GenePaths()
    for hit in hl.hits:
        s = hit.signature
        sig = escape(s.sig_id)
        rows.append(
            f'<tr data-sig="{sig}"{_DISCORDANT if hit.discordant else ""}>'
            f"<td>{hit.position}</td>"
            f"<td>{_perturbagen(s, hit.self_target, prefix, gene_paths)}</td>"
            f"<td>{escape(s.cell_line)}</td>"
            f'<td data-value="{_value(s.dose)}">{_num(s.dose)} {escape(s.dose_unit)}</td>'
            f'<td data-value="{_value(s.time)}">{_num(s.time)} {escape(s.time_unit)}</td>'
            f'<td data-value="{_value(hit.cd)}">{_num(hit.cd)}</td>'
            f'<td data-value="{_value(hit.logfc)}">{_num(hit.logfc)}</td>'
            f"<td>{hit.rank}</td>"
            f"<td>{s.n_replicates}</td>"
            f"<td>{_FLAG if hit.discordant else ''}</td></tr>"
        )
    return mark_safe("\n".join(rows))


@register.simple_tag
def perturbagen_rows(groups):
    """The <tr> rows of one list's by-perturbagen table (search.perturbagens), built as one string like hit_rows."""
    rows = []
    for g in groups:
        cells = ", ".join(g.cell_lines)
        rows.append(
            f'<tr data-pert="{escape(g.pert_id)}">'
            f"<td>{g.best_position}</td>"
            f'<td title="{escape(g.pert_id)}">{escape(g.pert_name)}</td>'
            f"<td>{g.n_listed}</td>"
            f'<td data-value="{g.agreement!r}">{g.n_agree} of {g.n_signatures}</td>'
            f'<td data-value="{g.n_cell_lines_agree}" title="{escape(cells)}">{g.n_cell_lines_agree} of {g.n_cell_lines}</td>'
            f'<td data-value="{_value(g.median_cd)}">{_num(g.median_cd)}</td>'
            f'<td data-value="{_value(g.median_logfc)}">{_num(g.median_logfc)}</td></tr>'
        )
    return mark_safe("\n".join(rows))


@register.simple_tag
def cell_line_options(cell_lines, selected):
    """<option> elements for the cell-line filter: cell_lines maps name -> (id, number of signatures).

    Built as one string for the same reason as hit_rows: a release has
    hundreds of cell lines and every page shows them.
    """
    chosen = set(selected)
    return mark_safe("".join(
        f'<option value="{escape(name)}"{" selected" if name in chosen else ""}>{escape(name)} ({n})</option>' for name, (_, n) in cell_lines.items()
    ))


@register.simple_tag
def signature_gene_rows(genes):
    """The <tr> rows of a signature's top list (search.signature_genes.GeneEntry), built as one string like hit_rows:
    each gene links to its page when the gene registry knows it."""
    rows = []
    for g in genes:
        symbol = escape(g.symbol)
        name = f'<a class="gene-link" href="{escape(reverse("search:gene", args=[g.symbol]))}">{symbol}</a>' if g.status else symbol
        rows.append(
            f'<tr data-gene="{g.entrez_id}">'
            f"<td>{g.rank}</td>"
            f'<td title="Entrez {g.entrez_id}">{name}</td>'
            f'<td><span class="gene-status status-{escape(g.status or "unknown")}">{escape(g.status_label)}</span></td>'
            f'<td data-value="{_value(g.cd)}">{_num(g.cd)}</td>'
            f'<td data-value="{_value(g.logfc)}">{_num(g.logfc)}</td></tr>'
        )
    return mark_safe("\n".join(rows))
