"""The metadata formats we disseminate (oai_dc and EDM) and the public record both are made from.

``public_record`` builds the record dict of ``preservation.records.object_record`` (schema
``heritage-archive/object/1``, what ``dublin_core`` and ``edm`` read) from what a visitor may see, out of
a page's prefetched rows, without queries of its own. It differs from the preservation record on purpose:
- files: only the ones ``visible_assets`` gives a visitor (access copies, thumbnails, previews), each with
  its absolute download URL; so no dc:format of originals and no technical metadata;
- coordinates: already generalized for a sensitive place (``public_coordinates``), and both mappings are
  called with ``generalize_location=True`` as well;
- left out: provenance and source_reference (the public object page shows neither), status, access
  level, stores and sharing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from archive.access import public_coordinates
from archive.models import Asset, HeritageObject
from preservation.packaging import dublin_core, edm
from preservation.packaging.premis import xml_safe_text
from preservation.records import SCHEMA

from .protocol import OAIError


def repository_name() -> str:
    return getattr(settings, "ARCHIVE_OAI_REPOSITORY_NAME", "Heritage Archive")


def provider_name() -> str:
    """edm:provider: the organisation that delivers the records to an aggregator."""
    return getattr(settings, "ARCHIVE_OAI_PROVIDER", "") or repository_name()


def iiif_image_service(asset: Asset) -> str:
    return f"{settings.SITE_URL}/iiif/image/{asset.id}"


def iiif_manifest(obj: HeritageObject) -> str:
    return f"{settings.SITE_URL}/iiif/{obj.identifier}/manifest"


def _file(asset: Asset) -> dict[str, Any]:
    item = {
        "id": str(asset.id),
        "role": asset.role,
        "filename": asset.filename,
        "mime": asset.mime,
        "size": asset.size,
        "url": settings.SITE_URL + asset.get_download_url(),
    }
    if asset.role == Asset.Role.ACCESS and asset.mime.startswith("image/"):
        item["iiif_service"] = iiif_image_service(asset)
    return item


def public_record(obj: HeritageObject) -> dict[str, Any]:
    """The record of a public object as a visitor may see it. ``obj`` comes from a page of
    ``repository.prefetch_metadata`` (texts and ``public_assets`` loaded, collection and community joined)."""
    collection = obj.collection
    community = collection.community
    shown = public_coordinates(AnonymousUser(), obj)
    latitude, longitude = (shown[0], shown[1]) if shown else (None, None)
    texts = sorted(obj.texts.all(), key=lambda text: text.language)
    return {
        "schema": SCHEMA,
        "identifier": obj.identifier,
        "ocfl_id": obj.ocfl_id,
        "url": obj.citation_url,
        "iiif_manifest": iiif_manifest(obj),
        "collection": {
            "slug": collection.slug,
            "title": collection.title,
            "description": collection.description,
            "community": {"slug": community.slug, "name": community.name, "description": community.description},
        },
        "texts": [
            {"language": t.language, "title": t.title, "description": t.description, "is_original": t.is_original}
            for t in texts
        ],
        "object_type": obj.object_type,
        "culture": obj.culture,
        "period_label": obj.period_label,
        "year_start": obj.year_start,
        "year_end": obj.year_end,
        "place_name": obj.place_name,
        "latitude": latitude,
        "longitude": longitude,
        "sensitive_location": obj.sensitive_location,
        "rights_statement": obj.rights_statement,
        "licence": obj.licence,
        "keywords": list(obj.keywords or []),
        "files": [_file(asset) for asset in obj.public_assets],
    }


def set_description(text: str) -> ET.Element:
    """A set's setDescription: its description as oai_dc."""
    root = ET.Element(f"{{{dublin_core.OAI_DC_NS}}}dc")
    root.set(f"{{{dublin_core.XSI_NS}}}schemaLocation", dublin_core.OAI_DC_SCHEMA_LOCATION)
    ET.SubElement(root, f"{{{dublin_core.DC_NS}}}description").text = xml_safe_text(text.strip())
    return root


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str
    render: Callable[[dict], ET.Element]


def _oai_dc(record: dict) -> ET.Element:
    return dublin_core.dc_element(record, generalize_location=True)


def _edm(record: dict) -> ET.Element:
    return edm.edm_element(record, provider=provider_name(), generalize_location=True)


FORMATS = {
    "oai_dc": MetadataFormat(
        "oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", dublin_core.OAI_DC_NS, _oai_dc
    ),
    "edm": MetadataFormat("edm", edm.EDM_SCHEMA, edm.EDM_NS, _edm),
}


def metadata_format(prefix: str) -> MetadataFormat:
    """The format for ``prefix``; cannotDisseminateFormat for one we do not have."""
    try:
        return FORMATS[prefix]
    except KeyError as unknown:
        raise OAIError(
            "cannotDisseminateFormat", f"{prefix!r} is not a metadata format here; use one of {', '.join(FORMATS)}."
        ) from unknown
