"""Share links: a curator opens one restricted object, for a limited time, to one named researcher;
revocable, expiring, logged, and stored only as a hash."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from archive import sharing
from archive.models import AccessLevel, Asset, ShareLink, ShareLinkUse
from tests.factories import attach_file, client_for, make_object

TOKEN_RE = re.compile(r"/s/([A-Za-z0-9_-]{20,})/")


@pytest.fixture
def world(personas, tmp_path):
    restricted = make_object(personas.collection, "Restricted mask", access=AccessLevel.RESTRICTED)
    other = make_object(personas.collection, "Restricted drum", access=AccessLevel.RESTRICTED)
    draft = make_object(personas.collection, "Draft basket", published=False)
    original = attach_file(restricted, Asset.Role.ORIGINAL, b"original mask", tmp_path / "mask")
    original.technical = {"camera_make": "Hasselblad-X9"}
    original.save()
    files = {
        "original": original,
        "access": attach_file(restricted, Asset.Role.ACCESS, b"access mask", tmp_path / "mask", derived_from=original),
        "thumbnail": attach_file(
            restricted, Asset.Role.THUMBNAIL, b"thumb mask", tmp_path / "mask", derived_from=original
        ),
    }
    other_original = attach_file(other, Asset.Role.ORIGINAL, b"original drum", tmp_path / "drum")
    files["other_access"] = attach_file(
        other, Asset.Role.ACCESS, b"access drum", tmp_path / "drum", derived_from=other_original
    )
    return personas, {"restricted": restricted, "other": other, "draft": draft}, files


def make_link(personas, obj, **data) -> tuple[str, Client]:
    """The curator creates a link through the page; returns the token read from the one-time page."""
    curator = client_for(personas.curator)
    fields = {"researcher_name": "Dr Ada Osei", "researcher_email": "ada@example.org", "purpose": "Thesis", "days": 14}
    fields.update(data)
    response = curator.post(f"/curate/o/{obj.identifier}/share/", fields)
    assert response.status_code == 200, response.content
    match = TOKEN_RE.search(response.content.decode())
    assert match, "the one-time page shows the link"
    return match.group(1), curator


def read(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("persona", ["visitor", "outsider", "member"])
def test_restricted_and_draft_objects_are_hidden_without_a_link(world, persona):
    personas, objects, files = world
    client = client_for(personas.users()[persona])
    for name in ("restricted", "draft", "other"):
        assert client.get(objects[name].get_absolute_url()).status_code == 404, name
    assert client.get(files["access"].get_download_url()).status_code == 404


def test_the_researcher_sees_the_shared_object_and_its_access_copy_not_its_original(world):
    personas, objects, files = world
    obj = objects["restricted"]
    token, _ = make_link(personas, obj)
    researcher = Client()

    entry = researcher.get(f"/s/{token}/")
    assert entry.status_code == 302
    assert entry["Location"] == obj.get_absolute_url()
    assert token not in entry["Location"]
    assert entry["Referrer-Policy"] == "no-referrer"

    page = researcher.get(obj.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert "Restricted mask" in html
    assert "Shared with Dr Ada Osei until" in html
    assert files["access"].get_download_url() in html
    assert files["original"].get_download_url() not in html
    assert "Hasselblad-X9" not in html and files["original"].sha256 not in html
    assert "Manage this object" not in html

    assert read(researcher.get(files["access"].get_download_url())) == b"access mask"
    assert read(researcher.get(files["thumbnail"].get_download_url())) == b"thumb mask"
    assert researcher.get(files["original"].get_download_url()).status_code == 404


def test_a_link_opens_only_its_own_object(world):
    personas, objects, files = world
    token, _ = make_link(personas, objects["restricted"])
    researcher = Client()
    researcher.get(f"/s/{token}/")
    assert researcher.get(objects["restricted"].get_absolute_url()).status_code == 200
    assert researcher.get(objects["other"].get_absolute_url()).status_code == 404
    assert researcher.get(objects["draft"].get_absolute_url()).status_code == 404
    assert researcher.get(files["other_access"].get_download_url()).status_code == 404


def test_a_logged_in_member_with_a_link_sees_it_too(world):
    personas, objects, _ = world
    token, _ = make_link(personas, objects["restricted"])
    member = client_for(personas.member)
    member.get(f"/s/{token}/")
    assert member.get(objects["restricted"].get_absolute_url()).status_code == 200
    assert member.get(objects["other"].get_absolute_url()).status_code == 404


def test_a_draft_can_be_shared(world):
    personas, objects, _ = world
    token, _ = make_link(personas, objects["draft"])
    researcher = Client()
    assert researcher.get(f"/s/{token}/").status_code == 302
    assert researcher.get(objects["draft"].get_absolute_url()).status_code == 200


def test_expiry_takes_effect_on_the_next_request_of_the_same_session(world):
    personas, objects, files = world
    obj = objects["restricted"]
    token, _ = make_link(personas, obj)
    researcher = Client()
    researcher.get(f"/s/{token}/")
    assert researcher.get(obj.get_absolute_url()).status_code == 200

    link = ShareLink.objects.get()
    link.expires_at = timezone.now() - timedelta(seconds=1)
    link.save()

    assert researcher.get(obj.get_absolute_url()).status_code == 404
    assert researcher.get(files["access"].get_download_url()).status_code == 404
    again = researcher.get(f"/s/{token}/")
    assert again.status_code == 410
    assert "not valid any more" in again.content.decode()
    assert "Restricted mask" not in again.content.decode() and obj.identifier not in again.content.decode()
    assert again["Referrer-Policy"] == "no-referrer"
    assert ShareLinkUse.objects.filter(link=link, allowed=False).count() == 2  # the page, then the link


def test_revocation_takes_effect_on_the_next_request_of_the_same_session(world):
    personas, objects, files = world
    obj = objects["restricted"]
    token, curator = make_link(personas, obj)
    researcher = Client()
    researcher.get(f"/s/{token}/")
    assert read(researcher.get(files["access"].get_download_url())) == b"access mask"

    link = ShareLink.objects.get()
    response = curator.post(f"/curate/o/{obj.identifier}/share/{link.id}/revoke/")
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == personas.curator
    assert sharing.link_state(link) == "revoked"

    assert researcher.get(files["access"].get_download_url()).status_code == 404
    assert researcher.get(obj.get_absolute_url()).status_code == 404
    assert researcher.get(f"/s/{token}/").status_code == 410
    assert Client().get(f"/s/{token}/").status_code == 410


def test_every_use_is_logged_including_refused_ones(world):
    personas, objects, files = world
    obj = objects["restricted"]
    token, curator = make_link(personas, obj)
    researcher = Client(HTTP_USER_AGENT="Mozilla/5.0 " + "x" * 1000, REMOTE_ADDR="203.0.113.7")
    researcher.get(f"/s/{token}/")
    researcher.get(obj.get_absolute_url())
    read(researcher.get(files["access"].get_download_url()))
    researcher.get(files["original"].get_download_url())  # refused by role: no use of the link
    link = ShareLink.objects.get()
    sharing.revoke(link, personas.curator)
    researcher.get(obj.get_absolute_url())  # refused: revoked since
    researcher.get(obj.get_absolute_url())  # an ordinary 404 now: the link has left the session
    researcher.get(f"/s/{token}/")  # refused

    uses = list(ShareLinkUse.objects.filter(link=link).order_by("at", "id"))
    assert [(u.path, u.allowed) for u in uses] == [
        (sharing.REDACTED_SHARE_PATH, True),
        (obj.get_absolute_url(), True),
        (files["access"].get_download_url(), True),
        (obj.get_absolute_url(), False),
        (sharing.REDACTED_SHARE_PATH, False),
    ]
    assert all(u.ip == "203.0.113.7" for u in uses)
    assert all(u.user_agent.startswith("Mozilla/5.0 ") and len(u.user_agent) == 300 for u in uses)
    assert all(token not in u.path for u in uses)

    detail = curator.get(f"/curate/o/{obj.identifier}/share/{link.id}/")
    assert detail.status_code == 200
    assert "203.0.113.7" in detail.content.decode() and "refused" in detail.content.decode()
    manage = curator.get(f"/curate/o/{obj.identifier}/").content.decode()
    assert "Dr Ada Osei" in manage and "revoked" in manage


def test_an_unknown_token_is_not_found_and_reveals_nothing(world):
    response = Client().get("/s/not-a-real-token-at-all-0123456789/")
    assert response.status_code == 404
    assert "not valid any more" in response.content.decode()
    assert response["Referrer-Policy"] == "no-referrer"
    assert not ShareLinkUse.objects.exists()


def test_only_the_token_hash_is_stored(world):
    personas, objects, _ = world
    token, _ = make_link(personas, objects["restricted"])
    researcher = Client()
    researcher.get(f"/s/{token}/")
    researcher.get(objects["restricted"].get_absolute_url())
    link = ShareLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert link.token_hash in dump.getvalue()
    assert token not in dump.getvalue()
    from django.contrib.sessions.models import Session

    for session in Session.objects.all():
        assert token not in str(session.get_decoded())


def test_the_token_never_reaches_the_logs(world, caplog):
    personas, objects, _ = world
    with caplog.at_level(logging.DEBUG):
        token, curator = make_link(personas, objects["restricted"])
        researcher = Client()
        researcher.get(f"/s/{token}/")
        researcher.get(objects["restricted"].get_absolute_url())
        sharing.revoke(ShareLink.objects.get(), personas.curator)
        assert researcher.get(f"/s/{token}/").status_code == 410
    assert any(r.name == "archive.sharing" for r in caplog.records)
    assert all(token not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("persona", ["outsider", "member"])
def test_members_and_outsiders_cannot_create_revoke_or_read_links(world, persona):
    personas, objects, _ = world
    obj = objects["restricted"]
    make_link(personas, obj)
    link = ShareLink.objects.get()
    client = client_for(personas.users()[persona])
    data = {"researcher_name": "Mallory", "days": 30}
    assert client.post(f"/curate/o/{obj.identifier}/share/", data).status_code == 404
    assert client.post(f"/curate/o/{obj.identifier}/share/{link.id}/revoke/").status_code == 404
    assert client.get(f"/curate/o/{obj.identifier}/share/{link.id}/").status_code == 404
    public = make_object(personas.collection, "Public jar")  # even an object they can see
    assert client.post(f"/curate/o/{public.identifier}/share/", data).status_code == 404
    link.refresh_from_db()
    assert link.is_active and ShareLink.objects.count() == 1


def test_anonymous_visitors_are_sent_to_log_in(world):
    personas, objects, _ = world
    obj = objects["restricted"]
    response = Client().post(f"/curate/o/{obj.identifier}/share/", {"researcher_name": "X", "days": 3})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not ShareLink.objects.exists()


def test_a_curator_of_another_community_cannot_share(world):
    from archive.models import Membership, Role

    personas, objects, _ = world
    Membership.objects.filter(user=personas.outsider).update(role=Role.CURATOR)
    client = client_for(personas.outsider)
    response = client.post(f"/curate/o/{objects['restricted'].identifier}/share/", {"researcher_name": "X", "days": 3})
    assert response.status_code == 404 and not ShareLink.objects.exists()


def test_staff_can_share_and_revoke(world):
    personas, objects, _ = world
    obj = objects["restricted"]
    staff = client_for(personas.staff)
    response = staff.post(f"/curate/o/{obj.identifier}/share/", {"researcher_name": "Dr B", "days": 1})
    assert response.status_code == 200 and TOKEN_RE.search(response.content.decode())
    link = ShareLink.objects.get()
    assert link.created_by == personas.staff
    assert staff.post(f"/curate/o/{obj.identifier}/share/{link.id}/revoke/").status_code == 302
    link.refresh_from_db()
    assert link.revoked_by == personas.staff


def test_csrf_is_enforced(world):
    personas, objects, _ = world
    obj = objects["restricted"]
    client = client_for(personas.curator, enforce_csrf_checks=True)
    response = client.post(f"/curate/o/{obj.identifier}/share/", {"researcher_name": "Dr Ada", "days": 14})
    assert response.status_code == 403
    assert not ShareLink.objects.exists()
    make_link(personas, obj)
    link = ShareLink.objects.get()
    assert client.post(f"/curate/o/{obj.identifier}/share/{link.id}/revoke/").status_code == 403
    link.refresh_from_db()
    assert link.is_active


def test_the_one_time_page_and_the_object_page(world):
    personas, objects, _ = world
    obj = objects["restricted"]
    curator = client_for(personas.curator)
    page = curator.get(f"/curate/o/{obj.identifier}/").content.decode()
    assert 'id="share-links"' in page and "No share links." in page
    assert "Days valid" in curator.get(f"/curate/o/{obj.identifier}/share/").content.decode()
    response = curator.post(f"/curate/o/{obj.identifier}/share/", {"researcher_name": "Dr Ada", "days": 14})
    assert "shown only once" in response.content.decode()
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    token = TOKEN_RE.search(response.content.decode()).group(1)
    page = curator.get(f"/curate/o/{obj.identifier}/").content.decode()
    assert "Dr Ada" in page and "active" in page and token not in page


@pytest.mark.parametrize("days", ["0", "-3", "91", "abc"])
def test_validity_is_between_one_day_and_the_configured_maximum(world, days):
    personas, objects, _ = world
    curator = client_for(personas.curator)
    response = curator.post(
        f"/curate/o/{objects['restricted'].identifier}/share/", {"researcher_name": "A", "days": days}
    )
    assert response.status_code == 200 and not ShareLink.objects.exists()
    assert TOKEN_RE.search(response.content.decode()) is None


def test_the_maximum_is_a_setting(world, settings):
    personas, objects, _ = world
    settings.ARCHIVE_SHARE_MAX_DAYS = 7
    curator = client_for(personas.curator)
    url = f"/curate/o/{objects['restricted'].identifier}/share/"
    curator.post(url, {"researcher_name": "A", "days": 8})
    assert not ShareLink.objects.exists()
    curator.post(url, {"researcher_name": "A", "days": 7})
    link = ShareLink.objects.get()
    assert timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= timedelta(days=7)
    with pytest.raises(ValueError):
        sharing.create_link(
            objects["restricted"], researcher_name="A", researcher_email="", purpose="", days=8, user=personas.curator
        )
    with pytest.raises(ValueError):
        sharing.create_link(
            objects["restricted"], researcher_name=" ", researcher_email="", purpose="", days=3, user=personas.curator
        )


def test_a_researcher_name_is_required(world):
    personas, objects, _ = world
    curator = client_for(personas.curator)
    response = curator.post(f"/curate/o/{objects['restricted'].identifier}/share/", {"researcher_name": "", "days": 5})
    assert response.status_code == 200 and not ShareLink.objects.exists()


def test_other_methods_are_refused_without_logging_the_token(world, caplog):
    personas, objects, _ = world
    token, _ = make_link(personas, objects["restricted"])
    with caplog.at_level(logging.DEBUG):
        assert Client(enforce_csrf_checks=True).post(f"/s/{token}/").status_code == 405
    assert all(token not in r.getMessage() for r in caplog.records)
    assert not ShareLinkUse.objects.exists()
