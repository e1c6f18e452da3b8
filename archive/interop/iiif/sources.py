"""Which files the IIIF image service serves, and how big they are.

Only finished access copies and thumbnails that are images: never an original or a preservation master,
even for a curator who may download those (they can be huge, and they may carry EXIF/GPS that the
access copies were made without). The caller has already checked access through archive.access.
"""

from __future__ import annotations

from django.conf import settings
from PIL import Image

from archive.models import Asset
from preservation.replication import asset_source

SERVED_ROLES = (Asset.Role.ACCESS, Asset.Role.THUMBNAIL)


def is_served(asset: Asset) -> bool:
    """True for a ready image access copy or thumbnail."""
    return asset.role in SERVED_ROLES and asset.status == Asset.State.READY and asset.mime.startswith("image/")


def max_pixels() -> int:
    return int(getattr(settings, "ARCHIVE_MAX_IMAGE_PIXELS", 200_000_000))


def source_size(asset: Asset) -> tuple[int, int]:
    """(width, height) of an image asset: as the pipeline recorded it, else from the file's header
    (no pixel is decoded). Raises StoreError when no copy is reachable, OSError when the bytes are not
    an image Pillow can read."""
    technical = asset.technical or {}
    width, height = technical.get("width"), technical.get("height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return width, height
    with asset_source(asset) as handle, Image.open(handle) as image:
        return image.size
