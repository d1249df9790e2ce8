"""Endpoints for machines: ``/healthz``, ``/readyz`` (``portal.health``) and ``/metrics``
(``portal.metrics``).

``ProbeMiddleware`` comes first in ``MIDDLEWARE`` and answers them before anything else looks at the
request: probes and scrapers reach the container by its address (``Host: 10.0.3.7:8000``) over plain
HTTP, so they pass ``ALLOWED_HOSTS`` and the HTTPS redirect by design, and they are not logged per request
(a health check every few seconds would drown the log). ``/metrics`` guards itself (a token or loopback).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from portal import health, metrics

PROBES = {"/healthz": health.healthz, "/readyz": health.readyz, "/metrics": metrics.metrics}


class ProbeMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = PROBES.get(request.path_info)
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        response = view(request)
        response["Cache-Control"] = "no-store"
        return response
