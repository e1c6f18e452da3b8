"""Log-in rate limits (archive/login_limits.py): failed log-ins are counted per account and per client address;
past the limit every attempt, even with the right password, is answered 429 with how long to wait, until the
window that began with the first failure ends. The counts live in a local-memory cache of their own; the clock
of both the limits and that cache is moved by the tests, so expiry is proven without sleeping."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.core.cache.backends import locmem
from django.test import Client, RequestFactory

from archive import login_limits
from archive.login_limits import client_address

PASSWORD = "pw-for-tests-123"  # tests.factories.make_user
ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"


@pytest.fixture(autouse=True)
def limits(settings):
    """The shipped limits, counted in a local-memory cache of this test's own (nothing leaks between tests)."""
    settings.CACHES = {
        **settings.CACHES,
        "login-limits": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "login-limits-tests"},
    }
    settings.ARCHIVE_LOGIN_CACHE = "login-limits"
    settings.ARCHIVE_LOGIN_MAX_FAILURES = 5
    settings.ARCHIVE_LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    settings.ARCHIVE_LOGIN_WINDOW_SECONDS = 15 * 60
    settings.ARCHIVE_API_NUM_PROXIES = None
    caches["login-limits"].clear()
    yield settings
    caches["login-limits"].clear()


class Clock:
    """The time as the limits and the local-memory cache read it (their modules' ``time``, nothing global)."""

    def __init__(self, monkeypatch) -> None:
        self.now = time.time()
        fake = SimpleNamespace(time=lambda: self.now)
        monkeypatch.setattr(login_limits, "time", fake)
        monkeypatch.setattr(locmem, "time", fake)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


def log_in(username: str, password: str, address: str = ATTACKER, url: str = "/accounts/login/"):
    return Client(REMOTE_ADDR=address).post(url, {"username": username, "password": password})


def logged_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.wsgi_request.session


def fail(username: str, times: int, address: str = ATTACKER, url: str = "/accounts/login/") -> None:
    for _ in range(times):
        response = log_in(username, "wrong-password", address, url)
        assert response.status_code == 200, response.status_code
        assert "correct username and password" in response.content.decode(), "not an ordinary failure"


def assert_refused(response, minutes: int) -> None:
    assert response.status_code == 429, response.status_code
    assert not logged_in(response)
    text = response.content.decode()
    assert "Too many failed log-in attempts" in text
    assert f"Please wait {minutes} minute{'s' if minutes > 1 else ''} before trying again." in text
    assert 0 < int(response["Retry-After"]) <= minutes * 60
    assert "Content-Security-Policy" in response  # the refusal is an ordinary page


def test_after_five_failures_even_the_right_password_is_refused_with_429(personas, clock):
    fail("curator", 5)
    assert_refused(log_in("curator", PASSWORD), minutes=15)
    assert_refused(log_in("CURATOR", PASSWORD, address=ELSEWHERE), minutes=15)  # per account, whatever the case
    # Other accounts are not locked out, even from the same address.
    assert logged_in(log_in("member", PASSWORD))


def test_the_wait_shown_counts_down_and_the_lock_ends_with_the_window(personas, clock):
    fail("curator", 5)
    clock.advance(10 * 60)
    assert_refused(log_in("curator", PASSWORD), minutes=5)
    clock.advance(5 * 60 + 1)
    assert logged_in(log_in("curator", PASSWORD))


def test_failures_older_than_the_window_are_forgotten(personas, clock):
    fail("curator", 4)
    clock.advance(15 * 60 + 1)
    fail("curator", 4)  # a new window: four, not eight
    assert logged_in(log_in("curator", PASSWORD))


def test_unknown_accounts_are_counted_like_real_ones(db, clock):
    fail("nobody-by-this-name", 5)
    assert_refused(log_in("nobody-by-this-name", "anything"), minutes=15)


def test_one_address_guessing_at_many_accounts_is_refused_everywhere_from_there(personas, clock, limits):
    limits.ARCHIVE_LOGIN_MAX_FAILURES_PER_ADDRESS = 6
    for username in ("ana", "ben", "chloe"):
        fail(username, 2)
    # Six failures from this address, no account at its own limit: the address is refused, for any account.
    assert_refused(log_in("member", PASSWORD), minutes=15)
    # The same accounts from another address are fine.
    assert logged_in(log_in("member", PASSWORD, address=ELSEWHERE))


def test_an_ipv6_client_is_counted_by_its_64_block(personas, clock, limits):
    limits.ARCHIVE_LOGIN_MAX_FAILURES_PER_ADDRESS = 4
    fail("ana", 2, address="2001:db8:1:2::10")
    fail("ben", 2, address="2001:db8:1:2:ffff::99")  # another address in the same /64
    assert_refused(log_in("member", PASSWORD, address="2001:db8:1:2::abcd"), minutes=15)
    assert logged_in(log_in("member", PASSWORD, address="2001:db8:1:3::10"))  # the next /64


def test_a_success_clears_its_own_account_count_but_never_the_address_count(personas, clock, limits):
    limits.ARCHIVE_LOGIN_MAX_FAILURES_PER_ADDRESS = 6
    # The member mistypes twice, then logs in: their own count starts again (on the road: other addresses).
    fail("member", 2, address="192.0.2.10")
    assert logged_in(log_in("member", PASSWORD, address="192.0.2.10"))
    fail("member", 4, address="192.0.2.11")  # 4 < 5 since the success (6 in all)
    assert logged_in(log_in("member", PASSWORD, address="192.0.2.11"))
    # An attacker guesses at the curator, logs into their own account, and guesses on: the address count
    # (2 + 4 = 6) is not wiped by their success, so they are stopped.
    fail("curator", 2)
    assert logged_in(log_in("outsider", PASSWORD))
    fail("staff", 4)
    assert_refused(log_in("outsider", PASSWORD), minutes=15)
    # And the curator's count was not touched by the outsider's success: 2, so three more failures lock it.
    fail("curator", 3, address="192.0.2.1")
    assert_refused(log_in("curator", PASSWORD, address="192.0.2.2"), minutes=15)


def test_a_right_password_for_an_account_that_may_not_log_in_is_not_a_guess(personas, clock):
    # The curator (not staff) tries the admin's log-in with the right password, more than five times.
    for _ in range(6):
        response = log_in("curator", PASSWORD, url="/admin/login/")
        assert response.status_code == 200 and not logged_in(response)
    assert logged_in(log_in("curator", PASSWORD))


def test_the_admin_login_shares_the_limits(personas, clock):
    fail("staff", 3, url="/admin/login/")
    fail("staff", 2)  # the same account's count, from the portal's log-in page
    refused = log_in("staff", PASSWORD, url="/admin/login/")
    assert_refused(refused, minutes=15)
    assert "admin/login.html" in [t.name for t in refused.templates]
    clock.advance(15 * 60 + 1)
    assert logged_in(log_in("staff", PASSWORD, url="/admin/login/"))


def test_a_limit_of_zero_turns_it_off(personas, clock, limits):
    limits.ARCHIVE_LOGIN_MAX_FAILURES = 0
    limits.ARCHIVE_LOGIN_MAX_FAILURES_PER_ADDRESS = 0
    fail("curator", 8)
    assert logged_in(log_in("curator", PASSWORD))


def test_behind_a_proxy_the_client_is_the_address_the_proxy_saw(settings):
    factory = RequestFactory()
    request = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert client_address(request) == "10.0.0.2"  # no proxy configured: the header is not trusted
    settings.ARCHIVE_API_NUM_PROXIES = 1
    assert client_address(request) == "203.0.113.7"  # what our proxy appended, not what the client claimed
    assert client_address(factory.get("/", REMOTE_ADDR="::ffff:203.0.113.7")) == "203.0.113.7"
