"""When the database is down, answer 503 with a short message and Retry-After, never a traceback.

A PostgreSQL restart or failover makes queries raise OperationalError (or InterfaceError on a connection
already closed) until the server is back. Django turns an exception into a 500 inside every middleware
layer, so this outermost middleware catches it two ways: ``process_exception`` for an error raised by a
view (DRF views re-raise it), and Django's ``got_request_exception`` signal, sent while an inner layer
converts an error raised by another middleware (sessions, authentication) into a 500, which is then
replaced here. The answer suits the caller: JSON ``{"detail": ...}`` under /api/, plain text for /oai
(harvesters honour Retry-After), a small self-contained HTML page elsewhere. Nothing here touches the
database or renders a template (context processors would query it). The broken connection is closed
at the end of the request (Django's ``close_old_connections``), and CONN_HEALTH_CHECKS makes the first
request after the outage reconnect.
"""

from __future__ import annotations

import json
import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpResponse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30
_MARK = "_archive_database_down"


def is_database_down(error: BaseException | None) -> bool:
    """True for the errors a database outage raises (not for a bad query: that is ProgrammingError)."""
    return isinstance(error, DATABASE_DOWN)


def unavailable_response(request) -> HttpResponse:
    """The 503 for ``request``, in the visitor's language, in the form its path expects."""
    language = translation.get_language_from_request(request)
    with translation.override(language):
        title = _("Temporarily unavailable")
        message = _("The archive cannot reach its catalogue right now. Please try again in a minute.")
    path = request.path_info or "/"
    if path.startswith("/api/"):
        body, content_type = json.dumps({"detail": message}), "application/json"
    elif path.startswith("/oai"):
        body, content_type = f"{title}: {message}\n", "text/plain; charset=utf-8"
    else:
        body = (
            f'<!DOCTYPE html>\n<html lang="{escape(language)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
            f"</head><body><main><h1>{escape(title)}</h1><p>{escape(message)}</p></main></body></html>\n"
        )
        content_type = "text/html; charset=utf-8"
    response = HttpResponse(body, status=503, content_type=content_type)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    response["Content-Language"] = language
    # Returned from outside the security middlewares when an inner one failed: its own headers.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    return response


@receiver(got_request_exception, dispatch_uid="archive.unavailable.mark")
def _mark_database_down(sender, request=None, **kwargs) -> None:
    """Sent while Django converts an exception into a 500 (inside the except block, so exc_info is set)."""
    if request is not None and is_database_down(sys.exc_info()[1]):
        setattr(request, _MARK, True)


class DatabaseUnavailableMiddleware:
    """Outermost middleware: a request that met a database outage gets a 503, whatever layer met it."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        try:
            response = self.get_response(request)
        except DATABASE_DOWN as error:  # raised while an inner layer was rendering its own 500
            log.warning("database unavailable while answering %s %s: %s", request.method, request.path, error)
            return unavailable_response(request)
        if getattr(request, _MARK, False):
            return unavailable_response(request)
        return response

    def process_exception(self, request, exception):
        if not is_database_down(exception):
            return None
        log.warning("database unavailable while answering %s %s: %s", request.method, request.path, exception)
        return unavailable_response(request)
