"""The REST API (/api/): the five personas on every read path, pagination, filters, rate limits, a
curator's token-authenticated ingest (create, upload a real JPEG, publish) and its refusals, the
api_token command, and the OpenAPI schema and docs page."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.cache import caches
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from openapi_spec_validator import validate
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from archive.models import AccessLevel, Asset, Collection, HeritageObject, Status
from preservation.models import PreservationEvent
from tests.factories import attach_file, make_object, make_user, objects_in_every_state
from tests.preservation import imagegen

# Which objects each persona may see (DESIGN §6), as in tests/archive/test_access.py.
EXPECTED = {
    "visitor": {"public", "embargo_over"},
    "outsider": {"public", "embargo_over"},
    "member": {"public", "embargo_over", "community"},
    "curator": {"public", "embargo_over", "community", "restricted", "draft", "embargoed"},
    "staff": {"public", "embargo_over", "community", "restricted", "draft", "embargoed"},
}
PERSONAS = list(EXPECTED)
CURATES = {"curator", "staff"}


@pytest.fixture(autouse=True)
def fresh_rate_limits(settings):
    """Rate-limit counters live in the cache: every test starts with none (and in English)."""
    caches[settings.ARCHIVE_API_THROTTLE_CACHE].clear()
    yield
    caches[settings.ARCHIVE_API_THROTTLE_CACHE].clear()
    translation.activate(settings.LANGUAGE_CODE)  # LocaleMiddleware leaves a request's language active


def api_as(user) -> APIClient:
    """A client for ``user`` (anonymous for None), authenticated with a real API token."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def every_page(client: APIClient, url: str, **params) -> list[dict]:
    rows, page = [], client.get(url, params).json()
    rows += page["results"]
    while page["next"]:
        page = client.get(page["next"]).json()
        rows += page["results"]
    return rows


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


# --- reading: what each persona sees --------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_lists_and_counts_hold_exactly_what_each_persona_may_see(world, persona):
    personas, objects, _ = world
    client = api_as(personas.users()[persona])
    page = client.get("/api/objects/").json()
    by_id = {obj.identifier: name for name, obj in objects.items()}
    assert {by_id[row["id"]] for row in page["results"]} == EXPECTED[persona]
    assert page["count"] == len(EXPECTED[persona])


@pytest.mark.parametrize("persona", PERSONAS)
def test_detail_answers_404_for_objects_the_persona_may_not_see(world, persona):
    personas, objects, _ = world
    client = api_as(personas.users()[persona])
    for name, obj in objects.items():
        response = client.get(f"/api/objects/{obj.identifier}/")
        assert response.status_code == (200 if name in EXPECTED[persona] else 404), name
        for sub in ("assets", "events", "replicas", "review"):
            nested = client.get(f"/api/objects/{obj.identifier}/{sub}/")
            allowed = name in EXPECTED[persona] and (sub == "assets" or persona in CURATES)
            assert nested.status_code == (200 if allowed else 404), (name, sub)


def test_an_object_record_links_to_its_manifest_page_and_files(world, settings):
    personas, objects, _ = world
    obj = objects["public"]
    record = api_as(None).get(f"/api/objects/{obj.identifier}/", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert record["id"] == obj.identifier
    assert record["iiif_manifest"] == f"{settings.SITE_URL}/iiif/{obj.identifier}/manifest"
    assert record["portal_url"] == f"{settings.SITE_URL}/o/{obj.identifier}/"
    assert record["url"] == f"http://testserver/api/objects/{obj.identifier}/"  # followed from where it was asked
    assert record["title"] == "Public jar (fr)" and record["language"] == "fr"
    assert {t["language"] for t in record["texts"]} == {"en", "fr"}
    assert record["community"]["slug"] == "riverside" and record["collection"]["slug"] == "riverside-photos"
    assert record["thumbnail"].startswith("http://testserver/files/")
    assert record["curation"] is None  # visitors never get the curator block


def test_curators_get_the_curation_block_and_others_do_not(world):
    personas, objects, _ = world
    identifier = objects["public"].identifier
    for persona in PERSONAS:
        record = api_as(personas.users()[persona]).get(f"/api/objects/{identifier}/").json()
        assert (record["curation"] is not None) == (persona in CURATES), persona
    curation = api_as(personas.curator).get(f"/api/objects/{identifier}/").json()["curation"]
    assert curation["events_url"].endswith(f"/api/objects/{identifier}/events/")


def test_sensitive_coordinates_are_rounded_for_everyone_but_curators(personas):
    obj = make_object(personas.collection, "Shrine", latitude=12.345678, longitude=-3.456789, sensitive_location=True)
    public = api_as(personas.member).get(f"/api/objects/{obj.identifier}/").json()["place"]
    assert (public["latitude"], public["longitude"], public["exact"]) == (12.3, -3.5, False)
    exact = api_as(personas.curator).get(f"/api/objects/{obj.identifier}/").json()["place"]
    assert (exact["latitude"], exact["longitude"], exact["exact"]) == (12.345678, -3.456789, True)


@pytest.mark.parametrize("persona", PERSONAS)
def test_files_are_access_copies_for_most_and_everything_for_curators(world, persona, settings):
    personas, objects, files = world
    obj, mine = objects["public"], files["public"]
    client = api_as(personas.users()[persona])
    rows = client.get(f"/api/objects/{obj.identifier}/assets/").json()["results"]
    roles = {row["role"] for row in rows}
    assert roles == ({"original", "access", "thumbnail"} if persona in CURATES else {"access", "thumbnail"})
    access = next(row for row in rows if row["role"] == "access")
    assert access["download_url"] == "http://testserver" + mine["access"].get_download_url()
    assert access["sha256"] == mine["access"].sha256 and access["size"] == mine["access"].size
    assert (access["preservation"] is not None) == (persona in CURATES)
    original = client.get(f"/api/objects/{obj.identifier}/assets/{mine['original'].pk}/")
    assert original.status_code == (200 if persona in CURATES else 404)


def test_events_and_replicas_are_the_curators(world):
    personas, objects, files = world
    identifier = objects["restricted"].identifier
    events = api_as(personas.curator).get(f"/api/objects/{identifier}/events/").json()
    assert {"accession"} <= {row["event_type"] for row in events["results"]}
    assert events["count"] == PreservationEvent.objects.filter(object=objects["restricted"]).count()
    replicas = api_as(personas.staff).get(f"/api/objects/{identifier}/replicas/").json()
    assert replicas == {"count": 0, "next": None, "previous": None, "results": []}  # nothing replicated yet


@pytest.mark.parametrize("persona", PERSONAS)
def test_communities_and_collections_show_names_not_members(world, persona):
    personas, _, _ = world
    empty = Collection.objects.create(community=personas.community, slug="riverside-new", title="New")
    client = api_as(personas.users()[persona])
    communities = client.get("/api/communities/").json()["results"]
    riverside = next(row for row in communities if row["slug"] == "riverside")
    assert riverside["object_count"] == len(EXPECTED[persona]) and "members" not in riverside
    assert ("hilltop" in {row["slug"] for row in communities}) == (persona == "outsider")  # own, though empty
    collections = {row["slug"]: row for row in client.get("/api/collections/").json()["results"]}
    assert (empty.slug in collections) == (persona in CURATES)  # curators see where they may add objects
    assert collections["riverside-photos"]["can_add_objects"] == (persona in CURATES)
    assert (collections["riverside-photos"]["default_access_level"] is None) == (persona not in CURATES)
    assert client.get("/api/communities/hilltop/").status_code == (200 if persona == "outsider" else 404)


# --- pages, filters, order ---------------------------------------------------------------------------------


def test_pages_are_stable_complete_and_capped(personas, settings):
    settings.ARCHIVE_API_MAX_PAGE_SIZE = 3
    made = [make_object(personas.collection, f"Jar {n}") for n in range(7)]
    client = api_as(None)
    first = client.get("/api/objects/", {"page_size": 100}).json()
    assert first["count"] == 7 and len(first["results"]) == 3 and first["next"]
    rows = every_page(client, "/api/objects/", page_size=2, ordering="created")
    assert [row["id"] for row in rows] == [obj.identifier for obj in made]
    assert client.get("/api/objects/", {"page": 99}).status_code == 404


def test_filters_narrow_what_the_caller_may_see(world, personas):
    _, objects, _ = world
    other = Collection.objects.create(community=personas.other_community, slug="hilltop-maps", title="Maps")
    hill = make_object(other, "Hill map", keywords=["cartography"])
    client = api_as(personas.curator)

    def ids(**params):
        return {row["id"] for row in every_page(client, "/api/objects/", **params)}

    assert ids(community="hilltop") == {hill.identifier}
    assert ids(collection="riverside-photos", status="draft") == {objects["draft"].identifier}
    assert ids(q="cartography") == {hill.identifier}
    assert ids(q="mask") == {objects["restricted"].identifier}
    assert ids(media="image") == {obj.identifier for obj in objects.values()}  # ready image/jpeg access copies
    assert ids(media="none") == {hill.identifier}
    HeritageObject.objects.filter(pk=hill.pk).update(updated="2001-01-01T00:00:00Z")
    assert hill.identifier not in ids(updated_since="2020-01-01T00:00:00Z")
    assert hill.identifier in ids(modified_after="2000-12-31")
    assert client.get("/api/objects/", {"updated_since": "yesterday"}).status_code == 400
    assert client.get("/api/objects/", {"ordering": "title"}).status_code == 400


def test_a_page_costs_the_same_queries_however_many_objects_it_holds(personas, tmp_path):
    def cost(user, url: str) -> int:
        client = api_as(user)
        client.get(url)  # the token lookup is the same every time; warm up once
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries.captured_queries)

    def sample(count: int) -> dict:
        while HeritageObject.objects.count() < count:
            obj = make_object(personas.collection, "Jar", latitude=1.0, longitude=2.0, sensitive_location=True)
            original = attach_file(obj, Asset.Role.ORIGINAL, obj.identifier.encode(), tmp_path / obj.identifier)
            attach_file(
                obj,
                Asset.Role.THUMBNAIL,
                b"t" + obj.identifier.encode(),
                tmp_path / obj.identifier,
                derived_from=original,
            )
        first = HeritageObject.objects.order_by("pk").first().identifier
        urls = ["/api/objects/", "/api/collections/", "/api/communities/", f"/api/objects/{first}/assets/"]
        return {(name, url): cost(user, url) for name, user in personas.users().items() for url in urls}

    assert sample(2) == sample(9)


# --- rate limits -------------------------------------------------------------------------------------------


def limit(settings, **rates: str) -> None:
    current = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**current, **rates}}


def test_anonymous_callers_get_429_with_retry_after_past_their_rate(personas, settings):
    limit(settings, api_anon="3/min")
    client = api_as(None)
    assert [client.get("/api/objects/").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/api/communities/")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert api_as(personas.member).get("/api/objects/").status_code == 200  # users are counted apart


def test_users_and_writes_have_their_own_rates(personas, settings):
    limit(settings, api_user="4/min", api_write="1/min")
    client = api_as(personas.curator)
    obj = make_object(personas.collection, "Rated", published=False)
    assert client.patch(f"/api/objects/{obj.identifier}/", {"culture": "A"}).status_code == 200
    refused = client.patch(f"/api/objects/{obj.identifier}/", {"culture": "B"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert [client.get("/api/objects/").status_code for _ in range(3)] == [200, 200, 429]


# --- writing: a curator's ingest with a token ---------------------------------------------------------------


def test_a_curator_creates_uploads_and_publishes_with_a_token(
    personas, tmp_path, settings, django_capture_on_commit_callbacks
):
    client = api_as(personas.curator)
    created = client.post(
        "/api/objects/",
        {
            "collection": "riverside-photos",
            "texts": [
                {"language": "fr", "title": "Jarre peinte", "description": "Terre cuite.", "is_original": True},
                {"language": "en", "title": "Painted jar"},
            ],
            "object_type": "jar",
            "keywords": ["pottery", "river"],
            "rights_statement": "http://rightsstatements.org/vocab/NKC/1.0/",
            "licence": "CC-BY-4.0",
            "source_reference": "field-2024/jar-01",
        },
    )
    assert created.status_code == 201, created.content
    identifier = created.json()["id"]
    assert created["Location"] == f"http://testserver/api/objects/{identifier}/"
    obj = HeritageObject.objects.get(identifier=identifier)
    assert obj.status == Status.DRAFT and obj.text("fr").is_original and obj.keywords == ["pottery", "river"]

    changed = client.patch(
        f"/api/objects/{identifier}/", {"culture": "Riverside", "texts": [{"language": "ar", "title": "جرة"}]}
    )
    assert changed.status_code == 200 and changed.json()["culture"] == "Riverside"
    assert {t["language"] for t in changed.json()["texts"]} == {"fr", "en", "ar"}

    jpeg = imagegen.make_jpeg(tmp_path / "jar-01.jpg", size=(120, 80))
    with django_capture_on_commit_callbacks(execute=True), open(jpeg, "rb") as handle:
        uploaded = client.post(f"/api/objects/{identifier}/files/", {"file": handle}, format="multipart")
    assert uploaded.status_code == 202, uploaded.content
    receipt = uploaded.json()
    asset = Asset.objects.get(pk=receipt["id"])
    assert asset.object == obj and asset.filename == "jar-01.jpg" and asset.size == jpeg.stat().st_size
    assert receipt["sha256"] == asset.sha256 and receipt["duplicate"] is False
    status = client.get(receipt["status_url"]).json()
    assert status["preservation"]["status"] == "ready" and status["preservation"]["processing"]["done"]
    assert not list((settings.STAGING_ROOT / "uploads").glob("api-*"))  # nothing left behind in staging

    kinds = set(obj.events.values_list("event_type", flat=True))
    assert {"accession", "metadata modification", "ingestion", "message digest calculation"} <= kinds
    assert {"format identification", "normalization", "replication"} <= kinds

    assert client.post(f"/api/objects/{identifier}/publish/").status_code == 409  # a draft: review first
    review = client.post(f"/api/objects/{identifier}/submit/").json()
    assert review["status"] == "review" and review["publishable"], review
    published = client.post(f"/api/objects/{identifier}/publish/")
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert "publication" in set(obj.events.values_list("event_type", flat=True))
    assert api_as(None).get(f"/api/objects/{identifier}/").status_code == 200

    again = client.post(
        "/api/objects/",
        {
            "collection": "riverside-photos",
            "texts": [{"language": "en", "title": "x"}],
            "source_reference": "field-2024/jar-01",
        },
    )
    assert again.status_code == 409 and again.json()["id"] == identifier
    with open(jpeg, "rb") as handle:
        duplicate = client.post(f"/api/objects/{identifier}/files/", {"file": handle}, format="multipart")
    assert duplicate.status_code == 200 and duplicate.json()["duplicate"] and duplicate.json()["id"] == str(asset.pk)


@pytest.mark.parametrize("persona", ["visitor", "outsider", "member"])
def test_writes_are_refused_to_non_curators(world, persona, tmp_path, settings):
    personas, objects, _ = world
    client = api_as(personas.users()[persona])
    anonymous = persona == "visitor"
    body = {"collection": "riverside-photos", "texts": [{"language": "en", "title": "Mine"}]}
    assert client.post("/api/objects/", body).status_code == (401 if anonymous else 403)
    for name in ("public", "community", "restricted"):
        seen = name in EXPECTED[persona]
        expected = 401 if anonymous else (403 if seen else 404)
        identifier = objects[name].identifier
        assert client.patch(f"/api/objects/{identifier}/", {"culture": "x"}).status_code == expected, name
        assert client.post(f"/api/objects/{identifier}/publish/").status_code == expected, name
        upload = io.BytesIO(b"\xff\xd8 not much of a photo")
        upload.name = "x.jpg"
        refused = client.post(f"/api/objects/{identifier}/files/", {"file": upload}, format="multipart")
        assert refused.status_code == expected, name
    assert HeritageObject.objects.count() == len(objects)
    assert not list(Path(settings.STAGING_ROOT).glob("uploads/api-*"))


def test_a_curator_may_only_create_in_collections_they_curate_and_with_the_forms_rules(personas):
    other = Collection.objects.create(community=personas.other_community, slug="hilltop-maps", title="Maps")
    client = api_as(personas.curator)

    def create(**fields):
        body = {"collection": "riverside-photos", "texts": [{"language": "en", "title": "T"}], **fields}
        return client.post("/api/objects/", body)

    assert "collection" in create(collection=other.slug).json()
    assert "texts" in create(texts=[{"language": "english!", "title": "T"}]).json()
    assert "texts" in create(texts=[{"language": "en", "title": "A"}, {"language": "en", "title": "B"}]).json()
    assert "texts" in create(texts=[]).json()
    assert "year_end" in create(year_start=1900, year_end=1800).json()
    assert "longitude" in create(latitude=10.0).json()
    assert "rights_statement" in create(rights_statement="http://example.org/mine").json()
    assert create(access_level="secret").status_code == 400
    assert HeritageObject.objects.count() == 0
    obj = HeritageObject.objects.get(identifier=create(access_level=AccessLevel.RESTRICTED).json()["id"])
    assert obj.access_level == AccessLevel.RESTRICTED


def test_publication_follows_the_review_checklist(personas):
    client = api_as(personas.curator)
    obj = make_object(personas.collection, "Untitled", published=False)
    obj.texts.filter(language="fr").update(title=" ")
    assert client.post(f"/api/objects/{obj.identifier}/submit/").status_code == 200
    refused = client.post(f"/api/objects/{obj.identifier}/publish/")
    assert refused.status_code == 409 and refused.json()["problems"], refused.json()
    obj.refresh_from_db()
    assert obj.status == Status.REVIEW


def test_uploads_over_the_limit_are_refused_and_leave_nothing(personas, settings):
    settings.ARCHIVE_MAX_UPLOAD_BYTES = 1000
    obj = make_object(personas.collection, "Big", published=False)
    client = api_as(personas.curator)
    for size in (5000, 200_000):  # small enough to read, and far past the limit with its Content-Length
        upload = io.BytesIO(b"x" * size)
        upload.name = "big.tif"
        response = client.post(f"/api/objects/{obj.identifier}/files/", {"file": upload}, format="multipart")
        assert response.status_code == 413 and "1000" in response.json()["detail"]
    assert client.post(f"/api/objects/{obj.identifier}/files/", {}, format="multipart").status_code == 400
    assert not obj.assets.exists() and not list(Path(settings.STAGING_ROOT).glob("uploads/api-*"))


def test_uploaded_names_are_sanitised_like_every_other_upload(personas):
    obj = make_object(personas.collection, "Names", published=False)
    upload = io.BytesIO(b"\xff\xd8 a few bytes")
    upload.name = "Évidence: <north> wall?.jpg"
    response = api_as(personas.curator).post(
        f"/api/objects/{obj.identifier}/files/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 202
    asset = Asset.objects.get(pk=response.json()["id"])
    assert asset.filename == "Évidence_ _north_ wall_.jpg" == response.json()["filename"]
    assert asset.original_name == "Évidence: <north> wall?.jpg" and Path(asset.local_path).name == asset.filename


def test_session_writes_need_the_csrf_token_and_inactive_tokens_fail(personas):
    obj = make_object(personas.collection, "Sessions", published=False)
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(personas.curator)
    assert session.patch(f"/api/objects/{obj.identifier}/", {"culture": "x"}).status_code == 403
    client = api_as(personas.curator)
    personas.curator.is_active = False
    personas.curator.save()
    assert client.get("/api/objects/").status_code == 401


# --- the token command, the schema, the docs --------------------------------------------------------------


def test_api_token_creates_shows_rotates_and_revokes(personas):
    def run(*args) -> str:
        out = io.StringIO()
        call_command("api_token", *args, stdout=out, stderr=io.StringIO())
        return out.getvalue().strip()

    key = run("curator")
    assert run("curator") == key and Token.objects.get(user=personas.curator).key == key
    assert APIClient(HTTP_AUTHORIZATION=f"Token {key}").post("/api/objects/", {}).status_code == 400  # a curator
    rotated = run("curator", "--rotate")
    assert rotated != key and APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/objects/").status_code == 401
    run("curator", "--revoke")
    assert not Token.objects.filter(user=personas.curator).exists()
    with pytest.raises(CommandError, match="No user"):
        run("nobody")
    make_user("gone", is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        run("gone")


def test_the_schema_is_valid_openapi_and_the_docs_page_renders_it(db):
    client = api_as(None)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    validate(schema)
    paths = set(schema["paths"])
    assert {"/api/objects/", "/api/objects/{identifier}/files/", "/api/objects/{identifier}/events/"} <= paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"/api/objects/{identifier}/files/" in docs.content
    assert b"<script" not in docs.content  # nothing fetched from a CDN
    root = client.get("/api/", HTTP_ACCEPT="application/json").json()
    assert {"objects", "communities", "collections", "schema", "docs"} <= set(root)


def test_requests_go_through_when_the_rate_limit_cache_is_down(personas, settings):
    """The soak saw API requests answer 500 while Redis (which held the counters) restarted."""
    from unittest import mock

    from redis.exceptions import ConnectionError as RedisConnectionError

    from archive.interop.api import throttling
    from tests.factories import client_for

    with mock.patch.object(
        throttling.SimpleRateThrottle, "allow_request", side_effect=RedisConnectionError("Connection refused")
    ):
        assert client_for(None).get("/api/objects/").status_code == 200
