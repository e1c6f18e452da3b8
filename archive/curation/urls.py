from django.urls import path

from . import batch_views, community_views, csv_views, package_views, sharing_views, views

app_name = "curation"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("objects/new/", views.object_create, name="object-create"),
    path("o/<str:identifier>/", views.object_manage, name="object"),
    path("o/<str:identifier>/edit/", views.object_edit, name="object-edit"),
    path("o/<str:identifier>/publish/", views.object_publish, name="object-publish"),
    path("o/<str:identifier>/submit/", views.object_submit, name="object-submit"),
    path("o/<str:identifier>/review/", views.object_review, name="object-review"),
    path("o/<str:identifier>/unpublish/", views.object_unpublish, name="object-unpublish"),
    path("o/<str:identifier>/status.json", views.object_status, name="object-status"),
    path("o/<str:identifier>/delete/", views.object_delete, name="object-delete"),
    path("o/<str:identifier>/mets.xml", package_views.object_mets, name="object-mets"),
    path("o/<str:identifier>/premis.xml", package_views.object_premis, name="object-premis"),
    path("o/<str:identifier>/bag.zip", package_views.object_bag, name="object-bag"),
    path("o/<str:identifier>/files/<uuid:asset_id>/delete/", views.asset_delete, name="asset-delete"),
    path("stores/", views.stores, name="stores"),
    path("collections/<slug:slug>/upload/", batch_views.collection_upload, name="collection-upload"),
    path("collections/<slug:slug>/status.json", batch_views.collection_status, name="collection-status"),
    path("communities/<slug:slug>/", community_views.community_manage, name="community"),
    path("communities/<slug:slug>/members/", community_views.member_add, name="community-member-add"),
    path(
        "communities/<slug:slug>/members/<int:membership_id>/", community_views.member_change, name="community-member"
    ),
    path("communities/<slug:slug>/collections/", community_views.collection_save, name="community-collection-new"),
    path(
        "communities/<slug:slug>/collections/<int:collection_id>/",
        community_views.collection_save,
        name="community-collection",
    ),
    path("quarantine/", views.quarantine_list, name="quarantine"),
    path("quarantine/<uuid:asset_id>/discard/", views.quarantine_discard, name="quarantine-discard"),
    path("o/<str:identifier>/share/", sharing_views.share_create, name="share-create"),
    path("o/<str:identifier>/share/<uuid:link_id>/", sharing_views.share_detail, name="share-detail"),
    path("o/<str:identifier>/share/<uuid:link_id>/revoke/", sharing_views.share_revoke, name="share-revoke"),
    path("csv/export/", csv_views.csv_export, name="csv-export"),
    path("csv/import/", csv_views.csv_import, name="csv-import"),
]
