"""Top-level URLs: the catalog's pages, sign-in, the admin and the REST API (with its schema and docs)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from catalog import webhooks
from catalog.notifications.slack import interactions as slack_interactions

urlpatterns = [
    path("", include("catalog.urls")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("hooks/github", webhooks.github, name="webhook-github"),
    path("hooks/gitlab", webhooks.gitlab, name="webhook-gitlab"),
    path("slack/interactions", slack_interactions.receive, name="slack-interactions"),
    path("api/v1/", include("catalog.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
