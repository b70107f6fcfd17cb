"""The REST API (Django REST framework): gene lookup, a gene's signatures, signature metadata, facets.

Field names are stable (see docs/search.md); every error is JSON
`{"detail": "..."}` with one sentence (l1kweb.api_errors); anonymous reads are
throttled by the project-wide AnonRateThrottle. Results are built as plain
dicts (the serializers below describe them in the OpenAPI schema) because a
page of up to 1,000 hits must stay fast.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound, ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from search import lookup, stores
from search.query import TYPE_LABELS, BadParameter, SignatureRow, parse_params, release_facets, run_lists, signature_rows
from signatures.models import Release, Signature
from signatures.store import StoreError

API_MAX_LIMIT = 1000
API_DEFAULT_LIMIT = 50


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
# Serializers: the schema of the JSON below.


class GeneSerializer(serializers.Serializer):
    entrez_id = serializers.IntegerField()
    symbol = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["landmark", "inferred", "model_only", "other"])
    status_label = serializers.CharField()
    in_model_output = serializers.BooleanField()


class GeneMatchSerializer(serializers.Serializer):
    entrez_id = serializers.IntegerField()
    symbol = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    matched = serializers.CharField(help_text="symbol, entrez, ensembl, synonym or previous")
    alias = serializers.CharField(help_text="The alias that matched, when it was not the symbol.")


class SignatureSerializer(serializers.Serializer):
    sig_id = serializers.CharField()
    pert_type = serializers.CharField()
    pert_id = serializers.CharField()
    perturbagen = serializers.CharField()
    cell_line = serializers.CharField()
    dose = serializers.FloatField(allow_null=True)
    dose_unit = serializers.CharField()
    time = serializers.FloatField(allow_null=True)
    time_unit = serializers.CharField()
    batch = serializers.CharField()
    n_replicates = serializers.IntegerField()
    n_controls = serializers.IntegerField()


class HitSerializer(SignatureSerializer):
    position = serializers.IntegerField(help_text="1-based position in the ranked list.")
    cd = serializers.FloatField(help_text="Characteristic-direction coefficient of the gene.")
    log2fc = serializers.FloatField()
    fold_change = serializers.FloatField(help_text="2 ** log2fc")
    rank_in_signature = serializers.IntegerField(help_text="The gene's rank inside the signature in this direction; 1 = most regulated.")
    discordant = serializers.BooleanField(help_text="CD and log2FC disagree in sign.")


class ReleaseSerializer(serializers.Serializer):
    name = serializers.CharField()
    model_version = serializers.CharField()
    dataset = serializers.CharField()


class GeneSignaturesSerializer(serializers.Serializer):
    gene = GeneSerializer()
    release = ReleaseSerializer()
    query = serializers.DictField()
    source = serializers.ChoiceField(choices=["index", "store"], help_text="index: precomputed top lists; store: exact over all signatures.")
    total = serializers.IntegerField()
    total_exact = serializers.BooleanField(help_text="False when only a full top list was read: more signatures may exist.")
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = HitSerializer(many=True)


# ---------------------------------------------------------------------------
# Helpers.


def _active_release() -> Release:
    release = Release.active()
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


def gene_json(gene) -> dict:
    return {
        "entrez_id": gene.entrez_id,
        "symbol": gene.symbol,
        "name": gene.name,
        "status": gene.status,
        "status_label": gene.get_status_display(),
        "in_model_output": gene.in_model_output,
    }


def release_json(release) -> dict:
    return {"name": release.name, "model_version": release.model_version, "dataset": release.dataset.name}


def signature_json(s: SignatureRow) -> dict:
    return {
        "sig_id": s.sig_id, "pert_type": s.pert_type, "pert_id": s.pert_id, "perturbagen": s.pert_name, "cell_line": s.cell_line,
        "dose": s.dose, "dose_unit": s.dose_unit, "time": s.time, "time_unit": s.time_unit, "batch": s.batch,
        "n_replicates": s.n_replicates, "n_controls": s.n_controls,
    }


def hit_json(position: int, hit) -> dict:
    out = signature_json(hit.signature)
    out.update(position=position, cd=hit.cd, log2fc=hit.logfc, fold_change=hit.fold_change, rank_in_signature=hit.rank, discordant=hit.discordant)
    return out


def _search(request, symbol, *, pert_types=None, direction=None, default_limit=API_DEFAULT_LIMIT):
    """Shared by the signatures endpoint and the compatibility table: (release, gene, params, hit list)."""
    release = _active_release()
    gene = _gene_or_error(symbol).gene
    facets = release_facets(release)
    data = request.query_params.copy()
    if pert_types is not None:
        data.setlist("type", list(pert_types))
    if direction is not None:
        data.setlist("direction", [direction])
    try:
        params = parse_params(data, facets, require_direction=True, max_limit=API_MAX_LIMIT, default_limit=default_limit)
    except BadParameter as exc:
        raise ParseError(exc.message) from None
    types = params.types or tuple(facets.types)
    try:
        (hl,) = run_lists(release, gene, params, [(types, params.direction)])
    except StoreError as exc:
        raise StoreUnavailable(stores.unavailable(release, exc)) from None
    return release, gene, params, hl


SEARCH_PARAMETERS = [
    OpenApiParameter("type", OpenApiTypes.STR, many=True, enum=list(TYPE_LABELS), description="Perturbation type(s); default: all types in the release."),
    OpenApiParameter("direction", OpenApiTypes.STR, enum=["up", "down"], description="up: CD coefficient > 0; down: < 0. Default up."),
    OpenApiParameter("metric", OpenApiTypes.STR, enum=["cd", "logfc", "rank"], description="Ranking: CD coefficient (default), log2 fold change, or the gene's rank inside the signature."),
    OpenApiParameter("cell_line", OpenApiTypes.STR, many=True, description="One or several cell lines (repeat or comma-separate). Any filter makes the query exact over all signatures."),
    OpenApiParameter("dose", OpenApiTypes.NUMBER, description="Dose, in the signature's unit."),
    OpenApiParameter("time", OpenApiTypes.NUMBER, description="Time point, in the signature's unit."),
    OpenApiParameter("limit", OpenApiTypes.INT, description=f"1..{API_MAX_LIMIT}, default {API_DEFAULT_LIMIT}."),
    OpenApiParameter("offset", OpenApiTypes.INT, description="0-based offset into the ranked list."),
]


# ---------------------------------------------------------------------------
# Views.


class GeneListView(APIView):
    """Gene lookup and autocomplete: genes whose symbol, alias or Entrez id starts with `q`."""

    @extend_schema(
        operation_id="genes_lookup",
        parameters=[OpenApiParameter("q", OpenApiTypes.STR, required=True, description="Symbol, alias, previous symbol, Entrez or Ensembl id (prefix)."),
                    OpenApiParameter("limit", OpenApiTypes.INT, description="1..50, default 10.")],
        responses=inline_serializer("GeneLookup", {"query": serializers.CharField(), "exact": GeneMatchSerializer(allow_null=True), "results": GeneMatchSerializer(many=True)}),
    )
    def get(self, request):
        q = lookup.normalise_query(request.query_params.get("q"))
        if not q:
            raise ParseError("Parameter 'q' is required: a gene symbol, alias or Entrez id (or its beginning).")
        if len(q) > lookup.MAX_QUERY_LENGTH:
            raise ParseError(f"Parameter 'q' must be at most {lookup.MAX_QUERY_LENGTH} characters, found {len(q)}.")
        raw_limit = request.query_params.get("limit", "10")
        if not lookup.is_plain_number(raw_limit) or not 1 <= int(raw_limit) <= 50:
            raise ParseError(f"Parameter 'limit' must be a whole number between 1 and 50, found '{raw_limit[:40]}'.")
        results = lookup.autocomplete(q, limit=int(raw_limit))
        resolution = lookup.resolve(q, suggest=False)
        exact = None
        if resolution.match is not None:
            m = resolution.match
            exact = {"entrez_id": m.gene.entrez_id, "symbol": m.gene.symbol, "name": m.gene.name, "status": m.gene.status, "matched": m.via, "alias": m.alias}
        return Response({"query": q, "exact": exact, "results": results})


class GeneDetailView(APIView):
    """One gene, found by symbol, alias, previous symbol, Entrez or Ensembl id."""

    @extend_schema(responses=inline_serializer("GeneDetail", {**GeneSerializer().get_fields(), "searched": serializers.CharField(), "matched": serializers.CharField(), "aliases": serializers.ListField(child=serializers.CharField())}))
    def get(self, request, symbol):
        resolution = _gene_or_error(symbol)
        gene = resolution.gene
        out = gene_json(gene)
        out.update(searched=resolution.query, matched=resolution.match.via, aliases=sorted(gene.aliases.values_list("alias", flat=True)))
        return Response(out)


class GeneSignaturesView(APIView):
    """The signatures that up- or down-regulate a gene, ranked, filtered and paged like the gene page."""

    @extend_schema(parameters=SEARCH_PARAMETERS, responses=GeneSignaturesSerializer)
    def get(self, request, symbol):
        release, gene, params, hl = _search(request, symbol)
        base = request.build_absolute_uri(reverse("search:api-gene-signatures", args=[gene.symbol]))
        query_items = params.query_items(with_paging=False) + [("limit", params.limit)]
        nxt = base + "?" + urlencode(query_items + [("offset", params.offset + params.limit)]) if hl.has_next and hl.hits else None
        prev = base + "?" + urlencode(query_items + [("offset", max(0, params.offset - params.limit))]) if params.offset else None
        return Response({
            "gene": gene_json(gene),
            "release": release_json(release),
            "query": {"type": list(hl.pert_types), "direction": params.direction, "metric": params.metric, "cell_line": list(params.cell_lines),
                      "dose": params.dose, "time": params.time, "limit": params.limit, "offset": params.offset},
            "source": hl.source,
            "total": hl.total,
            "total_exact": hl.total_exact,
            "count": len(hl.hits),
            "next": nxt,
            "previous": prev,
            "results": [hit_json(i, hit) for i, hit in enumerate(hl.hits, start=params.offset + 1)],
        })


class SignatureDetailView(APIView):
    """One signature's metadata in the active release."""

    @extend_schema(responses=inline_serializer("SignatureDetail", {**SignatureSerializer().get_fields(), "release": serializers.CharField()}))
    def get(self, request, sig_id):
        release = _active_release()
        found = sig_id.isprintable() and signature_rows(Signature.objects.filter(release=release, sig_id=sig_id)[:1])
        if not found:
            raise NotFound(f"No signature {sig_id[:200]!r} in release {release.name}.")
        return Response({**signature_json(found[0]), "release": release.name})


class CellLineListView(APIView):
    """Cell lines in the active release with their numbers of signatures."""

    @extend_schema(responses=inline_serializer("CellLines", {"release": serializers.CharField(), "results": inline_serializer("CellLineCount", {"name": serializers.CharField(), "n_signatures": serializers.IntegerField()}, many=True)}))
    def get(self, request):
        release = _active_release()
        facets = release_facets(release)
        return Response({"release": release.name, "results": [{"name": name, "n_signatures": n} for name, (_, n) in facets.cell_lines.items()]})


class PertTypeListView(APIView):
    """Perturbation types in the active release with their numbers of signatures."""

    @extend_schema(responses=inline_serializer("PertTypes", {"release": serializers.CharField(), "results": inline_serializer("PertTypeCount", {"type": serializers.CharField(), "label": serializers.CharField(), "n_signatures": serializers.IntegerField()}, many=True)}))
    def get(self, request):
        release = _active_release()
        facets = release_facets(release)
        return Response({"release": release.name, "results": [{"type": t, "label": TYPE_LABELS[t], "n_signatures": n} for t, n in facets.types.items()]})


COMPAT_TYPES = {"cp": ("chemical", "Perturbagen"), "xpr": ("crispr", "KO Gene")}
COMPAT_DEFAULT_LIMIT = 100


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

    @extend_schema(parameters=SEARCH_PARAMETERS[2:], responses=OpenApiTypes.OBJECT)
    def get(self, request, kind, direction, symbol):
        if kind not in COMPAT_TYPES:
            raise NotFound(f"Unknown signature kind '{kind[:20]}'; expected cp or xpr.")
        if direction not in ("up", "down"):
            raise NotFound(f"Unknown direction '{direction[:20]}'; expected up or down.")
        pert_type, name_column = COMPAT_TYPES[kind]
        _, _, _, hl = _search(request, symbol, pert_types=[pert_type], direction=direction, default_limit=COMPAT_DEFAULT_LIMIT)
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
