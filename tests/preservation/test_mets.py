"""METS of an object: valid against the official schemas, one fileGrp per role, every current file with
its SHA-256, tombstones out of the fileSec but their deletion events kept in the embedded PREMIS; and
the curators' METS and PREMIS downloads."""

from __future__ import annotations

import functools
import io
from datetime import UTC, datetime

import pytest
from lxml import etree

from archive.models import Asset
from preservation.packaging import mets, premis
from tests import xsd
from tests.factories import client_for, make_object, preserve_file
from tests.preservation import imagegen

NS = {"mets": mets.METS_NS, "xlink": mets.XLINK_NS, "premis": premis.PREMIS_NS}
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"


@functools.cache
def _mets_schema():
    """mets.xsd (metsrw) with the PREMIS 3 (eulxml) and oai_dc schemas of the documents it wraps imported,
    as metsrw.validate does: xmlData is processContents="lax", and an element carrying xsi:type (every
    premis:object does) must then be validated against that type (XSD 1.0, cvc-elt.4), so the validator
    needs the PREMIS schema. The wrapped PREMIS and Dublin Core are validated with the METS."""
    import xmlschema

    locations = {premis.PREMIS_NS: xsd.find("premis.xsd").as_uri(), OAI_DC_NS: xsd.find("oai_dc.xsd").as_uri()}
    return xmlschema.XMLSchema(str(xsd.find("mets.xsd")), allow="local", uri_mapper=xsd._local, locations=locations)


def validate_mets(data: bytes) -> None:
    """Raise xmlschema's error unless ``data`` is valid METS with valid PREMIS 3 and oai_dc inside."""
    _mets_schema().validate(io.BytesIO(data))


@pytest.fixture
def preserved(personas, tmp_path):
    obj = make_object(personas.collection, "Carved door of the granary", culture="Dogon", keywords=["door"])
    preserve_file(obj, imagegen.make_jpeg(tmp_path / "door front.jpg", size=(64, 48)), tmp_path)
    preserve_file(obj, imagegen.make_jpeg(tmp_path / "door-back.jpg", size=(48, 64)), tmp_path)
    return obj


def embedded_premis(document: etree._Element) -> bytes:
    (element,) = document.xpath(
        "//mets:digiprovMD/mets:mdWrap[@MDTYPE='PREMIS']/mets:xmlData/premis:premis", namespaces=NS
    )
    return etree.tostring(element)


def test_the_mets_is_valid_and_so_is_the_premis_inside_it(preserved):
    data = mets.object_mets(preserved)
    validate_mets(data)
    document = etree.fromstring(data)
    xsd.validate(embedded_premis(document), "premis.xsd")
    (dc,) = document.xpath("//mets:dmdSec/mets:mdWrap[@MDTYPE='DC']/mets:xmlData/*", namespaces=NS)
    xsd.validate(etree.tostring(dc), "oai_dc.xsd")
    assert document.get("OBJID") == preserved.ocfl_id
    assert document.xpath("//mets:metsHdr/@CREATEDATE", namespaces=NS)[0].endswith("Z")
    assert "Heritage Archive" in document.xpath("//mets:metsHdr/mets:agent/mets:name/text()", namespaces=NS)


def test_every_current_file_is_listed_once_with_its_checksum_size_and_logical_path(preserved):
    document = etree.fromstring(mets.object_mets(preserved))
    listed = {element.get("ID"): element for element in document.xpath("//mets:fileSec//mets:file", namespaces=NS)}
    current = mets.current_assets(preserved)
    assert len(listed) == len(current) == 2 * 4 + 3  # two photos x 4 roles + object.json, dc.xml, premis.xml
    for asset in current:
        element = listed[f"file-{asset.id}"]
        assert element.getparent().get("USE") == asset.role
        assert element.get("CHECKSUM") == asset.sha256 and element.get("CHECKSUMTYPE") == "SHA-256"
        assert element.get("SIZE") == str(asset.size) and element.get("MIMETYPE") == asset.mime
        location = element.find("mets:FLocat", NS)
        assert location.get(f"{{{mets.XLINK_NS}}}href") == mets.href(asset.logical_path)
    uses = document.xpath("//mets:fileGrp/@USE", namespaces=NS)
    assert uses == ["original", "master", "access", "thumbnail", "metadata"]
    # The space in "door front.jpg" is percent-encoded in the URI, not turned into "+".
    hrefs = document.xpath("//mets:FLocat/@xlink:href", namespaces=NS)
    assert any(h.endswith("/door%20front.jpg") for h in hrefs)
    # The structMap groups each original with the files made from it.
    items = document.xpath("//mets:structMap/mets:div/mets:div[@TYPE='item']", namespaces=NS)
    assert sorted(len(item.findall("mets:fptr", NS)) for item in items) == [4, 4]


def test_a_deleted_file_leaves_the_file_section_but_its_deletion_stays_in_premis(
    preserved, personas, django_capture_on_commit_callbacks
):
    from archive import actions

    original = preserved.assets.filter(role="original").order_by("created").first()
    with django_capture_on_commit_callbacks(execute=True):
        family = actions.delete_asset(original, "The family asked us to withdraw it", personas.curator)
    document = etree.fromstring(mets.object_mets(preserved))
    ids = set(document.xpath("//mets:fileSec//mets:file/@ID", namespaces=NS))
    assert not {f"file-{asset.id}" for asset in family} & ids
    assert len(ids) == 4 + 3
    files, events = premis.parse_premis(embedded_premis(document))
    assert str(original.id) in {f.uuid for f in files}
    assert any(e.event_type == "deletion" and e.asset == str(original.id) for e in events)
    validate_mets(etree.tostring(document))


def test_an_object_without_files_yet_has_a_valid_mets_too(personas):
    draft = make_object(personas.collection, "Described before any photo", published=False)
    document = mets.object_mets(draft)
    validate_mets(document)
    assert not etree.fromstring(document).xpath("//mets:fileSec", namespaces=NS)


def test_the_builder_is_deterministic_and_refuses_naive_dates():
    header = mets.MetsHeader(ocfl_id="urn:x:1", identifier="1", label="A jar")
    dc = b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"/>'
    record = premis.premis_xml("urn:x:1", [], [])
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    item = mets.MetsFile(id="a", role="original", path="a/jar.jpg", sha256="0" * 64, size=3)
    first = mets.mets_xml(header, [item], dublin_core=dc, premis=record, created=moment)
    assert first == mets.mets_xml(header, [item], dublin_core=dc, premis=record, created=moment)
    validate_mets(first)
    with pytest.raises(ValueError, match="timezone-aware"):
        mets.mets_xml(header, [item], dublin_core=dc, premis=record, created=datetime(2026, 1, 2))  # noqa: DTZ001
    with pytest.raises(ValueError, match="well-formed"):
        mets.mets_xml(header, [item], dublin_core=b"<oops", premis=record, created=moment)


# ------------------------------------------------------------------ downloads


@pytest.mark.parametrize("document", ["mets.xml", "premis.xml"])
def test_curators_download_mets_and_premis_and_nobody_else_learns_the_object_exists(preserved, personas, document):
    url = f"/curate/o/{preserved.identifier}/{document}"
    response = client_for(personas.curator).get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert f'filename="{preserved.identifier}-{document}"' in response["Content-Disposition"]
    if document == "mets.xml":
        validate_mets(response.content)
    else:
        xsd.validate(response.content, "premis.xsd")
    assert client_for(personas.staff).get(url).status_code == 200
    for name in ("visitor", "outsider", "member"):
        assert client_for(personas.users()[name]).get(url).status_code == 404, name


def test_the_object_page_links_the_packages_for_curators_only(preserved, personas):
    curator_page = client_for(personas.curator).get(preserved.get_absolute_url()).content.decode()
    assert f"/curate/o/{preserved.identifier}/mets.xml" in curator_page
    assert f"/curate/o/{preserved.identifier}/bag.zip?versions=all" in curator_page
    member_page = client_for(personas.member).get(preserved.get_absolute_url()).content.decode()
    assert "mets.xml" not in member_page and "bag.zip" not in member_page


def test_a_quarantined_file_is_not_in_the_mets(personas, tmp_path):
    obj = make_object(personas.collection, "Broken upload")
    preserve_file(obj, imagegen.make_jpeg(tmp_path / "ok.jpg", size=(40, 30)), tmp_path)
    bad = tmp_path / "truncated.jpg"
    bad.write_bytes(imagegen.make_jpeg(tmp_path / "whole.jpg", size=(41, 31)).read_bytes()[:200])
    asset = preserve_file(obj, bad, tmp_path)
    assert asset.status == Asset.State.QUARANTINED
    ids = set(etree.fromstring(mets.object_mets(obj)).xpath("//mets:file/@ID", namespaces=NS))
    assert f"file-{asset.id}" not in ids and len(ids) == 4 + 3
