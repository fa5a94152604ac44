"""A recorded request as an AWS operation with its parameters, parsed by moto's own botocore-model
request parsers (the code moto answers the request with), so the evaluation reads what the emulator
read."""

import json
import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import parse_qsl

from moto.core.parse import PROTOCOL_PARSERS
from moto.core.request import Request as MotoRequest
from moto.core.request import determine_request_protocol
from moto.core.routing import get_service_router
from moto.core.utils import get_service_model
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.test import EnvironBuilder

from tests.iam.recorder import Recorded

# SigV4 signing name -> (botocore model, IAM service prefix), where they differ from the signing name.
SIGNING_NAMES = {
    "elasticloadbalancing": ("elbv2", "elasticloadbalancing"),
    "monitoring": ("cloudwatch", "cloudwatch"),
}


@dataclass
class Request:
    call: Recorded
    model: str  # botocore's name: elbv2
    service: str  # IAM's prefix: elasticloadbalancing
    operation: str
    params: dict

    @property
    def region(self) -> str:
        return self.call.region

    @property
    def status(self) -> int:
        return self.call.status

    @cached_property
    def response_json(self) -> dict:
        try:
            return json.loads(self.call.response or b"{}")
        except ValueError:
            return {}

    def response_values(self, element: str) -> list[str]:
        """Every <element>value</element> of an XML (query protocol) response."""
        return re.findall(rf"<{element}>([^<]*)</{element}>", self.call.response.decode(errors="replace"))

    @property
    def error_code(self) -> str | None:
        if self.status < 400:
            return None
        found = self.response_values("Code")
        if found:
            return found[0]
        return str(self.response_json.get("__type", "")).split("#")[-1] or str(self.status)

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}"


def parse(call: Recorded) -> Request:
    model, prefix = SIGNING_NAMES.get(call.signing_name, (call.signing_name, call.signing_name))
    service_model = get_service_model(model)
    if service_model.protocol in ("rest-xml", "rest-json"):
        environ = EnvironBuilder(
            method=call.method,
            path=call.path,
            query_string=call.query,
            headers={k: v for k, v in call.headers.items() if k != "content-length"},
            base_url="http://emulator",
        ).get_environ()
        operation, uri_params = get_service_router(model).match(MotoRequest(environ))
        params = {**dict(parse_qsl(call.query)), **uri_params}
        return Request(call, model, prefix, operation.name, params)
    protocol = determine_request_protocol(service_model, call.headers.get("content-type", ""))
    if protocol in ("query", "ec2"):
        values = MultiDict(parse_qsl(call.body.decode() or call.query, keep_blank_values=True))
        operation = values["Action"]
    else:
        values = MultiDict()
        operation = call.headers["x-amz-target"].split(".")[-1]
    parser = PROTOCOL_PARSERS[protocol](service_model.operation_model(operation))
    params = parser.parse(
        {
            "method": call.method,
            "values": values,
            "headers": Headers(call.headers),
            "body": call.body,
            "url_path": call.path,
            "url_params": {},
        }
    )
    return Request(call, model, prefix, operation, dict(params))
