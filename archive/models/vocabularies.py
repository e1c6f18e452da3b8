"""Controlled vocabularies of the catalogue. Values are stored; labels are translated for display."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccessLevel(models.TextChoices):
    PUBLIC = "public", _("Public")
    COMMUNITY = "community", _("Community members")
    RESTRICTED = "restricted", _("Restricted (community curators)")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REVIEW = "review", _("Awaiting review")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DELETED = "deleted", _("Deleted (tombstone)")


class ThreatType(models.TextChoices):
    NONE = "none", _("No known threat")
    CONFLICT = "conflict", _("Armed conflict")
    LOOTING = "looting", _("Looting and illicit trade")
    CLIMATE = "climate", _("Climate change")
    DISASTER = "disaster", _("Natural disaster")
    NEGLECT = "neglect", _("Neglect and decay")
    DEVELOPMENT = "development", _("Development pressure")


class ThreatLevel(models.IntegerChoices):
    NONE = 0, _("None")
    LOW = 1, _("Low")
    MODERATE = 2, _("Moderate")
    HIGH = 3, _("High")
    CRITICAL = 4, _("Critical")


class Role(models.TextChoices):
    MEMBER = "member", _("Member")
    CURATOR = "curator", _("Curator")


class LocalContextsLabel(models.TextChoices):
    """Traditional Knowledge (TK) and Biocultural (BC) labels of Local Contexts (localcontexts.org): a
    community's own statement of how its material should be used. Shown on object pages."""

    TK_ATTRIBUTION = "tk-attribution", _("TK Attribution")
    TK_NON_COMMERCIAL = "tk-non-commercial", _("TK Non-Commercial")
    TK_COMMUNITY_USE_ONLY = "tk-community-use-only", _("TK Community Use Only")
    TK_SECRET_SACRED = "tk-secret-sacred", _("TK Secret / Sacred")
    TK_CULTURALLY_SENSITIVE = "tk-culturally-sensitive", _("TK Culturally Sensitive")
    TK_SEASONAL = "tk-seasonal", _("TK Seasonal")
    TK_WOMEN_GENERAL = "tk-women-general", _("TK Women General")
    TK_MEN_GENERAL = "tk-men-general", _("TK Men General")
    TK_OUTREACH = "tk-outreach", _("TK Outreach")
    TK_VERIFIED = "tk-verified", _("TK Verified")
    TK_OPEN_TO_COLLABORATION = "tk-open-to-collaboration", _("TK Open to Collaboration")
    BC_PROVENANCE = "bc-provenance", _("BC Provenance")
    BC_MULTIPLE_PROVENANCE = "bc-multiple-provenance", _("BC Multiple Provenance")
    BC_CONSENT_VERIFIED = "bc-consent-verified", _("BC Consent Verified")
    BC_RESEARCH_USE = "bc-research-use", _("BC Research Use")


# Languages written right to left: pages set dir="rtl" on texts in these languages.
RTL_LANGUAGES = {"ar", "fa", "he", "ur", "ps", "ku", "dv", "yi", "syr", "ug"}

# The rightsstatements.org statements, with their English labels (translated for display).
RIGHTS_STATEMENTS = [
    ("http://rightsstatements.org/vocab/InC/1.0/", _("In Copyright")),
    ("http://rightsstatements.org/vocab/InC-EDU/1.0/", _("In Copyright - Educational Use Permitted")),
    ("http://rightsstatements.org/vocab/InC-NC/1.0/", _("In Copyright - Non-Commercial Use Permitted")),
    ("http://rightsstatements.org/vocab/NoC-US/1.0/", _("No Copyright - United States")),
    ("http://rightsstatements.org/vocab/NoC-OKLR/1.0/", _("No Copyright - Other Known Legal Restrictions")),
    ("http://rightsstatements.org/vocab/CNE/1.0/", _("Copyright Not Evaluated")),
    ("http://rightsstatements.org/vocab/UND/1.0/", _("Copyright Undetermined")),
    ("http://rightsstatements.org/vocab/NKC/1.0/", _("No Known Copyright")),
]
