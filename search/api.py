"""The REST API (Django REST framework): gene lookup, a gene's signatures, signature metadata, facets, gene-set search.

Field names are stable (see docs/search.md); every error is JSON
`{"detail": "..."}` with one sentence (l1kweb.api_errors); anonymous reads are
throttled per client address (search.throttling.ApiThrottle). Query parameters are validated
and the JSON is written by the serializers of search.serializers, which are
also the OpenAPI schema.
"""

from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import urlencode

from django.urls import reverse
from dataclasses import replace

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound, ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from search import lookup, set_search, signature_genes, stores
from search.mechanisms import list_enrichment
from search.perturbagens import group_by_perturbagen
from search.provenance import gene_in_release
from search.query import TYPE_LABELS, BadParameter, parse_params, release_facets, run_lists
from search.response_cache import active_release, cached_api
from search.serializers import (
    CellLineCountSerializer,
    CompatQuerySerializer,
    GeneDetailSerializer,
    GeneLookupQuerySerializer,
    GeneLookupSerializer,
    GeneMechanismsSerializer,
    GenePerturbagensSerializer,
    GeneSignaturesSerializer,
    PertTypeCountSerializer,
    SET_QUERY_MAX_CHARS,
    SET_SEARCH_BODY,
    SearchQuerySerializer,
    SetFilterQuerySerializer,
    SetSearchQuerySerializer,
    SetSearchSerializer,
    SignatureDetailSerializer,
    SignatureTopQuerySerializer,
    documented,
    first_error,
)
from signatures.models import Release
from signatures.store import StoreError

API_MAX_LIMIT = SearchQuerySerializer.max_limit
API_DEFAULT_LIMIT = SearchQuerySerializer.default_limit


class NoActiveRelease(APIException):
    status_code = 503
    default_detail = "No release is active yet: signatures have not been computed and activated."
    default_code = "no_active_release"


class StoreUnavailable(APIException):
    status_code = 503
    default_code = "store_unavailable"


class AmbiguousGene(APIException):
    status_code = 400
    default_code = "ambiguous_gene"


# ---------------------------------------------------------------------------
# Helpers.


def _active_release(request) -> Release:
    release = active_release(request)
    if release is None:
        raise NoActiveRelease()
    return release


def _gene_or_error(symbol: str):
    resolution = lookup.resolve(symbol)
    if resolution.gene is not None:
        return resolution
    if resolution.ambiguous:
        raise AmbiguousGene(resolution.message())
    raise NotFound(resolution.message())


def _search(request, symbol, *, pert_types=None, direction=None, default_limit=API_DEFAULT_LIMIT):
    """Shared by the signatures endpoint and the compatibility table: (release, gene, params, hit list)."""
    release = _active_release(request)
    gene = _gene_or_error(symbol).gene
    facets = release_facets(release)
    data = request.query_params.copy()
    if pert_types is not None:
        data.setlist("type", list(pert_types))
    if direction is not None:
        data.setlist("direction", [direction])
    try:
        params = parse_params(data, facets, api=True, max_limit=API_MAX_LIMIT, default_limit=default_limit)
    except BadParameter as exc:
        raise ParseError(exc.message) from None
    types = params.types or tuple(facets.types)
    try:
        (hl,) = run_lists(release, gene, params, [(types, params.direction)])
    except StoreError as exc:
        raise StoreUnavailable(stores.unavailable(release, exc)) from None
    return release, gene, params, hl


def _about(release, gene):
    """The gene's status, reliability and CD coverage in the release (search.provenance)."""
    try:
        return gene_in_release(release, gene)
    except StoreError as exc:
        raise StoreUnavailable(stores.unavailable(release, exc)) from None


# ---------------------------------------------------------------------------
# Views.


class GeneListView(APIView):
    """Gene lookup and autocomplete: genes whose symbol, alias or Entrez id starts with `q`."""

    @extend_schema(operation_id="genes_lookup", parameters=[GeneLookupQuerySerializer], responses=documented(GeneLookupSerializer, 400, 429))
    def get(self, request):
        query = GeneLookupQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise ParseError(first_error(query.errors, query.fields)[1])
        q, limit = query.validated_data["q"], query.validated_data["limit"]
        match = lookup.resolve(q, suggest=False).match
        exact = lookup.suggestion(match.gene, match.via, match.alias) if match is not None else None
        return Response(GeneLookupSerializer({"query": q, "exact": exact, "results": lookup.autocomplete(q, limit=limit)}).data)


class GeneDetailView(APIView):
    """One gene, found by symbol, alias, previous symbol, Entrez or Ensembl id."""

    @extend_schema(responses=documented(GeneDetailSerializer, 400, 404, 429))
    def get(self, request, symbol):
        resolution = _gene_or_error(symbol)
        return Response(GeneDetailSerializer(resolution.gene, context={"resolution": resolution}).data)


class GeneSignaturesView(APIView):
    """The signatures that up- or down-regulate a gene, ranked, filtered and paged like the gene page."""

    @extend_schema(parameters=[SearchQuerySerializer], responses=documented(GeneSignaturesSerializer, 400, 404, 429, 503))
    @cached_api
    def get(self, request, symbol):
        release, gene, params, hl = _search(request, symbol)
        base = request.build_absolute_uri(reverse("search:api-gene-signatures", args=[gene.symbol]))
        query_items = params.query_items(with_paging=False) + [("limit", params.limit)]
        nxt = base + "?" + urlencode(query_items + [("offset", params.offset + params.limit)]) if hl.has_next and hl.hits else None
        prev = base + "?" + urlencode(query_items + [("offset", max(0, params.offset - params.limit))]) if params.offset else None
        return Response(GeneSignaturesSerializer({
            "gene": gene,
            "release": release,
            "gene_in_release": _about(release, gene),
            "query": replace(params, types=hl.pert_types),
            "source": hl.source,
            "total": hl.total,
            "total_exact": hl.total_exact,
            "count": len(hl.hits),
            "next": nxt,
            "previous": prev,
            "results": hl.hits,
        }, context={"request": request}).data)


class GenePerturbagensView(APIView):
    """The perturbagens of one result list (the same parameters as the signatures endpoint), each over all its signatures."""

    @extend_schema(parameters=[SearchQuerySerializer], responses=documented(GenePerturbagensSerializer, 400, 404, 429, 503))
    @cached_api
    def get(self, request, symbol):
        release, gene, params, hl = _search(request, symbol)
        try:
            (groups,) = group_by_perturbagen(release, gene, params, [hl])
        except StoreError as exc:
            raise StoreUnavailable(stores.unavailable(release, exc)) from None
        return Response(GenePerturbagensSerializer({
            "gene": gene, "release": release, "gene_in_release": _about(release, gene), "query": replace(params, types=hl.pert_types), "count": len(groups), "results": groups,
        }).data)


class GeneMechanismsView(APIView):
    """Mechanisms of action and targets over-represented among the compounds of one result list (the signatures endpoint's parameters)."""

    @extend_schema(parameters=[SearchQuerySerializer], responses=documented(GeneMechanismsSerializer, 400, 404, 429, 503))
    @cached_api
    def get(self, request, symbol):
        release, gene, params, hl = _search(request, symbol)
        n = len({h.signature.pert_id for h in hl.hits if h.signature.pert_type == "chemical"})
        return Response(GeneMechanismsSerializer({
            "gene": gene, "release": release, "gene_in_release": _about(release, gene), "query": replace(params, types=hl.pert_types), "n_compounds": n,
            "moa": list_enrichment(release, hl, "moa"), "target": list_enrichment(release, hl, "target"),
        }).data)


class SignatureDetailView(APIView):
    """One signature of the active release: its metadata and release, and its `n` most up- and down-regulated genes by CD."""

    @extend_schema(parameters=[SignatureTopQuerySerializer], responses=documented(SignatureDetailSerializer, 400, 404, 429, 503))
    @cached_api
    def get(self, request, sig_id):
        release = _active_release(request)
        try:
            n = signature_genes.parse_top_n(request.query_params, api=True)
        except BadParameter as exc:
            raise ParseError(exc.message) from None
        signature = signature_genes.find_signature(release, sig_id)
        if signature is None:
            raise NotFound(signature_genes.not_found(release, sig_id))
        try:
            detail = signature_genes.read_signature_genes(release, signature, n=n)
        except StoreError as exc:
            raise StoreUnavailable(stores.unavailable(release, exc)) from None
        return Response(SignatureDetailSerializer(detail, context={"request": request}).data)


class CellLineListView(APIView):
    """Cell lines in the active release with their numbers of signatures."""

    @extend_schema(responses=documented(inline_serializer("CellLines", {"release": serializers.CharField(), "results": CellLineCountSerializer(many=True)}), 429, 503))
    @cached_api
    def get(self, request):
        release = _active_release(request)
        facets = release_facets(release)
        return Response({"release": release.name, "results": [{"name": name, "n_signatures": n} for name, (_, n) in facets.cell_lines.items()]})


class PertTypeListView(APIView):
    """Perturbation types in the active release with their numbers of signatures."""

    @extend_schema(responses=documented(inline_serializer("PertTypes", {"release": serializers.CharField(), "results": PertTypeCountSerializer(many=True)}), 429, 503))
    @cached_api
    def get(self, request):
        release = _active_release(request)
        facets = release_facets(release)
        return Response({"release": release.name, "results": [{"type": t, "label": TYPE_LABELS[t], "n_signatures": n} for t, n in facets.types.items()]})


COMPAT_TYPES = {"cp": ("chemical", "Perturbagen"), "xpr": ("crispr", "KO Gene")}


def _with_unit(value, unit) -> str:
    if value is None:
        return ""
    text = f"{value:g}"
    return f"{text} {unit}" if unit else text


class CompatTableView(APIView):
    """The existing reverse-search tool's table: a JSON object of columns, each mapping signature id to value.

    `GET /api/table/{cp|xpr}/{up|down}/{gene}` answers what the RGCSRS tool
    answers, so its clients can point at l1kweb unchanged; the same filters
    and ranking parameters as the signatures endpoint may be added.
    """

    @extend_schema(
        parameters=[
            CompatQuerySerializer,
            OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(COMPAT_TYPES), description="cp: compounds; xpr: CRISPR knockouts."),
            OpenApiParameter("direction", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["up", "down"]),
        ],
        responses=documented(OpenApiTypes.OBJECT, 400, 404, 429, 503),
    )
    @cached_api
    def get(self, request, kind, direction, symbol):
        if kind not in COMPAT_TYPES:
            raise NotFound(f"Unknown signature kind '{kind[:20]}'; expected cp or xpr.")
        if direction not in ("up", "down"):
            raise NotFound(f"Unknown direction '{direction[:20]}'; expected up or down.")
        pert_type, name_column = COMPAT_TYPES[kind]
        _, _, _, hl = _search(request, symbol, pert_types=[pert_type], direction=direction, default_limit=CompatQuerySerializer.default_limit)
        columns = {c: {} for c in (name_column, "Dose", "Timepoint", "Cell Line", "Rank in Signature", "Log2(Fold Change)", "CD Coefficient", "Fold Change")}
        for hit in hl.hits:
            s, key = hit.signature, hit.signature.sig_id
            columns[name_column][key] = s.pert_name
            columns["Dose"][key] = _with_unit(s.dose, s.dose_unit)
            columns["Timepoint"][key] = _with_unit(s.time, s.time_unit)
            columns["Cell Line"][key] = s.cell_line
            columns["Rank in Signature"][key] = hit.rank
            columns["Log2(Fold Change)"][key] = hit.logfc
            columns["CD Coefficient"][key] = hit.cd
            columns["Fold Change"][key] = hit.fold_change
        return Response(columns)


# ---------------------------------------------------------------------------
# Gene-set search (search.set_search).


def _body_entries(data, name: str) -> list[str]:
    """A POSTed set: a JSON list of strings, one gene each, or form fields holding pasted text."""
    if hasattr(data, "getlist"):  # a form-encoded body
        return set_search.split_genes("\n".join(data.getlist(name)))
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ParseError(f"'{name}' must be a list of gene symbols, aliases or Entrez ids, each a string.")
    entries = [v.strip() for v in value]
    if "" in entries:
        raise ParseError(f"'{name}' holds a blank entry (position {entries.index('') + 1}); give one gene per entry.")
    return entries


@contextmanager
def _set_search_errors(release):
    """A refused set search as the API's errors: a bad filter or query 400, an unknown id 404, an unreadable store 503."""
    try:
        yield
    except BadParameter as exc:
        raise ParseError(exc.message) from None
    except set_search.SetSearchError as exc:
        raise (NotFound if exc.status == 404 else ParseError)(exc.message) from None
    except StoreError as exc:
        raise StoreUnavailable(stores.unavailable(release, exc)) from None


def run_set_search(request, up: list[str], down: list[str], filters, *, save: bool = False) -> Response:
    """Validate the filters (search.query.parse_params, as the gene search does), search, respond; with `save`
    (a POST) the query is saved and the answer carries its result id."""
    release = _active_release(request)
    with _set_search_errors(release):
        params = parse_params(filters, release_facets(release), api=True, max_limit=API_MAX_LIMIT, default_limit=API_DEFAULT_LIMIT)
        set_search.check_sizes(up, down)
        query = set_search.SetQuery.from_params(release.name, up, down, params)
        result = set_search.run_query(release, query)
    if save:
        result.key = set_search.save_query(query)
    return Response(SetSearchSerializer(result, context={"request": request}).data)


SET_FILTERS = ("type", "cell_line", "dose", "time", "limit")


def _filters(query, body=None) -> dict:
    """type, cell_line, dose, time and limit from the query string, or from the body where it has them."""
    out = {name: query.getlist(name) for name in SET_FILTERS if name in query}
    if body is not None and not hasattr(body, "getlist"):
        out.update({name: body[name] for name in SET_FILTERS if name in body})
    elif body is not None:
        out.update({name: body.getlist(name) for name in SET_FILTERS if name in body})
    return out


class _RequiredBodySchema(AutoSchema):
    """A POST without a body is not a query: drf-spectacular marks a hand-written request body optional, this marks it required."""

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body:
            body["required"] = True
        return body


class SetSearchView(APIView):
    """Gene-set search: the signatures whose genes rank an up set high and a down set low (mimic), or the reverse.

    Each signature is scored with a Mann-Whitney z per set over all its genes
    (search.set_search); p-values and Benjamini-Hochberg FDR over every
    signature searched; each list's hits grouped by perturbagen. Entries that
    name no gene of the release are listed back in `unknown`; a set with fewer
    than 5 genes of the release is refused (404 when entries of it are unknown,
    as for one unknown gene; 400 otherwise). A POST is saved: its answer's `id`
    and `url` (/api/sets/<id>/) give the same search again, for sets too long
    for a URL.
    """

    schema = _RequiredBodySchema()

    @extend_schema(operation_id="sets_search_get", parameters=[SetSearchQuerySerializer], responses=documented(SetSearchSerializer, 400, 404, 429, 503))
    def get(self, request):
        q = request.query_params
        for name in ("up", "down"):
            if sum(len(v) for v in q.getlist(name)) > SET_QUERY_MAX_CHARS:
                raise ParseError(f"Parameter '{name}' is longer than {SET_QUERY_MAX_CHARS:,} characters; POST a set that large.")
        up, down = (set_search.split_genes("\n".join(q.getlist(name))) for name in ("up", "down"))
        return run_set_search(request, up, down, _filters(q))

    @extend_schema(
        operation_id="sets_search", parameters=[SetFilterQuerySerializer], request={"application/json": SET_SEARCH_BODY},
        responses=documented(SetSearchSerializer, 400, 404, 429, 503),
    )
    def post(self, request):
        body = request.data
        if not hasattr(body, "get"):
            raise ParseError("The request body must be a JSON object such as {\"up\": [\"STAT3\", ...], \"down\": [...]}.")
        up, down = _body_entries(body, "up"), _body_entries(body, "down")
        return run_set_search(request, up, down, _filters(request.query_params, body), save=True)


class SetResultView(APIView):
    """A saved gene-set search (the `id` a POST answered), run again on the active release.

    The answer is the set search's; `saved_for_release` names the release the
    search was saved for when that is not the active one (the scores are then
    the active release's). An id that names no saved search is a 404.
    """

    @extend_schema(operation_id="sets_result", responses=documented(SetSearchSerializer, 400, 404, 429, 503))
    @cached_api
    def get(self, request, key):
        release = _active_release(request)
        with _set_search_errors(release):
            result = set_search.run_query(release, set_search.saved_query(key), key=key)
        return Response(SetSearchSerializer(result, context={"request": request}).data)
