from django.apps import AppConfig


class PreservationConfig(AppConfig):
    name = "preservation"
    verbose_name = "Preservation"

    def ready(self) -> None:
        from preservation import checks  # noqa: F401 - registers the system checks
