"""The client's address behind trusted proxies, for login rate limiting (axes' AXES_CLIENT_IP_CALLABLE).

Each proxy appends the address it received the request from to ``X-Forwarded-For`` (nginx's
``$proxy_add_x_forwarded_for``), so behind ``PORTAL_PROXY_COUNT`` proxies the client is the entry that many
places from the right; entries further left were sent by the client itself and are never trusted (the rule
of Werkzeug's ProxyFix ``x_for`` and MDN's X-Forwarded-For "trusted proxy count").
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """The client's IP address as text: ``REMOTE_ADDR`` with no proxy in front; behind N proxies, the Nth
    ``X-Forwarded-For`` entry from the right, or ``REMOTE_ADDR`` when the header has fewer entries or that
    entry is not an IP address (a proxy that is not set up as documented must not open a way around the
    limit)."""
    remote = request.META.get("REMOTE_ADDR") or None
    count = settings.PORTAL_PROXY_COUNT
    if not count:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-count]))
    except ValueError:
        return remote
