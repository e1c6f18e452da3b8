"""PREMIS 3.0 of an object's files and events: lossless round trip, deterministic bytes, safe parsing."""

from __future__ import annotations

import io
import os
import random
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from preservation.packaging import premis
from preservation.packaging.premis import PREMIS_NS, EventRecord, FileEntity, parse_premis, premis_xml

OCFL_ID = "urn:heritage-archive:7K2M9QX4RT"
P = f"{{{PREMIS_NS}}}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
AGENT = "Heritage Archive 0.1.0; Django 5.2.8; Python 3.11.9"

ORIGINAL = FileEntity(
    uuid="0b7d3f8e-64a1-4c55-9a0e-2f4c1b9d7e10",
    filename="stele_front.jpg",
    original_name="Stèle — face avant (IMG_0042).JPG",
    size=4_812_332,
    sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    puid="fmt/43",
    format_name="JPEG File Interchange Format",
    mime="image/jpeg",
    role="original",
    content_path="v1/content/0b7d3f8e-64a1-4c55-9a0e-2f4c1b9d7e10/stele_front.jpg",
)
MASTER = FileEntity(
    uuid="5c1e9a2b-7d3f-4e8a-b6c0-1a2b3c4d5e6f",
    filename="stele_front.tif",
    original_name="stele_front.tif",
    size=120_004_096,
    sha256="2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
    puid="x-fmt/387",
    format_name="Tagged Image File Format",
    mime="image/tiff",
    role="master",
    derived_from=ORIGINAL.uuid,
    content_path="v1/content/5c1e9a2b-7d3f-4e8a-b6c0-1a2b3c4d5e6f/stele_front.tif",
)
MESH = FileEntity(
    uuid="a7f0c3d2-1b4e-4f6a-8c9d-0e1f2a3b4c5d",
    filename="scan.ply",
    original_name="scan.ply",
    size=77,
    sha256="fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9",
    puid="x-heritage/ply-ascii",
    format_name="Polygon File Format (ASCII)",
    mime="",
    role="preview",
    derived_from=ORIGINAL.uuid,
)
UNIDENTIFIED = FileEntity(
    uuid="e3b0c442-98fc-4c14-9afb-f4c8996fb924",
    filename="notes.bin",
    original_name="",
    size=0,
    sha256="",
    role="metadata",
)
FILES = [ORIGINAL, MASTER, MESH, UNIDENTIFIED]

PARIS = timezone(timedelta(hours=1))
NEW_YORK = timezone(timedelta(hours=-5))
KATHMANDU = timezone(timedelta(hours=5, minutes=45))
EVENTS = [
    EventRecord(
        id="3f1d9c1e-0a5b-4d3c-9e7f-1a2b3c4d5e60",
        event_type="ingestion",
        occurred_at=datetime(2026, 11, 1, 9, 0, 0, 123456, tzinfo=PARIS),
        agent=AGENT,
        outcome="success",
        detail="Reçu de la communauté « Mosul » : 3 fichiers.\nSecond line.\r\nCRLF line  ",
        asset="",
    ),
    EventRecord(
        id="4a2e8d2f-1b6c-4e4d-8f80-2b3c4d5e6f71",
        event_type="message digest calculation",
        occurred_at=datetime(2026, 11, 1, 9, 0, 0, 123457, tzinfo=PARIS),
        agent=AGENT,
        outcome="success",
        detail="sha256 9f86d081…",
        asset=ORIGINAL.uuid,
    ),
    EventRecord(
        id="5b3f7e30-2c7d-4f5e-9091-3c4d5e6f7082",
        event_type="normalization",
        occurred_at=datetime(2026, 11, 1, 3, 5, 7, 1, tzinfo=NEW_YORK),
        agent="Pillow 11.3.0",
        outcome="warning",
        detail="   leading spaces kept; مخطوطة الموصل; 🏺",
        asset=MASTER.uuid,
    ),
    EventRecord(
        id="6c406f41-3d8e-4061-a1a2-4d5e6f708193",
        event_type="replication",
        occurred_at=datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
        agent=AGENT,
        outcome="success",
        detail="",
        asset=MASTER.uuid,
        store="local-b",
    ),
    EventRecord(
        id="7d517052-4e9f-4172-b2b3-5e6f708192a4",
        event_type="publication",
        occurred_at=datetime(2026, 11, 2, 16, 30, 0, 999999, tzinfo=KATHMANDU),
        agent=AGENT,
        outcome="failure",
        detail="<not> & \"markup\" 'at' all",
        store="s3-ca",
    ),
    EventRecord(
        id="8e628163-5fa0-4283-83c4-6f708192a3b5",
        event_type="repair",
        occurred_at=datetime(2026, 11, 3, 0, 0, tzinfo=UTC),
        agent="rclone v1.68.2",
        outcome="success",
        detail="restored from local-a",
        asset="9a9a9a9a-0000-4000-8000-000000000000",  # a file no longer in the object
        store="local-b",
    ),
]


def chronological(events: list[EventRecord]) -> list[EventRecord]:
    return sorted(events, key=lambda e: (e.occurred_at, e.id))


def root_of(data: bytes) -> ET.Element:
    return ET.fromstring(data)


# ---------------------------------------------------------------- round trip


def test_every_field_survives_the_round_trip():
    files, events = parse_premis(premis_xml(OCFL_ID, FILES, EVENTS))

    assert files == FILES
    assert events == chronological(EVENTS)
    for parsed, original in zip(events, chronological(EVENTS), strict=True):
        assert parsed.occurred_at.utcoffset() == original.occurred_at.utcoffset()
        assert parsed.occurred_at.microsecond == original.occurred_at.microsecond


def test_parsed_datetimes_are_aware_and_keep_their_offset():
    _, events = parse_premis(premis_xml(OCFL_ID, [], EVENTS))
    by_id = {e.id: e for e in events}
    normalization = by_id["5b3f7e30-2c7d-4f5e-9091-3c4d5e6f7082"].occurred_at
    assert normalization.tzinfo is not None
    assert normalization.utcoffset() == timedelta(hours=-5)
    assert normalization == datetime(2026, 11, 1, 8, 5, 7, 1, tzinfo=UTC)


def test_round_trip_with_zoneinfo_and_utc():
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 3, 29, 1, 59, 59, 500000, tzinfo=ZoneInfo("Europe/Paris"))
    event = EventRecord(str(uuid.uuid4()), "fixity check", moment, AGENT, "success")
    (parsed,) = parse_premis(premis_xml(OCFL_ID, [], [event]))[1]
    assert parsed.occurred_at == moment
    assert parsed.occurred_at.utcoffset() == moment.utcoffset()


def test_no_files_and_no_events():
    data = premis_xml(OCFL_ID, [], [])
    assert parse_premis(data) == ([], [])
    objects = root_of(data).findall(P + "object")
    assert [o.get(XSI_TYPE) for o in objects] == ["premis:intellectualEntity"]


def test_events_are_written_in_chronological_order_whatever_the_input_order():
    shuffled = EVENTS[:]
    random.Random(7).shuffle(shuffled)
    data = premis_xml(OCFL_ID, FILES, shuffled)
    assert data == premis_xml(OCFL_ID, FILES, list(reversed(EVENTS)))
    ids = [e.findtext(f"{P}eventIdentifier/{P}eventIdentifierValue") for e in root_of(data).findall(P + "event")]
    assert ids == [e.id for e in chronological(EVENTS)]


def test_same_instant_is_ordered_by_id():
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    same_instant_other_offset = moment.astimezone(PARIS)
    b = EventRecord("bbbb", "validation", moment, AGENT, "success")
    a = EventRecord("aaaa", "validation", same_instant_other_offset, AGENT, "success")
    _, events = parse_premis(premis_xml(OCFL_ID, [], [b, a]))
    assert [e.id for e in events] == ["aaaa", "bbbb"]


# ---------------------------------------------------------------- determinism and shape


def test_output_is_deterministic_utf8_with_declaration():
    first = premis_xml(OCFL_ID, FILES, EVENTS)
    assert first == premis_xml(OCFL_ID, list(FILES), list(EVENTS))
    assert first.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<premis:premis ")
    assert first.endswith(b"</premis:premis>\n")
    assert "Stèle — face avant".encode() in first
    assert b"\n    <premis:objectIdentifier>\n" in first  # pretty-printed


def test_root_and_intellectual_entity():
    root = root_of(premis_xml(OCFL_ID, FILES, EVENTS))
    assert root.tag == P + "premis"
    assert root.get("version") == "3.0"
    entity = root.find(P + "object")
    assert entity.get(XSI_TYPE) == "premis:intellectualEntity"
    assert entity.findtext(f"{P}objectIdentifier/{P}objectIdentifierType") == "OCFL"
    assert entity.findtext(f"{P}objectIdentifier/{P}objectIdentifierValue") == OCFL_ID
    included = entity.findall(f"{P}relationship/{P}relatedObjectIdentifier")
    assert [r.findtext(P + "relatedObjectIdentifierValue") for r in included] == [f.uuid for f in FILES]
    assert [r.findtext(P + "relatedObjectSequence") for r in included] == ["1", "2", "3", "4"]
    object_level = [e.id for e in EVENTS if not e.asset]
    linked = [v.text for v in entity.iter(P + "linkingEventIdentifierValue")]
    assert sorted(linked) == sorted(object_level)


def _file_element(root: ET.Element, file_uuid: str) -> ET.Element:
    for obj in root.findall(P + "object"):
        if obj.findtext(f"{P}objectIdentifier/{P}objectIdentifierValue") == file_uuid:
            return obj
    raise AssertionError(f"no object {file_uuid}")


def test_file_object_carries_fixity_size_format_and_storage():
    root = root_of(premis_xml(OCFL_ID, FILES, EVENTS))
    obj = _file_element(root, ORIGINAL.uuid)
    assert obj.get(XSI_TYPE) == "premis:file"
    assert obj.findtext(f"{P}objectIdentifier/{P}objectIdentifierType") == "UUID"
    characteristics = obj.find(P + "objectCharacteristics")
    assert characteristics.findtext(P + "compositionLevel") == "0"
    assert characteristics.findtext(f"{P}fixity/{P}messageDigestAlgorithm") == "SHA-256"
    assert characteristics.findtext(f"{P}fixity/{P}messageDigest") == ORIGINAL.sha256
    assert characteristics.findtext(P + "size") == str(ORIGINAL.size)
    registry = characteristics.find(f"{P}format/{P}formatRegistry")
    assert registry.findtext(P + "formatRegistryName") == "PRONOM"
    assert registry.findtext(P + "formatRegistryKey") == "fmt/43"
    assert obj.findtext(P + "originalName") == ORIGINAL.original_name
    assert obj.findtext(f"{P}storage/{P}contentLocation/{P}contentLocationValue") == ORIGINAL.content_path
    properties = {
        p.findtext(P + "significantPropertiesType"): p.findtext(P + "significantPropertiesValue")
        for p in obj.findall(P + "significantProperties")
    }
    assert properties == {"role": "original", "filename": "stele_front.jpg"}
    linked = [v.text for v in obj.iter(P + "linkingEventIdentifierValue")]
    assert linked == [e.id for e in chronological(EVENTS) if e.asset == ORIGINAL.uuid]


def test_derived_file_has_a_derivation_relationship():
    obj = _file_element(root_of(premis_xml(OCFL_ID, FILES, [])), MASTER.uuid)
    relationship = obj.find(P + "relationship")
    assert relationship.findtext(P + "relationshipType") == "derivation"
    assert relationship.findtext(P + "relationshipSubType") == "has source"
    assert relationship.findtext(f"{P}relatedObjectIdentifier/{P}relatedObjectIdentifierValue") == ORIGINAL.uuid


@pytest.mark.parametrize(
    ("puid", "registry"),
    [("fmt/43", True), ("x-fmt/387", True), ("x-heritage/ply-ascii", False), ("fmt/", False), ("", False)],
)
def test_format_registry_only_for_real_pronom_ids(puid, registry):
    entity = replace(ORIGINAL, puid=puid)
    obj = _file_element(root_of(premis_xml(OCFL_ID, [entity], [])), entity.uuid)
    assert (obj.find(f".//{P}formatRegistry") is not None) == registry
    local = [n.text for n in obj.iter(P + "formatName") if n.get("authority") == premis.LOCAL_FORMAT_AUTHORITY]
    assert local == ([] if registry or not puid else [puid])
    assert parse_premis(premis_xml(OCFL_ID, [entity], []))[0] == [entity]


def test_unidentified_file_still_has_the_required_format_element():
    obj = _file_element(root_of(premis_xml(OCFL_ID, [UNIDENTIFIED], [])), UNIDENTIFIED.uuid)
    assert obj.findall(f"{P}objectCharacteristics/{P}format")
    assert obj.find(P + "originalName") is None
    assert obj.find(f"{P}objectCharacteristics/{P}fixity") is None


@pytest.mark.parametrize(("event_type", "code"), sorted(premis.LOC_EVENT_TYPES.items()))
def test_event_types_carry_the_loc_value_uri(event_type, code):
    event = EventRecord(str(uuid.uuid4()), event_type, datetime(2026, 1, 1, tzinfo=UTC), AGENT, "success")
    element = root_of(premis_xml(OCFL_ID, [], [event])).find(f"{P}event/{P}eventType")
    assert element.text == event_type
    assert element.get("valueURI") == f"http://id.loc.gov/vocabulary/preservation/eventType/{code}"


@pytest.mark.parametrize("event_type", ["repair", "publication", "something new"])
def test_event_types_without_a_loc_term_have_no_value_uri(event_type):
    event = EventRecord(str(uuid.uuid4()), event_type, datetime(2026, 1, 1, tzinfo=UTC), AGENT, "success")
    element = root_of(premis_xml(OCFL_ID, [], [event])).find(f"{P}event/{P}eventType")
    assert element.text == event_type
    assert element.get("valueURI") is None
    assert parse_premis(premis_xml(OCFL_ID, [], [event]))[1] == [event]


def test_every_model_event_type_is_mapped_or_knowingly_left_out():
    from preservation.models import PreservationEvent

    model_types = {value for value, _ in PreservationEvent.Type.choices}
    assert model_types - set(premis.LOC_EVENT_TYPES) == {"repair", "publication"}


def test_event_links_agents_and_objects():
    root = root_of(premis_xml(OCFL_ID, FILES, EVENTS))
    by_id = {e.findtext(f"{P}eventIdentifier/{P}eventIdentifierValue"): e for e in root.findall(P + "event")}
    replication = by_id["6c406f41-3d8e-4061-a1a2-4d5e6f708193"]
    links = [
        (
            link.findtext(P + "linkingAgentIdentifierType"),
            link.findtext(P + "linkingAgentIdentifierValue"),
            link.findtext(P + "linkingAgentRole"),
        )
        for link in replication.findall(P + "linkingAgentIdentifier")
    ]
    assert links == [
        ("UUID", premis.agent_identifier(AGENT), "executing program"),
        ("heritage-archive-store", "local-b", "storage location"),
    ]
    assert replication.findtext(f"{P}linkingObjectIdentifier/{P}linkingObjectIdentifierValue") == MASTER.uuid
    ingestion = by_id["3f1d9c1e-0a5b-4d3c-9e7f-1a2b3c4d5e60"]
    assert ingestion.findtext(f"{P}linkingObjectIdentifier/{P}linkingObjectIdentifierType") == "OCFL"
    assert ingestion.findtext(f"{P}linkingObjectIdentifier/{P}linkingObjectIdentifierValue") == OCFL_ID


def test_one_agent_per_distinct_software_and_store():
    root = root_of(premis_xml(OCFL_ID, FILES, EVENTS))
    agents = [
        (
            a.findtext(f"{P}agentIdentifier/{P}agentIdentifierType"),
            a.findtext(f"{P}agentIdentifier/{P}agentIdentifierValue"),
            a.findtext(P + "agentName"),
            a.findtext(P + "agentType"),
        )
        for a in root.findall(P + "agent")
    ]
    software = [(t, v, n) for t, v, n, kind in agents if kind == "software"]
    stores = [(t, v, n) for t, v, n, kind in agents if kind == "storage service"]
    assert len(agents) == len(software) + len(stores)
    assert sorted(n for _, _, n in software) == sorted({e.agent for e in EVENTS})
    assert all(t == "UUID" and v == premis.agent_identifier(n) for t, v, n in software)
    assert sorted(stores) == [("heritage-archive-store", s, s) for s in ("local-b", "s3-ca")]


def test_agent_identifiers_are_stable_uuid5s():
    # Changing AGENT_NAMESPACE would give every agent of every stored premis.xml a new identifier.
    assert premis.agent_identifier("Pillow 11.3.0") == "3987bf7d-e8d8-5b92-b855-01c26ff89fba"
    assert premis.agent_identifier("Pillow 11.3.0") == str(uuid.uuid5(premis.AGENT_NAMESPACE, "Pillow 11.3.0"))


# ---------------------------------------------------------------- odd text


def test_control_characters_are_replaced_not_fatal():
    nasty = "a\x00b\x01\x08c\x0b\x0c\x0e\x1f\x7fd\ud800e\ufffe\uffff f\tg\nh\ri"
    expected = "a\ufffdb\ufffd\ufffdc\ufffd\ufffd\ufffd\ufffd\x7fd\ufffde\ufffd\ufffd f\tg\nh\ri"
    assert premis.xml_safe_text(nasty) == expected
    entity = replace(ORIGINAL, original_name=nasty, filename="x\x00.jpg")
    event = replace(EVENTS[0], detail=nasty, agent=f"tool\x07 {nasty}", store="store\x01")
    files, events = parse_premis(premis_xml(OCFL_ID, [entity], [event]))
    assert files == [replace(entity, original_name=expected, filename="x\ufffd.jpg")]
    assert events == [replace(event, detail=expected, agent=f"tool\ufffd {expected}", store="store\ufffd")]


def test_naive_datetime_is_refused():
    event = replace(EVENTS[0], occurred_at=datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        premis_xml(OCFL_ID, [], [event])


# ---------------------------------------------------------------- parsing untrusted input


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not xml at all",
        b"<premis",
        b'{"json": true}',
        b"<?xml version='1.0'?><html><body>hi</body></html>",
        b'<premis xmlns="info:lc/xmlns/premis-v2" version="2.2"><object/></premis>',
        f'<premis xmlns="{PREMIS_NS}" version="2.2"></premis>'.encode(),
        f'<event xmlns="{PREMIS_NS}"/>'.encode(),
        f'<premis:premis xmlns:premis="{PREMIS_NS}" version="3.0"><premis:event/></premis:premis>'.encode(),
        f'<premis xmlns="{PREMIS_NS}" version="3.0"><object type="file"/></premis>'.encode(),
    ],
)
def test_non_premis_input_is_rejected(data):
    with pytest.raises(ValueError):
        parse_premis(data)


def test_external_entity_is_never_read(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    declaration = "<?xml version='1.0' encoding='UTF-8'?>\n"
    doctype = f'<!DOCTYPE premis:premis [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
    document = premis_xml(OCFL_ID, [], [EVENTS[0]]).decode()
    document = document.replace(declaration, declaration + doctype).replace("Second line.", "&xxe;")
    assert "&xxe;" in document and doctype in document
    with pytest.raises(ValueError, match="DOCTYPE") as caught:
        parse_premis(document.encode())
    assert "TOP-SECRET-MARKER" not in str(caught.value)


def test_entity_expansion_bomb_is_refused():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
        + f']><premis xmlns="{PREMIS_NS}" version="3.0">&lol9;</premis>'
    )
    with pytest.raises(ValueError):
        parse_premis(bomb.encode())


def test_event_linking_to_an_undefined_agent_is_rejected():
    data = premis_xml(OCFL_ID, [], [EVENTS[0]])
    without_agents = data.split(b"  <premis:agent>")[0] + b"</premis:premis>\n"
    with pytest.raises(ValueError, match="agent"):
        parse_premis(without_agents)


def test_any_namespace_prefix_is_understood():
    data = premis_xml(OCFL_ID, FILES, EVENTS).replace(b"premis:", b"p3:").replace(b"xmlns:premis=", b"xmlns:p3=")
    assert parse_premis(data) == (FILES, chronological(EVENTS))


def test_object_of_another_xsi_type_namespace_is_rejected():
    data = premis_xml(OCFL_ID, [ORIGINAL], []).replace(b'xsi:type="premis:file"', b'xsi:type="xsi:file"')
    with pytest.raises(ValueError, match="xsi:type"):
        parse_premis(data)


def test_a_thousand_events_round_trip():
    start = datetime(2020, 1, 1, tzinfo=UTC)
    events = [
        EventRecord(
            id=str(uuid.UUID(int=i)),
            event_type="fixity check",
            occurred_at=start + timedelta(hours=i, microseconds=i),
            agent=f"Heritage Archive 0.1.{i % 3}",
            outcome="success",
            detail=f"audit {i}",
            asset=ORIGINAL.uuid if i % 2 else "",
            store="local-a" if i % 5 == 0 else "",
        )
        for i in range(1000)
    ]
    data = premis_xml(OCFL_ID, FILES, events)
    files, parsed = parse_premis(data)
    assert files == FILES
    assert parsed == events
    assert len(root_of(data).findall(P + "agent")) == 4


# ---------------------------------------------------------------- schema conformance

# Child order of every element we write, as the PREMIS 3.0 schema (premis-v3-0.xsd) sequences them;
# elements we never write are still listed where they sit, so the check is about order only.
SEQUENCES = {
    "premis": ["object", "event", "agent", "rights"],
    "object:file": [
        "objectIdentifier",
        "preservationLevel",
        "significantProperties",
        "objectCharacteristics",
        "originalName",
        "storage",
        "signatureInformation",
        "relationship",
        "linkingEventIdentifier",
        "linkingRightsStatementIdentifier",
    ],
    "object:intellectualEntity": [
        "objectIdentifier",
        "preservationLevel",
        "significantProperties",
        "originalName",
        "environmentFunction",
        "environmentDesignation",
        "environmentRegistry",
        "environmentExtension",
        "relationship",
        "linkingEventIdentifier",
        "linkingRightsStatementIdentifier",
    ],
    "objectIdentifier": ["objectIdentifierType", "objectIdentifierValue"],
    "significantProperties": ["significantPropertiesType", "significantPropertiesValue"],
    "objectCharacteristics": [
        "compositionLevel",
        "fixity",
        "size",
        "format",
        "creatingApplication",
        "inhibitors",
        "objectCharacteristicsExtension",
    ],
    "fixity": ["messageDigestAlgorithm", "messageDigest", "messageDigestOriginator"],
    "format": ["formatDesignation", "formatRegistry", "formatNote"],
    "formatDesignation": ["formatName", "formatVersion"],
    "formatRegistry": ["formatRegistryName", "formatRegistryKey", "formatRegistryRole"],
    "storage": ["contentLocation", "storageMedium"],
    "contentLocation": ["contentLocationType", "contentLocationValue"],
    "relationship": [
        "relationshipType",
        "relationshipSubType",
        "relatedObjectIdentifier",
        "relatedEventIdentifier",
        "relatedEnvironmentPurpose",
        "relatedEnvironmentCharacteristic",
    ],
    "relatedObjectIdentifier": ["relatedObjectIdentifierType", "relatedObjectIdentifierValue", "relatedObjectSequence"],
    "linkingEventIdentifier": ["linkingEventIdentifierType", "linkingEventIdentifierValue"],
    "event": [
        "eventIdentifier",
        "eventType",
        "eventDateTime",
        "eventDetailInformation",
        "eventOutcomeInformation",
        "linkingAgentIdentifier",
        "linkingObjectIdentifier",
    ],
    "eventIdentifier": ["eventIdentifierType", "eventIdentifierValue"],
    "eventDetailInformation": ["eventDetail", "eventDetailExtension"],
    "eventOutcomeInformation": ["eventOutcome", "eventOutcomeDetail"],
    "linkingAgentIdentifier": ["linkingAgentIdentifierType", "linkingAgentIdentifierValue", "linkingAgentRole"],
    "linkingObjectIdentifier": ["linkingObjectIdentifierType", "linkingObjectIdentifierValue", "linkingObjectRole"],
    "agent": [
        "agentIdentifier",
        "agentName",
        "agentType",
        "agentVersion",
        "agentNote",
        "agentExtension",
        "linkingEventIdentifier",
        "linkingRightsStatementIdentifier",
        "linkingEnvironmentIdentifier",
    ],
    "agentIdentifier": ["agentIdentifierType", "agentIdentifierValue"],
}
REQUIRED = {
    "premis": {"object"},
    "object:file": {"objectIdentifier", "objectCharacteristics"},
    "object:intellectualEntity": {"objectIdentifier"},
    "objectCharacteristics": {"format"},
    "fixity": {"messageDigestAlgorithm", "messageDigest"},
    "event": {"eventIdentifier", "eventType", "eventDateTime"},
    "agent": {"agentIdentifier"},
    "relationship": {"relationshipType", "relationshipSubType", "relatedObjectIdentifier"},
}
NON_REPEATABLE = {"originalName", "compositionLevel", "size", "eventType", "eventDateTime", "eventIdentifier"}


def check_schema_order(element: ET.Element) -> None:
    assert element.tag.startswith(P), element.tag
    name = element.tag[len(P) :]
    if name == "object":
        name = "object:" + element.get(XSI_TYPE, "").removeprefix("premis:")
    children = [child.tag[len(P) :] for child in element]
    if name not in SEQUENCES:
        assert not children, f"{name} has children {children} but no known sequence"
        return
    order = SEQUENCES[name]
    positions = [order.index(child) for child in children]  # ValueError: not allowed here
    assert positions == sorted(positions), f"{name}: children out of schema order: {children}"
    assert REQUIRED.get(name, set()) <= set(children), f"{name}: missing {REQUIRED[name] - set(children)}"
    for child in NON_REPEATABLE:
        assert children.count(child) <= 1, f"{name}: {child} repeated"
    for child in element:
        check_schema_order(child)


def test_document_follows_the_premis_schema_sequences():
    check_schema_order(root_of(premis_xml(OCFL_ID, FILES, EVENTS)))
    check_schema_order(root_of(premis_xml(OCFL_ID, [], [])))


def _premis_xsd() -> Path:
    """The official PREMIS 3.0 schema as shipped inside the eulxml wheel (a test dependency); never fetched."""
    folder = os.environ.get("HERITAGE_XSD_DIR")
    if folder:
        return Path(folder) / "premis-v3-0.xsd"
    import eulxml

    return Path(eulxml.__file__).parent / "schema_data" / "premis.xsd"


def test_document_validates_against_the_official_premis_schema():
    import xmlschema

    schema_file = _premis_xsd()
    assert "http://www.loc.gov/premis/v3" in schema_file.read_text(encoding="utf-8")[:3000]
    # premis-v3-0.xsd imports nothing; allow="local" refuses any remote resource (no network).
    schema = xmlschema.XMLSchema(str(schema_file), allow="local")
    for data in (premis_xml(OCFL_ID, FILES, EVENTS), premis_xml(OCFL_ID, [], [])):
        schema.validate(io.BytesIO(data))  # raw bytes, so xsi:type prefixes resolve
