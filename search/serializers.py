"""The search's query parameters and JSON, declared once (Django REST framework serializers).

`SearchQuerySerializer` validates a gene query's parameters for the pages, the
downloads and the API alike, with one sentence per error, and its fields are
the API's documented query parameters (drf-spectacular reads them). The other
serializers write the API's JSON and are its schema.

Query-string conventions: a repeatable parameter (`type`, `cell_line`) may be
repeated or comma-separated (`?type=crispr&type=chemical` = `?type=crispr,chemical`);
every other parameter takes one value.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import NamedTuple
from urllib.parse import quote, urlencode

from django.core.exceptions import ObjectDoesNotExist
from django.core.validators import RegexValidator
from django.db.models.manager import BaseManager
from django.urls import reverse
from django.utils.http import RFC3986_SUBDELIMS
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import SkipField, empty, is_simple_callable

from search import ranking
from search.set_search import MAX_GENES, MIN_GENES
from search.provenance import status_note
from signatures.provenance import release_provenance
from signatures.models import PertType

TYPE_CHOICES = tuple(PertType.values)
MAX_OFFSET = 1_000_000


def query_values(data, name: str, *, keep_blank: bool = False) -> list[str]:
    """The values of parameter `name` in a QueryDict or a plain dict: repeated or comma-separated, stripped.

    Blank values are dropped (an HTML form sends `dose=` for an empty box)
    unless `keep_blank`, for the API, where `direction=` is a value it refuses.
    """
    parts = [part.strip() for value in raw_values(data, name) for part in str(value).split(",")]
    return parts if keep_blank else [p for p in parts if p]


def raw_values(data, name: str) -> list:
    """Every value of `name` as sent, in a QueryDict or a plain dict."""
    if hasattr(data, "getlist"):
        return data.getlist(name)
    raw = data.get(name, [])
    return list(raw) if isinstance(raw, (list, tuple)) else [raw]


def _keep_blank(field) -> bool:
    return getattr(field.root, "blank_values_are_refused", False)


class _OneValue:
    """A parameter that takes one value; its sentence-long errors name the parameter and quote the input."""

    def get_value(self, data):
        values = query_values(data, self.field_name, keep_blank=_keep_blank(self))
        if not values:
            return empty
        return values[0] if len(values) == 1 else values

    def to_internal_value(self, data):
        if isinstance(data, list):
            raise ValidationError(f"Parameter '{self.field_name}' takes one value, found {len(data)}: {', '.join(data[:5])}.")
        return self.parse(str(data))

    def parse(self, raw: str):
        raise NotImplementedError


class OneChoice(_OneValue, serializers.ChoiceField):
    """One of `choices`; `message` is formatted with the input (first 40 characters) and the choices."""

    def __init__(self, choices, *, message: str, **kwargs):
        super().__init__(choices, **kwargs)
        self.message = message

    def parse(self, raw: str) -> str:
        if raw not in self.choices:
            raise ValidationError(self.message.format(value=raw[:40], choices=", ".join(self.choices)))
        return raw


class WholeNumber(_OneValue, serializers.IntegerField):
    def parse(self, raw: str) -> int:
        if not re.fullmatch(r"[+-]?[0-9]{1,30}", raw):
            raise ValidationError(f"Parameter '{self.field_name}' must be a whole number, found '{raw[:40]}'.")
        value = int(raw)
        if not self.min_value <= value <= self.max_value:
            raise ValidationError(f"Parameter '{self.field_name}' must be between {self.min_value} and {self.max_value}, found {value}.")
        return value


class NonNegativeNumber(_OneValue, serializers.FloatField):
    def __init__(self, **kwargs):
        super().__init__(min_value=0, **kwargs)

    def parse(self, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValidationError(f"Parameter '{self.field_name}' must be a number, found '{raw[:40]}'.") from None
        if not math.isfinite(value) or value < 0:
            raise ValidationError(f"Parameter '{self.field_name}' must be a finite number >= 0, found '{raw[:40]}'.")
        return value


class Repeated(serializers.ListField):
    """A repeatable parameter: `?x=a&x=b` or `?x=a,b`; values kept once each, in order."""

    def get_value(self, data):
        return query_values(data, self.field_name, keep_blank=_keep_blank(self))

    def to_internal_value(self, data):
        return list(dict.fromkeys(super().to_internal_value(data)))


class SearchQuerySerializer(serializers.Serializer):
    """A gene query. Cell lines are checked against the release's facets (context `facets`).

    `default_limit`, `max_limit` and `default_direction` differ between the
    page (both directions by default), the downloads (larger tables) and the
    API (one direction, `up` by default); the class defaults are the API's.
    """

    type = Repeated(
        child=OneChoice(TYPE_CHOICES, message="Unknown perturbation type '{value}'; expected one of {choices}."),
        required=False,
        help_text="Perturbation type(s), repeated or comma-separated; default: all types in the release.",
    )
    direction = OneChoice(
        ranking.DIRECTIONS, message="Parameter 'direction' must be up or down, found '{value}'.", required=False,
        help_text="up: CD coefficient > 0; down: < 0. Default up.",
    )
    metric = OneChoice(
        ranking.METRICS, message="Unknown ranking metric '{value}'; expected one of {choices}.", default="cd",
        help_text="Ranking: CD coefficient (default), log2 fold change, or the gene's rank inside the signature.",
    )
    cell_line = Repeated(
        child=serializers.CharField(), required=False,
        help_text="One or several cell lines (repeated or comma-separated). Any filter makes the query exact over all signatures.",
    )
    dose = NonNegativeNumber(required=False, help_text="Dose, in the signature's unit.")
    time = NonNegativeNumber(required=False, help_text="Time point, in the signature's unit.")
    offset = WholeNumber(min_value=0, max_value=MAX_OFFSET, default=0, help_text="0-based offset into the ranked list.")

    default_limit = 50
    max_limit = 1000
    default_direction: str | None = "up"
    blank_values_are_refused = True  # the API's; the pages' forms send blanks for empty boxes

    def __init__(self, *args, default_limit=None, max_limit=None, default_direction=empty, blank_values_are_refused=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_limit = default_limit or self.default_limit
        self.max_limit = max_limit or self.max_limit
        if default_direction is not empty:
            self.default_direction = default_direction
        if blank_values_are_refused is not None:
            self.blank_values_are_refused = blank_values_are_refused

    def get_fields(self):
        fields = super().get_fields()
        fields["limit"] = WholeNumber(
            min_value=1, max_value=self.max_limit, default=self.default_limit, help_text=f"1..{self.max_limit}, default {self.default_limit}."
        )
        if self.default_direction is not None and "direction" in fields:
            fields["direction"].default = self.default_direction
        return fields

    def validate_cell_line(self, names: list[str]) -> list[str]:
        known = self.context["facets"].cell_lines
        for name in names:
            if name in known:
                continue
            by_upper = {k.upper(): k for k in known}
            if name.upper() in by_upper:
                raise ValidationError(f"Unknown cell line '{name[:40]}'. Did you mean {by_upper[name.upper()]}?")
            close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(close)}?" if close else ""
            raise ValidationError(f"Unknown cell line '{name[:40]}' in this release.{hint}")
        return names


class CompatQuerySerializer(SearchQuerySerializer):
    """The compatibility table's parameters: its path names the type and direction."""

    type = None
    direction = None
    default_limit = 100


GENE_QUERY_PATTERN = r"[A-Za-z0-9]"


class GeneQuery(_OneValue, serializers.CharField):
    """The lookup's text: at most MAX_QUERY_LENGTH characters with a letter or digit among them, used as
    search.lookup normalises it. Commas are kept: the text is one value."""

    def __init__(self, **kwargs):
        from django.core.validators import RegexValidator

        from search.lookup import MAX_QUERY_LENGTH

        super().__init__(max_length=MAX_QUERY_LENGTH, validators=[RegexValidator(GENE_QUERY_PATTERN)], **kwargs)

    def get_value(self, data):
        raw = raw_values(data, self.field_name)
        if not raw:
            return empty
        return raw[0] if len(raw) == 1 else raw

    def parse(self, raw: str) -> str:
        from search import lookup

        if len(raw) > self.max_length:
            raise ValidationError(f"Parameter 'q' must be at most {self.max_length} characters, found {len(raw)}.")
        if not re.search(GENE_QUERY_PATTERN, raw):
            raise ValidationError("Parameter 'q' is required: a gene symbol, alias or Entrez id (or its beginning).")
        return lookup.normalise_query(raw)


class GeneLookupQuerySerializer(serializers.Serializer):
    q = GeneQuery(
        error_messages={"required": "Parameter 'q' is required: a gene symbol, alias or Entrez id (or its beginning)."},
        help_text="Symbol, alias, previous symbol, Entrez or Ensembl id (prefix).",
    )
    limit = WholeNumber(min_value=1, max_value=50, default=10, help_text="1..50, default 10.")


def first_error(errors, fields) -> tuple[str, str]:
    """(parameter, sentence) of the first error in field order; nested list errors are unwrapped."""
    for name in fields:
        if name in errors:
            detail = errors[name]
            while isinstance(detail, (list, dict)):
                detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
            return name, str(detail)
    name = next(iter(errors))
    return name, str(errors[name])


# ---------------------------------------------------------------------------
# The API's JSON.

_PLAIN = {serializers.CharField: str, serializers.FloatField: float, serializers.IntegerField: int}
_STATELESS = (serializers.BooleanField, serializers.ChoiceField, *_PLAIN)
_VALUE, _METHOD, _NESTED, _MANY = range(4)
_UNREAD = object()


def _converter(field):
    """What `field.to_representation` does to a value that is not None, for the plain kinds."""
    if type(field) in _PLAIN:
        return _PLAIN[type(field)]
    if type(field) is serializers.BooleanField:
        return lambda value, generic=field.to_representation: value if value is True or value is False else generic(value)
    return field.to_representation


class _Plan(NamedTuple):
    """An output serializer's fields in order, (kind, name, bound field, converter, method name or class),
    and `read`: every non-method field's value from an instance in one call, None where a source is "*".
    `flat`, for a class of plain fields and methods only: (names in order, the plain fields' converters,
    (position, method name) of each method field)."""

    entries: tuple
    read: Callable | None
    flat: tuple | None

    @classmethod
    def of(cls, entries: list) -> _Plan:
        paths = [".".join(field.source_attrs) for kind, _, field, _ in entries if kind != _METHOD]
        if not paths or not all(paths):
            return cls(tuple(entries), None, None)
        read = attrgetter(*paths) if len(paths) > 1 else (lambda instance, one=attrgetter(paths[0]): (one(instance),))
        flat = None
        if all(kind in (_VALUE, _METHOD) for kind, *_ in entries):
            flat = (
                tuple(name for _, name, _, _ in entries),
                tuple(how for kind, _, _, how in entries if kind == _VALUE),
                tuple((i, how) for i, (kind, _, _, how) in enumerate(entries) if kind == _METHOD),
            )
        return cls(tuple(entries), read, flat)


class OutputSerializer(serializers.Serializer):
    """A serializer that writes JSON from fields made once per class.

    DRF gives every serializer instance fresh fields, a deep copy of the declared ones bound to it:
    an answer with its nested serializers copies about 60 fields, a tenth of an uncached API
    request. An output serializer's fields never change, so `to_representation` follows a plan
    made once per class from one bound instance (its fields must not depend on constructor
    arguments). Plain fields (text, numbers, booleans, choices, lists of them) are read through
    their sources and written by the plan's field, or by str/int/float for text and numbers, as
    those fields do; SerializerMethodFields are called on the live instance, which holds the
    context; a nested serializer is written by a live instance of its class sharing that context.
    A class with any other kind of field is written by DRF as usual. `generic = True` writes
    every instance through DRF's own to_representation: a test compares the two on every
    endpoint.
    """

    generic = False

    @classmethod
    def _output_plan(cls) -> _Plan | None:
        plan = cls.__dict__.get("_plan")
        if plan is None:
            entries = []
            for field in cls().fields.values():
                if field.write_only:
                    continue
                if isinstance(field, serializers.SerializerMethodField):
                    entries.append((_METHOD, field.field_name, field, field.method_name))
                elif isinstance(field, serializers.ListSerializer):
                    entries.append((_MANY, field.field_name, field, type(field.child)))
                elif isinstance(field, serializers.BaseSerializer):
                    entries.append((_NESTED, field.field_name, field, type(field)))
                elif type(field) in _STATELESS or (type(field) is serializers.ListField and type(field.child) in _STATELESS):
                    entries.append((_VALUE, field.field_name, field, _converter(field)))
                else:
                    entries = None
                    break
            plan = cls._plan = _Plan.of(entries) if entries is not None else False
        return plan or None

    def to_representation(self, instance):
        plan = None if self.generic else self._output_plan()
        if plan is None:
            return super().to_representation(instance)
        values = None
        if plan.read is not None and not isinstance(instance, Mapping):
            try:
                values = plan.read(instance)
            except (AttributeError, ObjectDoesNotExist):
                values = None
            if values is not None and plan.flat is not None:
                if any(map(callable, values)):  # a method as source (get_status_display): called, as DRF's get_attribute does
                    values = [value() if is_simple_callable(value) else value for value in values]
                names, converters, methods = plan.flat
                written = [None if value is None else how(value) for how, value in zip(converters, values)]
                for position, method in methods:
                    written.insert(position, getattr(self, method)(instance))
                return dict(zip(names, written))
            values = iter(values) if values is not None else None
        out = {}
        for kind, name, field, how in plan.entries:
            if kind == _METHOD:
                out[name] = getattr(self, how)(instance)
                continue
            value = next(values) if values is not None else _UNREAD
            if value is _UNREAD or callable(value):
                try:  # mappings, callables, defaults: as DRF reads them
                    value = field.get_attribute(instance)
                except SkipField:
                    continue
            if value is None:
                out[name] = None
            elif kind == _VALUE:
                out[name] = how(value)
            elif kind == _NESTED:
                out[name] = how(context=self.context).to_representation(value)
            else:
                child = how(context=self.context)
                out[name] = [child.to_representation(item) for item in (value.all() if isinstance(value, BaseManager) else value)]
        return out



class GeneSerializer(OutputSerializer):
    entrez_id = serializers.IntegerField()
    symbol = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["landmark", "inferred", "model_only", "other"])
    status_label = serializers.CharField(source="get_status_display")
    status_note = serializers.SerializerMethodField(help_text="What the gene's values are: measured by L1000, inferred by CMap or predicted only by the model.")
    in_model_output = serializers.BooleanField()

    def get_status_note(self, gene) -> str:
        return status_note(gene)


class GeneMatchSerializer(OutputSerializer):
    entrez_id = serializers.IntegerField()
    symbol = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    matched = serializers.CharField(help_text="symbol, entrez, ensembl, synonym or previous")
    alias = serializers.CharField(help_text="The alias that matched, when it was not the symbol.")


class GeneLookupSerializer(OutputSerializer):
    query = serializers.CharField()
    exact = GeneMatchSerializer(allow_null=True, help_text="The gene the whole query names, if one does.")
    results = GeneMatchSerializer(many=True)


class GeneDetailSerializer(GeneSerializer):
    """A gene found by symbol, alias, previous symbol, Entrez or Ensembl id."""

    searched = serializers.SerializerMethodField(help_text="What was asked for.")
    matched = serializers.SerializerMethodField(help_text="symbol, entrez, ensembl, synonym or previous")
    aliases = serializers.SerializerMethodField()

    def get_searched(self, gene) -> str:
        return self.context["resolution"].query

    def get_matched(self, gene) -> str:
        return self.context["resolution"].match.via

    def get_aliases(self, gene) -> list[str]:
        return sorted(gene.aliases.values_list("alias", flat=True))


class SignatureSerializer(OutputSerializer):
    """One signature's metadata."""

    sig_id = serializers.CharField()
    pert_type = serializers.CharField()
    pert_id = serializers.CharField()
    perturbagen = serializers.CharField(source="pert_name")
    cell_line = serializers.CharField()
    dose = serializers.FloatField(allow_null=True)
    dose_unit = serializers.CharField()
    time = serializers.FloatField(allow_null=True)
    time_unit = serializers.CharField()
    batch = serializers.CharField()
    n_replicates = serializers.IntegerField()
    n_controls = serializers.IntegerField()
    controls = serializers.CharField(help_text="What the signature was computed against: all (the batch's other profiles but the perturbagen's own) or vehicle.")
    target_gene = serializers.CharField(help_text="Genetic perturbations: the gene the reagent is aimed at; empty otherwise.")
    pert_targets = serializers.CharField(help_text="Compounds: known targets, |-separated; empty when unknown.")
    pert_moa = serializers.CharField(help_text="Compounds: mechanisms of action, |-separated; empty when unknown.")


class ReleaseSerializer(OutputSerializer):
    """What produced the numbers (search.provenance)."""

    name = serializers.CharField()
    model_version = serializers.CharField()
    dataset = serializers.CharField()
    controls = serializers.CharField(help_text="The control profiles each signature was computed against.")
    gamma = serializers.FloatField(help_text="Shrinkage of the characteristic direction (1 = none).")
    min_replicates = serializers.IntegerField()
    precision = serializers.CharField(help_text="The network's arithmetic when the profiles were converted: fp32, bf16, or unknown.")
    device = serializers.CharField(help_text="Where the profiles were converted: cpu or cuda (empty when unknown).")
    stored_as = serializers.CharField(help_text="The converted profiles' dtype on disk: float32 or float16 (empty when unknown).")

    def to_representation(self, release):
        return super().to_representation(release_provenance(release))


def _absolute(context, path: str) -> str:
    """`path` as an absolute URL when the serializer has the request in its context, else as it is."""
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


def signature_path_prefix() -> str:
    """reverse("search:signature") up to the id (with any script prefix): "/signatures/"."""
    return reverse("search:signature", args=["-"])[: -len("-/")]


def signature_path(sig_id: str, prefix: str | None = None) -> str:
    """reverse("search:signature", args=[sig_id]) assembled by hand from `prefix` (signature_path_prefix()).

    reverse() costs about 15 us, as much as the rest of a hit, and a page or an answer holds up to 1,000 hits.
    The id is quoted as reverse() quotes it (django.urls.resolvers: RFC 3986 sub-delimiters, '~', ':' and '@'
    kept); a test compares the two."""
    prefix = signature_path_prefix() if prefix is None else prefix
    return prefix + (sig_id if _UNQUOTED.fullmatch(sig_id) else quote(sig_id, safe=RFC3986_SUBDELIMS + "~:@")) + "/"


_UNQUOTED = re.compile(r"[A-Za-z0-9_.~:@" + re.escape(RFC3986_SUBDELIMS) + r"-]*")  # what quote() above leaves as it is


SIGNATURE_TOP_DEFAULT = 250
SIGNATURE_TOP_MAX = 2000


class SignatureTopQuerySerializer(serializers.Serializer):
    """A signature page's parameter: how many of its most up- and down-regulated genes to list."""

    n = WholeNumber(
        min_value=1, max_value=SIGNATURE_TOP_MAX, default=SIGNATURE_TOP_DEFAULT,
        help_text=f"Genes in each top list (by CD): 1..{SIGNATURE_TOP_MAX}, default {SIGNATURE_TOP_DEFAULT}.",
    )

    blank_values_are_refused = True  # the API's; the page's form sends a blank for an empty box

    def __init__(self, *args, blank_values_are_refused=None, **kwargs):
        super().__init__(*args, **kwargs)
        if blank_values_are_refused is not None:
            self.blank_values_are_refused = blank_values_are_refused


class SignatureGeneSerializer(OutputSerializer):
    """One gene of a signature's top list."""

    entrez_id = serializers.IntegerField()
    symbol = serializers.CharField()
    status = serializers.CharField(help_text="landmark, inferred, model_only or other; empty for a gene the registry does not know.")
    cd = serializers.FloatField(help_text="Characteristic-direction coefficient of the gene in the signature.")
    log2fc = serializers.FloatField(source="logfc")
    rank = serializers.IntegerField(help_text="The gene's rank inside the signature in the list's direction; 1 = most regulated.")
    url = serializers.SerializerMethodField(help_text="The gene's page; null for a gene the registry does not know.")

    def get_url(self, entry) -> str | None:
        if not entry.status:
            return None
        return _absolute(self.context, reverse("search:gene", args=[entry.symbol]))


class SignatureDownloadsSerializer(OutputSerializer):
    tsv = serializers.CharField(help_text="Every gene: entrez_id, symbol, cd, log2fc, rank_up, status; first line a '# l1kweb ...' header.")
    csv = serializers.CharField()
    enrichr_up = serializers.CharField(help_text="The top n up-regulated symbols, one per line (text/plain).")
    enrichr_down = serializers.CharField(help_text="The top n down-regulated symbols, one per line (text/plain).")


class SignatureDetailSerializer(SignatureSerializer):
    """One signature: its metadata, the release it belongs to, and its most up- and down-regulated genes by CD.

    The instance is a search.signature_genes.SignatureGenes."""

    release = serializers.SerializerMethodField(help_text="The release the signature belongs to.")
    provenance = ReleaseSerializer(source="release", help_text="What produced the release's numbers.")
    url = serializers.SerializerMethodField(help_text="The signature's page.")
    n = serializers.IntegerField(help_text="The length asked for of each top list.")
    n_genes = serializers.IntegerField(help_text="Genes in the release's store.")
    n_without_cd = serializers.IntegerField(help_text="Genes without a CD in this signature (the model predicts them as constant among its profiles); in no top list.")
    up = SignatureGeneSerializer(many=True, help_text="Genes with CD > 0, largest first (ties by store position).")
    down = SignatureGeneSerializer(many=True, help_text="Genes with CD < 0, most negative first.")
    downloads = serializers.SerializerMethodField()

    def get_fields(self):
        fields = super().get_fields()
        for name, field in SignatureSerializer._declared_fields.items():
            fields[name].source = f"signature.{field.source or name}"
        return fields

    def get_release(self, detail) -> str:
        return detail.release.name

    def get_url(self, detail) -> str:
        return _absolute(self.context, signature_path(detail.signature.sig_id))

    @extend_schema_field(SignatureDownloadsSerializer)
    def get_downloads(self, detail) -> dict:
        sig = detail.signature.sig_id
        files = {fmt: reverse("search:signature-download", args=[sig, fmt]) for fmt in ("tsv", "csv")}
        lists = {f"enrichr_{d}": reverse("search:signature-enrichr", args=[sig, d]) + f"?n={detail.n}" for d in ("up", "down")}
        return {k: _absolute(self.context, v) for k, v in {**files, **lists}.items()}


class ScoredSignatureSerializer(SignatureSerializer):
    """A list entry that holds a `signature` (SignatureRow) beside its own values: the signature's
    fields read from it, and the link to its page."""

    def get_signature_url(self, hit) -> str:
        prefix = self.context.get("signature_url_prefix")
        if prefix is None:  # once per answer: the context is shared by the list's entries
            # The absolute prefix then the quoted id: what build_absolute_uri makes of the whole path,
            # whose quoting (signature_path) leaves nothing for iri_to_uri to change.
            prefix = self.context["signature_url_prefix"] = _absolute(self.context, signature_path_prefix())
        return signature_path(hit.signature.sig_id, prefix)

    def get_fields(self):
        fields = super().get_fields()
        for name, field in SignatureSerializer._declared_fields.items():
            fields[name].source = f"signature.{field.source or name}"
        return fields


class HitSerializer(ScoredSignatureSerializer):
    """One result row: its signature's fields, then the queried gene's values in that signature."""

    position = serializers.IntegerField(help_text="1-based position in the ranked list.")
    cd = serializers.FloatField(help_text="Characteristic-direction coefficient of the gene.")
    log2fc = serializers.FloatField(source="logfc")
    fold_change = serializers.FloatField(help_text="2 ** log2fc")
    rank_in_signature = serializers.IntegerField(source="rank", help_text="The gene's rank inside the signature in this direction; 1 = most regulated.")
    discordant = serializers.BooleanField(help_text="CD and log2FC disagree in sign.")
    self_target = serializers.BooleanField(help_text="The perturbation targets the queried gene itself, whose own expression the model predicts poorly.")
    signature_url = serializers.SerializerMethodField(help_text="The signature's page: its metadata, top genes, volcano and downloads.")



class ReliabilitySerializer(OutputSerializer):
    """How well the release's model predicts the gene (search.provenance.Reliability)."""

    pcc = serializers.FloatField(allow_null=True, help_text="Gene-wise Pearson r of the model on paired L1000/RNA-seq samples; null when not measured.")
    rmse = serializers.FloatField(allow_null=True, help_text="Gene-wise RMSE (log2 units) on the same samples.")
    n_samples = serializers.IntegerField(allow_null=True, help_text="Paired samples of the evaluation.")
    paired_set = serializers.CharField(help_text="The paired set the model was evaluated on.")
    threshold = serializers.FloatField(help_text="Below this r the gene carries a warning.")
    warning = serializers.BooleanField(help_text="pcc is below threshold.")
    note = serializers.CharField()


class GeneInReleaseSerializer(OutputSerializer):
    """What to know about the gene's values before reading its hits."""

    status_note = serializers.CharField()
    reliability = ReliabilitySerializer()
    signatures_without_cd = serializers.IntegerField(source="coverage.n_without_cd", help_text="Signatures of the release in which the gene has no CD (the model predicts it as constant among their profiles); they never list it.")
    no_cd_note = serializers.CharField(source="coverage.note")


class QueryEchoSerializer(OutputSerializer):
    """The query as it was understood, defaults filled in."""

    type = serializers.ListField(child=serializers.CharField(), source="types")
    direction = serializers.CharField()
    metric = serializers.CharField()
    cell_line = serializers.ListField(child=serializers.CharField(), source="cell_lines")
    dose = serializers.FloatField(allow_null=True)
    time = serializers.FloatField(allow_null=True)
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class GeneSignaturesSerializer(OutputSerializer):
    gene = GeneSerializer()
    release = ReleaseSerializer()
    gene_in_release = GeneInReleaseSerializer()
    query = QueryEchoSerializer()
    source = serializers.ChoiceField(choices=["index", "store"], help_text="index: precomputed top lists; store: exact over all signatures.")
    total = serializers.IntegerField()
    total_exact = serializers.BooleanField(help_text="False when only a full top list was read: more signatures may exist.")
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = HitSerializer(many=True)


class PerturbagenGroupSerializer(OutputSerializer):
    """One perturbagen of a result list, over all its signatures in the release (under the query's filters)."""

    pert_id = serializers.CharField()
    perturbagen = serializers.CharField(source="pert_name")
    pert_type = serializers.CharField()
    best_position = serializers.IntegerField(help_text="Position of its best signature in the ranked list.")
    n_listed = serializers.IntegerField(help_text="Its signatures in the requested page of the list.")
    n_signatures = serializers.IntegerField(help_text="Its signatures in the release that match the filters.")
    n_agree = serializers.IntegerField(help_text="Of those, the signatures whose CD has the list's direction.")
    agreement = serializers.FloatField(help_text="n_agree / n_signatures")
    n_cell_lines = serializers.IntegerField()
    n_cell_lines_agree = serializers.IntegerField(help_text="Cell lines where most of its signatures have the list's direction.")
    median_cd = serializers.FloatField()
    median_log2fc = serializers.FloatField(source="median_logfc")
    cell_lines = serializers.ListField(child=serializers.CharField())


class GenePerturbagensSerializer(OutputSerializer):
    gene = GeneSerializer()
    release = ReleaseSerializer()
    gene_in_release = GeneInReleaseSerializer()
    query = QueryEchoSerializer()
    count = serializers.IntegerField()
    results = PerturbagenGroupSerializer(many=True)


class TermEnrichmentSerializer(OutputSerializer):
    """One annotation term among a list's compounds against every compound of the release (search.enrichment)."""

    term = serializers.CharField()
    listed = serializers.IntegerField(help_text="Listed compounds with the term.")
    n_listed = serializers.IntegerField(help_text="Compounds in the list.")
    background = serializers.IntegerField(help_text="Compounds of the release with the term.")
    n_background = serializers.IntegerField(help_text="Compounds of the release.")
    fold = serializers.FloatField(help_text="The term's share of the list over its share of the release.")
    p_value = serializers.FloatField(help_text="One-sided Fisher exact test (over-representation).")
    fdr = serializers.FloatField(help_text="Benjamini-Hochberg over the terms tested for this list.")
    enriched = serializers.BooleanField(help_text="FDR <= 0.05 and at least 2 listed compounds.")
    perturbagens = serializers.ListField(child=serializers.CharField(), help_text="The listed compounds (pert_id) with the term.")


class GeneMechanismsSerializer(OutputSerializer):
    gene = GeneSerializer()
    release = ReleaseSerializer()
    gene_in_release = GeneInReleaseSerializer()
    query = QueryEchoSerializer()
    n_compounds = serializers.IntegerField(help_text="Compounds among the list's hits.")
    moa = TermEnrichmentSerializer(many=True)
    target = TermEnrichmentSerializer(many=True)


class CellLineCountSerializer(OutputSerializer):
    name = serializers.CharField()
    n_signatures = serializers.IntegerField()


class PertTypeCountSerializer(OutputSerializer):
    type = serializers.CharField()
    label = serializers.CharField()
    n_signatures = serializers.IntegerField()


class ErrorSerializer(OutputSerializer):
    detail = serializers.CharField(help_text="One sentence saying what was wrong and what was expected.")


ERROR_RESPONSES = {
    400: "A parameter the search cannot use, or an alias that names several genes.",
    404: "Unknown gene, signature or path; the message names the closest genes where there are any.",
    429: "Too many requests from this address; `Retry-After` says when to come back.",
    503: "No release is active yet, or the active release's stores cannot be read.",
}


def documented(ok, *errors: int) -> dict:
    """drf-spectacular `responses`: `ok` for 200, and the listed error codes with their JSON body."""
    return {200: ok, **{code: OpenApiResponse(ErrorSerializer, description=ERROR_RESPONSES[code]) for code in errors}}


# ---------------------------------------------------------------------------
# Gene-set search (search.set_search).


SET_QUERY_MAX_CHARS = 8000  # a set in a URL: a few hundred genes; larger sets are POSTed (URLs past ~64 KB are refused by servers)


class SetSearchQuerySerializer(serializers.Serializer):
    """The set search's query-string parameters (GET; with POST the filters may be given here or in the body).

    Only the schema: the view validates the sets with search.set_search and
    the filters with SearchQuerySerializer, so the rules are written once."""

    up = serializers.CharField(
        max_length=SET_QUERY_MAX_CHARS, validators=[RegexValidator(GENE_QUERY_PATTERN)],
        help_text=f"Up set: symbols, aliases or Entrez ids, comma- or space-separated (at most {MAX_GENES:,} genes and {SET_QUERY_MAX_CHARS:,} characters; POST larger sets). Required unless `down` is given.",
    )
    down = serializers.CharField(
        required=False, max_length=SET_QUERY_MAX_CHARS, validators=[RegexValidator(GENE_QUERY_PATTERN)], help_text="Down set, as `up`.",
    )
    type = SearchQuerySerializer._declared_fields["type"]
    cell_line = SearchQuerySerializer._declared_fields["cell_line"]
    dose = SearchQuerySerializer._declared_fields["dose"]
    time = SearchQuerySerializer._declared_fields["time"]
    limit = WholeNumber(min_value=1, max_value=SearchQuerySerializer.max_limit, default=50, help_text="Signatures per list, 1..1000, default 50.")


class SetFilterQuerySerializer(serializers.Serializer):
    """The filters of a POSTed set search, in the query string (where the schema lists the release's cell lines)."""

    type = SearchQuerySerializer._declared_fields["type"]
    cell_line = SearchQuerySerializer._declared_fields["cell_line"]
    dose = SearchQuerySerializer._declared_fields["dose"]
    time = SearchQuerySerializer._declared_fields["time"]


_GENE_ITEM = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": GENE_QUERY_PATTERN}
SET_SEARCH_BODY = {
    "type": "object",
    "description": (
        f"An up set, a down set or both (at least {MIN_GENES} genes of the release each, at most {MAX_GENES:,} entries, no gene in both). "
        "`type` and `cell_line` may be given here as lists or in the query string, `dose` and `time` as numbers or in the query string."
    ),
    "properties": {
        "up": {"type": "array", "items": _GENE_ITEM, "maxItems": MAX_GENES, "description": "Symbols, aliases or Entrez ids of genes up in the query signature."},
        "down": {"type": "array", "items": _GENE_ITEM, "maxItems": MAX_GENES, "description": "Genes down in the query signature."},
        "type": {"type": "array", "items": {"type": "string", "enum": list(TYPE_CHOICES)}, "description": "Perturbation type(s); default all."},
        "dose": {"type": "number", "minimum": 0, "description": "Only signatures of this dose, in the signature's unit (matched to 1 part in a million)."},
        "time": {"type": "number", "minimum": 0, "description": "Only signatures of this time point, in the signature's unit."},
        "limit": {"type": "integer", "minimum": 1, "maximum": SearchQuerySerializer.max_limit, "description": "Signatures per list, default 50."},
    },
    "anyOf": [
        {"required": ["up"], "properties": {"up": {"minItems": 1}}},
        {"required": ["down"], "properties": {"down": {"minItems": 1}}},
    ],
}


class SetHitSerializer(ScoredSignatureSerializer):
    """One signature of a set search's list: its metadata, then its scores."""

    position = serializers.IntegerField(help_text="1-based position in the list.")
    z_up = serializers.FloatField(allow_null=True, help_text="Mann-Whitney z of the up set's ranks against the signature's other genes; > 0: up. Null without an up set.")
    z_down = serializers.FloatField(allow_null=True, help_text="The same for the down set. Null without a down set.")
    score = serializers.FloatField(help_text="z_up - z_down (one set: z_up, or -z_down); large: mimics the query, small: reverses it.")
    p_value = serializers.FloatField(help_text="Two-sided, from score / sqrt(number of sets), standard normal under the null.")
    fdr = serializers.FloatField(help_text="Benjamini-Hochberg over every signature searched.")
    signature_url = serializers.SerializerMethodField(help_text="The signature's page.")



class SetGeneSerializer(OutputSerializer):
    entrez_id = serializers.IntegerField()
    symbol = serializers.CharField()


class UnresolvedSerializer(OutputSerializer):
    set = serializers.ChoiceField(choices=["up", "down"])
    query = serializers.CharField()
    reason = serializers.ChoiceField(choices=["unknown", "ambiguous", "not_in_release"])
    message = serializers.CharField()


class SetPerturbagenGroupSerializer(OutputSerializer):
    """One perturbagen of a set search's list, over all its signatures searched (search.perturbagens.group_set_hits)."""

    pert_id = serializers.CharField()
    perturbagen = serializers.CharField(source="pert_name")
    pert_type = serializers.CharField()
    best_position = serializers.IntegerField(help_text="Position of its best signature in the list.")
    n_listed = serializers.IntegerField(help_text="Its signatures in the list.")
    n_signatures = serializers.IntegerField(help_text="Its signatures searched (the query's types and cell lines).")
    n_agree = serializers.IntegerField(help_text="Of those, the signatures whose score has the list's sign (mimic: > 0, reverse: < 0).")
    agreement = serializers.FloatField(help_text="n_agree / n_signatures")
    n_cell_lines = serializers.IntegerField()
    n_cell_lines_agree = serializers.IntegerField(help_text="Cell lines where most of its signatures agree.")
    median_score = serializers.FloatField()
    median_z_up = serializers.FloatField(allow_null=True, help_text="Null without an up set.")
    median_z_down = serializers.FloatField(allow_null=True, help_text="Null without a down set.")
    cell_lines = serializers.ListField(child=serializers.CharField())


class SetPerturbagensSerializer(OutputSerializer):
    mimic = SetPerturbagenGroupSerializer(many=True)
    reverse = SetPerturbagenGroupSerializer(many=True)


class SetSearchSerializer(OutputSerializer):
    """A set search's result (search.set_search.SetSearchResult)."""

    id = serializers.CharField(source="key", allow_null=True, help_text="The result id of a saved (POSTed) search; null for a GET.")
    url = serializers.SerializerMethodField(help_text="The saved search in the API, /api/sets/<id>/; null for a GET.")
    page = serializers.SerializerMethodField(help_text="The search's page: /sets/<id>/ for a saved search, else /sets/ with the sets in the query string.")
    saved_for_release = serializers.CharField(source="saved_for", allow_null=True, help_text="The release a saved search was made for, when it is not the active one it was run on.")
    release = ReleaseSerializer()
    up = SetGeneSerializer(many=True, source="up.genes", help_text="The up set's genes as searched.")
    down = SetGeneSerializer(many=True, source="down.genes")
    unknown = UnresolvedSerializer(many=True, source="unresolved", help_text="Entries that name no gene of the release: unknown, ambiguous or not in its signatures.")
    type = serializers.ListField(child=serializers.CharField(), source="types")
    cell_line = serializers.ListField(child=serializers.CharField(), source="cell_lines")
    dose = serializers.FloatField(allow_null=True, help_text="The dose filter; null for none.")
    time = serializers.FloatField(allow_null=True, help_text="The time filter; null for none.")
    limit = serializers.IntegerField()
    n_signatures = serializers.IntegerField(help_text="Signatures searched; the FDR is over these.")
    mimic = SetHitSerializer(many=True, help_text="Largest score first: signatures that move the up set up and the down set down.")
    reverse = SetHitSerializer(many=True, help_text="Smallest score first: signatures that reverse the query.")
    perturbagens = SetPerturbagensSerializer(help_text="Each list's hits grouped by perturbagen, in the order of their best hit.")
    downloads = serializers.SerializerMethodField(help_text="The lists (tsv, csv) and the perturbagen tables (perturbagens_tsv, perturbagens_csv) as files.")

    def get_url(self, result) -> str | None:
        return _absolute(self.context, reverse("search:api-set-result", args=[result.key])) if result.key else None

    def get_page(self, result) -> str:
        return _absolute(self.context, reverse("search:set-result", args=[result.key]) if result.key else reverse("search:sets") + "?" + urlencode(result.query_items()))

    def get_downloads(self, result) -> dict[str, str]:
        out = {}
        for prefix, (saved, plain) in {"": ("search:set-result-download", "search:set-download"), "perturbagens_": ("search:set-result-download-perturbagens", "search:set-download-perturbagens")}.items():
            for fmt in ("tsv", "csv"):
                path = reverse(saved, args=[result.key, fmt]) if result.key else reverse(plain, args=[fmt]) + "?" + urlencode(result.query_items())
                out[prefix + fmt] = _absolute(self.context, path)
        return out

