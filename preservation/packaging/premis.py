"""PREMIS 3.0 XML of an object's files and preservation events, and parsing it back.

Pure functions and dataclasses (no Django). Each OCFL version carries ``metadata/premis.xml`` built by
:func:`premis_xml`; a disaster recovery reads it back with :func:`parse_premis`, so every field of
:class:`FileEntity` and :class:`EventRecord` survives the round trip.

Document layout (element order follows the sequences of the PREMIS 3.0 schema, premis-v3-0.xsd)::

    premis:premis version="3.0"
      premis:object xsi:type="premis:intellectualEntity"   the OCFL object
        objectIdentifier (type "OCFL", value the OCFL id)
        relationship structural / "includes" -> every file UUID, with relatedObjectSequence
        linkingEventIdentifier for every object-level event
      premis:object xsi:type="premis:file"                 one per FileEntity, in the order given
        objectIdentifier (type "UUID")
        significantProperties "role" -> role, "filename" -> sanitized file name
        objectCharacteristics
          compositionLevel 0, fixity (SHA-256), size
          format: formatDesignation/formatName (no authority) = format_name, and formatRegistry
                  PRONOM = puid when the puid is a PRONOM id (fmt/..., x-fmt/...)
          format: formatDesignation/formatName authority="heritage-archive" = a local (non-PRONOM) key
          format: formatDesignation/formatName authority="IANA" = MIME type
          (a file with none of the three gets one format with an empty formatName, as the schema
          requires a format: it reads back as "no format")
        originalName, storage/contentLocation (type "OCFL content path")
        relationship derivation / "has source" -> derived_from UUID
        linkingEventIdentifier for every event about this file
      premis:event                                         chronological (then by id)
        eventIdentifier (type "UUID"), eventType (valueURI from the Library of Congress vocabulary
        http://id.loc.gov/vocabulary/preservation/eventType where a term exists), eventDateTime
        (ISO 8601 with offset and microseconds), eventDetailInformation/eventDetail,
        eventOutcomeInformation/eventOutcome, linkingAgentIdentifier for the software ("executing
        program") and, for a replica, the store ("storage location"), linkingObjectIdentifier to the
        file (type "UUID") or else to the intellectual entity (type "OCFL")
      premis:agent                                         in order of first use
        software: agentIdentifier type "UUID", a UUID 5 of the agent string (so identical input gives
        identical bytes), agentName = the agent string, agentType "software"
        store: agentIdentifier type "heritage-archive-store", value the store name, agentName the
        same, agentType "storage service"

Text that XML 1.0 cannot carry (C0 controls other than tab, newline and carriage return, lone
surrogates, U+FFFE and U+FFFF) is replaced by U+FFFD REPLACEMENT CHARACTER on the way out; the round
trip is exact for every other character. Leading and trailing whitespace is kept.
"""

from __future__ import annotations

import copy
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from xml.parsers import expat

PREMIS_NS = "http://www.loc.gov/premis/v3"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
PREMIS_VERSION = "3.0"
SCHEMA_LOCATION = f"{PREMIS_NS} http://www.loc.gov/standards/premis/v3/premis-v3-0.xsd"

OBJECT_ID_TYPE = "OCFL"
UUID_TYPE = "UUID"
STORE_ID_TYPE = "heritage-archive-store"
LOCAL_FORMAT_AUTHORITY = "heritage-archive"
MIME_AUTHORITY = "IANA"
MIME_AUTHORITY_URI = "https://www.iana.org/assignments/media-types/"
CONTENT_LOCATION_TYPE = "OCFL content path"
DIGEST_ALGORITHM = "SHA-256"
PRONOM = "PRONOM"
ROLE_PROPERTY = "role"
FILENAME_PROPERTY = "filename"
EXECUTING_PROGRAM = "executing program"
STORAGE_LOCATION = "storage location"
SOFTWARE = "software"
STORAGE_SERVICE = "storage service"

# Never change: software agent identifiers are uuid5(AGENT_NAMESPACE, agent string).
AGENT_NAMESPACE = uuid.UUID("83e4dcd3-c760-472b-b21f-0e31aebf6afc")

LOC_PRESERVATION = "http://id.loc.gov/vocabulary/preservation"
EVENT_TYPE_AUTHORITY_URI = f"{LOC_PRESERVATION}/eventType"
# Our event types -> code in the LoC preservation event type vocabulary. "repair" and "publication"
# have no term there, so they are written as plain text.
LOC_EVENT_TYPES = {
    "ingestion": "ing",
    "message digest calculation": "mes",
    "format identification": "for",
    "validation": "val",
    "normalization": "nor",
    "creation": "cre",
    "metadata extraction": "mee",
    "replication": "rep",
    "fixity check": "fix",
    "quarantine": "qua",
    "deletion": "del",
    "metadata modification": "mem",
    "accession": "acc",
    "dissemination": "dis",
}
AGENT_ROLE_AUTHORITY_URI = f"{LOC_PRESERVATION}/eventRelatedAgentRole"
AGENT_TYPE_AUTHORITY_URI = f"{LOC_PRESERVATION}/agentType"

_PRONOM_PUID = re.compile(r"^(x-)?fmt/\d+$")
# Everything XML 1.0 cannot carry (https://www.w3.org/TR/xml/#charsets).
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_P = f"{{{PREMIS_NS}}}"
_XSI_TYPE = f"{{{XSI_NS}}}type"


@dataclass(frozen=True)
class FileEntity:
    """One file (asset) of the object."""

    uuid: str
    filename: str
    original_name: str
    size: int
    sha256: str
    puid: str = ""  # PRONOM PUID ("fmt/43") or a local key ("x-heritage/ply-ascii")
    format_name: str = ""
    mime: str = ""
    role: str = "original"
    derived_from: str = ""  # UUID of the source file, "" for none
    content_path: str = ""  # OCFL content path, "" if not packaged


@dataclass(frozen=True)
class EventRecord:
    """One preservation event."""

    id: str
    event_type: str
    occurred_at: datetime  # timezone-aware
    agent: str
    outcome: str
    detail: str = ""
    asset: str = ""  # UUID of the file concerned, "" for object-level events
    store: str = ""  # replica store name, "" for none


def xml_safe_text(value: str) -> str:
    """``value`` with every character XML 1.0 cannot carry replaced by U+FFFD."""
    return _NOT_XML_CHAR.sub("\ufffd", value)


def is_pronom_puid(puid: str) -> bool:
    """True for real PRONOM identifiers (fmt/NNN, x-fmt/NNN), False for local keys."""
    return bool(_PRONOM_PUID.match(puid))


def agent_identifier(agent: str) -> str:
    """The deterministic identifier (a UUID 5) written for a software agent."""
    return str(uuid.uuid5(AGENT_NAMESPACE, xml_safe_text(agent)))


# ---------------------------------------------------------------- writing


def _el(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, _P + name)
    for key, value in attrs.items():
        element.set(key, value)
    if text is not None:
        element.text = xml_safe_text(text)
    return element


def _identifier(parent: ET.Element, name: str, id_type: str, value: str) -> ET.Element:
    """``<name><nameType>..</nameType><nameValue>..</nameValue></name>`` (objectIdentifier etc.)."""
    element = _el(parent, name)
    _el(element, f"{name}Type", id_type)
    _el(element, f"{name}Value", value)
    return element


def _check_aware(event: EventRecord) -> None:
    if event.occurred_at.tzinfo is None or event.occurred_at.utcoffset() is None:
        raise ValueError(f"event {event.id}: occurred_at must be timezone-aware, got {event.occurred_at!r}")


def _event_type(parent: ET.Element, event_type: str) -> None:
    code = LOC_EVENT_TYPES.get(event_type)
    if code is None:
        _el(parent, "eventType", event_type)
    else:
        _el(
            parent,
            "eventType",
            event_type,
            authority="eventType",
            authorityURI=EVENT_TYPE_AUTHORITY_URI,
            valueURI=f"{EVENT_TYPE_AUTHORITY_URI}/{code}",
        )


def _formats(characteristics: ET.Element, entity: FileEntity) -> None:
    pronom = is_pronom_puid(entity.puid)
    written = False
    if entity.format_name or pronom:
        fmt = _el(characteristics, "format")
        if entity.format_name:
            _el(_el(fmt, "formatDesignation"), "formatName", entity.format_name)
        if pronom:
            registry = _el(fmt, "formatRegistry")
            _el(registry, "formatRegistryName", PRONOM)
            _el(registry, "formatRegistryKey", entity.puid)
            _el(registry, "formatRegistryRole", "specification")
        written = True
    if entity.puid and not pronom:
        fmt = _el(characteristics, "format")
        _el(_el(fmt, "formatDesignation"), "formatName", entity.puid, authority=LOCAL_FORMAT_AUTHORITY)
        written = True
    if entity.mime:
        fmt = _el(characteristics, "format")
        designation = _el(fmt, "formatDesignation")
        _el(designation, "formatName", entity.mime, authority=MIME_AUTHORITY, authorityURI=MIME_AUTHORITY_URI)
        written = True
    if not written:
        fmt = _el(characteristics, "format")
        _el(_el(fmt, "formatDesignation"), "formatName", "")
        _el(fmt, "formatNote", "format not identified")


def _file_object(root: ET.Element, entity: FileEntity, event_ids: Iterable[str]) -> None:
    obj = _el(root, "object")
    obj.set(_XSI_TYPE, "premis:file")
    _identifier(obj, "objectIdentifier", UUID_TYPE, entity.uuid)
    for prop, value in ((ROLE_PROPERTY, entity.role), (FILENAME_PROPERTY, entity.filename)):
        significant = _el(obj, "significantProperties")
        _el(significant, "significantPropertiesType", prop)
        _el(significant, "significantPropertiesValue", value)
    characteristics = _el(obj, "objectCharacteristics")
    _el(characteristics, "compositionLevel", "0")
    if entity.sha256:
        fixity = _el(characteristics, "fixity")
        _el(fixity, "messageDigestAlgorithm", DIGEST_ALGORITHM)
        _el(fixity, "messageDigest", entity.sha256)
    _el(characteristics, "size", str(int(entity.size)))
    _formats(characteristics, entity)
    if entity.original_name:
        _el(obj, "originalName", entity.original_name)
    if entity.content_path:
        storage = _el(obj, "storage")
        _identifier(storage, "contentLocation", CONTENT_LOCATION_TYPE, entity.content_path)
    if entity.derived_from:
        relationship = _el(obj, "relationship")
        _el(relationship, "relationshipType", "derivation")
        _el(relationship, "relationshipSubType", "has source")
        _identifier(relationship, "relatedObjectIdentifier", UUID_TYPE, entity.derived_from)
    for event_id in event_ids:
        _identifier(obj, "linkingEventIdentifier", UUID_TYPE, event_id)


def _entity_object(root: ET.Element, ocfl_id: str, files: list[FileEntity], event_ids: Iterable[str]) -> None:
    obj = _el(root, "object")
    obj.set(_XSI_TYPE, "premis:intellectualEntity")
    _identifier(obj, "objectIdentifier", OBJECT_ID_TYPE, ocfl_id)
    if files:
        relationship = _el(obj, "relationship")
        _el(relationship, "relationshipType", "structural")
        _el(relationship, "relationshipSubType", "includes")
        for sequence, entity in enumerate(files, start=1):
            related = _identifier(relationship, "relatedObjectIdentifier", UUID_TYPE, entity.uuid)
            _el(related, "relatedObjectSequence", str(sequence))
    for event_id in event_ids:
        _identifier(obj, "linkingEventIdentifier", UUID_TYPE, event_id)


def _event(root: ET.Element, ocfl_id: str, event: EventRecord) -> None:
    element = _el(root, "event")
    _identifier(element, "eventIdentifier", UUID_TYPE, event.id)
    _event_type(element, event.event_type)
    _el(element, "eventDateTime", event.occurred_at.isoformat())
    if event.detail:
        _el(_el(element, "eventDetailInformation"), "eventDetail", event.detail)
    _el(_el(element, "eventOutcomeInformation"), "eventOutcome", event.outcome)
    agent = _identifier(element, "linkingAgentIdentifier", UUID_TYPE, agent_identifier(event.agent))
    _el(
        agent,
        "linkingAgentRole",
        EXECUTING_PROGRAM,
        authority="eventRelatedAgentRole",
        authorityURI=AGENT_ROLE_AUTHORITY_URI,
        valueURI=f"{AGENT_ROLE_AUTHORITY_URI}/exe",
    )
    if event.store:
        store = _identifier(element, "linkingAgentIdentifier", STORE_ID_TYPE, event.store)
        _el(store, "linkingAgentRole", STORAGE_LOCATION)
    if event.asset:
        _identifier(element, "linkingObjectIdentifier", UUID_TYPE, event.asset)
    else:
        _identifier(element, "linkingObjectIdentifier", OBJECT_ID_TYPE, ocfl_id)


def _agent(root: ET.Element, kind: str, name: str) -> None:
    element = _el(root, "agent")
    if kind == SOFTWARE:
        _identifier(element, "agentIdentifier", UUID_TYPE, agent_identifier(name))
        _el(element, "agentName", name)
        _el(
            element,
            "agentType",
            SOFTWARE,
            authority="agentType",
            authorityURI=AGENT_TYPE_AUTHORITY_URI,
            valueURI=f"{AGENT_TYPE_AUTHORITY_URI}/sof",
        )
    else:
        _identifier(element, "agentIdentifier", STORE_ID_TYPE, name)
        _el(element, "agentName", name)
        _el(element, "agentType", STORAGE_SERVICE)


def premis_xml(ocfl_id: str, files: list[FileEntity], events: list[EventRecord]) -> bytes:
    """The PREMIS 3.0 document (UTF-8, pretty-printed) of an OCFL object, its files and events.

    Files keep the order given; events are written in chronological order (ties by id). The same
    input always gives the same bytes. Raises ValueError for an event without a timezone.
    """
    for event in events:
        _check_aware(event)
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.id))
    by_asset: dict[str, list[str]] = {}
    for event in ordered:
        by_asset.setdefault(event.asset, []).append(event.id)

    root = ET.Element(_P + "premis")
    root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
    root.set("version", PREMIS_VERSION)
    _entity_object(root, ocfl_id, files, by_asset.get("", []))
    for entity in files:
        _file_object(root, entity, by_asset.get(entity.uuid, []) if entity.uuid else [])
    agents: dict[tuple[str, str], None] = {}
    for event in ordered:
        _event(root, ocfl_id, event)
        agents.setdefault((SOFTWARE, xml_safe_text(event.agent)), None)
        if event.store:
            agents.setdefault((STORAGE_SERVICE, xml_safe_text(event.store)), None)
    for kind, name in agents:
        _agent(root, kind, name)
    return serialize(root, {"premis": PREMIS_NS, "xsi": XSI_NS})


def serialize(root: ET.Element, prefixes: dict[str, str]) -> bytes:
    """UTF-8 bytes with XML declaration, indented by two spaces, ending in a newline.

    ``prefixes`` are (re)registered with ElementTree first, so QName values such as xsi:type="premis:file"
    match the declarations. Carriage returns in text are written as ``&#13;`` (ElementTree leaves them
    raw, and a parser would turn them into newlines), so text round-trips exactly.
    """
    for prefix, uri in prefixes.items():
        ET.register_namespace(prefix, uri)
    tree = ET.ElementTree(copy.deepcopy(root))
    ET.indent(tree, space="  ")
    data = ET.tostring(tree.getroot(), encoding="UTF-8", xml_declaration=True)
    return data.replace(b"\r", b"&#13;") + b"\n"


# ---------------------------------------------------------------- reading


class _SafeTreeBuilder:
    """Builds an ElementTree from expat events, refusing any DOCTYPE (so no entity is ever declared,
    expanded or fetched) and resolving xsi:type QNames to Clark notation ("{namespace}local")."""

    def __init__(self) -> None:
        self.builder = ET.TreeBuilder()
        self.scopes: dict[str | None, list[str]] = {}
        self.parser = expat.ParserCreate(namespace_separator="}")
        self.parser.buffer_text = True
        self.parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.StartDoctypeDeclHandler = self._refuse
        self.parser.EntityDeclHandler = self._refuse
        self.parser.ExternalEntityRefHandler = self._refuse
        self.parser.StartNamespaceDeclHandler = self._start_namespace
        self.parser.EndNamespaceDeclHandler = self._end_namespace
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self.builder.data

    @staticmethod
    def _refuse(*_args) -> None:
        raise ValueError("documents with a DOCTYPE or entity declarations are not accepted")

    @staticmethod
    def _clark(name: str) -> str:
        return "{" + name if "}" in name else name

    def _start_namespace(self, prefix: str | None, uri: str) -> None:
        self.scopes.setdefault(prefix, []).append(uri)

    def _end_namespace(self, prefix: str | None) -> None:
        self.scopes[prefix].pop()

    def _resolve(self, qname: str) -> str:
        prefix, _, local = qname.rpartition(":")
        uris = self.scopes.get(prefix or None)
        return f"{{{uris[-1]}}}{local}" if uris else local

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        attrs = {self._clark(key): value for key, value in attributes.items()}
        if _XSI_TYPE in attrs:
            attrs[_XSI_TYPE] = self._resolve(attrs[_XSI_TYPE].strip())
        self.builder.start(self._clark(name), attrs)

    def _end(self, name: str) -> None:
        self.builder.end(self._clark(name))

    def parse(self, data: bytes) -> ET.Element:
        self.parser.Parse(data, True)
        return self.builder.close()


def parse_xml_safely(data: bytes, what: str) -> ET.Element:
    """Parse untrusted XML: no DOCTYPE (hence no entities, internal or external), no network, xsi:type
    values resolved to "{namespace}local". ValueError if malformed or refused."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        return _SafeTreeBuilder().parse(bytes(data))
    except expat.ExpatError as exc:
        raise ValueError(f"not a well-formed {what} document: {exc}") from exc
    except ValueError as exc:
        raise ValueError(f"refused {what} document: {exc}") from exc


def _text(element: ET.Element | None) -> str:
    return "" if element is None or element.text is None else element.text


def _child_text(element: ET.Element, path: str) -> str:
    return _text(element.find(path.replace("p:", _P)))


def _required(element: ET.Element, path: str, where: str) -> ET.Element:
    found = element.find(path.replace("p:", _P))
    if found is None:
        raise ValueError(f"{where}: missing {path.replace('p:', 'premis:')}")
    return found


def _xsi_type(element: ET.Element) -> str:
    """Local name of the xsi:type of an object (resolved by the parser), if it is in the PREMIS namespace."""
    value = element.get(_XSI_TYPE, "")
    if not value.startswith(_P):
        raise ValueError(f"premis:object with xsi:type {value!r} outside the PREMIS namespace")
    return value[len(_P) :]


def _identifiers(element: ET.Element, name: str) -> list[tuple[str, str, ET.Element]]:
    return [
        (_child_text(child, f"p:{name}Type"), _child_text(child, f"p:{name}Value"), child)
        for child in element.findall(_P + name)
    ]


def _parse_file(obj: ET.Element) -> FileEntity:
    ids = [value for id_type, value, _ in _identifiers(obj, "objectIdentifier") if id_type == UUID_TYPE]
    if not ids:
        raise ValueError("premis:file object without a UUID objectIdentifier")
    where = f"file {ids[0]}"
    properties: dict[str, str] = {}
    for significant in obj.findall(_P + "significantProperties"):
        key = _child_text(significant, "p:significantPropertiesType")
        properties.setdefault(key, _child_text(significant, "p:significantPropertiesValue"))
    characteristics = _required(obj, "p:objectCharacteristics", where)
    sha256 = ""
    for fixity in characteristics.findall(_P + "fixity"):
        if _child_text(fixity, "p:messageDigestAlgorithm").upper().replace("-", "") == "SHA256":
            sha256 = _child_text(fixity, "p:messageDigest")
            break
    size_text = _child_text(characteristics, "p:size")
    try:
        size = int(size_text) if size_text else 0
    except ValueError as exc:
        raise ValueError(f"{where}: size {size_text!r} is not an integer") from exc
    puid = format_name = mime = ""
    for fmt in characteristics.findall(_P + "format"):
        for name in fmt.findall(f"{_P}formatDesignation/{_P}formatName"):
            authority = name.get("authority", "")
            if authority == LOCAL_FORMAT_AUTHORITY:
                puid = puid or _text(name)
            elif authority == MIME_AUTHORITY:
                mime = mime or _text(name)
            elif not authority:
                format_name = format_name or _text(name)
        for registry in fmt.findall(_P + "formatRegistry"):
            if _child_text(registry, "p:formatRegistryName") == PRONOM:
                puid = _child_text(registry, "p:formatRegistryKey") or puid
    content_path = ""
    for storage in obj.findall(_P + "storage"):
        for loc_type, value, _ in _identifiers(storage, "contentLocation"):
            if loc_type == CONTENT_LOCATION_TYPE:
                content_path = value
    derived_from = ""
    for relationship in obj.findall(_P + "relationship"):
        if (
            _child_text(relationship, "p:relationshipType") == "derivation"
            and _child_text(relationship, "p:relationshipSubType") == "has source"
        ):
            related = [v for t, v, _ in _identifiers(relationship, "relatedObjectIdentifier") if t == UUID_TYPE]
            derived_from = related[0] if related else ""
    return FileEntity(
        uuid=ids[0],
        filename=properties.get(FILENAME_PROPERTY, ""),
        original_name=_child_text(obj, "p:originalName"),
        size=size,
        sha256=sha256,
        puid=puid,
        format_name=format_name,
        mime=mime,
        role=properties.get(ROLE_PROPERTY, ""),
        derived_from=derived_from,
        content_path=content_path,
    )


def _parse_datetime(text: str, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{where}: eventDateTime {text!r} is not ISO 8601") from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{where}: eventDateTime {text!r} has no UTC offset")
    return moment


def _parse_event(element: ET.Element, agent_names: dict[tuple[str, str], str]) -> EventRecord:
    ids = [value for id_type, value, _ in _identifiers(element, "eventIdentifier") if id_type == UUID_TYPE]
    if not ids:
        raise ValueError("premis:event without a UUID eventIdentifier")
    where = f"event {ids[0]}"
    event_type = _text(_required(element, "p:eventType", where))
    occurred_at = _parse_datetime(_text(_required(element, "p:eventDateTime", where)), where)
    agent: str | None = None
    store = ""
    for id_type, value, _ in _identifiers(element, "linkingAgentIdentifier"):
        if id_type == STORE_ID_TYPE:
            store = value
        elif agent is None:
            if (id_type, value) not in agent_names:
                raise ValueError(f"{where}: links to agent {id_type} {value!r}, which the document does not define")
            agent = agent_names[(id_type, value)]
    if agent is None:
        raise ValueError(f"{where}: no executing program (linkingAgentIdentifier)")
    asset = ""
    for id_type, value, _ in _identifiers(element, "linkingObjectIdentifier"):
        if id_type == UUID_TYPE:
            asset = value
            break
    return EventRecord(
        id=ids[0],
        event_type=event_type,
        occurred_at=occurred_at,
        agent=agent,
        outcome=_child_text(element, "p:eventOutcomeInformation/p:eventOutcome"),
        detail=_child_text(element, "p:eventDetailInformation/p:eventDetail"),
        asset=asset,
        store=store,
    )


def parse_premis(data: bytes) -> tuple[list[FileEntity], list[EventRecord]]:
    """The files and events of a document written by :func:`premis_xml`, in document order.

    Raises ValueError for anything that is not such a PREMIS 3.0 document (malformed XML, a DOCTYPE,
    another root element or version, missing identifiers, a naive eventDateTime, an unknown agent).
    Never resolves entities nor touches the network.
    """
    root = parse_xml_safely(data, "PREMIS")
    if root.tag != _P + "premis":
        raise ValueError(f"not a PREMIS 3 document: root element is {root.tag!r}")
    if root.get("version") != PREMIS_VERSION:
        raise ValueError(f"unsupported PREMIS version {root.get('version')!r} (expected {PREMIS_VERSION})")
    agent_names: dict[tuple[str, str], str] = {}
    for agent in root.findall(_P + "agent"):
        name = _child_text(agent, "p:agentName")
        for id_type, value, _ in _identifiers(agent, "agentIdentifier"):
            agent_names[(id_type, value)] = name
    files = [_parse_file(obj) for obj in root.findall(_P + "object") if _xsi_type(obj) == "file"]
    events = [_parse_event(element, agent_names) for element in root.findall(_P + "event")]
    return files, events
