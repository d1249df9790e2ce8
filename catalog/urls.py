"""The catalog's pages."""

from django.urls import path

from catalog import profile, scorecard_views, triage_views, views

urlpatterns = [
    path("profile/tokens/", profile.TokenListView.as_view(), name="profile-tokens"),
    path("profile/tokens/<int:pk>/revoke/", profile.TokenRevokeView.as_view(), name="profile-token-revoke"),
    path("", views.MaintenanceView.as_view(), name="maintenance"),
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<str:namespace>/<str:name>/", views.ProjectDetailView.as_view(), name="project-detail"),
    path("teams/", views.TeamListView.as_view(), name="team-list"),
    path("teams/<str:namespace>/<str:name>/", views.TeamDetailView.as_view(), name="team-detail"),
    path("people/<str:namespace>/<str:name>/", views.PersonDetailView.as_view(), name="person-detail"),
    path("findings/<int:pk>/triage/", triage_views.FindingTriageView.as_view(), name="finding-triage"),
    path("scorecards/", scorecard_views.ScorecardListView.as_view(), name="scorecard-list"),
    path("scorecards/<slug:name>/", scorecard_views.ScorecardDetailView.as_view(), name="scorecard-detail"),
    path("sync-runs/", views.SyncRunListView.as_view(), name="syncrun-list"),
    path("sync-runs/<int:pk>/", views.SyncRunDetailView.as_view(), name="syncrun-detail"),
    path("sources/", views.SourceListView.as_view(), name="source-list"),
    path("models/", views.RegisteredModelListView.as_view(), name="model-list"),
    path("models/<str:source>/<path:name>/", views.RegisteredModelDetailView.as_view(), name="model-detail"),
]
