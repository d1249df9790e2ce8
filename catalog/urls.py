"""The catalog's pages."""

from django.urls import path

from catalog import (
    my_work,
    ownership_views,
    people_views,
    profile,
    scorecard_views,
    team_views,
    triage_views,
    views,
)

urlpatterns = [
    path("profile/tokens/", profile.TokenListView.as_view(), name="profile-tokens"),
    path("profile/tokens/<int:pk>/revoke/", profile.TokenRevokeView.as_view(), name="profile-token-revoke"),
    path("", views.MaintenanceView.as_view(), name="maintenance"),
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<str:namespace>/<str:name>/", views.ProjectDetailView.as_view(), name="project-detail"),
    path(
        "projects/<str:namespace>/<str:name>/claim/",
        ownership_views.ClaimView.as_view(),
        name="project-claim",
    ),
    path(
        "projects/<str:namespace>/<str:name>/transfers/",
        ownership_views.TransferRequestView.as_view(),
        name="project-transfer-request",
    ),
    path(
        "transfers/<int:pk>/decide/", ownership_views.TransferDecisionView.as_view(), name="transfer-decide"
    ),
    path("my-work/", my_work.MyWorkView.as_view(), name="my-work"),
    path("teams/", views.TeamListView.as_view(), name="team-list"),
    path("teams/new/", team_views.TeamCreateView.as_view(), name="team-create"),
    path("teams/<str:namespace>/<str:name>/", views.TeamDetailView.as_view(), name="team-detail"),
    path("teams/<str:namespace>/<str:name>/edit/", team_views.TeamEditView.as_view(), name="team-edit"),
    path(
        "teams/<str:namespace>/<str:name>/members/",
        team_views.TeamMemberAddView.as_view(),
        name="team-member-add",
    ),
    path(
        "teams/<str:namespace>/<str:name>/members/<int:person_pk>/remove/",
        team_views.TeamMemberRemoveView.as_view(),
        name="team-member-remove",
    ),
    path("people/", views.PersonListView.as_view(), name="person-list"),
    path("people/<str:namespace>/<str:name>/", views.PersonDetailView.as_view(), name="person-detail"),
    path(
        "people/<str:namespace>/<str:name>/edit/", people_views.PersonEditView.as_view(), name="person-edit"
    ),
    path("findings/<int:pk>/triage/", triage_views.FindingTriageView.as_view(), name="finding-triage"),
    path("scorecards/", scorecard_views.ScorecardListView.as_view(), name="scorecard-list"),
    path("scorecards/<slug:name>/", scorecard_views.ScorecardDetailView.as_view(), name="scorecard-detail"),
    path("sync-runs/", views.SyncRunListView.as_view(), name="syncrun-list"),
    path("sync-runs/<int:pk>/", views.SyncRunDetailView.as_view(), name="syncrun-detail"),
    path("sources/", views.SourceListView.as_view(), name="source-list"),
    path("models/", views.RegisteredModelListView.as_view(), name="model-list"),
    path("models/<str:source>/<path:name>/", views.RegisteredModelDetailView.as_view(), name="model-detail"),
]
