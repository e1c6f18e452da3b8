"""Europeana Data Model (EDM) of a catalogue record, as RDF/XML, for OAI-PMH (metadataPrefix ``edm``).

Pure functions (no Django), from the same record dict as ``dublin_core`` (schema
``heritage-archive/object/1``) plus a few URLs the caller puts in it: ``url`` (the object's public page),
every file's absolute download ``url``, optionally a file's ``iiif_service`` (IIIF Image API base URI)
and the object's ``iiif_manifest``. Files without a ``url`` or with a ``deletion`` are left out, so a
caller passes only what a visitor may download.

Resources (``rdf:about``): the ProvidedCHO is ``<url>#cho``, the Aggregation ``<url>#aggregation``, the
Place ``<url>#place``; each WebResource is its file's download URL.

=================  ==============================================================================
edm:ProvidedCHO    dc:title and dc:description per text (``xml:lang``), dc:identifier (identifier,
                   ocfl_id), dc:subject (keywords, then culture), dc:type (``object_type``), dc:date
                   (year range as in dublin_core: ``-0883/-0859``), dcterms:spatial -> edm:Place,
                   dcterms:temporal (``period_label``, else the year range for people), edm:type
edm:type           3D if any access copy is a 3D model (``model/*``, PLY), else IMAGE if any access
                   copy is an image, else TEXT (a record with no viewable file)
edm:Place          skos:prefLabel (``place_name``), wgs84_pos:lat/long; a sensitive place is rounded
                   to 0.1 degree when ``generalize_location`` is true (always for the public)
edm:WebResource    every file with a url: dc:format (MIME), svcs:has_service (IIIF image service) and
                   dcterms:isReferencedBy (IIIF manifest) for images that have them
ore:Aggregation    edm:aggregatedCHO, edm:dataProvider (the community), edm:hasView (other access
                   copies), edm:isShownAt (``url``), edm:isShownBy (first image access copy, else first
                   access copy), edm:object (first thumbnail, else the isShownBy image), edm:provider
                   (the ``provider`` argument), dc:rights (``licence``), edm:rights
edm:rights         ``rights_statement`` when it is a rightsstatements.org or creativecommons.org URI
                   (normalized to the ``http://`` form Europeana accepts; a rightsstatements.org
                   ``/page/`` URL becomes its ``/vocab/`` URI); otherwise
                   http://rightsstatements.org/vocab/CNE/1.0/ (Copyright Not Evaluated): we never claim
                   a licence the community did not give
svcs:Service       one per IIIF image service, dcterms:conformsTo http://iiif.io/api/image
=================  ==============================================================================

Text that XML 1.0 cannot carry is replaced by U+FFFD; an invalid ``xml:lang`` is left out.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

from preservation.packaging.dublin_core import coordinates, year_range_iso, year_range_label
from preservation.packaging.premis import serialize, xml_safe_text

RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC_NS = "http://purl.org/dc/elements/1.1/"
DCTERMS_NS = "http://purl.org/dc/terms/"
EDM_NS = "http://www.europeana.eu/schemas/edm/"
ORE_NS = "http://www.openarchives.org/ore/terms/"
SKOS_NS = "http://www.w3.org/2004/02/skos/core#"
WGS84_NS = "http://www.w3.org/2003/01/geo/wgs84_pos#"
SVCS_NS = "http://rdfs.org/sioc/services#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
EDM_SCHEMA = "http://www.europeana.eu/schemas/edm/EDM.xsd"
IIIF_IMAGE_PROTOCOL = "http://iiif.io/api/image"
RIGHTS_NOT_EVALUATED = "http://rightsstatements.org/vocab/CNE/1.0/"
RIGHTS_HOSTS = ("rightsstatements.org", "creativecommons.org")
ACCESS, THUMBNAIL = "access", "thumbnail"
THREE_D_MIMES = {"application/ply", "application/x-ply", "text/plain+ply"}

PREFIXES = {
    "rdf": RDF_NS,
    "dc": DC_NS,
    "dcterms": DCTERMS_NS,
    "edm": EDM_NS,
    "ore": ORE_NS,
    "skos": SKOS_NS,
    "wgs84_pos": WGS84_NS,
    "svcs": SVCS_NS,
}
for _prefix, _uri in PREFIXES.items():
    ET.register_namespace(_prefix, _uri)

_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


def _clean(value: Any) -> str:
    return "" if value is None else xml_safe_text(str(value)).strip()


def _language(value: Any) -> str:
    tag = _clean(value).replace("_", "-")
    return tag if _LANGUAGE_TAG.match(tag) else ""


def _literal(parent: ET.Element, name: str, value: Any, language: Any = "") -> None:
    text = _clean(value)
    if not text:
        return
    element = ET.SubElement(parent, name)
    lang = _language(language)
    if lang:
        element.set(f"{{{XML_NS}}}lang", lang)
    element.text = text


def _resource(parent: ET.Element, name: str, uri: str) -> None:
    if uri:
        ET.SubElement(parent, name).set(f"{{{RDF_NS}}}resource", _clean(uri))


def _described(parent: ET.Element, name: str, uri: str) -> ET.Element:
    element = ET.SubElement(parent, name)
    element.set(f"{{{RDF_NS}}}about", _clean(uri))
    return element


def edm_rights(statement: str) -> str:
    """The edm:rights URI for a rights statement: itself (normalized) when Europeana accepts it, else CNE."""
    parts = urlsplit(_clean(statement))
    host = (parts.hostname or "").removeprefix("www.")
    if parts.scheme not in ("http", "https") or host not in RIGHTS_HOSTS or not parts.path.strip("/"):
        return RIGHTS_NOT_EVALUATED
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    if host == "rightsstatements.org":
        path = path.replace("/page/", "/vocab/", 1)
    return f"http://{host}{path}"


def _is_3d(mime: str) -> bool:
    return mime.startswith("model/") or mime in THREE_D_MIMES


def edm_type(files: list[dict]) -> str:
    """IMAGE, 3D or TEXT from the record's access copies (see the module docstring)."""
    mimes = [_clean(f.get("mime")).lower() for f in files if f.get("role") == ACCESS]
    if any(_is_3d(mime) for mime in mimes):
        return "3D"
    if any(mime.startswith("image/") for mime in mimes):
        return "IMAGE"
    return "TEXT"


def _files(record: dict) -> list[dict]:
    return [f for f in record.get("files") or [] if _clean(f.get("url")) and not f.get("deletion")]


def edm_element(record: dict, *, provider: str, generalize_location: bool) -> ET.Element:
    """A new ``<rdf:RDF>`` ElementTree element holding the object's EDM (see the module docstring)."""
    base = _clean(record.get("url"))
    cho_uri, place_uri = f"{base}#cho", f"{base}#place"
    files = _files(record)
    access = [f for f in files if f.get("role") == ACCESS]
    images = [f for f in access if _clean(f.get("mime")).lower().startswith("image/")]
    shown_by = (images or access or [{}])[0]
    thumbnails = [f for f in files if f.get("role") == THUMBNAIL]
    preview = (thumbnails or images or [{}])[0]
    texts = record.get("texts") or []
    start, end = record.get("year_start"), record.get("year_end")
    place = coordinates(record, generalize_location=generalize_location)
    has_place = bool(_clean(record.get("place_name")) or place)

    root = ET.Element(f"{{{RDF_NS}}}RDF")
    cho = _described(root, f"{{{EDM_NS}}}ProvidedCHO", cho_uri)
    for text in texts:
        _literal(cho, f"{{{DC_NS}}}title", text.get("title"), text.get("language"))
    for text in texts:
        _literal(cho, f"{{{DC_NS}}}description", text.get("description"), text.get("language"))
    _literal(cho, f"{{{DC_NS}}}identifier", record.get("identifier"))
    _literal(cho, f"{{{DC_NS}}}identifier", record.get("ocfl_id"))
    for keyword in [*(record.get("keywords") or []), record.get("culture")]:
        _literal(cho, f"{{{DC_NS}}}subject", keyword)
    _literal(cho, f"{{{DC_NS}}}type", record.get("object_type"))
    _literal(cho, f"{{{DC_NS}}}date", year_range_iso(start, end))
    if has_place:
        _resource(cho, f"{{{DCTERMS_NS}}}spatial", place_uri)
    _literal(cho, f"{{{DCTERMS_NS}}}temporal", record.get("period_label") or year_range_label(start, end))
    _literal(cho, f"{{{EDM_NS}}}type", edm_type(files))

    services = []
    for item in files:
        resource = _described(root, f"{{{EDM_NS}}}WebResource", item["url"])
        _literal(resource, f"{{{DC_NS}}}format", item.get("mime"))
        if item.get("iiif_service"):
            services.append(_clean(item["iiif_service"]))
            _resource(resource, f"{{{SVCS_NS}}}has_service", item["iiif_service"])
            _resource(resource, f"{{{DCTERMS_NS}}}isReferencedBy", record.get("iiif_manifest") or "")

    if has_place:
        located = _described(root, f"{{{EDM_NS}}}Place", place_uri)
        if place:
            latitude, longitude = place.split(", ")
            _literal(located, f"{{{WGS84_NS}}}lat", latitude)
            _literal(located, f"{{{WGS84_NS}}}long", longitude)
        _literal(located, f"{{{SKOS_NS}}}prefLabel", record.get("place_name"))

    aggregation = _described(root, f"{{{ORE_NS}}}Aggregation", f"{base}#aggregation")
    _resource(aggregation, f"{{{EDM_NS}}}aggregatedCHO", cho_uri)
    community = (record.get("collection") or {}).get("community") or {}
    _literal(aggregation, f"{{{EDM_NS}}}dataProvider", community.get("name"))
    for item in access:
        if item is not shown_by:
            _resource(aggregation, f"{{{EDM_NS}}}hasView", item["url"])
    _resource(aggregation, f"{{{EDM_NS}}}isShownAt", base)
    _resource(aggregation, f"{{{EDM_NS}}}isShownBy", shown_by.get("url", ""))
    _resource(aggregation, f"{{{EDM_NS}}}object", preview.get("url", ""))
    _literal(aggregation, f"{{{EDM_NS}}}provider", provider)
    _literal(aggregation, f"{{{DC_NS}}}rights", record.get("licence"))
    _resource(aggregation, f"{{{EDM_NS}}}rights", edm_rights(record.get("rights_statement") or ""))

    for uri in dict.fromkeys(services):
        service = _described(root, f"{{{SVCS_NS}}}Service", uri)
        _resource(service, f"{{{DCTERMS_NS}}}conformsTo", IIIF_IMAGE_PROTOCOL)
    return root


def edm_xml(record: dict, *, provider: str, generalize_location: bool) -> bytes:
    """The EDM RDF/XML document (UTF-8 with XML declaration, indented); the same record gives the same bytes."""
    return serialize(edm_element(record, provider=provider, generalize_location=generalize_location), PREFIXES)
