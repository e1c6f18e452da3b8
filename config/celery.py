"""The Celery app. Worker code imports preservation only; it never needs the web views."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("heritage_archive")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["preservation", "archive"])
