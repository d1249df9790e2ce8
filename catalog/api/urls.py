"""The API's URLs under /api/v1/: a DRF router of viewsets, and the Backstage export."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from catalog.api import backstage, views

router = DefaultRouter()
router.register("projects", views.ProjectViewSet, basename="project")
router.register("teams", views.TeamViewSet, basename="team")
router.register("people", views.PersonViewSet, basename="person")
router.register("repositories", views.RepositoryViewSet, basename="repository")
router.register("findings", views.FindingViewSet, basename="finding")
router.register("sources", views.SourceViewSet, basename="source")
router.register("sync-runs", views.SyncRunViewSet, basename="syncrun")
router.register("pipelines", views.PipelineViewSet, basename="pipeline")
router.register("pipeline-runs", views.PipelineRunViewSet, basename="pipelinerun")
router.register("registered-models", views.RegisteredModelViewSet, basename="registeredmodel")
router.register("model-versions", views.ModelVersionViewSet, basename="modelversion")

app_name = "api"
urlpatterns = [
    path("backstage/entities", backstage.BackstageEntitiesView.as_view(), name="backstage-entities"),
    *router.urls,
]
