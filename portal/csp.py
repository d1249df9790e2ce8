"""The Content Security Policy (``CONTENT_SECURITY_POLICY`` in settings, sent by django-csp), with one
exception.

The portal's own pages and the admin need nothing inline: no inline script or style, no eval. The REST
API's HTML pages (DRF's browsable API and drf-spectacular's Swagger UI under ``/api/``) come from those
libraries' templates, which carry inline ``<script>`` and ``<style>``: their HTML answers alone get
``'unsafe-inline'`` for scripts and styles, so the API stays explorable in a browser. Everything else of
the policy (``'self'`` only, no objects, no framing) holds there too; JSON answers are not affected.
"""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest
from django.http.response import HttpResponseBase

THIRD_PARTY_HTML_PREFIXES = ("/api/",)
THIRD_PARTY_HTML_UPDATE = {"script-src": [UNSAFE_INLINE], "style-src": [UNSAFE_INLINE]}


class PortalCSPMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if (
            request.path_info.startswith(THIRD_PARTY_HTML_PREFIXES)
            and response.get("Content-Type", "").startswith("text/html")
            and parts.update is None
        ):
            parts.update = THIRD_PARTY_HTML_UPDATE
        return parts
