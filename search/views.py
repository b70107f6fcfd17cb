"""Search pages: home, gene lookup, the gene's result page and its downloads, a signature's page and its downloads, the gene-set search.

Views are thin: resolve the gene, validate the query string against the active
release (search.query), run the lists, render. Bad input is a 400 or 404 page
with one sentence saying what was wrong.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from search import demo_status, downloads, lookup, plots, provenance, set_search, signature_genes, stores
from search.mechanisms import list_enrichment
from search.perturbagens import group_by_perturbagen
from search.response_cache import active_release, cached_page
from search.throttling import DownloadThrottle, PageThrottle, throttled
from search.query import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    METRIC_LABELS,
    TYPE_LABELS,
    BadParameter,
    SearchParams,
    example_genes,
    format_number,
    parse_params,
    release_facets,
    run_lists,
)
from signatures.provenance import release_provenance
from signatures.store import StoreError

DOWNLOAD_DEFAULT_LIMIT = 100
DOWNLOAD_MAX_LIMIT = 5000


@throttled(PageThrottle)
def home(request):
    release = active_release(request)
    examples = example_genes(release) if release is not None else []
    context = {"release": release, "examples": examples, "example": examples[0].symbol if examples else "", "building": demo_status.read_status()}
    return render(request, "search/home.html", context)


@throttled(PageThrottle)
def gene_search(request):
    """The search box's target: one gene -> its page; otherwise a page that says what was found."""
    q = request.GET.get("q", "")
    resolution = lookup.resolve(q)
    if resolution.gene is not None:
        return _redirect_to_gene(resolution, {})
    return _lookup_page(request, resolution)


def _lookup_page(request, resolution):
    status = 200 if resolution.ambiguous else (400 if not resolution.query else 404)
    return render(request, "search/lookup.html", {"resolution": resolution, "message": resolution.message()}, status=status)


def _redirect_to_gene(resolution, query: dict, view: str = "search:gene") -> HttpResponse:
    gene, match = resolution.gene, resolution.match
    items = [(k, v) for k, vs in query.items() for v in vs if k != "searched"]
    if match.via != "symbol" or resolution.query != gene.symbol:
        items.append(("searched", resolution.query))
    url = reverse(view, args=[gene.symbol])
    return redirect(url + ("?" + urlencode(items) if items else ""))


def _resolve_gene(request, symbol):
    """(gene, None) for the canonical symbol; (None, response) to redirect or to explain."""
    resolution = lookup.resolve(symbol)
    if resolution.gene is None:
        return None, _lookup_page(request, resolution)
    if resolution.gene.symbol != symbol:
        return None, _redirect_to_gene(resolution, dict(request.GET.lists()), view=request.resolver_match.view_name)
    return resolution.gene, None


def _run(request, gene, release, *, download: bool):
    """Validate the query string and fill the page's lists: (params, facets, sections, hit lists)."""
    facets = release_facets(release)
    params = parse_params(
        request.GET,
        facets,
        default_limit=DOWNLOAD_DEFAULT_LIMIT if download else DEFAULT_LIMIT,
        max_limit=DOWNLOAD_MAX_LIMIT if download else MAX_LIMIT,
    )
    types = params.types or tuple(facets.types)
    directions = (params.direction,) if params.direction else ("up", "down")
    lists = [((t,), d) for t in types for d in directions]
    hit_lists = run_lists(release, gene, params, lists) if lists else []
    sections = []
    for t in types:
        mine = [hl for hl in hit_lists if hl.pert_types == (t,)]
        sections.append({"type": t, "label": TYPE_LABELS.get(t, t), "lists": mine})
    return params, facets, sections, hit_lists


@throttled(PageThrottle)
@cached_page("page")
def gene_page(request, symbol):
    gene, response = _resolve_gene(request, symbol)
    if response is not None:
        return response
    release = active_release(request)
    context = {"gene": gene, "release": release, "status_note": provenance.status_note(gene), "searched": request.GET.get("searched", "")[:64], "metric_labels": METRIC_LABELS, "type_labels": TYPE_LABELS}
    if release is None:
        context["error"] = "No release is active yet: signatures have not been computed and activated."
        return render(request, "search/gene.html", context, status=503)
    context["provenance"] = release_provenance(release)
    try:
        context["about"] = provenance.gene_in_release(release, gene)
        params, facets, sections, hit_lists = _run(request, gene, release, download=False)
        for hl, groups in zip(hit_lists, group_by_perturbagen(release, gene, params, hit_lists)):
            hl.perturbagens = groups
            hl.mechanisms = [t for t in list_enrichment(release, hl, "moa") if t.enriched][:5]
    except BadParameter as exc:
        context["error"] = exc.message
        context["facets"] = release_facets(release)
        context["params"] = SearchParams()
        return render(request, "search/gene.html", context, status=400)
    except StoreError as exc:
        context["error"] = stores.unavailable(release, exc)
        return render(request, "search/gene.html", context, status=503)
    for section in sections:
        points = [_point(hit, hl.direction) for hl in section["lists"] for hit in hl.hits]
        section["figure_id"] = f"volcano-{section['type']}"
        section["figure"] = plots.volcano_figure(points, title=f"{gene.symbol}: {section['label']}")
    query = params.query_string()
    context.update(
        params=params,
        facets=facets,
        sections=sections,
        query=query,
        prev_query=params.query_string(offset=max(0, params.offset - params.limit)) if params.offset else None,
        next_query=params.query_string(offset=params.offset + params.limit) if any(hl.has_next for s in sections for hl in s["lists"]) else None,
        figures={s["figure_id"]: s["figure"] for s in sections},
    )
    return render(request, "search/gene.html", context)


def _point(hit, direction: str) -> dict:
    s = hit.signature
    return {
        "sig_id": s.sig_id, "perturbagen": s.pert_name, "cell_line": s.cell_line, "dose": s.dose, "dose_unit": s.dose_unit,
        "time": s.time, "time_unit": s.time_unit, "cd": hit.cd, "logfc": hit.logfc, "rank": hit.rank, "direction": direction,
    }


@throttled(DownloadThrottle, plain_text=True)
@cached_page("download")
def download(request, symbol, fmt, table="signatures"):
    """A gene's result lists as a file: the hits (`table` "signatures"), the hits grouped by perturbagen ("perturbagens"),
    or the mechanisms and targets over-represented among each list's compounds ("mechanisms")."""
    if fmt not in downloads.CONTENT_TYPES:
        raise Http404(f"Unknown download format '{fmt}'; expected tsv, csv or xlsx.")
    gene, response = _resolve_gene(request, symbol)
    if response is not None:
        return response
    release = active_release(request)
    if release is None:
        return HttpResponse("No release is active yet.\n", status=503, content_type="text/plain")
    try:
        params, _, _, hit_lists = _run(request, gene, release, download=True)
        header = provenance.download_header(release, gene, params)
        if table == "perturbagens":
            rows = downloads.perturbagen_rows(hit_lists, group_by_perturbagen(release, gene, params, hit_lists))
            body = downloads.render_table(fmt, header, downloads.PERTURBAGEN_COLUMNS, rows, sheet="perturbagens")
        elif table == "mechanisms":
            enrichments = [{kind: list_enrichment(release, hl, kind) for kind in ("moa", "target")} for hl in hit_lists]
            body = downloads.render_table(fmt, header, downloads.MECHANISM_COLUMNS, downloads.mechanism_rows(hit_lists, enrichments), sheet="mechanisms")
        else:
            body = downloads.render(fmt, header, hit_lists)
    except BadParameter as exc:
        return HttpResponse(exc.message + "\n", status=400, content_type="text/plain; charset=utf-8")
    except StoreError as exc:
        return HttpResponse(stores.unavailable(release, exc) + "\n", status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(body, content_type=downloads.CONTENT_TYPES[fmt])
    suffix = "" if table == "signatures" else f"_{table}"
    response["Content-Disposition"] = f'attachment; filename="l1kweb_{gene.symbol}_{release.name}{suffix}.{fmt}"'
    return response



# ---------------------------------------------------------------------------
# A signature: its page, its full table and its Enrichr lists (search.signature_genes).


class _NoSignature(Exception):
    """No signature to show: no active release (503) or an unknown id (404)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _signature(request, sig_id):
    """The signature's SignatureGenes for the query string's `n`; raises BadParameter, StoreError, or _NoSignature with a status."""
    release = active_release(request)
    if release is None:
        raise _NoSignature(503, "No release is active yet: signatures have not been computed and activated.")
    n = signature_genes.parse_top_n(request.GET)
    signature = signature_genes.find_signature(release, sig_id)
    if signature is None:
        raise _NoSignature(404, signature_genes.not_found(release, sig_id))
    return signature_genes.read_signature_genes(release, signature, n=n)


@throttled(PageThrottle)
@cached_page("page")
def signature_page(request, sig_id):
    context = {"sig_id": sig_id, "release": active_release(request), "type_labels": TYPE_LABELS, "max_n": signature_genes.MAX_TOP}
    try:
        sig = _signature(request, sig_id)
    except _NoSignature as exc:
        return render(request, "search/signature.html", {**context, "error": exc.message}, status=exc.status)
    except BadParameter as exc:
        return render(request, "search/signature.html", {**context, "error": exc.message}, status=400)
    except StoreError as exc:
        return render(request, "search/signature.html", {**context, "error": stores.unavailable(context["release"], exc)}, status=503)
    arrays = sig.volcano()
    figure = plots.signature_volcano_figure(*arrays, title=f"{sig.signature.pert_name} in {sig.signature.cell_line}", webgl=len(arrays[0]) > signature_genes.WEBGL_ABOVE)
    n_query = urlencode({"n": sig.n})
    context.update(
        sig=sig, s=sig.signature, provenance=sig.provenance, lists=[("up", sig.up), ("down", sig.down)], n_query=n_query, figures={"volcano-signature": figure},
    )
    return render(request, "search/signature.html", context)


def _text(message: str, status: int) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def _signature_file(request, sig_id):
    """(SignatureGenes, None) or (None, a plain-text error response)."""
    try:
        sig = _signature(request, sig_id)
    except _NoSignature as exc:
        return None, _text(exc.message, exc.status)
    except BadParameter as exc:
        return None, _text(exc.message, 400)
    except StoreError as exc:
        return None, _text(stores.unavailable(active_release(request), exc), 503)
    return sig, None


@throttled(DownloadThrottle, plain_text=True)
@cached_page("download")
def signature_download(request, sig_id, fmt):
    """Every gene of the signature (search.signature_genes.TABLE_COLUMNS) as TSV, CSV or Excel, provenance first."""
    if fmt not in downloads.CONTENT_TYPES:
        raise Http404(f"Unknown download format '{fmt}'; expected tsv, csv or xlsx.")
    sig, response = _signature_file(request, sig_id)
    if response is not None:
        return response
    body = downloads.render_table(fmt, sig.download_header(), signature_genes.TABLE_COLUMNS, sig.table_rows(), sheet="signature")
    response = HttpResponse(body, content_type=downloads.CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="l1kweb_{signature_genes.file_stem(sig_id)}_{sig.release.name}.{fmt}"'
    return response


@throttled(DownloadThrottle, plain_text=True)
@cached_page("download")
def signature_enrichr(request, sig_id, direction):
    """The top n up- or down-regulated symbols, one per line, as Enrichr reads a gene list."""
    if direction not in ("up", "down"):
        raise Http404(f"Unknown list '{direction[:20]}'; expected up or down.")
    sig, response = _signature_file(request, sig_id)
    if response is not None:
        return response
    body = "".join(f"{g.symbol}\n" for g in sig.top(direction))
    response = HttpResponse(body, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="l1kweb_{signature_genes.file_stem(sig_id)}_{direction}_{sig.n}.txt"'
    return response


# ---------------------------------------------------------------------------
# Gene-set search (search.set_search). The form POSTs; a search that runs is saved (search.models.SavedSetQuery)
# and the browser is sent to its result id, /sets/<id>/. GET /sets/?up=A,B,C&down=... runs a short query from the URL.


def set_query_from(release, data) -> set_search.SetQuery:
    """The normalised query of a form or query string (`data`, a QueryDict); raises BadParameter or SetSearchError."""
    params = parse_params({k: data.getlist(k) for k in ("type", "cell_line", "dose", "time", "limit") if k in data}, release_facets(release))
    up, down = (set_search.split_genes("\n".join(data.getlist(name))) for name in ("up", "down"))
    set_search.check_sizes(up, down)
    return set_search.SetQuery.from_params(release.name, up, down, params)


def _set_page(request, *, key: str | None = None):
    """The set-search page: the empty form, a query from the URL, a POSTed query (saved, then redirected), or a saved one."""
    release = active_release(request)
    context = {"release": release, "type_labels": TYPE_LABELS, "max_genes": set_search.MAX_GENES, "min_genes": set_search.MIN_GENES, "key": key}
    data = request.POST if request.method == "POST" else request.GET
    context.update(up_text="\n".join(data.getlist("up")), down_text="\n".join(data.getlist("down")), chosen_types=data.getlist("type"), chosen_cells=data.getlist("cell_line"),
                   chosen_dose=data.get("dose", ""), chosen_time=data.get("time", ""))
    status = 200
    try:
        if key is not None:
            query = set_search.saved_query(key)
            context.update(up_text="\n".join(query.up), down_text="\n".join(query.down), chosen_types=list(query.types), chosen_cells=list(query.cell_lines), saved_for=query.release,
                           chosen_dose="" if query.dose is None else format_number(query.dose), chosen_time="" if query.time is None else format_number(query.time))
        if release is None:
            raise set_search.SetSearchError("No release is active yet: signatures have not been computed and activated.", status=503)
        context["facets"] = release_facets(release)
        if key is None and request.method == "GET" and not any(name in data for name in ("up", "down")):
            return render(request, "search/sets.html", context)  # the empty form
        if key is None:
            query = set_query_from(release, data)
        if request.method == "POST":  # checked, saved, then scored once on the result page it is sent to
            set_search.check_query(release, query)
        else:
            result = set_search.run_query(release, query, key=key)
    except BadParameter as exc:
        context["error"], status = exc.message, 400
    except set_search.SetSearchError as exc:
        context["error"], status = exc.message, exc.status
    except StoreError as exc:
        context["error"], status = stores.unavailable(release, exc), 503
    if status != 200:
        return render(request, "search/sets.html", context, status=status)
    if request.method == "POST":
        return redirect("search:set-result", set_search.save_query(query))
    if key is not None:
        share = reverse("search:set-result", args=[key])
    else:
        share = reverse("search:sets") + "?" + urlencode(result.query_items())
    context.update(
        result=result, share=share, download_query="" if key is not None else share.split("?", 1)[1], download_formats=[("tsv", "TSV"), ("csv", "CSV"), ("xlsx", "Excel")],
        lists=[(name, label, hits, result.perturbagens[name]) for (name, hits), label in zip(result.lists, ("Mimic the query", "Reverse the query"))],
    )
    return render(request, "search/sets.html", context)


@throttled(PageThrottle)
def set_search_page(request):
    return _set_page(request)


# Not in the response cache: the page's form carries a CSRF token of its own visitor.
@throttled(PageThrottle)
def set_result_page(request, key):
    return _set_page(request, key=key)


@throttled(DownloadThrottle, plain_text=True)
@cached_page("download")
def set_download(request, fmt, key=None, table="signatures"):
    """A set search's mimic and reverse lists as a file (`table` "signatures"), or grouped by perturbagen
    ("perturbagens"): a saved search (`key`) or one from the query string, as the page shows it."""
    if fmt not in downloads.CONTENT_TYPES:
        raise Http404(f"Unknown download format '{fmt}'; expected tsv, csv or xlsx.")
    release = active_release(request)
    try:
        if release is None:
            raise set_search.SetSearchError("No release is active yet.", status=503)
        query = set_search.saved_query(key) if key is not None else set_query_from(release, request.GET)
        result = set_search.run_query(release, query, key=key)
    except BadParameter as exc:
        return _text(exc.message, 400)
    except set_search.SetSearchError as exc:
        return _text(exc.message, exc.status)
    except StoreError as exc:
        return _text(stores.unavailable(release, exc), 503)
    header = f"l1kweb {release_provenance(release).describe()}; set search {result.describe()}"
    if table == "perturbagens":
        body = downloads.render_table(fmt, header, set_search.SET_PERTURBAGEN_COLUMNS, set_search.perturbagen_rows(result), sheet="perturbagens")
    else:
        body = downloads.render_table(fmt, header, set_search.SET_COLUMNS, set_search.hit_rows(result), sheet="signatures")
    response = HttpResponse(body, content_type=downloads.CONTENT_TYPES[fmt])
    suffix = "" if table == "signatures" else f"_{table}"
    response["Content-Disposition"] = f'attachment; filename="l1kweb_sets_{key or "query"}_{release.name}{suffix}.{fmt}"'
    return response
