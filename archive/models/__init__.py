from .change import PublicChange
from .collection import Collection
from .community import Community, Membership
from .heritage_object import Asset, HeritageObject, ObjectText, ObjectVersion
from .share import ShareLink, ShareLinkUse
from .upload import Upload
from .vocabularies import AccessLevel, LocalContextsLabel, Role, Status, ThreatLevel, ThreatType

__all__ = [
    "AccessLevel",
    "Asset",
    "Collection",
    "Community",
    "HeritageObject",
    "LocalContextsLabel",
    "Membership",
    "ObjectText",
    "ObjectVersion",
    "PublicChange",
    "Role",
    "ShareLink",
    "ShareLinkUse",
    "Status",
    "ThreatLevel",
    "ThreatType",
    "Upload",
]
