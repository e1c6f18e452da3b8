"""Search, facets, home, community and collection pages: each viewer sees, and counts, only what they may."""

from __future__ import annotations

import pytest
from django.test import Client

from archive.models import Asset, Community
from tests.factories import attach_file, client_for, make_object, objects_in_every_state


@pytest.fixture
def catalogue(personas, tmp_path):
    jar = make_object(
        personas.collection,
        "Painted jar",
        culture="Nabataean",
        object_type="jar",
        place_name="Petra",
        threat_type="looting",
        threat_level=3,
        licence="CC-BY-4.0",
        keywords=["ceramic", "storage"],
    )
    attach_file(jar, Asset.Role.ACCESS, b"jpg", tmp_path / "j", filename="jar.jpg", mime="image/jpeg")
    stele = make_object(
        personas.collection,
        "Basalt stele",
        culture="Aramaean",
        object_type="stele",
        place_name="Hama",
        threat_type="conflict",
        threat_level=4,
    )
    attach_file(stele, Asset.Role.ACCESS, b"glb", tmp_path / "s", filename="stele.glb", mime="model/gltf-binary")
    secret = make_object(
        personas.collection,
        "Painted mask (secret)",
        culture="Nabataean",
        object_type="jar",
        access="restricted",
        place_name="Petra",
    )
    members = make_object(
        personas.collection, "Painted drum", culture="Nabataean", object_type="drum", access="community"
    )
    return {"jar": jar, "stele": stele, "secret": secret, "members": members}


def test_search_finds_words_in_titles_keywords_culture_and_place(catalogue):
    client = Client()
    for q, expected in [
        ("painted", "Painted jar"),
        ("ceramic", "Painted jar"),
        ("Aramaean", "Basalt stele"),
        ("petra", "Painted jar"),
        ("stele hama", "Basalt stele"),
    ]:
        html = client.get("/search/", {"q": q}).content.decode()
        assert expected in html, q
    html = client.get("/search/", {"q": "painted"}).content.decode()
    assert "Painted mask" not in html and "Painted drum" not in html


def test_facet_counts_only_count_what_the_viewer_may_see(catalogue, personas):
    anonymous = Client().get("/search/", {"q": "painted"})
    facets = {f.param: {v.value: v.count for v in values} for f, values in anonymous.context["facets"]}
    assert facets["type"] == {"jar": 1}  # the restricted jar is not counted
    assert "drum" not in facets["type"]
    member = client_for(personas.member).get("/search/", {"q": "painted"})
    facets = {f.param: {v.value: v.count for v in values} for f, values in member.context["facets"]}
    assert facets["type"] == {"jar": 1, "drum": 1}
    curator = client_for(personas.curator).get("/search/", {"q": "painted"})
    facets = {f.param: {v.value: v.count for v in values} for f, values in curator.context["facets"]}
    assert facets["type"] == {"jar": 2, "drum": 1}


def test_facets_filter_and_combine(catalogue):
    client = Client()
    page = client.get("/search/", {"type": "stele"})
    assert [o.identifier for o in page.context["page"].object_list] == [catalogue["stele"].identifier]
    page = client.get("/search/", {"media": "3d"})
    assert [o.identifier for o in page.context["page"].object_list] == [catalogue["stele"].identifier]
    page = client.get("/search/", {"threat": ["looting", "conflict"]})
    assert {o.identifier for o in page.context["page"].object_list} == {
        catalogue["jar"].identifier,
        catalogue["stele"].identifier,
    }
    page = client.get("/search/", {"licence": "CC-BY-4.0", "q": "jar"})
    assert [o.identifier for o in page.context["page"].object_list] == [catalogue["jar"].identifier]


@pytest.mark.parametrize("persona", ["visitor", "outsider", "member", "curator", "staff"])
def test_every_list_shows_exactly_what_the_persona_may_see(personas, tmp_path, persona):
    from archive.access import visible_to

    objects = objects_in_every_state(personas.collection)
    user = personas.users()[persona]
    expected = set(visible_to(user).values_list("identifier", flat=True))
    client = client_for(user)
    for url in ("/search/", f"/c/{personas.community.slug}/", f"/collections/{personas.collection.slug}/"):
        response = client.get(url, {"page": 1})
        listed = {o.identifier for o in response.context["page"].object_list}
        assert listed == expected, url
        html = response.content.decode()
        for name, obj in objects.items():
            if obj.identifier not in expected:
                assert obj.identifier not in html and obj.title not in html, (url, name)


def test_home_shows_featured_and_recent_public_objects(catalogue):
    catalogue["stele"].featured = True
    catalogue["stele"].save()
    response = Client().get("/")
    assert [o.identifier for o in response.context["featured"]] == [catalogue["stele"].identifier]
    assert catalogue["jar"].identifier in {o.identifier for o in response.context["recent"]}
    html = response.content.decode()
    assert "Painted mask" not in html and "Painted drum" not in html


def test_community_sharing_opens_community_material_to_the_other_communitys_members(catalogue, personas):
    outsider = client_for(personas.outsider)
    assert "Painted drum" not in outsider.get("/search/", {"q": "drum"}).content.decode()
    personas.community.shares_with.add(personas.other_community)
    assert "Painted drum" in outsider.get("/search/", {"q": "drum"}).content.decode()
    assert outsider.get(catalogue["members"].get_absolute_url()).status_code == 200
    assert outsider.get(catalogue["secret"].get_absolute_url()).status_code == 404  # restricted stays closed
    assert Community.objects.get(pk=personas.other_community.pk).shares_with.count() == 0  # one-way


def test_search_text_follows_edits_of_texts(catalogue):
    text = catalogue["jar"].texts.get(language="en")
    text.title = "Painted amphora"
    text.save()
    assert "Painted amphora" in Client().get("/search/", {"q": "amphora"}).content.decode()


def test_hostile_queries_are_harmless(catalogue):
    client = Client()
    for q in ["<script>alert(1)</script>", "' OR 1=1 --", '"unbalanced', "a" * 5000, "&|!:*()"]:
        response = client.get("/search/", {"q": q})
        assert response.status_code == 200
        assert "<script>alert(1)</script>" not in response.content.decode()


def test_anonymous_facet_counts_are_shared_for_a_minute_but_never_across_viewers(catalogue, personas, settings):
    from django.core.cache import cache

    settings.ARCHIVE_ANONYMOUS_CACHE_SECONDS = 60
    cache.clear()
    counts = lambda client: {  # noqa: E731
        f.param: {v.value: v.count for v in values} for f, values in client.get("/search/").context["facets"]
    }
    assert counts(Client())["type"] == {"jar": 1, "stele": 1}
    make_object(personas.collection, "Second jar", object_type="jar")
    assert counts(Client())["type"] == {"jar": 1, "stele": 1}  # the shared figure, at most a minute old
    assert counts(client_for(personas.curator))["type"] == {"jar": 3, "stele": 1, "drum": 1}  # never shared
    cache.clear()
    assert counts(Client())["type"] == {"jar": 2, "stele": 1}
