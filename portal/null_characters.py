"""Refuses requests whose query string carries a NUL character, before any view reads it.

PostgreSQL cannot store or compare text holding U+0000, so such a value reaching a query (a filter's
choice, a search) fails there with a DataError: a 500 for a client's mistake. Django's CharField refuses it
(ProhibitNullCharactersValidator), but model choice fields and hand-read parameters do not; one check here
covers every page's filters. Forms are left to their fields (reading a body here would also hide it from
the views that verify a signature over it); the REST API's JSON bodies are checked by its serializers.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

NUL = "\x00"


class NullCharacterMiddleware:
    """Answers 400 naming the parameter when a query-string parameter (name or value) holds a NUL."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name, values in request.GET.lists():
            if NUL in name or any(NUL in value for value in values):
                shown = name.replace(NUL, "\\x00")[:64]
                return HttpResponseBadRequest(
                    f"Parameter {shown!r} holds a NUL character, which is not allowed.",
                    content_type="text/plain; charset=utf-8",
                )
        return self.get_response(request)
