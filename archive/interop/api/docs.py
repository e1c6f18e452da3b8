"""``/api/docs/``: the OpenAPI description as a plain HTML page, rendered on the server from the same
schema as ``/api/schema/``. No script and nothing from a CDN: it works offline and on an intranet.
(DRF's browsable API, at ``/api/``, lets a logged-in user try the endpoints.)"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.utils.translation import get_language
from django.views.decorators.http import require_safe
from drf_spectacular.generators import SchemaGenerator

TEMPLATE = Path(__file__).parent / "templates" / "api" / "docs.html"
METHODS = ("get", "post", "put", "patch", "delete")


def type_of(schema: dict) -> str:
    """A short human reading of a JSON Schema: ``Object``, ``array of Asset``, ``string (uri) or null``."""
    if not schema:
        return "any"
    if "$ref" in schema:
        text = schema["$ref"].rsplit("/", 1)[-1]
    elif "allOf" in schema and len(schema["allOf"]) == 1:
        text = type_of(schema["allOf"][0])
    elif "oneOf" in schema:
        text = " | ".join(type_of(option) for option in schema["oneOf"])
    elif schema.get("type") == "array":
        text = f"array of {type_of(schema.get('items', {}))}"
    elif "enum" in schema:
        text = "one of " + ", ".join(str(value) for value in schema["enum"] if value not in ("", None))
    else:
        text = str(schema.get("type", "object"))
        if schema.get("format"):
            text += f" ({schema['format']})"
    if schema.get("nullable"):
        text += " or null"
    return text


def _operations(schema: dict) -> list[dict]:
    rows = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if not operation:
                continue
            body = operation.get("requestBody", {}).get("content", {})
            rows.append(
                {
                    "anchor": operation.get("operationId", f"{method}-{path}"),
                    "method": method.upper(),
                    "path": path,
                    "tag": (operation.get("tags") or ["api"])[0],
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [
                        {
                            "name": parameter["name"],
                            "in": parameter["in"],
                            "required": parameter.get("required", False),
                            "type": type_of(parameter.get("schema", {})),
                            "description": parameter.get("description", ""),
                        }
                        for parameter in operation.get("parameters", [])
                    ],
                    "request": [(media, type_of(content.get("schema", {}))) for media, content in body.items()],
                    "responses": [
                        {
                            "code": code,
                            "description": response.get("description", ""),
                            "type": ", ".join(
                                sorted({type_of(c.get("schema", {})) for c in response.get("content", {}).values()})
                            ),
                        }
                        for code, response in sorted(operation.get("responses", {}).items())
                    ],
                }
            )
    return rows


def _components(schema: dict) -> list[dict]:
    shapes = []
    for name, component in sorted(schema.get("components", {}).get("schemas", {}).items()):
        required = set(component.get("required", []))
        shapes.append(
            {
                "name": name,
                "description": component.get("description", ""),
                "enum": component.get("enum"),
                "fields": [
                    {
                        "name": field,
                        "type": type_of(spec),
                        "required": field in required,
                        "read_only": spec.get("readOnly", False),
                        "description": spec.get("description", ""),
                    }
                    for field, spec in component.get("properties", {}).items()
                ],
            }
        )
    return shapes


@lru_cache(maxsize=8)
def _page_data(language: str) -> dict:
    """The schema, read for the page (once per language and process: the API does not change at run time)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        "info": schema.get("info", {}),
        "operations": _operations(schema),
        "components": _components(schema),
    }


@cache
def _template():
    return engines["django"].from_string(TEMPLATE.read_text(encoding="utf-8"))


@require_safe
def docs_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_template().render(_page_data(get_language() or "en"), request))
