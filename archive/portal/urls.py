from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("o/<str:identifier>/", views.object_detail, name="object"),
    path("files/<uuid:asset_id>/<str:filename>", views.file_download, name="file"),
]
