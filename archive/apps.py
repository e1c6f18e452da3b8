from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "archive"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from archive import signals  # noqa: F401  (connects the search-text receivers)
