"""``/s/<token>/``: the researcher's entry through a curator's share link (archive/sharing.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from archive.sharing import find_link, redeem


def _private(response: HttpResponse) -> HttpResponse:
    # The token is in this URL: no Referer carries it to another site.
    response["Referrer-Policy"] = "no-referrer"
    # Django's request logger would write e.g. "Gone: /s/<token>/"; archive.sharing logs these
    # requests itself, without the token.
    response._has_been_logged = True
    return response


# csrf_exempt: other methods are refused below before anything happens, and the CSRF failure log
# ("Forbidden (CSRF cookie not set.): /s/<token>/") would otherwise carry the token.
@csrf_exempt
@never_cache
def share_entry(request: HttpRequest, token: str) -> HttpResponse:
    """Valid link: remember it in the session and go to the object (the token stays out of the
    Location). Unknown (404), expired or revoked (410): say so, without naming the object."""
    if request.method not in ("GET", "HEAD"):
        return _private(HttpResponseNotAllowed(["GET", "HEAD"]))
    link = redeem(request, token)
    if link is not None:
        return _private(redirect(link.object.get_absolute_url()))
    status = 410 if find_link(token) is not None else 404
    return _private(render(request, "portal/share_invalid.html", status=status))
