from .collection import Collection
from .community import Community, Membership
from .heritage_object import Asset, HeritageObject, ObjectText, ObjectVersion
from .upload import Upload
from .vocabularies import AccessLevel, Role, Status, ThreatLevel, ThreatType

__all__ = [
    "AccessLevel",
    "Asset",
    "Collection",
    "Community",
    "HeritageObject",
    "Membership",
    "ObjectText",
    "ObjectVersion",
    "Role",
    "Status",
    "ThreatLevel",
    "ThreatType",
    "Upload",
]
