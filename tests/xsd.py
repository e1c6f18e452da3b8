"""The official XML schemas our documents must satisfy, loaded from installed packages only.

Schemas import each other by URL; ``schema(name)`` maps every such URL to a local copy with the same
file name and refuses anything remote, so validation never touches the network. Where each comes from:
eulxml (premis.xsd = PREMIS 3.0, oai_dc.xsd, xlink.xsd), metsrw (mets.xsd), xmlschema (xml.xsd, xlink.xsd),
.venv/xsd/ (OAI-PMH.xsd, taken from pyoai's sdist by scripts/test_schemas.py), tests/schemas/ (our own
simpledc20021212.xsd, which ships nowhere).
"""

from __future__ import annotations

import functools
import io
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest


def _folders() -> list[Path]:
    import eulxml
    import metsrw
    import xmlschema

    return [
        Path(__file__).parent / "schemas",
        Path(sys.prefix) / "xsd",
        Path(eulxml.__file__).parent / "schema_data",
        Path(metsrw.__file__).parent / "resources",
        Path(xmlschema.__file__).parent / "schemas" / "XML",
        Path(xmlschema.__file__).parent / "schemas" / "XLINK",
    ]


# Schemas known by another file name in the packages that ship them.
ALIASES = {"premis-v3-0.xsd": "premis.xsd", "premis.xsd": "premis.xsd", "xlink.xsd": "xlink.xsd"}


def find(name: str) -> Path:
    name = ALIASES.get(name, name)
    for folder in _folders():
        if (folder / name).exists():
            return folder / name
    pytest.fail(f"{name} is in none of {[str(f) for f in _folders()]} (run `make venv`)")


def _local(url: str) -> str:
    name = Path(urlsplit(url).path).name
    if name in ("xml.xsd", "XMLSchema.xsd"):
        return url if not url.startswith("http") else find("xml.xsd").as_uri()
    try:
        return find(name).as_uri()
    except pytest.fail.Exception:
        return url


@functools.cache
def schema(name: str):
    """The compiled schema ``name`` (e.g. "OAI-PMH.xsd", "oai_dc.xsd", "mets.xsd", "premis.xsd")."""
    import xmlschema

    return xmlschema.XMLSchema(str(find(name)), allow="local", uri_mapper=_local)


def validate(data: bytes, name: str) -> None:
    """Raise xmlschema's error (with the path of the first invalid node) unless ``data`` is valid."""
    schema(name).validate(io.BytesIO(data))
