"""Where an object may live and how safe it must be: the threat- and jurisdiction-aware policy.

Two rules decide placement: a store must accept the object's access level (store setting
``access_levels``), and for community or restricted material the owning community's own list of
stores (``Community.allowed_stores``), when it has one: a community decides where its material lives.
The threat level then sets the requirements (settings.ARCHIVE_POLICY): verified copies, distinct
jurisdictions, and how often every replica is re-hashed. ``evaluate`` says whether an object meets them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from archive.models import AccessLevel, HeritageObject
from preservation.stores.registry import store_config, stores_for_access_level


@dataclass(frozen=True)
class Policy:
    copies: int
    jurisdictions: int
    audit_every_days: float


@dataclass
class PolicyStatus:
    """What the policy asks of one object and what the stores really hold."""

    policy: Policy
    allowed: list[str]
    holding: dict[str, str] = field(default_factory=dict)  # store -> jurisdiction, holding the latest version
    misplaced: list[str] = field(default_factory=list)  # stores holding a copy they must not hold
    problems: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return not self.problems

    @property
    def jurisdictions(self) -> list[str]:
        return sorted({j or "unspecified" for j in self.holding.values()})

    @property
    def missing_stores(self) -> list[str]:
        return [name for name in self.allowed if name not in self.holding]


def policy_for_level(level: int) -> Policy:
    """The rule for a threat level; a level not configured uses the nearest lower one."""
    rules = settings.ARCHIVE_POLICY
    known = sorted(int(key) for key in rules)
    chosen = max((k for k in known if k <= int(level)), default=known[0])
    rule = rules[chosen]
    return Policy(
        copies=int(rule.get("copies", settings.ARCHIVE_MIN_COPIES)),
        jurisdictions=int(rule.get("jurisdictions", 1)),
        audit_every_days=float(rule.get("audit_every_days", 30)),
    )


def policy_for(obj: HeritageObject) -> Policy:
    return policy_for_level(obj.threat_level)


def store_allows(store_name: str, access_level: str, community_stores: list[str] | None) -> bool:
    """May this store hold material of this access level owned by a community with this store list?"""
    if access_level not in store_config(store_name)["access_levels"]:
        return False
    if access_level != AccessLevel.PUBLIC and community_stores:
        return store_name in community_stores
    return True


def allowed_in(store_name: str, objects) -> list[int]:
    """Primary keys of ``objects`` (a queryset) that this store may hold, checked in one query."""
    rows = objects.values_list("pk", "access_level", "collection__community__allowed_stores")
    return [pk for pk, level, chosen in rows if store_allows(store_name, level, list(chosen or []))]


def allowed_store_names(obj: HeritageObject) -> list[str]:
    """The stores this object may be written to, in settings order."""
    community_stores = list(obj.collection.community.allowed_stores or [])
    return [
        store.name
        for store in stores_for_access_level(obj.access_level)
        if store_allows(store.name, obj.access_level, community_stores)
    ]


def evaluate(obj: HeritageObject) -> PolicyStatus:
    """Compare the object's policy with the stores that hold its latest version (verified writes)."""
    from preservation.models import Replica, StoreObject

    policy = policy_for(obj)
    status = PolicyStatus(policy=policy, allowed=allowed_store_names(obj))
    head = obj.versions.count()
    if head == 0:
        status.problems.append(_("Nothing packaged yet: no version has been written to any store."))
        return status
    states = StoreObject.objects.filter(object=obj).select_related("store")
    bad = set(
        Replica.objects.filter(asset__object=obj, asset__removed_in__isnull=True)
        .exclude(state=Replica.State.OK)
        .values_list("store__name", flat=True)
    )
    for state in states:
        name = state.store.name
        if state.head_version > 0 and name not in status.allowed:
            status.misplaced.append(name)
        elif state.head_version >= head and state.store.active and name not in bad:
            status.holding[name] = state.store.jurisdiction
    copies = len(status.holding)
    if copies < policy.copies:
        status.problems.append(
            ngettext(
                "%(copies)d verified copy of %(required)d required.",
                "%(copies)d verified copies of %(required)d required.",
                copies,
            )
            % {"copies": copies, "required": policy.copies}
        )
    if len(status.jurisdictions) < policy.jurisdictions:
        status.problems.append(
            _("Copies in %(count)d jurisdiction(s) (%(names)s) of %(required)d required.")
            % {
                "count": len(status.jurisdictions),
                "names": ", ".join(status.jurisdictions) or _("none"),
                "required": policy.jurisdictions,
            }
        )
    reachable = {store_config(name)["jurisdiction"] or "unspecified" for name in status.allowed}
    if len(status.allowed) < policy.copies or len(reachable) < policy.jurisdictions:
        status.problems.append(
            _(
                "The stores allowed for this object (%(stores)s; jurisdictions %(jurisdictions)s) cannot meet "
                "this policy: configure more stores or widen the community's list."
            )
            % {
                "stores": ", ".join(status.allowed) or _("none"),
                "jurisdictions": ", ".join(sorted(reachable)) or _("none"),
            }
        )
    for name in status.misplaced:
        status.problems.append(
            _("Store %(store)s holds a copy but is not allowed to hold %(level)s material of this community.")
            % {"store": name, "level": obj.get_access_level_display().lower()}
        )
    return status


def describe(level: int) -> str:
    policy = policy_for_level(level)
    return _(
        "%(copies)s verified copies in %(jurisdictions)s jurisdiction(s), every copy re-hashed every %(days)s days"
    ) % {"copies": policy.copies, "jurisdictions": policy.jurisdictions, "days": f"{policy.audit_every_days:g}"}
