from django.urls import path

from . import views

app_name = "curation"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("objects/new/", views.object_create, name="object-create"),
    path("o/<str:identifier>/", views.object_manage, name="object"),
    path("o/<str:identifier>/edit/", views.object_edit, name="object-edit"),
    path("o/<str:identifier>/publish/", views.object_publish, name="object-publish"),
    path("o/<str:identifier>/status.json", views.object_status, name="object-status"),
    path("o/<str:identifier>/delete/", views.object_delete, name="object-delete"),
    path("o/<str:identifier>/files/<uuid:asset_id>/delete/", views.asset_delete, name="asset-delete"),
    path("stores/", views.stores, name="stores"),
    path("quarantine/", views.quarantine_list, name="quarantine"),
    path("quarantine/<uuid:asset_id>/discard/", views.quarantine_discard, name="quarantine-discard"),
]
