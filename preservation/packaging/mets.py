"""METS 1.12 document of an object: its Dublin Core, its PREMIS 3 and every file of its current state.

Built with lxml rather than metsrw (Archivematica's METS library, whose mets.xsd the tests use): metsrw's
``FSEntry`` writes no SIZE, MIMETYPE nor CREATED on ``mets:file``, numbers its sections with class-level
counters shared by every document of the process (so one object's METS changes with what was written
before it), stamps a naive ``datetime.utcnow()``, labels its structMap "Archivematica default" and
percent-encodes FLocat paths with ``quote_plus`` (a space becomes "+"). Each of those is a one-line
attribute here. (metsrw's reader is no use as a check either: it follows only Archivematica's own
structMap dialect, one fptr per Directory/Item div, and compares CREATEDATE with a naive utcnow() as
strings, so a "...Z" date written in the same second reads as the future.)

Document layout::

    mets:mets OBJID=<OCFL id> LABEL=<title in the original language> TYPE="heritage object"
      mets:metsHdr CREATEDATE (UTC) RECORDSTATUS="current"
        agent CREATOR ORGANIZATION = the archive; agent CUSTODIAN ORGANIZATION = the community;
        agent CREATOR OTHER/SOFTWARE = our software; altRecordID "local identifier" and "URL"
      mets:dmdSec ID="dmdSec_dc"            mdWrap MDTYPE="DC": the oai_dc record (dublin_core.py)
      mets:amdSec ID="amdSec_premis"
        mets:digiprovMD ID="digiprovMD_premis"  mdWrap MDTYPE="PREMIS" MDTYPEVERSION="3.0": the whole
                                                PREMIS document (premis.py): file entities and events
      mets:fileSec: one fileGrp USE=<role> per role present, in ROLE_ORDER
        mets:file ID="file-<id>" GROUPID="group-<original id>" MIMETYPE SIZE CREATED
                  CHECKSUM CHECKSUMTYPE="SHA-256" ADMID="amdSec_premis"
          mets:FLocat LOCTYPE="OTHER" OTHERLOCTYPE=<what the path is> xlink:href=<percent-encoded path>
      mets:structMap TYPE="physical"
        div TYPE="heritage object" DMDID ADMID
          div TYPE="item" LABEL=<original name>: fptr to the original, then to each file made from it
          div TYPE="metadata": fptr to each catalogue record

The builder (:func:`mets_xml`) is a pure function; :func:`object_mets` assembles its input from the
catalogue (current state = packaged, not removed from the OCFL state, not deleted). Deleted files are
left out of the fileSec; the embedded PREMIS still names them and keeps their deletion events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from lxml import etree

METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{METS_NS} http://www.loc.gov/standards/mets/mets.xsd"
NSMAP = {"mets": METS_NS, "xlink": XLINK_NS, "xsi": XSI_NS}

ROLE_ORDER = ("original", "master", "access", "thumbnail", "preview", "metadata")
CHECKSUM_TYPE = "SHA-256"
OCFL_LOGICAL_PATH = "OCFL logical path"
BAG_PATH = "BagIt bag path"
DMD_ID = "dmdSec_dc"
AMD_ID = "amdSec_premis"
DIGIPROV_ID = "digiprovMD_premis"
OBJECT_TYPE = "heritage object"
DEFAULT_ORGANIZATION = "Heritage Archive"

_M = f"{{{METS_NS}}}"
_NOT_NCNAME = re.compile(r"[^A-Za-z0-9._-]")
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


@dataclass(frozen=True)
class MetsFile:
    """One file listed in the fileSec."""

    id: str  # asset UUID (or another stable token for records made on the fly)
    role: str
    path: str  # where the file is, unencoded: an OCFL logical path or a path inside a bag
    sha256: str
    size: int
    mime: str = ""
    label: str = ""  # the name people know it by (the original file name)
    created: datetime | None = None
    group: str = ""  # id of the original this file belongs to (its own id for an original)


@dataclass(frozen=True)
class MetsHeader:
    """Who and what the document is about."""

    ocfl_id: str
    identifier: str
    label: str
    url: str = ""
    organization: str = DEFAULT_ORGANIZATION
    custodian: str = ""
    software: str = ""


def _ncname(prefix: str, value: str) -> str:
    return f"{prefix}-{_NOT_NCNAME.sub('_', value)}"


def _datetime(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"METS dates must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def href(path: str) -> str:
    """A relative URI for ``path``: every character outside RFC 3986's unreserved set and "/" encoded."""
    return quote(path, safe="/")


def _el(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, _M + name, {k: v for k, v in attrs.items() if v})
    if text is not None:
        element.text = text
    return element


def _embedded(document: bytes) -> etree._Element:
    return etree.fromstring(document, parser=_SAFE_PARSER)


def _header(root: etree._Element, header: MetsHeader, created: datetime) -> None:
    hdr = _el(root, "metsHdr", CREATEDATE=_datetime(created), RECORDSTATUS="current")
    _el(_el(hdr, "agent", ROLE="CREATOR", TYPE="ORGANIZATION"), "name", header.organization)
    if header.custodian:
        _el(_el(hdr, "agent", ROLE="CUSTODIAN", TYPE="ORGANIZATION"), "name", header.custodian)
    if header.software:
        agent = _el(hdr, "agent", ROLE="CREATOR", TYPE="OTHER", OTHERTYPE="SOFTWARE")
        _el(agent, "name", header.software)
    _el(hdr, "altRecordID", header.identifier, TYPE="local identifier")
    if header.url:
        _el(hdr, "altRecordID", header.url, TYPE="URL")


def _wrap(parent: etree._Element, mdtype: str, document: bytes, label: str, version: str = "") -> None:
    wrap = _el(parent, "mdWrap", MDTYPE=mdtype, MDTYPEVERSION=version, MIMETYPE="text/xml", LABEL=label)
    _el(wrap, "xmlData").append(_embedded(document))


def _ordered_roles(files: Iterable[MetsFile]) -> list[str]:
    present = {f.role for f in files}
    return [r for r in ROLE_ORDER if r in present] + sorted(present - set(ROLE_ORDER))


def _file_sec(root: etree._Element, files: list[MetsFile], location_type: str) -> None:
    if not files:
        return  # fileSec is optional, but an empty one is not allowed
    file_sec = _el(root, "fileSec")
    for role in _ordered_roles(files):
        group = _el(file_sec, "fileGrp", USE=role)
        for item in (f for f in files if f.role == role):
            element = _el(
                group,
                "file",
                ID=_ncname("file", item.id),
                GROUPID=_ncname("group", item.group) if item.group else "",
                MIMETYPE=item.mime,
                SIZE=str(int(item.size)),
                CREATED=_datetime(item.created) if item.created else "",
                CHECKSUM=item.sha256.lower(),
                CHECKSUMTYPE=CHECKSUM_TYPE,
                ADMID=AMD_ID,
            )
            location = _el(element, "FLocat", LOCTYPE="OTHER", OTHERLOCTYPE=location_type)
            location.set(f"{{{XLINK_NS}}}href", href(item.path))


def _struct_map(root: etree._Element, header: MetsHeader, files: list[MetsFile]) -> None:
    struct_map = _el(root, "structMap", TYPE="physical", LABEL=f"{header.identifier}: files by original")
    top = _el(struct_map, "div", TYPE=OBJECT_TYPE, LABEL=header.label, DMDID=DMD_ID, ADMID=AMD_ID)
    rank = {role: index for index, role in enumerate(ROLE_ORDER)}
    originals = [f for f in files if f.role == "original"]
    placed: set[str] = set()
    for original in originals:
        members = [original] + sorted(
            (f for f in files if f.group == original.id and f is not original and f.role != "metadata"),
            key=lambda f: rank.get(f.role, len(rank)),
        )
        div = _el(top, "div", TYPE="item", LABEL=original.label or original.path)
        for member in members:
            _el(div, "fptr", FILEID=_ncname("file", member.id))
            placed.add(member.id)
    for item in files:  # files whose original is not in the current state, if any
        if item.id not in placed and item.role != "metadata":
            div = _el(top, "div", TYPE=item.role, LABEL=item.label or item.path)
            _el(div, "fptr", FILEID=_ncname("file", item.id))
    records = [f for f in files if f.role == "metadata"]
    if records:
        div = _el(top, "div", TYPE="metadata", LABEL="Catalogue records")
        for record in records:
            _el(div, "fptr", FILEID=_ncname("file", record.id))


def mets_xml(
    header: MetsHeader,
    files: list[MetsFile],
    *,
    dublin_core: bytes,
    premis: bytes,
    created: datetime,
    location_type: str = OCFL_LOGICAL_PATH,
) -> bytes:
    """The METS document (UTF-8, indented). ``dublin_core`` and ``premis`` are complete XML documents
    (as dublin_core.dc_xml and premis.premis_xml write them), embedded whole. ``location_type`` says
    what the FLocat paths are (OCFL logical paths, or paths inside a bag). Raises ValueError for a
    naive datetime or malformed embedded XML."""
    root = etree.Element(_M + "mets", nsmap=NSMAP)
    root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
    root.set("OBJID", header.ocfl_id)
    if header.label:
        root.set("LABEL", header.label)
    root.set("TYPE", OBJECT_TYPE)
    _header(root, header, created)
    try:
        _wrap(_el(root, "dmdSec", ID=DMD_ID), "DC", dublin_core, "Dublin Core (oai_dc)")
        digiprov = _el(_el(root, "amdSec", ID=AMD_ID), "digiprovMD", ID=DIGIPROV_ID)
        _wrap(digiprov, "PREMIS", premis, "PREMIS: files and preservation events", version="3.0")
    except etree.XMLSyntaxError as error:
        raise ValueError(f"embedded metadata is not well-formed XML: {error}") from error
    _file_sec(root, files, location_type)
    _struct_map(root, header, files)
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


# ------------------------------------------------------------------ from the catalogue


def current_assets(obj, *, records: bool = True) -> list:
    """The object's files in its current OCFL state, as the catalogue knows it: packaged, not removed by
    a later version, not deleted; of the catalogue records, only the newest copy of each. Ordered by
    version, then as received."""
    from archive.models import Asset

    assets = (
        obj.assets.filter(version__isnull=False, removed_in__isnull=True)
        .exclude(status__in=[Asset.State.DELETED, Asset.State.DISCARDED])
        .select_related("version")
        .order_by("version__number", "created", "id")
    )
    files = [a for a in assets if a.role != Asset.Role.METADATA]
    if records:
        newest = {a.filename: a for a in assets if a.role == Asset.Role.METADATA}
        files += sorted(newest.values(), key=lambda a: a.filename)
    return files


def mets_file(asset, path: str | None = None) -> MetsFile:
    """The fileSec entry of an asset, at ``path`` (default: its OCFL logical path)."""
    group = str(asset.id) if asset.role == "original" else str(asset.derived_from_id or "")
    return MetsFile(
        id=str(asset.id),
        role=asset.role,
        path=asset.logical_path if path is None else path,
        sha256=asset.sha256,
        size=asset.size,
        mime=asset.mime,
        label=asset.original_name or asset.filename,
        created=asset.created,
        group=group,
    )


def header_for(obj, record: dict) -> MetsHeader:
    from django.conf import settings

    from preservation.events import archive_agent

    texts = record.get("texts") or []
    original = next((t for t in texts if t.get("is_original")), texts[0] if texts else {})
    return MetsHeader(
        ocfl_id=obj.ocfl_id,
        identifier=obj.identifier,
        label=(original.get("title") or obj.identifier).strip(),
        url=obj.citation_url,
        organization=getattr(settings, "ARCHIVE_NAME", DEFAULT_ORGANIZATION),
        custodian=obj.collection.community.name,
        software=archive_agent(),
    )


def object_mets(
    obj,
    *,
    files: list[MetsFile] | None = None,
    location_type: str = OCFL_LOGICAL_PATH,
    record: dict | None = None,
    premis: bytes | None = None,
    created: datetime | None = None,
) -> bytes:
    """METS of ``obj`` from the catalogue: the same Dublin Core record as the OCFL ``metadata/dc.xml``,
    the PREMIS of every packaged file and every event so far, and (by default) the current state's files
    at their OCFL logical paths. A bag export passes its own ``files`` (paths inside the bag), and the
    record and PREMIS bytes it writes beside the METS so the three agree."""
    from django.utils import timezone

    from preservation import records

    record = records.object_record(obj) if record is None else record
    if premis is None:
        premis = records.premis_file(obj, []).data
    if files is None:
        files = [mets_file(asset) for asset in current_assets(obj)]
    return mets_xml(
        header_for(obj, record),
        files,
        dublin_core=records.dc_bytes(record),
        premis=premis,
        created=created or timezone.now(),
        location_type=location_type,
    )
