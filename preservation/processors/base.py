"""The contract every format processor keeps, and the typed error that decides retry versus quarantine."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class ProcessingError(Exception):
    """A file could not be processed.

    ``permanent=True`` means the file itself is at fault (corrupt, hostile, unsupported): it goes to
    quarantine and the task is not retried. ``permanent=False`` means a passing condition (disk, memory,
    a store): the task retries with backoff.
    """

    def __init__(self, message: str, *, permanent: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class Limits:
    """Bounds checked before any decoding, so hostile files are refused cheaply."""

    max_pixels: int = 200_000_000
    max_dimension: int = 65_535
    max_bytes: int = 8 * 1024**3


@dataclass
class EventRecord:
    """A PREMIS event a processor observed; the pipeline stores it as a PreservationEvent."""

    event_type: str  # "validation", "normalization", "derivation", "metadata extraction"
    outcome: str  # "success", "failure", "warning"
    detail: str
    agent: str  # library and version, e.g. "Pillow 11.1.0; tifffile 2024.8.30"


@dataclass
class Derivative:
    """A file a processor made next to the original (it never replaces it)."""

    role: str  # "master", "access", "thumbnail"
    path: Path
    filename: str
    mime: str
    puid: str
    technical: dict = field(default_factory=dict)


@dataclass
class ProcessResult:
    technical: dict  # technical metadata of the original
    derivatives: list[Derivative]
    events: list[EventRecord]


class Processor(Protocol):
    """One format family. ``process`` validates, normalizes and derives; it raises ProcessingError."""

    key: str

    def process(self, source: Path, workdir: Path, limits: Limits) -> ProcessResult: ...
