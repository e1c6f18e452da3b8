from django.urls import path

from . import browse, share_views, sitemaps, views
from .map import map_geojson, map_page
from .open_data import open_data

app_name = "portal"
urlpatterns = [
    path("", browse.home, name="home"),
    path("search/", browse.search, name="search"),
    path("communities/", browse.community_list, name="communities"),
    path("c/<slug:slug>/", browse.community_detail, name="community"),
    path("collections/<slug:slug>/", browse.collection_detail, name="collection"),
    path("o/<str:identifier>/", views.object_detail, name="object"),
    path("files/<uuid:asset_id>/<str:filename>", views.file_download, name="file"),
    path("s/<str:token>/", share_views.share_entry, name="share"),
    path("map/", map_page, name="map"),
    path("map/objects.geojson", map_geojson, name="map-geojson"),
    path("sitemap.xml", sitemaps.sitemap, name="sitemap"),
    path("sitemap-<slug:section>.xml", sitemaps.sitemap_section, name="sitemap-section"),
    path("robots.txt", sitemaps.robots_txt, name="robots"),
    path("open-data/", open_data, name="open-data"),
]
