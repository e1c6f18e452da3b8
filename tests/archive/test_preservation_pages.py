"""Pages about keeping things safe: the policy on object pages, deletion with a reason, the stores page."""

from __future__ import annotations

import pytest

from archive.models import Asset
from preservation.models import PreservationEvent
from tests.factories import client_for, make_object, preserve_file
from tests.preservation import imagegen


@pytest.fixture
def preserved(personas, tmp_path):
    obj = make_object(personas.collection, "Painted beam", threat_level=4)
    preserve_file(obj, imagegen.make_jpeg(tmp_path / "beam.jpg", size=(80, 60)), tmp_path)
    return obj


def test_the_object_pages_show_the_policy_and_whether_it_is_met(preserved, personas):
    # Threat 4 asks for three copies in two jurisdictions; the test archive has two stores (FR, CA).
    public = client_for(None).get(preserved.get_absolute_url()).content.decode()
    assert "2 verified copies" in public and "2 jurisdictions" in public and "policy not yet met" in public
    assert "local-a" not in public  # store names stay internal
    page = client_for(personas.curator).get(f"/curate/o/{preserved.identifier}/").content.decode()
    assert "Preservation policy" in page and "Not met:" in page and "2 verified copies of 3 required" in page
    assert "local-a (FR)" in page and "local-b (CA)" in page


def test_a_curator_deletes_a_file_only_with_a_reason(preserved, personas, django_capture_on_commit_callbacks):
    curator = client_for(personas.curator)
    original = preserved.assets.get(role="original")
    url = f"/curate/o/{preserved.identifier}/files/{original.id}/delete/"
    curator.post(url, {"reason": ""})
    assert Asset.objects.get(pk=original.pk).status == Asset.State.READY
    with django_capture_on_commit_callbacks(execute=True):
        curator.post(url, {"reason": "Photographed the wrong beam"})
    original.refresh_from_db()
    assert original.status == Asset.State.DELETED and original.deleted_by == "curator"
    assert original.removed_in is not None and original.removed_in.number == 2
    assert PreservationEvent.objects.filter(asset=original, event_type="deletion").exists()
    page = curator.get(f"/curate/o/{preserved.identifier}/").content.decode()
    assert "Photographed the wrong beam" in page


def test_members_cannot_delete(preserved, personas):
    original = preserved.assets.get(role="original")
    for user in (None, personas.member, personas.outsider):
        response = client_for(user).post(
            f"/curate/o/{preserved.identifier}/files/{original.id}/delete/", {"reason": "no"}
        )
        assert response.status_code in (302, 404)
        assert Asset.objects.get(pk=original.pk).status == Asset.State.READY


def test_only_staff_see_the_stores_page(preserved, personas):
    for user in (personas.curator, personas.member):
        assert client_for(user).get("/curate/stores/").status_code == 404
    assert client_for(None).get("/curate/stores/").status_code == 302  # to the login page
    page = client_for(personas.staff).get("/curate/stores/").content.decode()
    assert "local-a" in page and "local-b" in page and "FR" in page and "CA" in page
