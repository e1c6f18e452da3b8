"""The review before an object becomes visible: what a second look should confirm.

A curator submits a draft for review; a curator of the community (or staff) publishes it from the
review page, which shows this checklist. Problems marked ``blocking`` prevent publication; the others
are warnings the reviewer reads and decides on.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from archive.models import AccessLevel, Asset, HeritageObject


@dataclass(frozen=True)
class Check:
    ok: bool
    message: str
    blocking: bool = False


def checklist(obj: HeritageObject) -> list[Check]:
    texts = list(obj.texts.all())
    assets = obj.assets.exclude(status__in=[Asset.State.DISCARDED, Asset.State.DELETED])
    busy = assets.filter(status__in=[Asset.State.RECEIVED, Asset.State.PROCESSING]).count()
    quarantined = assets.filter(status=Asset.State.QUARANTINED).count()
    access = assets.filter(role=Asset.Role.ACCESS, status=Asset.State.READY).count()
    return [
        Check(bool(texts) and all(t.title.strip() for t in texts), _("A title in every language given."), True),
        Check(any(t.description.strip() for t in texts), _("A description in at least one language.")),
        Check(bool(obj.rights_statement), _("A rights statement (rightsstatements.org).")),
        Check(bool(obj.licence) or obj.access_level != AccessLevel.PUBLIC, _("A licence for public material.")),
        Check(busy == 0, _("No file still being processed."), True),
        Check(quarantined == 0, _("No file waiting in quarantine.")),
        Check(access > 0, _("At least one access copy (image or 3D) to show.")),
        Check(
            obj.latitude is None or obj.sensitive_location or obj.threat_level < 2,
            _("Exact coordinates of a threatened site are public: mark the location sensitive unless that is safe."),
        ),
        Check(not obj.damaged, _("No damaged file (see the preservation audit)."), True),
    ]


def blocking_problems(obj: HeritageObject) -> list[str]:
    return [check.message for check in checklist(obj) if check.blocking and not check.ok]
