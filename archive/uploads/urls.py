from django.urls import path

from . import tus

app_name = "uploads"
urlpatterns = [
    path("", tus.tus_collection, name="tus"),
    path("<uuid:upload_id>", tus.tus_upload, name="tus-upload"),
]
