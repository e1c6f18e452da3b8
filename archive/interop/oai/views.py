"""The OAI-PMH endpoint: GET or POST (application/x-www-form-urlencoded) at /oai, always HTTP 200 with
text/xml (protocol errors are in the document, section 3.6)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .verbs import respond


@csrf_exempt  # harvesters POST without a session; the endpoint changes nothing
@require_http_methods(["GET", "HEAD", "POST"])
def endpoint(request: HttpRequest) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    return HttpResponse(respond(dict(params.lists())), content_type="text/xml; charset=utf-8")
