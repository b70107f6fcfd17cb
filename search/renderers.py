"""The API's JSON renderer: DRF's JSONRenderer, written by orjson.

Rendering an uncached answer of 50 hits with the standard library's json took
about a tenth of the request's CPU in the server (docs/benchmarks.md, "Search");
orjson writes the same JSON values in a tenth of that time. What differs from
DRF's renderer: numbers are written in orjson's shortest form (`0.000012345678`
where json writes `1.2345678e-05`; both parse to the same double), and NaN or
an infinity is written `null` where DRF's strict JSON raised an error. Values
orjson does not write itself (dates, decimals, lazy text, numpy scalars,
dataclasses) go through DRF's encoder, as before. Indented output (a client
asking for `indent=`) is DRF's own.
"""

from __future__ import annotations

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_LINE_SEPARATORS = ("\u2028".encode(), "\u2029".encode())


def json_bytes(data, default) -> bytes:
    """Compact UTF-8 JSON of `data` by orjson; dates, dataclasses and whatever orjson does not write itself go to
    `default` (a JSONEncoder's), as json.dumps would send them; NaN and infinities are written null."""
    return orjson.dumps(data, default=default, option=_OPTIONS)


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None or not (self.compact and self.strict and not self.ensure_ascii):
            return super().render(data, accepted_media_type, renderer_context)
        content = json_bytes(data, JSONEncoder().default)
        # As DRF does: U+2028 and U+2029 escaped, so that the JSON is also a JavaScript literal.
        for raw in _LINE_SEPARATORS:
            if raw in content:
                content = content.replace(raw, raw.decode().encode("unicode_escape"))
        return content
