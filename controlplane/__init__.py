"""The control plane's Django project: settings, URLs, ASGI entry point and Celery app."""

from controlplane.celery import app as celery_app

__all__ = ["celery_app"]
