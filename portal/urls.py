"""Top-level URLs: the catalog's pages, sign-in, the admin and the REST API (with its schema and docs)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from catalog import sso, webhooks
from catalog.api import errors as api_errors
from catalog.notifications.slack import interactions as slack_interactions

urlpatterns = [
    path("", include("catalog.urls")),
    path("login/", sso.PortalLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Single sign-on (catalog/sso.py): the provider's login and callback, then allauth's account pages
    # it redirects to (sign-up of a new account, errors); allauth's own local accounts are off.
    path("accounts/oidc/<str:provider_id>/login/", sso.login, name="openid_connect_login"),
    path("accounts/oidc/<str:provider_id>/login/callback/", sso.callback, name="openid_connect_callback"),
    path("accounts/", include("allauth.account.urls")),
    path("accounts/3rdparty/", include("allauth.socialaccount.urls")),
    path("admin/", admin.site.urls),
    path("hooks/github", webhooks.github, name="webhook-github"),
    path("hooks/gitlab", webhooks.gitlab, name="webhook-gitlab"),
    path("slack/interactions", slack_interactions.receive, name="slack-interactions"),
    path("api/v1/", include("catalog.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

# Errors no view answered: JSON in the API's shape under /api/, the portal's pages elsewhere.
handler400 = api_errors.bad_request
handler403 = api_errors.permission_denied
handler404 = api_errors.page_not_found
handler500 = api_errors.server_error
