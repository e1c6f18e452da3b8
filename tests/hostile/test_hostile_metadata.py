"""Hostile catalogue text: markup in every metadata field comes out as text in HTML, JSON, XML and CSV;
spreadsheet formulas are neutralised in exported CSV and come back unchanged on import; ``javascript:`` and
``data:`` URLs are refused at every door to the rights statement and never rendered as a live link."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re

import bagit
import pytest
from django.conf import settings as django_settings
from django.test import Client
from lxml import etree
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from archive import actions
from archive.curation.csv_io import FORMULA_TRIGGERS, export_csv, import_csv
from archive.curation.forms import ObjectForm
from archive.models import AccessLevel, HeritageObject
from preservation import pipeline
from preservation.packaging import bags
from tests.factories import make_object, preserve_file
from tests.hostile import corpus

P = corpus.XSS_PAYLOADS
TITLE = P[0] + P[1]
DESCRIPTION = P[2] + "\n" + P[5]
# What must never appear raw in an HTML page: a tag or handler that a payload would open.
RAW_MARKUP = ["<script>alert", "</script><script>", "<img src=x", "<svg/onload", "<x>&amp;", "onerror=alert(1)>"]
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@pytest.fixture
def hostile(personas, tmp_path) -> HeritageObject:
    """A published object with a payload in every catalogue field, in a community and collection with
    hostile names, with one processed photo (so IIIF, METS and PREMIS have something to say) and one
    quarantined file whose name is markup."""
    community, collection = personas.community, personas.collection
    community.name, community.description = P[0][:200], P[1]
    community.save()
    collection.title, collection.description = P[2], P[4]
    collection.save()
    obj = actions.create_object(
        collection,
        {"en": (TITLE, DESCRIPTION), "ar": (P[4], P[1])},
        original_language="en",
        access_level=AccessLevel.PUBLIC,
        object_type=P[1][:100],
        culture=P[0],
        period_label=P[7],
        place_name=P[4] + P[2],
        provenance=P[5] + P[1],
        licence=P[6],
        keywords=[P[0], P[3], P[1]],
        latitude=10.5,
        longitude=20.25,
        rights_statement="http://rightsstatements.org/vocab/InC/1.0/",
    )
    actions.publish(obj)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(corpus.small_jpeg())
    assert preserve_file(obj, photo, tmp_path).status == "ready"
    data = corpus.truncated_jpeg()[1]
    staged = tmp_path / "broken.part"
    staged.write_bytes(data)
    name = "<script>alert(9)</script>.jpg"  # not hostile as a name (no path, no control character): markup
    asset, _ = actions.receive_file(obj, staged, name, hashlib.sha256(data).hexdigest(), len(data), enqueue=False)
    assert pipeline.run_in_process(asset).status == "quarantined"
    return obj


def curator_client(personas) -> Client:
    client = Client()
    client.force_login(personas.curator)
    return client


def assert_no_raw_markup(body: str, where: str) -> None:
    for marker in RAW_MARKUP:
        assert marker not in body, f"{where}: {marker!r} reached the page unescaped"
    assert not re.search(r"""href\s*=\s*["']?\s*(javascript|data|vbscript):""", body, re.I), where
    assert django_settings.SECRET_KEY not in body


def html_pages(obj: HeritageObject) -> list[tuple[str, bool]]:
    """(url, needs a curator) of every HTML page that shows catalogue text."""
    slug, community = obj.collection.slug, obj.collection.community.slug
    return [
        ("/", False),
        ("/search/", False),
        ("/search/?q=" + P[0], False),
        (f"/o/{obj.identifier}/", False),
        ("/communities/", False),
        (f"/c/{community}/", False),
        (f"/collections/{slug}/", False),
        ("/map/", False),
        ("/curate/", True),
        (f"/curate/o/{obj.identifier}/", True),
        (f"/curate/o/{obj.identifier}/edit/", True),
        (f"/curate/o/{obj.identifier}/review/", True),
        ("/curate/quarantine/", True),
        (f"/curate/communities/{community}/", True),
    ]


def test_markup_in_every_field_is_escaped_in_every_html_page(personas, hostile):
    for url, curated in html_pages(hostile):
        client = curator_client(personas) if curated else Client()
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html")
        body = response.content.decode()
        assert_no_raw_markup(body, url)
    page = Client().get(f"/o/{hostile.identifier}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text
    assert "javascript:alert(5)" in page and 'href="javascript' not in page  # the licence is text, not a link
    quarantine = curator_client(personas).get("/curate/quarantine/").content.decode()
    assert "&lt;script&gt;alert(9)&lt;/script&gt;.jpg" in quarantine


def find_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in find_strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in find_strings(item)]
    return []


def test_json_answers_carry_the_payloads_as_data_never_as_html(personas, hostile):
    slug = hostile.collection.slug
    token = Token.objects.get_or_create(user=personas.curator)[0].key
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    urls = [
        f"/api/objects/{hostile.identifier}/",
        "/api/objects/",
        f"/api/objects/?q={P[0]}",
        "/api/communities/",
        "/api/collections/",
        f"/api/objects/{hostile.identifier}/assets/",
        f"/iiif/{hostile.identifier}/manifest",
        "/iiif/collection",
        f"/iiif/collection/{slug}",
        "/map/objects.geojson?bbox=-180,-90,180,90",
        "/activity/",
        f"/curate/o/{hostile.identifier}/status.json",
    ]
    seen: set[str] = set()
    for url in urls:
        client = api if url.startswith("/api/") else curator_client(personas)
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        kind = response["Content-Type"]
        assert "json" in kind and "html" not in kind, (url, kind)
        seen.update(find_strings(json.loads(response.content)))
    for payload in (TITLE, P[0], P[1], P[4]):
        assert any(payload in text for text in seen), payload  # carried exactly, as data
    detail = api.get(f"/api/objects/{hostile.identifier}/").json()
    assert detail["culture"] == P[0] and detail["keywords"] == [P[0], P[3], P[1]]


def test_iiif_values_that_look_like_html_are_given_as_escaped_text(hostile):
    """IIIF clients read a summary or metadata value whose first character is "<" and last ">" as HTML
    (Presentation 3, section 4.4): such catalogue text is escaped inside a <span>, so it is shown, not run."""
    manifest = Client().get(f"/iiif/{hostile.identifier}/manifest").json()
    values = {pair["label"]["en"][0]: pair["value"] for pair in manifest["metadata"]}
    assert values["Culture"] == {"none": ["<span>&lt;script&gt;alert(1)&lt;/script&gt;</span>"]}
    assert values["Community"] == {"none": ["<span>&lt;script&gt;alert(1)&lt;/script&gt;</span>"]}
    shown = find_strings(manifest.get("summary", {})) + [v for pair in manifest["metadata"] for v in find_strings(pair)]
    for value in shown:
        if value.strip()[:1] == "<" and value.strip()[-1:] == ">":
            inner = value.removeprefix("<span>").removesuffix("</span>")
            assert value.startswith("<span>") and "<" not in inner and ">" not in inner, value
    assert manifest["label"]["en"] == [TITLE]  # labels are plain text for every client: unchanged


def xml_text(content: bytes) -> str:
    root = etree.fromstring(content, XML_PARSER)
    return "".join(root.itertext())


def test_xml_documents_stay_well_formed_and_hold_the_payloads_as_text(personas, hostile):
    curator = curator_client(personas)
    documents = {
        "oai_dc": Client().get("/oai", {"verb": "ListRecords", "metadataPrefix": "oai_dc"}).content,
        "edm": Client().get("/oai", {"verb": "ListRecords", "metadataPrefix": "edm"}).content,
        "sets": Client().get("/oai", {"verb": "ListSets"}).content,
        "mets": curator.get(f"/curate/o/{hostile.identifier}/mets.xml").content,
        "premis": curator.get(f"/curate/o/{hostile.identifier}/premis.xml").content,
        "sitemap": Client().get("/sitemap.xml").content,
    }
    from preservation import records

    for record in records.descriptive_files(hostile):
        if record.filename.endswith(".xml"):
            documents[record.filename] = record.data
        else:
            assert TITLE in find_strings(json.loads(record.data))
    for name, content in documents.items():
        text = xml_text(content)  # raises if a payload broke the document
        if name in ("oai_dc", "edm", "mets", "dc.xml"):
            assert TITLE in text and P[5] in text, name  # the CDATA breaker is plain text, exactly
    assert "<script>" not in documents["oai_dc"].decode()


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("/search/?q=" + P[1], "html"),
        ("/oai?verb=" + P[0], "xml"),
        ("/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=" + P[1], "xml"),
        ("/map/objects.geojson?bbox=" + P[0], "json"),
        ("/api/objects/?ordering=" + P[1], "json"),
    ],
)
def test_a_payload_in_the_query_string_is_never_reflected_as_markup(personas, url, kind):
    response = Client().get(url)
    assert response.status_code < 500
    body = response.content.decode()
    if kind == "html":
        assert_no_raw_markup(body, url)
    elif kind == "xml":
        xml_text(response.content)
        assert "<script>" not in body and "<img src=x" not in body
    else:
        json.loads(body)
        assert "html" not in response["Content-Type"]


# ------------------------------------------------------------------------------------------ CSV


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


@pytest.mark.parametrize("formula", corpus.CSV_FORMULAS)
def test_a_formula_in_any_exported_cell_is_neutralised_and_imports_back_unchanged(personas, formula):
    obj = make_object(
        personas.collection,
        formula,
        culture=formula,
        place_name=formula,
        provenance=formula,
        period_label=formula,
        object_type=formula[:100],
        licence=formula[:100],
        keywords=[formula.strip(), "river"],
        source_reference=formula,
    )
    exported = export_csv(HeritageObject.objects.filter(pk=obj.pk))
    row = parse(exported)[0]
    for column in ("title:en", "culture", "place_name", "provenance", "period_label", "object_type", "licence"):
        cell = row[column]
        assert cell[:1] not in FORMULA_TRIGGERS, (column, cell)
        assert cell.startswith("'"), (column, cell)
    assert row["reference"].startswith("'") and row["keywords"].startswith("'")
    for cells in parse(exported):
        for column, cell in cells.items():
            assert cell[:1] not in FORMULA_TRIGGERS or re.fullmatch(r"-?\d+(\.\d+)?", cell), (column, cell)
    report = import_csv(exported.encode("utf-8"), user=personas.curator)
    assert report.ok, report.errors
    if formula == formula.strip():
        assert report.unchanged == 1  # the quote comes off again: nothing changed
    else:
        # A leading tab or carriage return cannot be typed into the edit form, which trims text; a value
        # stored with one anyway (e.g. from a bag's record) is trimmed the same way when it comes back.
        assert report.updated == 1
    obj.refresh_from_db()
    assert obj.culture == formula.strip() and obj.text("en").title == formula.strip()


def test_imported_formulas_are_kept_as_text_and_neutralised_again_on_the_way_out(personas):
    rows = [
        ["", f"R-{i}", "riverside-photos", formula.strip() or "x", "", formula]
        for i, formula in enumerate(corpus.CSV_FORMULAS)
    ]
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(
        [["identifier", "reference", "collection", "title:en", "description:en", "culture"], *rows]
    )
    report = import_csv(buffer.getvalue().encode("utf-8"), user=personas.curator)
    assert report.ok and report.created == len(corpus.CSV_FORMULAS), report.errors
    for row in parse(export_csv(HeritageObject.objects.all())):
        assert row["culture"][:1] not in FORMULA_TRIGGERS and row["title:en"][:1] not in FORMULA_TRIGGERS


# ------------------------------------------------------------------------------------ URL fields


@pytest.mark.parametrize("url", corpus.HOSTILE_URLS)
def test_a_script_url_is_refused_as_a_rights_statement_by_the_edit_form(personas, url):
    obj = make_object(personas.collection, "Rights")
    data = {name: getattr(obj, name) or "" for name in ObjectForm.Meta.fields if name not in ("labels", "featured")}
    data.update(collection=obj.collection_id, rights_statement=url, threat_type="none", threat_level=0)
    form = ObjectForm(data, instance=obj, collections=personas.collection.community.collections.all())
    assert not form.is_valid() and "rights_statement" in form.errors


@pytest.mark.parametrize("url", corpus.HOSTILE_URLS)
def test_a_script_url_is_refused_as_a_rights_statement_by_the_csv_import(personas, url):
    obj = make_object(personas.collection, "Rights")
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([["identifier", "rights_statement"], [obj.identifier, url]])
    report = import_csv(buffer.getvalue().encode("utf-8"), user=personas.curator)
    assert report.failed == 1 and report.errors[0].column == "rights_statement", report.errors
    assert "rightsstatements.org" in report.errors[0].message  # says what to use instead
    obj.refresh_from_db()
    assert obj.rights_statement == ""


@pytest.mark.parametrize("url", corpus.HOSTILE_URLS)
def test_a_script_url_is_refused_as_a_rights_statement_by_the_api(personas, url):
    obj = make_object(personas.collection, "Rights")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=personas.curator)[0].key}")
    response = api.patch(f"/api/objects/{obj.identifier}/", {"rights_statement": url}, format="json")
    assert response.status_code == 400 and "rights_statement" in response.json()
    created = api.post(
        "/api/objects/",
        {"collection": personas.collection.slug, "texts": [{"language": "en", "title": "x"}], "rights_statement": url},
        format="json",
    )
    assert created.status_code == 400 and "rights_statement" in created.json()
    obj.refresh_from_db()
    assert obj.rights_statement == ""


def bag_with_record(obj: HeritageObject, folder, change) -> object:
    """An exported bag of ``obj`` whose object.json was changed by ``change(record)``, manifests redone:
    a well-formed, valid bag whose only fault is its catalogue record."""
    bag_dir = bags.export_bag(obj, folder)
    record_path = bag_dir / "data/metadata/object.json"
    record = json.loads(record_path.read_bytes())
    change(record)
    record_path.write_text(json.dumps(record), encoding="utf-8")
    bagit.Bag(str(bag_dir)).save(manifests=True)
    return bag_dir


@pytest.mark.parametrize("url", [corpus.HOSTILE_URLS[0], corpus.HOSTILE_URLS[4]], ids=["javascript", "data"])
def test_a_script_url_in_an_imported_bags_record_refuses_the_bag(personas, hostile, tmp_path, url):
    bag_dir = bag_with_record(hostile, tmp_path / "exported", lambda record: record.update(rights_statement=url))
    before = HeritageObject.objects.count()
    with pytest.raises(bags.BagRefused, match="rights_statement"):
        bags.import_bag(bag_dir, personas.collection)
    assert HeritageObject.objects.count() == before


def test_a_nul_in_an_imported_bags_record_refuses_the_bag(personas, hostile, tmp_path):
    """PostgreSQL cannot store NUL: the bag is refused with the field named, instead of failing mid-import."""

    def poison(record: dict) -> None:
        record["texts"][0]["title"] = "Jar\x00"
        record["keywords"] = ["river", "a\x00b"]

    bag_dir = bag_with_record(hostile, tmp_path / "exported", poison)
    before = HeritageObject.objects.count()
    with pytest.raises(
        bags.BagRefused, match=r"keywords: contains a NUL character; text \[\w+\]: contains a NUL character"
    ):
        bags.import_bag(bag_dir, personas.collection)
    assert HeritageObject.objects.count() == before


def test_a_script_url_already_in_the_catalogue_is_shown_as_text_not_as_a_link(personas):
    """Defence in depth: a record restored from elsewhere (rebuild, an old import) with a script URL."""
    obj = make_object(personas.collection, "Rebuilt record")
    HeritageObject.objects.filter(pk=obj.pk).update(rights_statement="javascript:alert(document.domain)")
    page = Client().get(f"/o/{obj.identifier}/").content.decode()
    assert "javascript:alert(document.domain)" in page
    assert not re.search(r"href\s*=\s*[\"']?\s*javascript:", page, re.I)
