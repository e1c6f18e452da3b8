"""Curator pages: create, describe, publish, quarantine; the admin is usable by staff."""

from __future__ import annotations

import pytest
from django.test import Client

from archive.models import Asset, HeritageObject
from preservation.models import PreservationEvent
from tests.factories import attach_file, make_object


@pytest.fixture
def curator(personas):
    client = Client()
    client.force_login(personas.curator)
    return client


def form_data(personas, **overrides):
    data = {
        "texts-TOTAL_FORMS": "3",
        "texts-INITIAL_FORMS": "0",
        "texts-MIN_NUM_FORMS": "0",
        "texts-MAX_NUM_FORMS": "1000",
        "texts-0-language": "fr",
        "texts-0-title": "Porte sculptée",
        "texts-0-is_original": "on",
        "texts-1-language": "en",
        "texts-1-title": "Carved door",
        "texts-2-language": "ar",
        "texts-2-title": "باب منحوت",
        "collection": personas.collection.pk,
        "threat_type": "conflict",
        "threat_level": "3",
        "access_level": "community",
        "year_start": "-300",
        "year_end": "-100",
        "keywords_text": "wood, carving",
        "latitude": "36.2",
        "longitude": "37.1",
        "sensitive_location": "on",
    }
    data.update(overrides)
    return data


def test_a_curator_creates_a_multilingual_draft(personas, curator):
    response = curator.post("/curate/objects/new/", form_data(personas))
    assert response.status_code == 302
    obj = HeritageObject.objects.get()
    assert obj.status == "draft" and obj.access_level == "community" and obj.year_start == -300
    assert {t.language for t in obj.texts.all()} == {"fr", "en", "ar"}
    assert obj.texts.get(is_original=True).language == "fr"
    assert obj.keywords == ["wood", "carving"]
    assert PreservationEvent.objects.filter(object=obj, event_type="accession").exists()
    assert Client().get(obj.get_absolute_url()).status_code == 404  # drafts stay hidden


def test_invalid_input_is_explained(personas, curator):
    response = curator.post("/curate/objects/new/", form_data(personas, year_start="500", year_end="100", longitude=""))
    assert response.status_code == 200
    text = response.content.decode()
    assert "The end year must not be before the start year." in text
    assert "Give both latitude and longitude" in text
    assert not HeritageObject.objects.exists()


def test_a_curator_may_not_file_into_another_communitys_collection(personas, curator):
    from archive.models import Collection

    foreign = Collection.objects.create(community=personas.other_community, slug="hilltop-photos", title="Hilltop")
    response = curator.post("/curate/objects/new/", form_data(personas, collection=foreign.pk))
    assert response.status_code == 200 and not HeritageObject.objects.exists()


def test_editing_records_a_metadata_event_and_publishing_makes_it_public(personas, curator):
    obj = make_object(personas.collection, "Loom", published=False)
    texts = list(obj.texts.all())
    data = form_data(personas, access_level="public")
    data.update({"texts-TOTAL_FORMS": "2", "texts-INITIAL_FORMS": "2"})
    for i, text in enumerate(texts):
        data[f"texts-{i}-id"] = text.pk
        data[f"texts-{i}-language"] = text.language
        data[f"texts-{i}-title"] = text.title + " (edited)"
        data.pop(f"texts-{i}-is_original", None)
    data["texts-0-is_original"] = "on" if texts[0].is_original else ""
    data.pop("texts-2-language"), data.pop("texts-2-title")
    assert curator.post(f"/curate/o/{obj.identifier}/edit/", data).status_code == 302
    assert PreservationEvent.objects.filter(object=obj, event_type="metadata modification").exists()
    assert curator.post(f"/curate/o/{obj.identifier}/publish/").status_code == 302  # not from a draft
    assert Client().get(obj.get_absolute_url()).status_code == 404
    curator.post(f"/curate/o/{obj.identifier}/submit/")
    review = curator.get(f"/curate/o/{obj.identifier}/review/").content.decode()
    assert "Checklist" in review and "rights statement" in review
    assert Client().get(obj.get_absolute_url()).status_code == 404  # still hidden while in review
    assert curator.post(f"/curate/o/{obj.identifier}/publish/").status_code == 302
    assert Client().get(obj.get_absolute_url()).status_code == 200
    curator.post(f"/curate/o/{obj.identifier}/unpublish/", {"note": "Community asked to wait"})
    assert Client().get(obj.get_absolute_url()).status_code == 404


def test_a_blocking_problem_prevents_publication(personas, curator, tmp_path):
    obj = make_object(personas.collection, "Half processed", published=False)
    busy = attach_file(obj, Asset.Role.ORIGINAL, b"x", tmp_path / "h", filename="a.jpg")
    Asset.objects.filter(pk=busy.pk).update(status=Asset.State.PROCESSING)
    curator.post(f"/curate/o/{obj.identifier}/submit/")
    curator.post(f"/curate/o/{obj.identifier}/publish/")
    obj.refresh_from_db()
    assert obj.status == "review"


def test_the_quarantine_lists_rejected_files_and_deletes_only_with_a_reason(personas, curator, tmp_path):
    obj = make_object(personas.collection, "Bad batch", published=False)
    asset = attach_file(obj, Asset.Role.ORIGINAL, b"not an image", tmp_path / "q", filename="bad.jpg")
    Asset.objects.filter(pk=asset.pk).update(status=Asset.State.QUARANTINED, status_message="bad.jpg: truncated")
    page = curator.get("/curate/quarantine/").content.decode()
    assert "bad.jpg: truncated" in page
    curator.post(f"/curate/quarantine/{asset.id}/discard/", {"reason": ""})
    asset.refresh_from_db()
    assert asset.status == Asset.State.QUARANTINED
    curator.post(f"/curate/quarantine/{asset.id}/discard/", {"reason": "test upload by mistake"})
    asset.refresh_from_db()
    assert asset.status == Asset.State.DISCARDED


def test_members_cannot_reach_the_quarantine_of_others(personas, tmp_path):
    obj = make_object(personas.collection, "Bad batch", published=False)
    asset = attach_file(obj, Asset.Role.ORIGINAL, b"x", tmp_path / "q", filename="bad.jpg")
    Asset.objects.filter(pk=asset.pk).update(status=Asset.State.QUARANTINED, status_message="secret reason")
    client = Client()
    client.force_login(personas.member)
    assert "secret reason" not in client.get("/curate/quarantine/").content.decode()
    assert client.post(f"/curate/quarantine/{asset.id}/discard/", {"reason": "x"}).status_code == 404


def test_status_json_reports_progress_for_live_updates(personas, curator, tmp_path):
    obj = make_object(personas.collection, "Status", published=False)
    attach_file(obj, Asset.Role.ORIGINAL, b"x", tmp_path / "s", filename="a.jpg")
    data = curator.get(f"/curate/o/{obj.identifier}/status.json").json()
    assert data["object"] == obj.identifier and data["assets"][0]["filename"] == "a.jpg"


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/archive/heritageobject/",
        "/admin/archive/community/",
        "/admin/archive/collection/",
        "/admin/archive/asset/",
        "/admin/preservation/preservationevent/",
        "/admin/preservation/replica/",
        "/admin/preservation/store/",
        "/admin/preservation/processingjob/",
        "/admin/archive/heritageobject/add/",
        "/admin/archive/community/add/",
        "/admin/preservation/objectaudit/",
    ],
)
def test_the_admin_is_usable_by_staff(personas, url):
    make_object(personas.collection, "Admin check")
    personas.staff.is_superuser = True
    personas.staff.save()
    client = Client()
    client.force_login(personas.staff)
    assert client.get(url).status_code == 200


def test_staff_record_a_communitys_choice_of_stores_in_the_admin(personas):
    personas.staff.is_superuser = True
    personas.staff.save()
    client = Client()
    client.force_login(personas.staff)
    page = client.get(f"/admin/archive/community/{personas.community.pk}/change/").content.decode()
    assert 'value="local-a"' in page and "FR" in page
    data = {
        "slug": personas.community.slug,
        "name": personas.community.name,
        "description": "",
        "allowed_stores": ["local-b"],
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    response = client.post(f"/admin/archive/community/{personas.community.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    personas.community.refresh_from_db()
    assert personas.community.allowed_stores == ["local-b"]


def test_local_contexts_labels_are_set_by_curators_and_shown_on_the_object(personas, curator):
    obj = make_object(personas.collection, "Song recording", labels=["tk-attribution", "tk-seasonal"])
    html = Client().get(obj.get_absolute_url()).content.decode()
    assert "TK Attribution" in html and "TK Seasonal" in html and "localcontexts.org" in html
    form = curator.get(f"/curate/o/{obj.identifier}/edit/").content.decode()
    assert 'value="tk-secret-sacred"' in form
    assert 'name="featured"' not in form  # featuring on the home page is the staff's choice
    staff = Client()
    staff.force_login(personas.staff)
    assert 'name="featured"' in staff.get(f"/curate/o/{obj.identifier}/edit/").content.decode()
