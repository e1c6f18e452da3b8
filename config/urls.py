from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from archive import login_limits
from archive.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/login/", login_limits.admin_login),  # before admin.site.urls: the admin's log-in, rate-limited
    path("admin/", admin.site.urls),
    path("accounts/login/", login_limits.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("uploads/", include("archive.uploads.urls")),
    path("curate/", include("archive.curation.urls")),
    path("iiif/", include("archive.interop.iiif.urls")),
    path("api/", include("archive.interop.api.urls")),
    path("activity/", include("archive.interop.feed")),  # Activity Streams change feed (IIIF Change Discovery)
    path("", include("archive.interop.oai.urls")),  # /oai and the change feed
    path("", include("archive.portal.urls")),
]
