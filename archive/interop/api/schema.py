"""Pieces of the OpenAPI description shared by the views: the identifier path parameter and error bodies."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

IDENTIFIER = OpenApiParameter(
    "identifier",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The object's identifier (10 characters of Crockford base32; case and hyphens are ignored).",
    pattern=r"^[0-9A-Za-z-]+$",
)

SLUG = OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=r"^[-a-zA-Z0-9_]+$")

ERROR = OpenApiResponse(
    inline_serializer("Error", {"detail": serializers.CharField()}),
    description="What went wrong, in the request's language.",
)

VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Invalid input: a list of messages per field name (or `detail`)."
)

CONFLICT = OpenApiResponse(
    inline_serializer(
        "Conflict",
        {
            "detail": serializers.CharField(),
            "problems": serializers.ListField(child=serializers.CharField(), required=False),
            "id": serializers.CharField(required=False, help_text="The existing object, for a duplicate create."),
            "url": serializers.URLField(required=False),
        },
    ),
    description="The object is not in a state that allows this.",
)

# Answers every read may give besides its 200.
READ_ERRORS = {404: ERROR, 429: ERROR}
# And every write.
WRITE_ERRORS = {400: VALIDATION_ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 429: ERROR}
