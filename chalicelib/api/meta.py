"""The service's face: health, the OpenAPI document and its rendered docs."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import Call, endpoint
from chalicelib.api.openapi import openapi_document
from chalicelib.api.schemas import HealthOut
from chalicelib.settings import get_settings

bp = Blueprint(__name__)
TAG = "service"
VERSION = "0.1.0"

# The docs page loads Swagger UI from a CDN in the reader's browser; the API serves only JSON.
_DOCS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Weilinli API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "openapi.json", dom_id: "#ui"});</script>
<noscript>The API is described in <a href="openapi.json">openapi.json</a>.</noscript>
</body></html>"""


@endpoint(bp, "/health", summary="Liveness", tag=TAG, public=True, response=HealthOut)
def health(call: Call) -> HealthOut:
    return HealthOut(stage=get_settings().stage, version=VERSION)


@endpoint(bp, "/openapi.json", summary="This API's OpenAPI document", tag=TAG, public=True)
def openapi(call: Call) -> Response:
    return Response(body=openapi_document(VERSION), status_code=200, headers={"Content-Type": "application/json"})


@endpoint(bp, "/docs", summary="The API documentation, rendered", tag=TAG, public=True, raw_response="text/html")
def docs(call: Call) -> Response:
    return Response(body=_DOCS, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})
