"""The Celery app. Configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery

import portal.logs  # noqa: F401 (its signal receivers: JSON logs with task and request ids)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
