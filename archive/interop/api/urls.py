"""/api/: the REST API (mounted by config/urls.py). Root: DRF's browsable API; /api/schema/: OpenAPI 3;
/api/docs/: the same as an HTML page."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.routers import APIRootView, DefaultRouter

from . import communities, docs, files, views


class ApiRoot(APIRootView):
    """The Heritage Archive API. Objects, their files, communities and collections as you may see them;
    curators write with a token (`Authorization: Token <key>`). See docs/ and schema/."""

    def get(self, request, *args, **kwargs) -> Response:
        response = super().get(request, *args, **kwargs)
        for name in ("docs", "schema"):
            response.data[name] = reverse(f"api:{name}", request=request)
        return response


class ArchiveRouter(DefaultRouter):
    APIRootView = ApiRoot
    include_format_suffixes = False


router = ArchiveRouter()
router.register("objects", views.ObjectViewSet, basename="object")
router.register("communities", communities.CommunityViewSet, basename="community")
router.register("collections", communities.CollectionViewSet, basename="collection")

OBJECT = "objects/<str:identifier>/"

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs.docs_page, name="docs"),
    path(OBJECT + "assets/", views.ObjectAssetList.as_view(), name="object-assets"),
    path(OBJECT + "assets/<uuid:asset_id>/", views.ObjectAssetDetail.as_view(), name="object-asset"),
    path(OBJECT + "events/", views.ObjectEventList.as_view(), name="object-events"),
    path(OBJECT + "replicas/", views.ObjectReplicaList.as_view(), name="object-replicas"),
    path(OBJECT + "files/", files.ObjectFileUpload.as_view(), name="object-files"),
    *router.urls,
]
