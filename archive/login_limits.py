"""Log-in rate limits: password guessing is slowed per account and per client address.

Failed log-ins are counted in the Django cache ``ARCHIVE_LOGIN_CACHE``, per username (case-folded, so
``Curator`` and ``curator`` share a count; unknown usernames are counted too, so the answer never tells
whether an account exists) and per client address (an IPv6 address by its /64, which one machine usually
holds whole). Once either count reaches its limit (``ARCHIVE_LOGIN_MAX_FAILURES``,
``ARCHIVE_LOGIN_MAX_FAILURES_PER_ADDRESS``) every attempt it covers, even with the right password, is
answered 429 with ``Retry-After`` and a message saying how long to wait, until the window
(``ARCHIVE_LOGIN_WINDOW_SECONDS``) that began with the first failure ends.

A successful log-in clears its own account's count only: the address's count stays, so an attacker's own
valid account cannot wipe the failures of guesses at others' accounts.

Used by ``LoginView`` (``/accounts/login/``) and ``admin_login`` (``/admin/login/``), both through
``LimitedFormMixin`` on the authentication form.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import math
import time
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import ngettext

KEY_PREFIX = "login-limits"


def client_address(request: HttpRequest) -> str:
    """The address failures are counted against: REMOTE_ADDR, or the X-Forwarded-For entry the last of
    ``ARCHIVE_API_NUM_PROXIES`` trusted proxies added (as the API's rate limits read it); IPv6 by /64."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.ARCHIVE_API_NUM_PROXIES
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies and forwarded:
        address = forwarded[-min(proxies, len(forwarded))]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _digest(kind: str, value: str) -> str:
    """A cache key that holds no username or address in clear and suits every cache backend."""
    return f"{KEY_PREFIX}:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


@dataclass(frozen=True)
class _Counter:
    key: str
    limit: int


class LoginLimits:
    """The failure counts that apply to one log-in attempt: its username's and its client address's."""

    def __init__(self, username: str, request: HttpRequest | None) -> None:
        normalized = unicodedata.normalize("NFKC", username).strip().casefold()
        self.counters = [_Counter(_digest("user", normalized), settings.ARCHIVE_LOGIN_MAX_FAILURES)]
        if request is not None:
            self.counters.append(
                _Counter(_digest("address", client_address(request)), settings.ARCHIVE_LOGIN_MAX_FAILURES_PER_ADDRESS)
            )
        self.cache = caches[settings.ARCHIVE_LOGIN_CACHE]
        self.window = settings.ARCHIVE_LOGIN_WINDOW_SECONDS

    def wait_seconds(self) -> int:
        """Seconds until an attempt may be made (0: now)."""
        active = [c for c in self.counters if c.limit > 0]
        values = self.cache.get_many([key for c in active for key in (c.key, f"{c.key}:since")])
        now = time.time()
        waits = []
        for counter in active:
            if values.get(counter.key, 0) >= counter.limit:
                since = values.get(f"{counter.key}:since")
                waits.append(math.ceil(since + self.window - now) if since is not None else self.window)
        return max([max(1, wait) for wait in waits], default=0)

    def record_failure(self) -> None:
        now = time.time()
        for counter in self.counters:
            if counter.limit <= 0:
                continue
            since_key = f"{counter.key}:since"
            self.cache.add(since_key, now, self.window)  # the window starts with the first failure
            since = self.cache.get(since_key, now)
            remaining = max(1, math.ceil(since + self.window - now))
            if self.cache.add(counter.key, 1, remaining):
                continue
            try:
                self.cache.incr(counter.key)
            except ValueError:  # expired between add() and incr()
                self.cache.add(counter.key, 1, remaining)
            self.cache.touch(counter.key, remaining)  # some backends' incr() resets the expiry

    def record_success(self) -> None:
        """The account's own count starts again; the address's does not (see the module's docstring)."""
        user = self.counters[0]
        self.cache.delete_many([user.key, f"{user.key}:since"])


def refusal_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed log-in attempts for this account or from your network. "
        "Please wait %(minutes)d minute before trying again.",
        "Too many failed log-in attempts for this account or from your network. "
        "Please wait %(minutes)d minutes before trying again.",
        minutes,
    ) % {"minutes": minutes}


class LimitedFormMixin:
    """An authentication form that refuses while a limit applies, and counts its failures and successes.

    ``refused_for`` is the wait (seconds) after a refusal, else 0."""

    refused_for = 0

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not (username and password):  # nothing was tried: the fields' own errors say what is missing
            return super().clean()
        limits = LoginLimits(username, self.request)
        wait = limits.wait_seconds()
        if wait:
            self.refused_for = wait
            raise ValidationError(refusal_message(wait), code="too_many_attempts")
        try:
            cleaned = super().clean()
        except ValidationError:
            # A right password for an account that may not log in here (inactive; not staff, at the admin's
            # log-in) guesses nothing: only wrong credentials count.
            if getattr(self, "user_cache", None) is None:
                limits.record_failure()
            raise
        limits.record_success()
        return cleaned


class LoginForm(LimitedFormMixin, AuthenticationForm):
    pass


class AdminLoginForm(LimitedFormMixin, AdminAuthenticationForm):
    pass


def _with_refusal_status(response: HttpResponse, form) -> HttpResponse:
    wait = getattr(form, "refused_for", 0)
    if wait:
        response.status_code = 429
        response["Retry-After"] = str(wait)
    return response


class LoginView(auth_views.LoginView):
    """Django's LoginView with the limits: a refused attempt re-shows the form with the message, as 429."""

    authentication_form = LoginForm

    def form_invalid(self, form):
        return _with_refusal_status(super().form_invalid(form), form)


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's own log-in view (``admin.site.login``), with the limited form (``AdminSite.login_form``)."""
    site = copy.copy(admin.site)  # a shallow copy: the same registry, only this request's login form differs
    site.login_form = AdminLoginForm
    response = site.login(request)
    return _with_refusal_status(response, (getattr(response, "context_data", None) or {}).get("form"))
