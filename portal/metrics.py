"""Prometheus metrics at ``/metrics`` (text exposition format 0.0.4).

Measured in the web process: ``portal_http_request_duration_seconds`` (a histogram by method, view and
status). Under gunicorn the workers share them through ``PROMETHEUS_MULTIPROC_DIR`` (``portal.gunicorn``
sets it up), so any worker's answer covers all of them.

Read from the database and the broker at each scrape (``catalog.metrics.CatalogCollector``, a handful of
grouped queries), so they are right whichever process did the work: sync runs and their durations by
source kind and outcome, open findings by rule and severity, notification deliveries, the Celery queues'
lengths.

Access: with ``PORTAL_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>``;
without it, only clients on the loopback interface are answered. Others get 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

# Seconds; the catalog's pages answer in tens of milliseconds, a slow one in seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_DURATION = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, view (URL name) and status code.",
    ["method", "view", "status"],
    buckets=LATENCY_BUCKETS,
)


class RequestMetricsMiddleware:
    """Observes every request's duration in ``REQUEST_DURATION``."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        REQUEST_DURATION.labels(request.method, view_label(request), str(response.status_code)).observe(
            time.perf_counter() - start
        )
        return response


def view_label(request: HttpRequest) -> str:
    """The URL pattern's name (bounded, unlike paths): ``maintenance``, ``admin:index``; ``static`` for
    static files, ``unmatched`` when no URL matched.
    """
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match.route or "unnamed"
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "unmatched"


def allowed(request: HttpRequest) -> bool:
    token = settings.PORTAL["METRICS_TOKEN"]
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        return HttpResponse(
            "Forbidden: send Authorization: Bearer <PORTAL_METRICS_TOKEN>\n",
            status=403,
            content_type="text/plain",
        )
    from catalog.metrics import CatalogCollector

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process = CollectorRegistry()
        MultiProcessCollector(process)
    else:
        process = REGISTRY
    catalog = CollectorRegistry()
    catalog.register(CatalogCollector())
    body = generate_latest(process) + generate_latest(catalog)
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
