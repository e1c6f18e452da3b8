"""Security headers for every response (to be completed: CSP and the rest)."""

from __future__ import annotations


class SecurityHeadersMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
