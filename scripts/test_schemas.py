"""Put the XML schemas the tests validate against into .venv/xsd/, from packages only (never a web fetch).

Most ship inside wheels we install (eulxml: premis.xsd, oai_dc.xsd, xlink.xsd; metsrw: mets.xsd; xmlschema:
xml.xsd); the tests find those there. OAI-PMH.xsd ships only in pyoai's source distribution (BSD licence),
so it is taken from there with ``pip download``. simpledc20021212.xsd ships nowhere: tests/schemas/ holds our
own rendering of DCMI's simple Dublin Core schema (15 elements, optional xml:lang).
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

TARGET = Path(sys.prefix) / "xsd"
PYOAI = "pyoai==2.5.0"
MEMBER = "pyoai-2.5.0/src/oaipmh/tests/OAI-PMH.xsd"


def main() -> int:
    TARGET.mkdir(parents=True, exist_ok=True)
    wanted = TARGET / "OAI-PMH.xsd"
    if wanted.exists():
        return 0
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                folder,
                PYOAI,
            ],
            check=True,
        )
        (sdist,) = Path(folder).glob("pyoai-*.tar.gz")
        with tarfile.open(sdist) as archive:
            source = archive.extractfile(MEMBER)
            if source is None:
                print(f"{MEMBER} is not a file in {sdist.name}", file=sys.stderr)
                return 1
            wanted.write_bytes(source.read())
    print(f"schemas: {wanted}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
