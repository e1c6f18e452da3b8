"""OAI-PMH 2.0 at /oai: a real harvester (sickle) gets every public record once through resumption tokens;
nothing a visitor may not see is ever named; deletions are persistent; every response is valid against the
official OAI-PMH schema, every oai_dc record against oai_dc.xsd; EDM parses as RDF with Europeana's
mandatory fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest
import rdflib
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from lxml import etree
from rdflib.namespace import DC, DCTERMS, RDF
from sickle import Sickle
from sickle.iterator import OAIResponseIterator

from archive import actions
from archive.access import visible_assets
from archive.changes import public_objects
from archive.interop.oai import repository, tokens
from archive.models import AccessLevel, Asset, Collection, PublicChange
from preservation.packaging import edm
from tests import xsd
from tests.factories import attach_file, make_object, objects_in_every_state

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
NS = {
    "oai": OAI_NS,
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
}
EDM = rdflib.Namespace("http://www.europeana.eu/schemas/edm/")
ORE = rdflib.Namespace("http://www.openarchives.org/ore/terms/")
SVCS = rdflib.Namespace("http://rdfs.org/sioc/services#")
WGS84 = rdflib.Namespace("http://www.w3.org/2003/01/geo/wgs84_pos#")
PAGE_SIZE = 3
NEVER_PUBLIC = ("community", "restricted", "draft", "embargoed")
# A sensitive site: the public gets (12.3, 45.7) only.
SHRINE = {"latitude": 12.3456789, "longitude": 45.6789123, "sensitive_location": True, "place_name": "Hidden shrine"}


@pytest.fixture(autouse=True)
def small_pages(settings):
    settings.ARCHIVE_OAI_PAGE_SIZE = PAGE_SIZE


@pytest.fixture
def archive(personas, tmp_path) -> dict:
    """Ten public objects in two communities, two that were public and are no more, and objects in every
    state that was never public."""
    states = objects_in_every_state(personas.collection)
    hilltop = Collection.objects.create(community=personas.other_community, slug="hilltop-songs", title="Songs")
    public = {"public": states["public"], "embargo_over": states["embargo_over"]}
    public["shrine"] = make_object(
        personas.collection,
        "Shrine figure",
        keywords=["shrine", "wood"],
        culture="Riverine",
        year_start=-883,
        year_end=-859,
        period_label="Iron Age",
        rights_statement="https://creativecommons.org/licenses/by/4.0",
        licence="CC-BY-4.0",
        object_type="figure",
        **SHRINE,
    )
    public["photographed"] = make_object(personas.collection, "Photographed lintel")
    folder = tmp_path / "files"
    access = attach_file(public["photographed"], Asset.Role.ACCESS, b"web jpeg", folder, filename="lintel.jpg")
    attach_file(public["photographed"], Asset.Role.ACCESS, b"second view", folder, filename="lintel-back.jpg")
    attach_file(public["photographed"], Asset.Role.THUMBNAIL, b"thumb", folder, derived_from=access)
    attach_file(public["photographed"], Asset.Role.ORIGINAL, b"the original", folder, filename="lintel.tif")
    public["scanned"] = make_object(personas.collection, "Scanned statue")
    attach_file(public["scanned"], Asset.Role.ACCESS, b"glb", folder, filename="statue.glb", mime="model/gltf-binary")
    public["control"] = make_object(personas.collection, "Bell \x0b with a control character")
    for number in range(2):
        public[f"riverside-{number}"] = make_object(personas.collection, f"Riverside bowl {number}")
        public[f"hilltop-{number}"] = make_object(hilltop, f"Hilltop drum {number}")
    deleted = make_object(personas.collection, "Deleted duplicate")
    actions.delete_object(deleted, "duplicate record", personas.curator)
    withdrawn = make_object(personas.collection, "Restricted after publication")
    withdrawn.access_level = AccessLevel.RESTRICTED
    withdrawn.save()
    return {
        "public": public,
        "gone": {"deleted": deleted, "withdrawn": withdrawn},
        "hidden": {name: states[name] for name in NEVER_PUBLIC},
        "hilltop": hilltop,
    }


def oai_id(obj) -> str:
    return repository.oai_identifier(obj.identifier)


def ask(client: Client | None = None, method: str = "get", **params) -> etree._Element:
    """One request through Django's test client; the response is checked against OAI-PMH.xsd, and every
    oai_dc record in it against oai_dc.xsd."""
    client = client or Client()
    response = getattr(client, method)("/oai", params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    return valid(response.content)


def valid(data: bytes) -> etree._Element:
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    xsd.validate(data, "OAI-PMH.xsd")
    root = etree.fromstring(data)
    for dc in root.iterfind(".//oai:metadata/oai_dc:dc", NS):
        xsd.validate(etree.tostring(dc), "oai_dc.xsd")
    return root


def error_of(root: etree._Element) -> str | None:
    error = root.find("oai:error", NS)
    return None if error is None else error.get("code")


def identifiers(root: etree._Element) -> list[str]:
    return [node.text for node in root.iterfind(".//oai:header/oai:identifier", NS)]


def headers(root: etree._Element) -> dict[str, etree._Element]:
    return {node.findtext("oai:identifier", namespaces=NS): node for node in root.iterfind(".//oai:header", NS)}


class RecordingSickle(Sickle):
    """sickle, keeping the bytes of every page it harvests."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pages: list[bytes] = []

    def harvest(self, **kwargs):
        response = super().harvest(**kwargs)
        self.pages.append(response.http_response.content)
        return response


# --- harvesting through resumption tokens, with a real harvester ----------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_harvester_gets_every_public_record_exactly_once_and_every_deletion(live_server, archive, method):
    public, gone, hidden = archive["public"], archive["gone"], archive["hidden"]
    harvester = RecordingSickle(live_server.url + "/oai", http_method=method)

    records = list(harvester.ListRecords(metadataPrefix="oai_dc"))

    harvested = [record.header.identifier for record in records]
    assert len(harvested) == len(set(harvested)), "a record came twice"
    assert set(harvested) == {oai_id(obj) for obj in [*public.values(), *gone.values()]}
    assert {r.header.identifier for r in records if r.header.deleted} == {oai_id(obj) for obj in gone.values()}
    assert all(r.metadata for r in records if not r.header.deleted)
    assert all(r.xml.find(f"{{{OAI_NS}}}metadata") is None for r in records if r.header.deleted)
    # Every page is a valid response; nothing of what was never public is named anywhere.
    assert len(harvester.pages) == -(-len(harvested) // PAGE_SIZE) >= 4
    for number, page in enumerate(harvester.pages):
        root = valid(page)
        token = root.find(".//oai:resumptionToken", NS)
        assert token.get("cursor") == str(number * PAGE_SIZE)
        assert token.get("completeListSize") == str(len(harvested))
        assert bool(token.text) == (number < len(harvester.pages) - 1)  # empty on the last page
        for obj in hidden.values():
            assert obj.identifier.encode() not in page
            assert obj.title.encode() not in page


def test_list_identifiers_pages_through_the_same_items(live_server, archive):
    harvester = RecordingSickle(live_server.url + "/oai")
    headers_ = list(harvester.ListIdentifiers(metadataPrefix="edm"))
    harvested = [header.identifier for header in headers_]
    assert len(harvested) == len(set(harvested)) == len(archive["public"]) + len(archive["gone"])
    assert {h.identifier for h in headers_ if h.deleted} == {oai_id(obj) for obj in archive["gone"].values()}
    for page in harvester.pages:
        valid(page)


def test_every_page_is_valid_and_edm_records_parse_as_rdf(live_server, archive):
    harvester = Sickle(live_server.url + "/oai", iterator=OAIResponseIterator)
    pages = list(harvester.ListRecords(metadataPrefix="edm"))
    assert len(pages) >= 4
    for page in pages:
        root = valid(page.http_response.content)
        for rdf in root.iterfind(".//oai:metadata/rdf:RDF", NS):
            graph = rdflib.Graph().parse(data=etree.tostring(rdf), format="xml")
            assert len(list(graph.subjects(RDF.type, EDM.ProvidedCHO))) == 1


def test_a_record_changed_during_a_harvest_comes_again_later_and_none_is_skipped(archive):
    first = ask(verb="ListIdentifiers", metadataPrefix="oai_dc")
    seen = identifiers(first)
    token = first.findtext(".//oai:resumptionToken", namespaces=NS)
    changed = archive["public"]["public"]
    assert oai_id(changed) in seen
    PublicChange.objects.create(object=changed, verb=PublicChange.Verb.UPDATE, at=datetime.now(UTC) + timedelta(1))
    while token:
        page = ask(verb="ListIdentifiers", resumptionToken=token)
        seen += identifiers(page)
        token = page.findtext(".//oai:resumptionToken", namespaces=NS)
    assert set(seen) == {oai_id(o) for o in [*archive["public"].values(), *archive["gone"].values()]}
    assert seen.count(oai_id(changed)) == 2 and seen[-1] == oai_id(changed)


# --- what is shown, and what is never shown ----------------------------------------------------------------


def test_objects_that_were_never_public_do_not_exist_here(archive):
    for obj in archive["hidden"].values():
        for prefix in ("oai_dc", "edm"):
            assert error_of(ask(verb="GetRecord", identifier=oai_id(obj), metadataPrefix=prefix)) == "idDoesNotExist"
        assert error_of(ask(verb="ListMetadataFormats", identifier=oai_id(obj))) == "idDoesNotExist"


@pytest.mark.parametrize("name", ["deleted", "withdrawn"])
def test_an_object_that_stopped_being_public_is_a_persistent_deleted_record(archive, name):
    obj = archive["gone"][name]
    root = ask(verb="GetRecord", identifier=oai_id(obj), metadataPrefix="oai_dc")
    header = root.find(".//oai:header", NS)
    assert header.get("status") == "deleted"
    assert root.find(".//oai:metadata", NS) is None
    last = obj.public_changes.order_by("-at").first()
    assert last.verb == PublicChange.Verb.DELETE
    assert header.findtext("oai:datestamp", namespaces=NS) == last.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert obj.title.encode() not in etree.tostring(root)


def test_a_record_whose_log_lags_behind_is_deleted_until_public_objects_lets_it_through(archive):
    """The log says "update" but the object is no longer public (changed without signals): no metadata."""
    obj = archive["public"]["riverside-0"]
    type(obj).objects.filter(pk=obj.pk).update(access_level=AccessLevel.COMMUNITY)
    root = ask(verb="GetRecord", identifier=oai_id(obj), metadataPrefix="edm")
    assert root.find(".//oai:header", NS).get("status") == "deleted"
    assert root.find(".//oai:metadata", NS) is None


def test_datestamps_come_from_the_latest_public_change(archive):
    root = ask(verb="ListIdentifiers", metadataPrefix="oai_dc", set="community:hilltop")
    for obj in archive["public"].values():
        if obj.collection_id == archive["hilltop"].pk:
            latest = obj.public_changes.order_by("-at", "-id").first().at
            header = headers(root)[oai_id(obj)]
            assert header.findtext("oai:datestamp", namespaces=NS) == latest.strftime("%Y-%m-%dT%H:%M:%SZ")
            assert [s.text for s in header.iterfind("oai:setSpec", NS)] == [
                "community:hilltop",
                "community:hilltop:collection:hilltop-songs",
            ]


# --- selective harvesting: from/until and sets ---------------------------------------------------------------


def _stamp(obj, at: datetime) -> None:
    obj.public_changes.update(at=at)


@pytest.fixture
def dated(archive) -> dict:
    """Three public objects with known datestamps; everything else much later."""
    public = archive["public"]
    later = datetime(2030, 1, 1, tzinfo=UTC)
    for obj in [*public.values(), *archive["gone"].values()]:
        _stamp(obj, later)
    stamps = {
        "riverside-0": datetime(2026, 3, 1, 9, 59, 59, 999_000, tzinfo=UTC),
        "riverside-1": datetime(2026, 3, 1, 10, 0, 0, 500_000, tzinfo=UTC),
        "hilltop-0": datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC),
    }
    for name, at in stamps.items():
        _stamp(public[name], at)
    return {name: public[name] for name in stamps}


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ({"from": "2026-03-01", "until": "2026-03-01"}, {"riverside-0", "riverside-1"}),
        ({"from": "2026-03-01", "until": "2026-03-02"}, {"riverside-0", "riverside-1", "hilltop-0"}),
        ({"until": "2026-03-02"}, {"riverside-0", "riverside-1", "hilltop-0"}),
        ({"from": "2026-03-01T10:00:00Z", "until": "2026-03-01T10:00:00Z"}, {"riverside-1"}),
        ({"from": "2026-03-01T09:59:59Z", "until": "2026-03-01T09:59:59Z"}, {"riverside-0"}),
        ({"from": "2026-03-01T10:00:01Z", "until": "2026-03-02T00:00:00Z"}, {"hilltop-0"}),
    ],
)
def test_from_and_until_select_on_the_datestamp_inclusively(dated, window, expected):
    root = ask(verb="ListIdentifiers", metadataPrefix="oai_dc", **window)
    assert set(identifiers(root)) == {oai_id(dated[name]) for name in expected}


def test_from_takes_what_changed_since_including_later_deletions(dated, archive):
    root = ask(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": "2029-12-31"})
    token = root.findtext(".//oai:resumptionToken", namespaces=NS)
    seen = identifiers(root)
    while token:
        page = ask(verb="ListIdentifiers", resumptionToken=token)
        seen += identifiers(page)
        token = page.findtext(".//oai:resumptionToken", namespaces=NS)
    expected = [*archive["public"].values(), *archive["gone"].values()]
    assert sorted(seen) == sorted(
        oai_id(o) for o in expected if o.identifier not in {d.identifier for d in dated.values()}
    )


def test_the_last_representable_until_means_no_end(archive):
    for until in ("9999-12-31", "9999-12-31T23:59:59Z"):
        root = ask(verb="ListIdentifiers", metadataPrefix="oai_dc", until=until)
        assert root.find(".//oai:resumptionToken", NS).get("completeListSize") == "12"


def test_a_window_without_records_is_no_records_match(dated):
    root = ask(verb="ListRecords", metadataPrefix="oai_dc", **{"from": "2031-01-01"})
    assert error_of(root) == "noRecordsMatch"
    assert root.find("oai:request", NS).get("from") == "2031-01-01"


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("community:hilltop", {"hilltop-0", "hilltop-1"}),
        ("community:hilltop:collection:hilltop-songs", {"hilltop-0", "hilltop-1"}),
    ],
)
def test_a_set_selects_its_records(archive, spec, names):
    root = ask(verb="ListRecords", metadataPrefix="oai_dc", set=spec)
    assert set(identifiers(root)) == {oai_id(archive["public"][name]) for name in names}
    for header in root.iterfind(".//oai:header", NS):
        assert spec in [s.text for s in header.iterfind("oai:setSpec", NS)]


def test_the_riverside_set_pages_through_its_records_and_deletions(archive):
    seen, token = [], None
    params = {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "community:riverside"}
    while True:
        root = ask(**({"verb": "ListIdentifiers", "resumptionToken": token} if token else params))
        seen += identifiers(root)
        token = root.findtext(".//oai:resumptionToken", namespaces=NS)
        if not token:
            break
    riverside = [o for o in archive["public"].values() if o.collection_id != archive["hilltop"].pk]
    assert sorted(seen) == sorted(oai_id(o) for o in [*riverside, *archive["gone"].values()])


def test_list_sets_names_communities_and_collections_that_hold_records(archive, personas):
    Collection.objects.create(community=personas.community, slug="empty", title="Nothing published")
    seen, token = {}, None
    while True:
        root = ask(**({"verb": "ListSets", "resumptionToken": token} if token else {"verb": "ListSets"}))
        for node in root.iterfind(".//oai:set", NS):
            seen[node.findtext("oai:setSpec", namespaces=NS)] = node
        token = root.findtext(".//oai:resumptionToken", namespaces=NS)
        if not token:
            break
    assert list(seen) == [
        "community:hilltop",
        "community:hilltop:collection:hilltop-songs",
        "community:riverside",
        "community:riverside:collection:riverside-photos",
    ]
    assert seen["community:riverside"].findtext("oai:setName", namespaces=NS) == "Riverside Community"
    assert seen["community:hilltop:collection:hilltop-songs"].findtext("oai:setName", namespaces=NS) == "Songs"


def test_a_set_description_is_oai_dc(archive, personas):
    personas.community.description = "Keepers of the river's memory."
    personas.community.save()
    root = ask(verb="ListSets")
    dc = root.find(".//oai:setDescription/oai_dc:dc", NS)
    xsd.validate(etree.tostring(dc), "oai_dc.xsd")
    assert dc.findtext("dc:description", namespaces=NS) == "Keepers of the river's memory."


def test_an_unknown_set_matches_no_records_and_an_empty_repository_has_no_sets(db):
    assert error_of(ask(verb="ListSets")) == "noSetHierarchy"
    assert error_of(ask(verb="ListIdentifiers", metadataPrefix="oai_dc")) == "noRecordsMatch"
    assert error_of(ask(verb="ListRecords", metadataPrefix="oai_dc", set="community:nowhere")) == "noRecordsMatch"


# --- GetRecord in both formats ---------------------------------------------------------------------------------


def test_get_record_oai_dc_generalizes_a_sensitive_place(archive):
    shrine = archive["public"]["shrine"]
    root = ask(verb="GetRecord", identifier=oai_id(shrine), metadataPrefix="oai_dc")
    dc = root.find(".//oai:metadata/oai_dc:dc", NS)
    titles = {node.get("{http://www.w3.org/XML/1998/namespace}lang"): node.text for node in dc.iterfind("dc:title", NS)}
    assert titles == {"en": "Shrine figure", "fr": "Shrine figure (fr)"}
    assert "12.3, 45.7" in [node.text for node in dc.iterfind("dc:coverage", NS)]
    data = etree.tostring(root)
    assert b"12.34" not in data and b"45.67" not in data
    assert shrine.citation_url in [node.text for node in dc.iterfind("dc:identifier", NS)]


def test_get_record_oai_dc_leaves_out_what_visitors_do_not_see(archive):
    photographed = archive["public"]["photographed"]
    photographed.provenance = "Bought from a dealer in 1972"
    photographed.source_reference = "/mnt/ingest/batch-7/lintel"
    photographed.save()
    data = etree.tostring(ask(verb="GetRecord", identifier=oai_id(photographed), metadataPrefix="oai_dc"))
    assert b"dealer" not in data and b"batch-7" not in data
    assert b"image/tiff" not in data  # the original's format: technical metadata of a file visitors cannot get


def _edm_graph(root: etree._Element) -> rdflib.Graph:
    rdf = root.find(".//oai:metadata/rdf:RDF", NS)
    assert rdf is not None
    return rdflib.Graph().parse(data=etree.tostring(rdf), format="xml")


def _mandatory_edm(graph: rdflib.Graph, obj) -> tuple[rdflib.URIRef, rdflib.URIRef]:
    (cho,) = graph.subjects(RDF.type, EDM.ProvidedCHO)
    (aggregation,) = graph.subjects(RDF.type, ORE.Aggregation)
    assert graph.value(aggregation, EDM.aggregatedCHO) == cho
    assert {str(t) for t in graph.objects(cho, DC.title)} >= {obj.title}
    assert graph.value(aggregation, EDM.dataProvider) == rdflib.Literal(obj.collection.community.name)
    assert graph.value(aggregation, EDM.provider) == rdflib.Literal("Heritage Archive")
    assert str(graph.value(aggregation, EDM.isShownAt)) == obj.citation_url
    assert graph.value(aggregation, EDM.rights) is not None
    assert graph.value(cho, EDM.type) is not None
    return cho, aggregation


def test_get_record_edm_of_an_image_object(archive):
    obj = archive["public"]["photographed"]
    graph = _edm_graph(ask(verb="GetRecord", identifier=oai_id(obj), metadataPrefix="edm"))
    cho, aggregation = _mandatory_edm(graph, obj)
    assert str(graph.value(cho, EDM.type)) == "IMAGE"
    files = {a.filename: a for a in visible_assets(AnonymousUser(), obj)}
    url = lambda name: "http://127.0.0.1:8000" + files[name].get_download_url()  # noqa: E731
    assert str(graph.value(aggregation, EDM.isShownBy)) == url("lintel.jpg")
    assert [str(v) for v in graph.objects(aggregation, EDM.hasView)] == [url("lintel-back.jpg")]
    assert str(graph.value(aggregation, EDM.object)) == url("thumbnail.jpg")
    assert str(graph.value(aggregation, EDM.rights)) == edm.RIGHTS_NOT_EVALUATED
    shown_by = graph.value(aggregation, EDM.isShownBy)
    assert (shown_by, RDF.type, EDM.WebResource) in graph
    service = graph.value(shown_by, SVCS.has_service)
    assert str(service) == f"http://127.0.0.1:8000/iiif/image/{files['lintel.jpg'].id}"
    assert str(graph.value(service, DCTERMS.conformsTo)) == "http://iiif.io/api/image"
    assert str(graph.value(shown_by, DCTERMS.isReferencedBy)) == f"http://127.0.0.1:8000/iiif/{obj.identifier}/manifest"
    assert b"lintel.tif" not in graph.serialize(format="nt").encode()  # originals are not web resources


def test_get_record_edm_of_a_sensitive_3d_and_a_fileless_object(archive):
    scanned = archive["public"]["scanned"]
    graph = _edm_graph(ask(verb="GetRecord", identifier=oai_id(scanned), metadataPrefix="edm"))
    cho, aggregation = _mandatory_edm(graph, scanned)
    assert str(graph.value(cho, EDM.type)) == "3D"
    assert str(graph.value(aggregation, EDM.isShownBy)).endswith("/statue.glb")

    shrine = archive["public"]["shrine"]
    root = ask(verb="GetRecord", identifier=oai_id(shrine), metadataPrefix="edm")
    graph = _edm_graph(root)
    cho, aggregation = _mandatory_edm(graph, shrine)
    assert str(graph.value(cho, EDM.type)) == "TEXT"
    assert str(graph.value(aggregation, EDM.rights)) == "http://creativecommons.org/licenses/by/4.0/"
    titles = {(str(t), t.language) for t in graph.objects(cho, DC.title)}
    assert titles == {("Shrine figure", "en"), ("Shrine figure (fr)", "fr")}
    assert {str(s) for s in graph.objects(cho, DC.subject)} == {"shrine", "wood", "Riverine"}
    assert str(graph.value(cho, DC.date)) == "-0883/-0859"
    assert str(graph.value(cho, DCTERMS.temporal)) == "Iron Age"
    place = graph.value(cho, DCTERMS.spatial)
    assert (place, RDF.type, EDM.Place) in graph
    assert (str(graph.value(place, WGS84.lat)), str(graph.value(place, WGS84.long))) == ("12.3", "45.7")
    assert b"12.34" not in etree.tostring(root)


def test_text_that_xml_cannot_carry_is_replaced(archive):
    obj = archive["public"]["control"]
    for prefix in ("oai_dc", "edm"):
        root = ask(verb="GetRecord", identifier=oai_id(obj), metadataPrefix=prefix)
        assert "Bell \ufffd with a control character" in etree.tostring(root, encoding="unicode")


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("http://rightsstatements.org/vocab/InC/1.0/", "http://rightsstatements.org/vocab/InC/1.0/"),
        (
            "https://rightsstatements.org/page/NoC-OKLR/1.0/?language=en",
            "http://rightsstatements.org/vocab/NoC-OKLR/1.0/",
        ),
        ("https://creativecommons.org/publicdomain/zero/1.0/", "http://creativecommons.org/publicdomain/zero/1.0/"),
        ("https://example.org/our-terms", edm.RIGHTS_NOT_EVALUATED),
        ("", edm.RIGHTS_NOT_EVALUATED),
        ("https://rightsstatements.org/", edm.RIGHTS_NOT_EVALUATED),
    ],
)
def test_edm_rights_are_a_europeana_uri_or_copyright_not_evaluated(statement, expected):
    assert edm.edm_rights(statement) == expected


def test_public_assets_agree_with_visible_assets(archive):
    for obj in archive["public"].values():
        expected = list(visible_assets(AnonymousUser(), obj).order_by("created", "id"))
        assert list(repository.public_assets().filter(object=obj)) == expected


# --- Identify and ListMetadataFormats ------------------------------------------------------------------------


def test_identify(archive, settings):
    settings.ADMINS = [("Archivist", "archivist@archive.example.org")]
    settings.ARCHIVE_OAI_NAMESPACE = "archive.example.org"
    root = ask(verb="Identify")
    node = root.find("oai:Identify", NS)
    text = lambda name: node.findtext(f"oai:{name}", namespaces=NS)  # noqa: E731
    assert text("repositoryName") == "Heritage Archive"
    assert text("baseURL") == "http://127.0.0.1:8000/oai"
    assert text("protocolVersion") == "2.0"
    assert text("adminEmail") == "archivist@archive.example.org"
    first = PublicChange.objects.order_by("at").first().at
    assert text("earliestDatestamp") == first.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert text("deletedRecord") == "persistent"
    assert text("granularity") == "YYYY-MM-DDThh:mm:ssZ"
    oai_identifier = node.find(".//{http://www.openarchives.org/OAI/2.0/oai-identifier}repositoryIdentifier")
    assert oai_identifier.text == "archive.example.org"
    assert identifiers(ask(verb="ListIdentifiers", metadataPrefix="oai_dc"))[0].startswith("oai:archive.example.org:")


def test_identify_without_any_record_or_admin(db):
    node = ask(verb="Identify").find("oai:Identify", NS)
    assert node.findtext("oai:adminEmail", namespaces=NS) == "webmaster@localhost.invalid"
    assert node.find("oai:description", NS) is None  # 127.0.0.1 is no domain name for oai-identifier


def test_list_metadata_formats(archive):
    for params in (
        {},
        {"identifier": oai_id(archive["public"]["public"])},
        {"identifier": oai_id(archive["gone"]["deleted"])},
    ):
        root = ask(verb="ListMetadataFormats", **params)
        formats = {
            node.findtext("oai:metadataPrefix", namespaces=NS): node.findtext("oai:metadataNamespace", namespaces=NS)
            for node in root.iterfind(".//oai:metadataFormat", NS)
        }
        assert formats == {
            "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
            "edm": "http://www.europeana.eu/schemas/edm/",
        }


# --- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "badVerb"),
        ("verb=Explain", "badVerb"),
        ("verb=Identify&verb=Identify", "badVerb"),
        ("verb=Identify&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=edm", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&color=blue", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2026-02-30", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2026-03-01T10:00:00", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2026-03-01T10:00:00.5Z", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2026-03-01&until=2026-03-02T00:00:00Z", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2026-03-02&until=2026-03-01", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&set=not a set", "badArgument"),
        ("verb=ListIdentifiers&resumptionToken=abc&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListSets&resumptionToken=abc&set=community:riverside", "badArgument"),
        ("verb=GetRecord&identifier=oai:127.0.0.1:X", "badArgument"),
        ("verb=GetRecord&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&metadataPrefix=marc21", "cannotDisseminateFormat"),
        ("verb=GetRecord&identifier=oai:127.0.0.1:0000000000&metadataPrefix=oai_dc", "idDoesNotExist"),
        ("verb=GetRecord&identifier=oai:elsewhere.org:0000000000&metadataPrefix=oai_dc", "idDoesNotExist"),
        ("verb=ListMetadataFormats&identifier=nonsense", "idDoesNotExist"),
        ("verb=ListRecords&resumptionToken=forged", "badResumptionToken"),
        ("verb=ListSets&resumptionToken=forged", "badResumptionToken"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2099-01-01", "noRecordsMatch"),
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_errors_are_the_protocols_and_echo_only_valid_arguments(archive, query, code, method):
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(name, []).append(value)
    client = Client(enforce_csrf_checks=True)  # harvesters POST without a CSRF token
    if method == "get":
        response = client.get("/oai?" + query)
    else:
        response = client.post("/oai", query, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    root = valid(response.content)
    assert error_of(root) == code
    request = root.find("oai:request", NS)
    assert request.text == "http://127.0.0.1:8000/oai"
    if code in ("badVerb", "badArgument"):
        assert dict(request.attrib) == {}
    else:
        assert dict(request.attrib) == {name: values[0] for name, values in params.items()}
    assert root.find("oai:responseDate", NS).text.endswith("Z")


def test_the_endpoint_answers_get_and_post_only(db):
    assert Client().put("/oai?verb=Identify").status_code == 405


def test_an_illegal_prefix_is_reported_but_not_echoed(archive):
    root = ask(verb="GetRecord", identifier=oai_id(archive["public"]["public"]), metadataPrefix="no such")
    assert error_of(root) == "cannotDisseminateFormat"
    assert "metadataPrefix" not in root.find("oai:request", NS).attrib


def test_cannot_disseminate_an_unknown_format_of_an_existing_record(archive):
    root = ask(verb="GetRecord", identifier=oai_id(archive["public"]["public"]), metadataPrefix="marc21")
    assert error_of(root) == "cannotDisseminateFormat"


def _first_token(**params) -> str:
    token = ask(**params).findtext(".//oai:resumptionToken", namespaces=NS)
    assert token
    return token


def test_a_tampered_or_foreign_or_expired_token_is_a_bad_resumption_token(archive, settings):
    token = _first_token(verb="ListRecords", metadataPrefix="oai_dc")
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert error_of(ask(verb="ListRecords", resumptionToken=tampered)) == "badResumptionToken"
    forged = tokens.signing.dumps(["records", "oai_dc", "", "", "", "", 0, 0, 0], salt="another salt", compress=True)
    assert error_of(ask(verb="ListRecords", resumptionToken=forged)) == "badResumptionToken"
    sets_token = tokens.encode(tokens.ListState(tokens.SETS, after_id=1))
    assert error_of(ask(verb="ListRecords", resumptionToken=sets_token)) == "badResumptionToken"
    settings.ARCHIVE_OAI_TOKEN_SECONDS = -1
    assert error_of(ask(verb="ListRecords", resumptionToken=token)) == "badResumptionToken"


def test_a_token_resumes_identically_however_often_it_is_used(archive):
    token = _first_token(verb="ListRecords", metadataPrefix="edm")
    first, again = (identifiers(ask(verb="ListRecords", resumptionToken=token)) for _ in range(2))
    assert first == again and len(first) == PAGE_SIZE


# --- efficiency --------------------------------------------------------------------------------------------------


def test_a_page_costs_the_same_few_queries_whatever_its_size(archive, settings):
    counts = {}
    for size in (2, 5):
        settings.ARCHIVE_OAI_PAGE_SIZE = size
        token = _first_token(verb="ListRecords", metadataPrefix="edm")
        with CaptureQueriesContext(connection) as queries:
            root = ask(verb="ListRecords", resumptionToken=token)
        assert len(identifiers(root)) == size
        counts[size] = len(queries)
    assert counts[2] == counts[5] <= 3  # the page, its texts, its files


def test_public_objects_is_the_gate(archive):
    """Every record with metadata is one of public_objects(); every other item is deleted."""
    public = set(public_objects().values_list("identifier", flat=True))
    root = ask(verb="ListRecords", metadataPrefix="oai_dc", set="community:hilltop")
    for identifier, header in headers(root).items():
        assert (header.get("status") != "deleted") == (identifier.rsplit(":", 1)[1] in public)
