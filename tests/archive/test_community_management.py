"""A community's curators run it: members and roles, sharing with other communities, stores, collections."""

from __future__ import annotations

import pytest

from archive.models import Collection, Membership, Role
from tests.factories import client_for, make_object, make_user


def url(personas, suffix: str = "") -> str:
    return f"/curate/communities/{personas.community.slug}/{suffix}"


def test_only_the_communitys_curators_and_staff_manage_it(personas):
    for user in (None, personas.member, personas.outsider):
        response = client_for(user).get(url(personas))
        assert response.status_code in (302, 404)
    assert client_for(personas.curator).get(url(personas)).status_code == 200
    assert client_for(personas.staff).get(url(personas)).status_code == 200
    assert personas.community.slug in client_for(personas.curator).get("/curate/").content.decode()


def test_a_curator_adds_promotes_and_removes_members(personas):
    newcomer = make_user("newcomer", email="new@example.org")
    curator = client_for(personas.curator)
    curator.post(url(personas, "members/"), {"add-username": "new@example.org", "add-role": "member"})
    membership = Membership.objects.get(user=newcomer, community=personas.community)
    assert membership.role == Role.MEMBER
    curator.post(url(personas, f"members/{membership.pk}/"), {"role": "curator"})
    assert Membership.objects.get(pk=membership.pk).role == Role.CURATOR
    curator.post(url(personas, f"members/{membership.pk}/"), {"action": "remove"})
    assert not Membership.objects.filter(pk=membership.pk).exists()
    # A member of another community cannot be touched through this community's URLs.
    other = Membership.objects.get(user=personas.outsider)
    assert curator.post(url(personas, f"members/{other.pk}/"), {"action": "remove"}).status_code == 404
    assert Membership.objects.filter(pk=other.pk).exists()


def test_the_last_curator_cannot_be_removed_or_demoted(personas):
    mine = Membership.objects.get(user=personas.curator, community=personas.community)
    curator = client_for(personas.curator)
    curator.post(url(personas, f"members/{mine.pk}/"), {"role": "member"})
    curator.post(url(personas, f"members/{mine.pk}/"), {"action": "remove"})
    assert Membership.objects.get(pk=mine.pk).role == Role.CURATOR


def test_sharing_and_stores_are_the_communitys_choice(personas):
    drum = make_object(personas.collection, "Ceremonial drum", access="community")
    outsider = client_for(personas.outsider)
    assert outsider.get(drum.get_absolute_url()).status_code == 404
    client_for(personas.curator).post(
        url(personas),
        {
            "protocols-description": "River people",
            "protocols-shares_with": [personas.other_community.pk],
            "protocols-allowed_stores": ["local-a"],
        },
    )
    personas.community.refresh_from_db()
    assert personas.community.allowed_stores == ["local-a"]
    assert outsider.get(drum.get_absolute_url()).status_code == 200


def test_collection_protocols_and_new_collections(personas):
    curator = client_for(personas.curator)
    collection = personas.collection
    curator.post(
        url(personas, f"collections/{collection.pk}/"),
        {
            f"c{collection.pk}-title": "Riverside photographs",
            f"c{collection.pk}-description": "",
            f"c{collection.pk}-default_access_level": "restricted",
        },
    )
    collection.refresh_from_db()
    assert collection.default_access_level == "restricted" and collection.title == "Riverside photographs"
    curator.post(
        url(personas, "collections/"),
        {"new-slug": "songs", "new-title": "Songs", "new-description": "", "new-default_access_level": "community"},
    )
    assert Collection.objects.get(slug="songs").community == personas.community


@pytest.mark.parametrize("method", ["get", "post"])
def test_members_cannot_reach_the_forms(personas, method):
    response = getattr(client_for(personas.member), method)(url(personas, "collections/"))
    assert response.status_code in (404, 405)
