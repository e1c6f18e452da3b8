"""The XML of OAI-PMH responses (section 3.2): the envelope, headers, records, resumption tokens.

Built with lxml; metadata payloads come from ``formats`` as ElementTree elements and are copied in with
their own namespace declarations. Every text passes ``xml_safe_text``, so a stray control character in a
title cannot make a response that is not well-formed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from lxml import etree

from preservation.packaging.premis import xml_safe_text

from .protocol import OAI_NS, OAI_SCHEMA_LOCATION, XSI_NS, OAIError, datestamp
from .repository import Record


def _tag(name: str) -> str:
    return f"{{{OAI_NS}}}{name}"


def element(parent: etree._Element, name: str, text: str | None = None, **attributes: str) -> etree._Element:
    """A child in the OAI namespace with (sanitized) text and attributes."""
    child = etree.SubElement(parent, _tag(name))
    for key, value in attributes.items():
        child.set(key, xml_safe_text(str(value)))
    if text is not None:
        child.text = xml_safe_text(str(text))
    return child


def envelope(base_url: str, echo: dict[str, str] | None) -> etree._Element:
    """``<OAI-PMH>`` with responseDate and the request element (attributes only when ``echo`` is given)."""
    root = etree.Element(_tag("OAI-PMH"), nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", OAI_SCHEMA_LOCATION)
    element(root, "responseDate", datestamp(datetime.now(UTC)))
    element(root, "request", base_url, **(echo or {}))
    return root


def error(root: etree._Element, failure: OAIError) -> None:
    element(root, "error", failure.message, code=failure.code)


def payload(parent: etree._Element, tree: ET.Element) -> etree._Element:
    """Append an ElementTree element (a metadata record or description) to an lxml element."""
    copied = etree.fromstring(ET.tostring(tree, encoding="utf-8"))
    parent.append(copied)
    return copied


def header(parent: etree._Element, record: Record) -> etree._Element:
    node = element(parent, "header", **({"status": "deleted"} if record.deleted else {}))
    element(node, "identifier", record.identifier)
    element(node, "datestamp", datestamp(record.at))
    for spec in record.set_specs:
        element(node, "setSpec", spec)
    return node


def record(parent: etree._Element, item: Record, metadata: ET.Element | None) -> etree._Element:
    node = element(parent, "record")
    header(node, item)
    if metadata is not None:
        payload(element(node, "metadata"), metadata)
    return node


def resumption_token(
    parent: etree._Element, token: str, *, cursor: int, total: int, expires: datetime | None
) -> etree._Element:
    """The list's resumptionToken: ``token`` empty on the last page of a resumed list."""
    attributes = {"completeListSize": str(total), "cursor": str(cursor)}
    if token and expires is not None:
        attributes["expirationDate"] = datestamp(expires)
    return element(parent, "resumptionToken", token, **attributes)


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)
