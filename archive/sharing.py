"""Share links: a curator opens one object, for a limited time, to one named researcher.

The plaintext token exists only in the URL handed to the curator once (``create_link``); the database
keeps its SHA-256 (``ShareLink.token_hash``). Opening ``/s/<token>/`` (``redeem``) puts the link's id,
never the token, in the visitor's session; every later request re-checks those links
(``share_grants``), so revocation and expiry take effect on the very next request. Every use, refused
ones included, is a ``ShareLinkUse`` row and a ``logging`` line; neither ever contains the token.

Sharing is an access event, not a preservation event: nothing here writes PREMIS events.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from archive.models import HeritageObject, ShareLink, ShareLinkUse, Status
from archive.models.share import hash_token

logger = logging.getLogger("archive.sharing")

SESSION_KEY = "archive_share_links"
MAX_LINKS_PER_SESSION = 20
# What the log keeps as the path of a redemption: the real path would contain the token.
REDACTED_SHARE_PATH = "/s/…/"
MAX_TOKEN_LENGTH = 200
_CACHE_ATTR = "_archive_share_links"


def max_days() -> int:
    return int(getattr(settings, "ARCHIVE_SHARE_MAX_DAYS", 90))


# --- curators ---------------------------------------------------------------------------------------


def create_link(
    obj: HeritageObject,
    *,
    researcher_name: str,
    researcher_email: str = "",
    purpose: str = "",
    days: int,
    user,
) -> tuple[ShareLink, str]:
    """A new link to ``obj`` valid ``days`` days (1..ARCHIVE_SHARE_MAX_DAYS). Returns the link and the
    plaintext token: the only time it exists, so show it to the curator now and nowhere else."""
    researcher_name = (researcher_name or "").strip()
    if not researcher_name:
        raise ValueError("A share link needs the researcher's name.")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= max_days():
        raise ValueError(f"A share link is valid between 1 and {max_days()} days.")
    if obj.status == Status.DELETED:
        raise ValueError("A deleted object cannot be shared.")
    token, token_hash = ShareLink.new_token()
    link = ShareLink.objects.create(
        object=obj,
        token_hash=token_hash,
        researcher_name=researcher_name,
        researcher_email=(researcher_email or "").strip(),
        purpose=(purpose or "").strip(),
        created_by=user if getattr(user, "is_authenticated", False) else None,
        expires_at=timezone.now() + timedelta(days=days),
    )
    logger.info("Share link %s for object %s created by %s, valid %d days", link.pk, obj.identifier, user, days)
    return link, token


def revoke(link: ShareLink, user) -> bool:
    """Revoke a link (effective on the holder's next request). False if it was already revoked."""
    if link.revoked_at is not None:
        return False
    link.revoked_at = timezone.now()
    link.revoked_by = user if getattr(user, "is_authenticated", False) else None
    link.save(update_fields=["revoked_at", "revoked_by"])
    logger.info("Share link %s for object %s revoked by %s", link.pk, link.object.identifier, user)
    return True


def link_state(link: ShareLink) -> str:
    """The state shown to curators: active, revoked or expired."""
    if link.revoked_at is not None:
        return "revoked"
    return "active" if link.is_active else "expired"


# --- researchers ------------------------------------------------------------------------------------


def find_link(token: str) -> ShareLink | None:
    """The link whose token this is (active or not), or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return ShareLink.objects.select_related("object").filter(token_hash=hash_token(token)).first()


def _usable(link: ShareLink) -> bool:
    return link.is_active and link.object.status != Status.DELETED


def redeem(request: HttpRequest, token: str) -> ShareLink | None:
    """Open a link: if it exists and is active, remember it in the session and return it; otherwise
    None. A known link is logged either way (a revoked or expired one as not allowed)."""
    link = find_link(token)
    if link is None:
        logger.info("Unknown share link presented from %s", _client_ip(request) or "unknown address")
        return None
    allowed = _usable(link)
    _record(request, link, allowed=allowed, path=REDACTED_SHARE_PATH)
    if not allowed:
        logger.info("Refused %s share link %s for object %s", link_state(link), link.pk, link.object.identifier)
        return None
    ids = [i for i in _session_ids(request) if i != str(link.pk)]
    ids.append(str(link.pk))
    request.session[SESSION_KEY] = ids[-MAX_LINKS_PER_SESSION:]
    request.__dict__.pop(_CACHE_ATTR, None)
    logger.info("Share link %s for object %s opened", link.pk, link.object.identifier)
    return link


def active_links(request: HttpRequest) -> list[ShareLink]:
    """The links in this session that are still active, checked against the database once per
    request. Links that were revoked or expired since are logged as refused once and forgotten."""
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    ids = _session_ids(request)
    active: list[ShareLink] = []
    if ids:
        links = ShareLink.objects.select_related("object").filter(pk__in=ids)
        for link in links:
            if _usable(link):
                active.append(link)
            else:
                _record(request, link, allowed=False, path=request.path)
                logger.info(
                    "Refused %s share link %s for object %s (held in a session)",
                    link_state(link),
                    link.pk,
                    link.object.identifier,
                )
        usable = {str(link.pk) for link in active}
        kept = [i for i in ids if i in usable]
        if kept != ids:
            request.session[SESSION_KEY] = kept
    setattr(request, _CACHE_ATTR, active)
    return active


def share_grants(request: HttpRequest) -> list[int]:
    """Ids of the objects opened to this visitor by still-active links: ``shared=`` of archive.access."""
    return sorted({link.object_id for link in active_links(request)})


def link_for(request: HttpRequest, obj: HeritageObject) -> ShareLink | None:
    """The active link of this session that opens ``obj`` (the longest-lived one), or None."""
    links = [link for link in active_links(request) if link.object_id == obj.pk]
    return max(links, key=lambda link: link.expires_at) if links else None


def log_use(request: HttpRequest, obj: HeritageObject) -> ShareLink | None:
    """Log a page view or download of ``obj`` made under a share link of this session; returns that
    link (for the "shared with" banner), or None when no link of the session covers ``obj``."""
    link = link_for(request, obj)
    if link is not None:
        _record(request, link, allowed=True, path=request.path)
    return link


# --- helpers ----------------------------------------------------------------------------------------


def _session_ids(request: HttpRequest) -> list[str]:
    session = getattr(request, "session", None)
    if session is None:
        return []
    raw = session.get(SESSION_KEY) or []
    return [str(i) for i in raw if isinstance(i, str)] if isinstance(raw, list) else []


def _client_ip(request: HttpRequest) -> str | None:
    address = request.META.get("REMOTE_ADDR") or ""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _record(request: HttpRequest, link: ShareLink, *, allowed: bool, path: str) -> ShareLinkUse:
    max_path = ShareLinkUse._meta.get_field("path").max_length
    max_agent = ShareLinkUse._meta.get_field("user_agent").max_length
    return ShareLinkUse.objects.create(
        link=link,
        path=path[:max_path],
        ip=_client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT") or "")[:max_agent],
        allowed=allowed,
    )
