"""Format key -> processor class, imported only when a file of that kind arrives.

A new format family is one module in this package and one line here.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from preservation.processors.base import Processor

PROCESSORS: dict[str, str] = {
    "image": "preservation.processors.image.ImageProcessor",
}


@cache
def get_processor(key: str) -> Processor:
    """The processor instance for a format key. Raises KeyError for a key with no processor."""
    module_name, _, class_name = PROCESSORS[key].rpartition(".")
    return getattr(import_module(module_name), class_name)()
