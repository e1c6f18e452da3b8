"""When the database is down, answer 503 with a message (to be completed)."""

from __future__ import annotations


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
