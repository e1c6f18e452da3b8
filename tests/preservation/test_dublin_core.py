"""Dublin Core (oai_dc) of a catalogue record: the mapping, generalized coordinates, deterministic XML."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import pytest

from preservation.packaging import dublin_core
from preservation.packaging.dublin_core import DC_NS, OAI_DC_NS, dc_element, dc_fields, dc_xml
from tests import xsd

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XSI_SCHEMA_LOCATION = "{http://www.w3.org/2001/XMLSchema-instance}schemaLocation"

RECORD = {
    "schema": "heritage-archive/object/1",
    "identifier": "7K2M9QX4RT",
    "ocfl_id": "urn:heritage-archive:7K2M9QX4RT",
    "url": "https://archive.example.org/objects/7K2M9QX4RT/",
    "status": "published",
    "access_level": "public",
    "embargo_until": None,
    "published_at": "2026-11-02T10:00:00+00:00",
    "created": "2026-11-01T09:00:00+00:00",
    "collection": {
        "slug": "mosul-manuscripts",
        "title": "Mosul manuscripts",
        "description": "Manuscripts and inscriptions from Mosul.",
        "default_access_level": "public",
        "community": {
            "slug": "mosul",
            "name": "Mosul heritage network",
            "description": "Volunteers documenting Mosul.",
            "allowed_stores": [],
        },
    },
    "texts": [
        {"language": "en", "title": "Stele", "description": "A royal stele.", "is_original": False},
        {"language": "fr", "title": "Stèle", "description": "Une stèle royale.", "is_original": True},
    ],
    "object_type": "stele",
    "culture": "Assyrian",
    "period_label": "Neo-Assyrian",
    "year_start": -883,
    "year_end": -859,
    "place_name": "Nimrud",
    "latitude": 36.098,
    "longitude": 43.329,
    "sensitive_location": True,
    "threat": {"type": "conflict", "level": 3},
    "rights_statement": "http://rightsstatements.org/vocab/NoC-OKLR/1.0/",
    "licence": "CC-BY-4.0",
    "keywords": ["stele", "cuneiform"],
    "provenance": "Excavated 1850; museum inventory ND 1234.",
    "source_reference": "",
    "files": [
        {"id": "f1", "role": "original", "filename": "a.jpg", "mime": "image/jpeg", "size": 1, "sha256": "00"},
        {"id": "f2", "role": "original", "filename": "b.tif", "mime": "image/tiff", "size": 2, "sha256": "11"},
        {"id": "f3", "role": "original", "filename": "c.jpg", "mime": "image/jpeg", "size": 3, "sha256": "22"},
        {"id": "f4", "role": "access", "filename": "d.webp", "mime": "image/webp", "size": 4, "sha256": "33"},
        {"id": "f5", "role": "original", "filename": "e.bin", "mime": "", "size": 5, "sha256": "44"},
    ],
    "deletion": None,
}


def record(**changes) -> dict:
    result = copy.deepcopy(RECORD)
    result.update(changes)
    return result


def test_full_mapping():
    assert dc_fields(RECORD, generalize_location=False) == [
        ("title", "Stele", "en"),
        ("title", "Stèle", "fr"),
        ("subject", "stele", ""),
        ("subject", "cuneiform", ""),
        ("subject", "Assyrian", ""),
        ("description", "A royal stele.", "en"),
        ("description", "Une stèle royale.", "fr"),
        ("publisher", "Mosul heritage network", ""),
        ("date", "-0883/-0859", ""),
        ("type", "stele", ""),
        ("type", "PhysicalObject", ""),
        ("format", "image/jpeg", ""),
        ("format", "image/tiff", ""),
        ("identifier", "https://archive.example.org/objects/7K2M9QX4RT/", ""),
        ("identifier", "urn:heritage-archive:7K2M9QX4RT", ""),
        ("source", "Excavated 1850; museum inventory ND 1234.", ""),
        ("coverage", "Nimrud", ""),
        ("coverage", "Neo-Assyrian", ""),
        ("coverage", "883 BCE \u2013 859 BCE", ""),
        ("coverage", "36.098, 43.329", ""),
        ("rights", "http://rightsstatements.org/vocab/NoC-OKLR/1.0/", ""),
        ("rights", "CC-BY-4.0", ""),
    ]


def coverage_coordinates(rec: dict, generalize: bool) -> str:
    values = [v for e, v, _ in dc_fields(rec, generalize_location=generalize) if e == "coverage" and "," in v]
    assert len(values) <= 1
    return values[0] if values else ""


@pytest.mark.parametrize(
    ("sensitive", "generalize", "expected"),
    [
        (True, True, "36.1, 43.3"),
        (True, False, "36.098, 43.329"),
        (False, True, "36.098, 43.329"),
        (False, False, "36.098, 43.329"),
    ],
)
def test_coordinates_are_generalized_only_for_sensitive_places_when_asked(sensitive, generalize, expected):
    assert coverage_coordinates(record(sensitive_location=sensitive), generalize) == expected


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        (-33.8568, 151.2153, "-33.9, 151.2"),
        (-0.04, -0.04, "0.0, 0.0"),  # no "-0.0"
        (0, 0, "0.0, 0.0"),
        (89.99, -179.99, "90.0, -180.0"),
    ],
)
def test_generalized_coordinates_rounding(latitude, longitude, expected):
    rec = record(latitude=latitude, longitude=longitude)
    assert coverage_coordinates(rec, True) == expected


def test_generalized_output_never_contains_the_exact_coordinates():
    data = dc_xml(RECORD, generalize_location=True)
    assert b"36.098" not in data
    assert b"43.329" not in data
    assert b"36.1, 43.3" in data


@pytest.mark.parametrize(("latitude", "longitude"), [(None, 43.3), (36.1, None), (None, None)])
def test_no_coordinates_without_both_values(latitude, longitude):
    assert coverage_coordinates(record(latitude=latitude, longitude=longitude), False) == ""


@pytest.mark.parametrize(
    ("start", "end", "iso", "label"),
    [
        (-883, -859, "-0883/-0859", "883 BCE \u2013 859 BCE"),
        (-30, 14, "-0030/0014", "30 BCE \u2013 14 CE"),
        (1236, 1258, "1236/1258", "1236 CE \u2013 1258 CE"),
        (612, 612, "0612", "612 CE"),
        (-2600, None, "-2600/..", "from 2600 BCE"),
        (None, 1900, "../1900", "until 1900 CE"),
        (-12000, -9500, "-12000/-9500", "12000 BCE \u2013 9500 BCE"),
    ],
)
def test_year_ranges(start, end, iso, label):
    fields = dc_fields(record(year_start=start, year_end=end), generalize_location=False)
    assert ("date", iso, "") in fields
    assert ("coverage", label, "") in fields


def test_no_dates_without_years():
    fields = dc_fields(record(year_start=None, year_end=None), generalize_location=False)
    assert [f for f in fields if f[0] == "date"] == []
    assert [v for e, v, _ in fields if e == "coverage"] == ["Nimrud", "Neo-Assyrian", "36.098, 43.329"]


def test_empty_values_are_skipped():
    empty = record(
        texts=[{"language": "ar", "title": "  ", "description": "", "is_original": True}],
        object_type="",
        culture=None,
        period_label="",
        year_start=None,
        year_end=None,
        place_name="",
        latitude=None,
        longitude=None,
        rights_statement="",
        licence="",
        keywords=["", "  "],
        provenance="",
        source_reference="",
        files=[],
        url="",
        collection={"slug": "x", "title": "X", "community": {"slug": "y", "name": ""}},
    )
    assert dc_fields(empty, generalize_location=True) == [
        ("type", "PhysicalObject", ""),
        ("identifier", "urn:heritage-archive:7K2M9QX4RT", ""),
    ]


def test_source_reference_is_a_second_source():
    fields = dc_fields(record(source_reference="BM 124563"), generalize_location=False)
    assert [v for e, v, _ in fields if e == "source"] == ["Excavated 1850; museum inventory ND 1234.", "BM 124563"]


def test_formats_are_the_distinct_sorted_mime_types_of_originals():
    files = [
        {"role": "original", "mime": "model/gltf-binary"},
        {"role": "master", "mime": "image/tiff"},
        {"role": "original", "mime": "application/pdf"},
        {"role": "original", "mime": "model/gltf-binary"},
        {"role": "thumbnail", "mime": "image/webp"},
    ]
    fields = dc_fields(record(files=files), generalize_location=False)
    assert [v for e, v, _ in fields if e == "format"] == ["application/pdf", "model/gltf-binary"]


def test_invalid_language_tags_are_dropped_and_underscores_fixed():
    texts = [
        {"language": "pt_BR", "title": "Estela", "description": "", "is_original": True},
        {"language": "not a tag", "title": "Untagged", "description": "", "is_original": False},
        {"language": None, "title": "No language", "description": "", "is_original": False},
    ]
    titles = [(v, lang) for e, v, lang in dc_fields(record(texts=texts), generalize_location=False) if e == "title"]
    assert titles == [("Estela", "pt-BR"), ("Untagged", ""), ("No language", "")]


# ---------------------------------------------------------------- XML


def test_dc_xml_document():
    data = dc_xml(RECORD, generalize_location=False)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<oai_dc:dc ")
    assert data.endswith(b"</oai_dc:dc>\n")
    assert b'xmlns:dc="http://purl.org/dc/elements/1.1/"' in data
    assert b'xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"' in data
    assert '<dc:title xml:lang="fr">Stèle</dc:title>'.encode() in data
    root = ET.fromstring(data)
    assert root.tag == f"{{{OAI_DC_NS}}}dc"
    assert root.get(XSI_SCHEMA_LOCATION) == (
        "http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
    )
    parsed = [(child.tag.removeprefix(f"{{{DC_NS}}}"), child.text, child.get(XML_LANG, "")) for child in root]
    assert parsed == dc_fields(RECORD, generalize_location=False)


def test_dc_xml_is_deterministic():
    first = dc_xml(RECORD, generalize_location=True)
    assert first == dc_xml(copy.deepcopy(RECORD), generalize_location=True)
    assert first != dc_xml(RECORD, generalize_location=False)


def test_dc_element_matches_the_document():
    element = dc_element(RECORD, generalize_location=True)
    assert element.tag == f"{{{OAI_DC_NS}}}dc"
    assert dublin_core.serialize(element, dublin_core.PREFIXES) == dc_xml(RECORD, generalize_location=True)
    envelope = ET.Element("{http://www.openarchives.org/OAI/2.0/}metadata")
    envelope.append(element)
    assert b"<oai_dc:dc " in ET.tostring(envelope)


def test_text_xml_cannot_carry_is_replaced():
    rec = record(provenance="found\x00 in \x1b[31m 1850 & <later>\r\nmoved", culture="\x07")
    root = ET.fromstring(dc_xml(rec, generalize_location=False))
    sources = [c.text for c in root if c.tag == f"{{{DC_NS}}}source"]
    assert sources == ["found\ufffd in \ufffd[31m 1850 & <later>\r\nmoved"]
    assert [c.text for c in root if c.tag == f"{{{DC_NS}}}subject"] == ["stele", "cuneiform", "\ufffd"]


# ---------------------------------------------------------------- schema


def test_document_validates_against_the_oai_dc_schema():
    for rec in (RECORD, record(texts=[], keywords=[], files=[])):
        for generalize in (True, False):
            xsd.validate(dc_xml(rec, generalize_location=generalize), "oai_dc.xsd")
