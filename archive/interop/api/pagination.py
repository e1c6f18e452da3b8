"""Numbered pages with a total count (``?page=2&page_size=100``); sizes come from settings at request time."""

from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class ArchivePagination(PageNumberPagination):
    """``count``, ``next``, ``previous`` and ``results``. A page past the end, or not a positive number, is 404.

    The counts are of what the caller may see (the querysets are already filtered by archive.access), so
    they never reveal hidden objects.
    """

    page_size_query_param = "page_size"

    @property
    def page_size(self) -> int:
        return settings.ARCHIVE_API_PAGE_SIZE

    @property
    def max_page_size(self) -> int:
        return settings.ARCHIVE_API_MAX_PAGE_SIZE
