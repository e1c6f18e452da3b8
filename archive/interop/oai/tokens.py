"""Stateless resumption tokens: where an incomplete list stopped, signed so that nobody can forge one.

A token carries the list's arguments (metadataPrefix, set, from, until), the position after the last item
sent (for records the (datestamp, change id) of the last record, for sets an offset), how many items were
sent before the next page and the list size counted on the first page. Nothing is stored on the server,
so any web process can answer any token; records are ordered by (datestamp, id), so a record that changes
during a harvest moves towards the end of the list instead of being skipped. A token expires after
ARCHIVE_OAI_TOKEN_SECONDS (default one day); a tampered, expired or foreign token is badResumptionToken.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing

from .protocol import OAIError

SALT = "archive.interop.oai.resumption-token"
RECORDS = "records"
SETS = "sets"


def lifetime() -> timedelta:
    return timedelta(seconds=getattr(settings, "ARCHIVE_OAI_TOKEN_SECONDS", 24 * 3600))


@dataclass(frozen=True)
class ListState:
    """An incomplete list: its arguments and where the next page starts."""

    kind: str  # RECORDS (ListIdentifiers, ListRecords) or SETS (ListSets)
    metadata_prefix: str = ""
    set_spec: str = ""
    from_: str = ""
    until: str = ""
    after_at: str = ""  # ISO datetime of the last record sent (records)
    after_id: int = 0  # its change id (records) or the number of sets sent (sets)
    cursor: int = 0  # items sent before the next page
    total: int = 0  # completeListSize, counted on the first page

    def advance(self, *, after_at: str = "", after_id: int, sent: int) -> ListState:
        return replace(self, after_at=after_at, after_id=after_id, cursor=self.cursor + sent)

    @property
    def after(self) -> tuple[datetime, int] | None:
        if not self.after_at:
            return None
        return datetime.fromisoformat(self.after_at), self.after_id


_FIELDS = ("kind", "metadata_prefix", "set_spec", "from_", "until", "after_at", "after_id", "cursor", "total")


def encode(state: ListState) -> str:
    return signing.dumps([getattr(state, name) for name in _FIELDS], salt=SALT, compress=True)


def decode(token: str, kind: str) -> ListState:
    """The state a token of this kind carries; badResumptionToken if it is not one we issued, has
    expired, or belongs to another kind of list."""
    try:
        values = signing.loads(token, salt=SALT, max_age=lifetime())
    except signing.SignatureExpired as expired:
        raise OAIError("badResumptionToken", "This resumptionToken has expired; start the list again.") from expired
    except signing.BadSignature as forged:
        raise OAIError("badResumptionToken", "This resumptionToken was not issued by this repository.") from forged
    try:
        state = ListState(**dict(zip(_FIELDS, values, strict=True)))
        state.after  # noqa: B018 (a malformed date raises here, not later)
    except (TypeError, ValueError) as malformed:
        raise OAIError("badResumptionToken", "This resumptionToken is malformed.") from malformed
    if state.kind != kind:
        raise OAIError("badResumptionToken", "This resumptionToken belongs to another kind of list.")
    return state


def expiry() -> datetime:
    """When a token issued now stops being accepted (the resumptionToken's expirationDate)."""
    return datetime.now(UTC) + lifetime()
