"""A browsable API reference served from our own templates.

drf-spectacular's Swagger UI and Redoc pages load their JavaScript from a CDN
and the site must work offline, so this page renders the same OpenAPI schema
(drf-spectacular's generator) as plain HTML: paths, parameters, and responses.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.request import Request

from search.query import release_facets
from search.response_cache import active_release

logger = logging.getLogger(__name__)
_schema_cache: dict = {}


def _schema(request) -> dict:
    """The schema, generated once per active release (it lists the release's cell lines)."""
    request = Request(request)
    release = active_release(request)
    key = (release.pk, release.completed_at) if release is not None else None
    if key not in _schema_cache:
        _schema_cache.clear()
        _schema_cache[key] = SchemaGenerator().get_schema(request=request, public=True)
    return _schema_cache[key]


def list_active_cell_lines(result, generator, request, public):
    """drf-spectacular postprocessing hook: every `cell_line` parameter lists the active release's
    cell lines, the values the API accepts (any other is refused with a 400).

    Only for a schema served to a request: the system checks also generate
    the schema, and they must not need the database."""
    if request is None:
        return result
    try:
        release = active_release(request)
        names = list(release_facets(release).cell_lines) if release is not None else None
    except DatabaseError:
        logger.warning("The API schema lists no cell lines: the database cannot be read.", exc_info=True)
        return result
    if release is None:
        return result
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "cell_line" and parameter["in"] == "query":
                    parameter["schema"]["items"]["enum"] = names
                    parameter["description"] = parameter.get("description", "") + f" The cell lines of release {release.name}."
    return result


def _ref_name(schema: dict) -> str:
    if not schema:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"list of {_ref_name(schema.get('items', {}))}"
    return schema.get("type", "object")


def api_docs(request):
    schema = _schema(request)
    endpoints = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            params = [
                {"name": p["name"], "in": p["in"], "required": p.get("required", False), "type": _ref_name(p.get("schema", {})), "description": p.get("description", "")}
                for p in op.get("parameters", [])
            ]
            responses = []
            for code, resp in op.get("responses", {}).items():
                content = resp.get("content", {}).get("application/json", {})
                responses.append({"code": code, "schema": _ref_name(content.get("schema", {})), "description": resp.get("description", "")})
            endpoints.append({"method": method.upper(), "path": path, "summary": op.get("description", ""), "parameters": params, "responses": responses})
    components = []
    for name, comp in sorted(schema.get("components", {}).get("schemas", {}).items()):
        fields = [{"name": f, "type": _ref_name(s) or s.get("type", ""), "description": s.get("description", "")} for f, s in comp.get("properties", {}).items()]
        components.append({"name": name, "fields": fields, "enum": comp.get("enum")})
    return render(request, "search/api_docs.html", {"info": schema.get("info", {}), "endpoints": endpoints, "components": components, "schema_url": reverse("search:api-schema")})
