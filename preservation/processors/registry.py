"""Format key -> processor class, by dotted path, imported only when a file of that family arrives.

A new format family is one module plus one line here (and its PUIDs in ``preservation.formats.POLICY``).
Lazy imports keep worker start-up light and let a family's heavy dependencies stay optional.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from preservation.processors.base import Processor

PROCESSORS: dict[str, str] = {
    "image": "preservation.processors.image.ImageProcessor",
    "mesh": "preservation.processors.mesh.MeshProcessor",
    "pointcloud": "preservation.processors.mesh.MeshProcessor",
}


class UnknownProcessor(KeyError):
    """No processor is registered for this format key."""


@cache
def processor_class(key: str) -> type:
    try:
        dotted = PROCESSORS[key]
    except KeyError:
        raise UnknownProcessor(f"no processor is registered for format key {key!r}") from None
    module_name, _, class_name = dotted.rpartition(".")
    return getattr(import_module(module_name), class_name)


def get_processor(key: str, **options) -> Processor:
    """A processor instance for ``key`` (e.g. "image"); raises UnknownProcessor for an unknown key.

    ``options`` go to the processor's constructor; the pipeline passes ``settings.ARCHIVE_PROCESSORS[key]``.
    """
    return processor_class(key)(**options)
