"""Simple Dublin Core (oai_dc) of a catalogue record, for ``metadata/dc.xml`` and later OAI-PMH.

Pure functions (no Django): the input is the JSON record of an object (schema
``heritage-archive/object/1``, see ``preservation.records.object_record``).

Mapping, in this element order (the order of the fifteen DC elements), empty values skipped and
surrounding whitespace stripped:

=============  ==============================================================================
title          the title of every text, with ``xml:lang`` = the text's language
subject        every keyword, then ``culture``
description    the description of every text, with ``xml:lang``
publisher      the community's name (the community curates the collection and makes the record
               available; the archive software itself is not named)
date           the year range, ISO 8601-like: ``-0883/-0859``, a single year when start == end,
               ``-0883/..`` or ``../-0859`` when one end is open
type           ``object_type``, then the DCMI type ``PhysicalObject``
format         the distinct MIME types of the files with role "original", sorted
identifier     ``url``, then ``ocfl_id``
source         ``provenance``, then ``source_reference``
coverage       ``place_name``, ``period_label``, the year range for people ("883 BCE – 859 BCE"),
               and the coordinates as "lat, lon"
rights         ``rights_statement``, then ``licence``
=============  ==============================================================================

Years: a negative year is BCE and a positive one CE, as historians count (``-883`` is 883 BCE); the
date string is the same signed number padded to four digits. It is *not* astronomical year numbering
(where 883 BCE would be -0882), so read it as a label, not as an ISO 8601 calendar year.

Coordinates: with ``generalize_location=True`` and a record marked ``sensitive_location``, latitude and
longitude are rounded to one decimal place (about 10 km), for anything shown to the public. The
preservation copy in the OCFL object is written with ``generalize_location=False``.

Text that XML 1.0 cannot carry is replaced by U+FFFD; an ``xml:lang`` that is not a valid language tag
(after turning ``_`` into ``-``) is left out.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from preservation.packaging.premis import serialize, xml_safe_text

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
OAI_DC_SCHEMA_LOCATION = f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DCMI_TYPE = "PhysicalObject"
ORIGINAL_ROLE = "original"

PREFIXES = {"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS}
for _prefix, _uri in PREFIXES.items():
    ET.register_namespace(_prefix, _uri)

_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


def _clean(value: Any) -> str:
    if value is None:
        return ""
    return xml_safe_text(str(value)).strip()


def _language(value: Any) -> str:
    tag = _clean(value).replace("_", "-")
    return tag if _LANGUAGE_TAG.match(tag) else ""


def _year_label(year: int) -> str:
    return f"{-year} BCE" if year < 0 else f"{year} CE"


def _year_iso(year: int) -> str:
    return f"-{-year:04d}" if year < 0 else f"{year:04d}"


def _as_year(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    return int(value)


def year_range_label(start: int | None, end: int | None) -> str:
    """ "883 BCE – 859 BCE", "883 BCE", "from 883 BCE", "until 859 BCE" or ""."""
    if start is not None and end is not None:
        return _year_label(start) if start == end else f"{_year_label(start)} \u2013 {_year_label(end)}"
    if start is not None:
        return f"from {_year_label(start)}"
    if end is not None:
        return f"until {_year_label(end)}"
    return ""


def year_range_iso(start: int | None, end: int | None) -> str:
    """ "-0883/-0859", "-0883", "-0883/..", "../-0859" or ""."""
    if start is not None and end is not None:
        return _year_iso(start) if start == end else f"{_year_iso(start)}/{_year_iso(end)}"
    if start is not None:
        return f"{_year_iso(start)}/.."
    if end is not None:
        return f"../{_year_iso(end)}"
    return ""


def _coordinate(value: float, generalize: bool) -> str:
    number = float(value)
    if generalize:
        number = round(number, 1) + 0.0  # + 0.0 turns -0.0 into 0.0
        return f"{number:.1f}"
    return repr(number)


def coordinates(record: dict, *, generalize_location: bool) -> str:
    """ "lat, lon" ("" without both), rounded to 0.1 degree when asked to and the place is sensitive."""
    latitude, longitude = record.get("latitude"), record.get("longitude")
    if latitude is None or longitude is None or latitude == "" or longitude == "":
        return ""
    generalize = bool(generalize_location and record.get("sensitive_location"))
    return f"{_coordinate(latitude, generalize)}, {_coordinate(longitude, generalize)}"


def dc_fields(record: dict, *, generalize_location: bool) -> list[tuple[str, str, str]]:
    """(element, value, xml:lang or "") in document order; see the module docstring for the mapping."""
    texts = record.get("texts") or []
    community = (record.get("collection") or {}).get("community") or {}
    start, end = _as_year(record.get("year_start")), _as_year(record.get("year_end"))
    original_mimes = sorted(
        {
            _clean(item.get("mime"))
            for item in record.get("files") or []
            if item.get("role") == ORIGINAL_ROLE and _clean(item.get("mime"))
        }
    )
    fields: list[tuple[str, Any, Any]] = [
        *(("title", text.get("title"), text.get("language")) for text in texts),
        *(("subject", keyword, "") for keyword in record.get("keywords") or []),
        ("subject", record.get("culture"), ""),
        *(("description", text.get("description"), text.get("language")) for text in texts),
        ("publisher", community.get("name"), ""),
        ("date", year_range_iso(start, end), ""),
        ("type", record.get("object_type"), ""),
        ("type", DCMI_TYPE, ""),
        *(("format", mime, "") for mime in original_mimes),
        ("identifier", record.get("url"), ""),
        ("identifier", record.get("ocfl_id"), ""),
        ("source", record.get("provenance"), ""),
        ("source", record.get("source_reference"), ""),
        ("coverage", record.get("place_name"), ""),
        ("coverage", record.get("period_label"), ""),
        ("coverage", year_range_label(start, end), ""),
        ("coverage", coordinates(record, generalize_location=generalize_location), ""),
        ("rights", record.get("rights_statement"), ""),
        ("rights", record.get("licence"), ""),
    ]
    result: list[tuple[str, str, str]] = []
    for element, value, language in fields:
        text = _clean(value)
        if text:
            result.append((element, text, _language(language)))
    return result


def dc_element(record: dict, *, generalize_location: bool) -> ET.Element:
    """A new ``<oai_dc:dc>`` ElementTree element (with xsi:schemaLocation), for OAI-PMH responses.

    Tags are in Clark notation; the prefixes oai_dc, dc and xsi are registered with ElementTree when
    this module is imported, so a serialized response uses them.
    """
    root = ET.Element(f"{{{OAI_DC_NS}}}dc")
    root.set(f"{{{XSI_NS}}}schemaLocation", OAI_DC_SCHEMA_LOCATION)
    for element, value, language in dc_fields(record, generalize_location=generalize_location):
        child = ET.SubElement(root, f"{{{DC_NS}}}{element}")
        if language:
            child.set(f"{{{XML_NS}}}lang", language)
        child.text = value
    return root


def dc_xml(record: dict, *, generalize_location: bool) -> bytes:
    """The oai_dc document (UTF-8 with XML declaration, indented); the same record gives the same bytes."""
    return serialize(dc_element(record, generalize_location=generalize_location), PREFIXES)
