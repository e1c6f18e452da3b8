"""IIIF under /iiif/: Image API 3.0 per image access copy, Presentation API 3.0 per object and collection."""

from django.urls import path

from . import views

app_name = "iiif"
urlpatterns = [
    path("image/<uuid:asset_id>", views.image_base, name="image-base"),
    path("image/<uuid:asset_id>/info.json", views.image_info, name="image-info"),
    path(
        "image/<uuid:asset_id>/<str:region>/<str:size>/<str:rotation>/<str:quality>.<str:format>",
        views.image_request,
        name="image",
    ),
    path("collection", views.collections, name="collections"),
    path("collection/<slug:slug>", views.collection, name="collection"),
    path("<str:identifier>/manifest", views.manifest, name="manifest"),
]
