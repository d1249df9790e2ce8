"""Token authentication: ``Authorization: Bearer <token>`` (or DRF's ``Token <token>``).

Tokens are ``catalog.models.APIToken`` rows (personal or service). A header naming another scheme is left to
the next authenticator (sessions, for the browser); a bad, revoked or expired token is a 401 that says why.
"""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from catalog.models import APIToken

KEYWORDS = ("bearer", "token")


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates as the token's user; ``request.auth`` is the APIToken."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("the Authorization header must be 'Bearer <token>'")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("the token must be ASCII") from None
        token = APIToken.objects.find(raw)
        if token is None:
            raise exceptions.AuthenticationFailed("unknown token")
        now = timezone.now()
        problem = token.problem(now)
        if problem:
            raise exceptions.AuthenticationFailed(problem)
        token.touch(now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents the scheme in the OpenAPI schema."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal or service API token (`mlp_...`), made on the profile page.",
        }
