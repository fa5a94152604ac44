"""JSON as DRF's renderer writes it, encoded by orjson: a page of 200 services is some 500 KB of
JSON, which the standard library's encoder takes several milliseconds to write (benchmarks/api.py).

The same bytes as rest_framework.renderers.JSONRenderer (tests/integration/api/test_api_renderer.py): dates and
times, decimals and lazy strings go through DRF's own encoder, and U+2028/U+2029 are escaped.
Whatever orjson refuses (keys that are not strings, integers past 64 bits), and pretty-printing,
is left to DRF's renderer."""

import json

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from rest_framework.renderers import BaseRenderer
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer

OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class JSONRenderer(DRFJSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        pretty = self.get_indent(accepted_media_type, renderer_context or {}) is not None
        if data is None or pretty or self.ensure_ascii or not self.compact:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            text = orjson.dumps(data, default=self.encoder_class().default, option=OPTIONS)
        except (orjson.JSONEncodeError, TypeError):
            return super().render(data, accepted_media_type, renderer_context)
        return text.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")


class JSONLinesRenderer(BaseRenderer):
    """`?format=jsonl`: one JSON document per line. A view that streams (the audit trail) answers
    with its own streaming response; what reaches this renderer (an error) is one line."""

    media_type = "application/jsonl"
    format = "jsonl"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = data if isinstance(data, list) else [data]
        return "".join(json.dumps(row, ensure_ascii=False, cls=DjangoJSONEncoder) + "\n" for row in rows).encode()
