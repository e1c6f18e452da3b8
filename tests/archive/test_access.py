"""The one access rule, on every path of the foundation: lists, object pages, thumbnails, files."""

from __future__ import annotations

import pytest
from django.test import Client

from archive.access import public_coordinates, visible_to
from archive.models import Asset
from tests.factories import attach_file, client_for, make_object, objects_in_every_state

# Which objects each persona may see (DESIGN §6).
EXPECTED = {
    "visitor": {"public", "embargo_over"},
    "outsider": {"public", "embargo_over"},
    "member": {"public", "embargo_over", "community"},
    "curator": {"public", "embargo_over", "community", "restricted", "draft", "embargoed"},
    "staff": {"public", "embargo_over", "community", "restricted", "draft", "embargoed"},
}
PERSONAS = list(EXPECTED)


@pytest.fixture
def world(personas, tmp_path):
    objects = objects_in_every_state(personas.collection)
    files = {}
    for name, obj in objects.items():
        original = attach_file(obj, Asset.Role.ORIGINAL, f"original {name}".encode(), tmp_path / name)
        files[name] = {
            "original": original,
            "access": attach_file(
                obj, Asset.Role.ACCESS, f"access {name}".encode(), tmp_path / name, derived_from=original
            ),
            "thumbnail": attach_file(
                obj, Asset.Role.THUMBNAIL, f"thumb {name}".encode(), tmp_path / name, derived_from=original
            ),
        }
    return personas, objects, files


@pytest.mark.parametrize("persona", PERSONAS)
def test_visible_to_gives_each_persona_exactly_its_objects(world, persona):
    personas, objects, _ = world
    user = personas.users()[persona]
    if user is None:
        from django.contrib.auth.models import AnonymousUser

        user = AnonymousUser()
    seen = {name for name, obj in objects.items() if visible_to(user).filter(pk=obj.pk).exists()}
    assert seen == EXPECTED[persona]


@pytest.mark.parametrize("persona", PERSONAS)
def test_object_list_shows_only_visible_objects(world, persona):
    personas, objects, _ = world
    html = client_for(personas.users()[persona]).get("/search/").content.decode()
    shown = {name for name, obj in objects.items() if obj.identifier in html or obj.title in html}
    assert shown == EXPECTED[persona]


@pytest.mark.parametrize("persona", PERSONAS)
def test_object_pages_answer_404_for_what_a_persona_may_not_see(world, persona):
    personas, objects, _ = world
    client = client_for(personas.users()[persona])
    for name, obj in objects.items():
        status = client.get(f"/o/{obj.identifier}/").status_code
        assert status == (200 if name in EXPECTED[persona] else 404), (name, status)


@pytest.mark.parametrize("persona", PERSONAS)
def test_thumbnails_and_access_copies_follow_the_object(world, persona):
    personas, objects, files = world
    client = client_for(personas.users()[persona])
    for name in objects:
        for role in ("thumbnail", "access"):
            asset = files[name][role]
            response = client.get(asset.get_download_url())
            expected = 200 if name in EXPECTED[persona] else 404
            assert response.status_code == expected, (name, role)
            if expected == 200:
                assert (
                    b"".join(response.streaming_content)
                    == f"{'thumb' if role == 'thumbnail' else 'access'} {name}".encode()
                )


@pytest.mark.parametrize("persona", PERSONAS)
def test_originals_and_masters_are_for_curators_and_staff_only(world, persona):
    personas, objects, files = world
    client = client_for(personas.users()[persona])
    curates = persona in ("curator", "staff")
    for name in objects:
        status = client.get(files[name]["original"].get_download_url()).status_code
        assert status == (200 if curates else 404), (name, status)


def test_a_file_url_with_another_name_is_not_found(world):
    personas, _, files = world
    asset = files["public"]["access"]
    assert Client().get(f"/files/{asset.id}/other.jpg").status_code == 404


@pytest.mark.parametrize("persona", PERSONAS)
def test_curation_pages_are_for_curators_and_staff(world, persona):
    personas, objects, _ = world
    client = client_for(personas.users()[persona])
    obj = objects["public"]
    for url in (f"/curate/o/{obj.identifier}/", f"/curate/o/{obj.identifier}/status.json"):
        response = client.get(url)
        if persona == "visitor":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        elif persona in ("curator", "staff"):
            assert response.status_code == 200
        else:
            assert response.status_code == 404


def test_sensitive_coordinates_are_generalized_for_the_public(personas):
    obj = make_object(personas.collection, "Shrine", latitude=12.3456, longitude=45.6789, sensitive_location=True)
    html = Client().get(f"/o/{obj.identifier}/").content.decode()
    assert "12.3456" not in html and "45.6789" not in html and "12.3" in html
    assert public_coordinates(personas.member, obj) == (12.3, 45.7, False)
    assert public_coordinates(personas.curator, obj) == (12.3456, 45.6789, True)
    client = client_for(personas.curator)
    assert "12.3456" in client.get(f"/o/{obj.identifier}/").content.decode()


def test_technical_metadata_and_events_are_not_on_public_pages(world):
    personas, objects, files = world
    original = files["public"]["original"]
    original.technical = {"gps_latitude": 48.8566, "camera_make": "Canon"}
    original.save()
    html = Client().get(f"/o/{objects['public'].identifier}/").content.decode()
    assert "48.8566" not in html and "Canon" not in html and original.sha256 not in html


def test_visitors_download_access_copies_but_never_originals(world):
    personas, objects, files = world
    html = Client().get(objects["public"].get_absolute_url()).content.decode()
    access = files["public"]["access"]
    assert f'href="{access.get_download_url()}" download' in html
    assert Client().get(access.get_download_url()).status_code == 200
    assert files["public"]["original"].get_download_url() not in html
    assert Client().get(files["public"]["original"].get_download_url()).status_code == 404
