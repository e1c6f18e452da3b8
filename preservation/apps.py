from django.apps import AppConfig


class PreservationConfig(AppConfig):
    name = "preservation"
    verbose_name = "Preservation"
