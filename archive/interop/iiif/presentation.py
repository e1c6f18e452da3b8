"""IIIF Presentation API 3.0 documents as plain dicts: a manifest per object, a collection per
collection, and a top collection of collections.

Callers pass objects and assets they fetched through archive.access; nothing here queries objects for a
viewer. Every ``id`` is absolute on ``settings.SITE_URL`` (the base of citable URLs, as sitemaps and
``HeritageObject.citation_url`` use), so a manifest names the same resources whoever fetched it and
whatever host name the request came in on.

A manifest's content does not depend on who asks: it paints only finished access copies, and the place
is the one an anonymous visitor may see (a sensitive location is generalized even for its curators), so
a public object's manifest may be cached publicly. Labels of the metadata are given in English and
French (Django's catalogue); titles and descriptions in every language the object has a text in, each
under its own language code (never an English title tagged as French).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from archive.access import public_coordinates
from archive.models import Asset, Collection, HeritageObject

from .image import PROFILE

logger = logging.getLogger("archive.iiif")

PRESENTATION_CONTEXT = "http://iiif.io/api/presentation/3/context.json"
LANGUAGES = ("en", "fr")
MODEL_MIME = "model/gltf-binary"
# A canvas must have a size; a 3D model has none. Viewers that paint models use the canvas as a viewport:
# its poster's size when there is one, else this square.
MODEL_CANVAS = (1000, 1000)
RIGHTS_HOSTS = ("rightsstatements.org", "creativecommons.org")

LanguageMap = dict[str, list[str]]


@dataclass
class Media:
    """What a manifest paints: image access copies, 3D access copies, thumbnails by the file they were
    derived from, and the pixel size of every image among them."""

    images: list[Asset] = field(default_factory=list)
    models: list[Asset] = field(default_factory=list)
    thumbnails: dict = field(default_factory=dict)  # derived_from_id -> thumbnail Asset
    sizes: dict = field(default_factory=dict)  # asset id -> (width, height)

    @classmethod
    def of(cls, assets: Iterable[Asset], size: Callable[[Asset], tuple[int, int]]) -> Media:
        """Sort ready access copies and thumbnails; ``size`` gives an image's (width, height) and may raise
        StoreError (no copy reachable: the caller answers 503) or OSError (the image is left out)."""
        media = cls()
        for asset in assets:
            if asset.status != Asset.State.READY:
                continue
            is_image = asset.mime.startswith("image/")
            if asset.role == Asset.Role.ACCESS and is_image:
                media.images.append(asset)
            elif asset.role == Asset.Role.ACCESS and asset.mime == MODEL_MIME:
                media.models.append(asset)
            elif asset.role == Asset.Role.THUMBNAIL and is_image:
                media.thumbnails.setdefault(asset.derived_from_id, asset)
        for asset in media.images + list(media.thumbnails.values()):
            try:
                media.sizes[asset.id] = size(asset)
            except OSError as error:  # not a readable image: leave it out rather than fail the manifest
                logger.error("IIIF: %s (%s) is not a readable image: %s", asset.id, asset.filename, error)
        media.images = [asset for asset in media.images if asset.id in media.sizes]
        media.thumbnails = {key: thumb for key, thumb in media.thumbnails.items() if thumb.id in media.sizes}
        return media


# --- small builders -----------------------------------------------------------------------------------


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def manifest_url(obj: HeritageObject) -> str:
    return absolute(reverse("iiif:manifest", args=[obj.identifier]))


def collection_url(collection: Collection | None = None) -> str:
    if collection is None:
        return absolute(reverse("iiif:collections"))
    return absolute(reverse("iiif:collection", args=[collection.slug]))


def image_service_url(asset: Asset) -> str:
    return absolute(reverse("iiif:image-base", args=[asset.id]))


def translated(message: Callable[[], str] | str) -> LanguageMap:
    """One interface string in every catalogue language: ``message`` is a lazy string or a function
    that builds the string (run once per language, under that language)."""
    result: LanguageMap = {}
    for language in LANGUAGES:
        with translation.override(language):
            result[language] = [message() if callable(message) else str(message)]
    return result


def plain(value: str) -> LanguageMap:
    """A value in no particular language (names, identifiers, catalogue terms as entered)."""
    return {"none": [value]}


def titles(obj: HeritageObject) -> LanguageMap:
    """The object's title in each language it has a text in; its identifier when it has none."""
    found = {text.language: [text.title] for text in obj.texts.all() if text.title}
    return found or plain(obj.identifier)


def rights_uri(obj: HeritageObject) -> str | None:
    """The rights statement or licence as the ``rights`` property: only a rightsstatements.org or
    creativecommons.org URI, given with ``http`` as both vocabularies define their URIs."""
    for candidate in (obj.rights_statement, obj.licence):
        parts = urlsplit((candidate or "").strip())
        if parts.scheme in ("http", "https") and parts.netloc.removeprefix("www.") in RIGHTS_HOSTS:
            return f"http://{parts.netloc.removeprefix('www.')}{parts.path or '/'}"
    return None


def image_service(asset: Asset) -> dict:
    return {"id": image_service_url(asset), "type": "ImageService3", "profile": PROFILE}


def image_resource(asset: Asset, size: tuple[int, int]) -> dict:
    """An Image body or thumbnail: the whole picture from the image service, with the service itself."""
    return {
        "id": f"{image_service_url(asset)}/full/max/0/default.jpg",
        "type": "Image",
        "format": "image/jpeg",
        "width": size[0],
        "height": size[1],
        "service": [image_service(asset)],
    }


def as_text(values: LanguageMap) -> LanguageMap:
    """Values for a property where clients read HTML (``summary``, and the ``value`` of ``metadata`` and
    ``requiredStatement``), kept as text: IIIF Presentation 3 (section 4.4) makes a value whose first
    character is "<" and last is ">" HTML, so a title such as ``<img src=x onerror=...>`` or ``<untitled>``
    is escaped and wrapped in ``<span>``, which clients show as the literal text."""
    return {language: [_text_value(value) for value in texts] for language, texts in values.items()}


def _text_value(value: str) -> str:
    stripped = value.strip()
    if stripped.startswith("<") and stripped.endswith(">"):
        return f"<span>{html.escape(value, quote=False)}</span>"
    return value


def _pair(label, value: LanguageMap) -> dict:
    return {"label": translated(label), "value": as_text(value)}


# --- the manifest ---------------------------------------------------------------------------------------


def metadata(obj: HeritageObject) -> list[dict]:
    """Label/value pairs for what a viewer shows beside the images (only fields that are filled)."""
    pairs = [_pair(gettext_lazy("Identifier"), plain(obj.identifier))]
    if obj.object_type:
        pairs.append(_pair(gettext_lazy("Object type"), plain(obj.object_type)))
    if obj.culture:
        pairs.append(_pair(gettext_lazy("Culture"), plain(obj.culture)))
    if obj.period_label or obj.year_start is not None:
        years = ""
        if obj.year_start is not None:
            end = f" – {obj.year_end}" if obj.year_end is not None else ""
            years = f"({obj.year_start}{end})"
        pairs.append(_pair(gettext_lazy("Period"), plain(" ".join(part for part in (obj.period_label, years) if part))))
    place = place_value(obj)
    if place:
        pairs.append(_pair(gettext_lazy("Place"), place))
    if obj.keywords:
        pairs.append(_pair(gettext_lazy("Keywords"), {"none": [str(keyword) for keyword in obj.keywords]}))
    pairs.append(_pair(gettext_lazy("Community"), plain(obj.collection.community.name)))
    pairs.append(_pair(gettext_lazy("Collection"), plain(obj.collection.title)))
    return pairs


def place_value(obj: HeritageObject) -> LanguageMap | None:
    """The place name and the point an anonymous visitor may see (0.1 degree for a sensitive site)."""
    point = public_coordinates(AnonymousUser(), obj)
    if not obj.place_name and point is None:
        return None
    if point is None:
        return plain(obj.place_name)
    latitude, longitude, exact = point
    if exact:
        return plain(f"{obj.place_name} ({latitude:.4f}, {longitude:.4f})".strip())
    where = f"{obj.place_name} (≈ {latitude:.1f}, {longitude:.1f})".strip()
    return translated(lambda: f"{where} — {gettext('exact location withheld to protect the site')}")


def required_statement(obj: HeritageObject) -> dict:
    """Attribution to the community, with the licence (or rights statement) it is shared under."""
    community = obj.collection.community.name
    terms = obj.licence or obj.rights_statement

    def value() -> str:
        text = gettext("Courtesy of %(community)s.") % {"community": community}
        if terms:
            text += f" {gettext('Licence')}: {terms}"
        return text

    return {"label": translated(gettext_lazy("Attribution")), "value": translated(value)}


def providers(obj: HeritageObject) -> list[dict]:
    """The archive that serves the object, then the community that holds it."""
    home = absolute(reverse("portal:home"))
    community = obj.collection.community
    community_page = absolute(reverse("portal:community", args=[community.slug]))
    return [
        {
            "id": home,
            "type": "Agent",
            "label": translated(gettext_lazy("Heritage Archive")),
            "homepage": [
                {
                    "id": home,
                    "type": "Text",
                    "label": translated(gettext_lazy("Heritage Archive")),
                    "format": "text/html",
                }
            ],
        },
        {
            "id": community_page,
            "type": "Agent",
            "label": plain(community.name),
            "homepage": [{"id": community_page, "type": "Text", "label": plain(community.name), "format": "text/html"}],
        },
    ]


def canvas(canvas_id: str, label: LanguageMap, size: tuple[int, int], body: dict, thumbnail: dict | None) -> dict:
    """One canvas painted entirely by ``body``."""
    result = {"id": canvas_id, "type": "Canvas", "label": label, "width": size[0], "height": size[1]}
    if thumbnail:
        result["thumbnail"] = [thumbnail]
    result["items"] = [
        {
            "id": f"{canvas_id}/page",
            "type": "AnnotationPage",
            "items": [
                {
                    "id": f"{canvas_id}/painting",
                    "type": "Annotation",
                    "motivation": "painting",
                    "target": canvas_id,
                    "body": body,
                }
            ],
        }
    ]
    return result


def canvases(obj: HeritageObject, media: Media) -> list[dict]:
    """A canvas per image access copy (its pixel size), then one per 3D access copy (a Model body: the
    GLB itself, through the checked download URL)."""
    base = manifest_url(obj).removesuffix("/manifest")
    result = []
    for number, asset in enumerate(media.images, start=1):
        size = media.sizes[asset.id]
        thumb = media.thumbnails.get(asset.derived_from_id)
        result.append(
            canvas(
                f"{base}/canvas/{asset.id}",
                translated(lambda number=number: gettext("Image %(number)d") % {"number": number}),
                size,
                image_resource(asset, size),
                image_resource(thumb, media.sizes[thumb.id]) if thumb else None,
            )
        )
    for number, asset in enumerate(media.models, start=1):
        poster = media.thumbnails.get(asset.derived_from_id)
        body = {
            "id": absolute(asset.get_download_url()),
            "type": "Model",
            "format": MODEL_MIME,
            "label": translated(lambda number=number: gettext("3D model %(number)d") % {"number": number}),
        }
        result.append(
            canvas(
                f"{base}/canvas/{asset.id}",
                translated(lambda number=number: gettext("3D model %(number)d") % {"number": number}),
                media.sizes[poster.id] if poster else MODEL_CANVAS,
                body,
                image_resource(poster, media.sizes[poster.id]) if poster else None,
            )
        )
    return result


def manifest(obj: HeritageObject, media: Media) -> dict:
    """The manifest of a visible object (fetched through archive.access by the caller)."""
    summary = as_text({text.language: [text.description] for text in obj.texts.all() if text.description})
    document: dict = {
        "@context": PRESENTATION_CONTEXT,
        "id": manifest_url(obj),
        "type": "Manifest",
        "label": titles(obj),
    }
    if summary:
        document["summary"] = summary
    document["metadata"] = metadata(obj)
    rights = rights_uri(obj)
    if rights:
        document["rights"] = rights
    document["requiredStatement"] = required_statement(obj)
    document["provider"] = providers(obj)
    first_thumbnail = next(
        (
            media.thumbnails[a.derived_from_id]
            for a in media.images + media.models
            if a.derived_from_id in media.thumbnails
        ),
        None,
    )
    if first_thumbnail:
        document["thumbnail"] = [image_resource(first_thumbnail, media.sizes[first_thumbnail.id])]
    document["homepage"] = [{"id": obj.citation_url, "type": "Text", "label": titles(obj), "format": "text/html"}]
    document["seeAlso"] = [
        {
            # The REST API's record (built by archive/interop/api); its OpenAPI schema is the profile.
            "id": absolute(f"/api/objects/{obj.identifier}/"),
            "type": "Dataset",
            "label": translated(gettext_lazy("Catalogue record")),
            "format": "application/json",
            "profile": absolute("/api/schema/"),
        }
    ]
    document["partOf"] = [
        {"id": collection_url(obj.collection), "type": "Collection", "label": plain(obj.collection.title)}
    ]
    document["items"] = canvases(obj, media)
    return document


# --- collections ----------------------------------------------------------------------------------------


def manifest_reference(obj: HeritageObject) -> dict:
    return {"id": manifest_url(obj), "type": "Manifest", "label": titles(obj)}


def collection(coll: Collection, objects: Iterable[HeritageObject]) -> dict:
    """A collection listing the manifests of ``objects`` (those the caller may see), not paged."""
    document: dict = {
        "@context": PRESENTATION_CONTEXT,
        "id": collection_url(coll),
        "type": "Collection",
        "label": plain(coll.title),
    }
    if coll.description:
        document["summary"] = as_text(plain(coll.description))
    document["requiredStatement"] = {
        "label": translated(gettext_lazy("Attribution")),
        "value": translated(lambda: gettext("Courtesy of %(community)s.") % {"community": coll.community.name}),
    }
    document["homepage"] = [
        {
            "id": absolute(reverse("portal:collection", args=[coll.slug])),
            "type": "Text",
            "label": plain(coll.title),
            "format": "text/html",
        }
    ]
    document["partOf"] = [{"id": collection_url(), "type": "Collection"}]
    document["items"] = [manifest_reference(obj) for obj in objects]
    return document


def top_collection(collections: Iterable[Collection]) -> dict:
    """The archive's collections that hold at least one object the caller may see."""
    return {
        "@context": PRESENTATION_CONTEXT,
        "id": collection_url(),
        "type": "Collection",
        "label": translated(gettext_lazy("Heritage Archive collections")),
        "provider": [
            {
                "id": absolute(reverse("portal:home")),
                "type": "Agent",
                "label": translated(gettext_lazy("Heritage Archive")),
            }
        ],
        "items": [
            {"id": collection_url(coll), "type": "Collection", "label": plain(coll.title)} for coll in collections
        ],
    }
