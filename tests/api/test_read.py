"""Reading the API: filters (the pages' FilterSets), search, ordering, cursor pagination with a count, and
the nested project detail."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from rest_framework.test import APIRequestFactory

from catalog.api.serializers import ProjectListSerializer, ProjectSerializer
from catalog.api.views import ProjectViewSet
from catalog.models import Project, ProjectFact, Severity, System

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(catalog, team):
    fraud = catalog.team("fraud", title="Fraud detection", parent=team)
    ada = catalog.person("ada", title="Ada Lovelace", teams=[fraud])
    system = System.objects.create(name="payments", title="Payments", owner_ref="group:default/fraud")
    p = SimpleNamespace(team=team, fraud=fraud, ada=ada)
    p.alpha = catalog.project(
        "alpha",
        owner=fraud,
        description="Scores card payments.",
        tags=["fraud", "xgboost"],
        labels={"tier": "gold"},
        annotations={"mlflow.org/models": "alpha"},
        links=[{"url": "https://wiki.example.com/alpha", "title": "Wiki"}],
        system=system,
        system_ref="system:default/payments",
    )
    p.bravo = catalog.project("bravo", owner=team, lifecycle="experimental", type="notebook")
    p.charlie = catalog.project("charlie", owner=ada, repository=False)
    p.delta = catalog.project("delta", owner_ref="group:default/nobody", lifecycle="deprecated")
    p.echo = catalog.project("echo", owner=fraud, orphaned_at=catalog.now)
    catalog.finding(p.alpha, "stale-code", severity=Severity.CRITICAL)
    catalog.finding(p.alpha, "no-descriptor", severity=Severity.INFO)
    catalog.finding(p.bravo, "no-owner", severity=Severity.ERROR)
    catalog.finding(p.bravo, "stale-code", resolved_at=catalog.now)
    return p


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["alpha", "bravo", "charlie", "delta", "echo"]),
        ("?team=fraud", ["alpha", "echo"]),
        ("?owner=group:default/fraud", ["alpha", "echo"]),
        ("?owner=FRAUD", ["alpha", "echo"]),
        ("?owner=user:default/ada", ["charlie"]),
        ("?owner=group:default/nobody", ["delta"]),
        ("?lifecycle=experimental", ["bravo"]),
        ("?type=notebook", ["bravo"]),
        ("?q=card", ["alpha"]),
        ("?q=xgboost", ["alpha"]),
        ("?name=ALPHA", ["alpha"]),
        ("?orphaned=true", ["echo"]),
        ("?orphaned=false", ["alpha", "bravo", "charlie", "delta"]),
        ("?rule=stale-code", ["alpha"]),
        ("?severity=30", ["alpha", "bravo"]),
        ("?ordering=-name", ["echo", "delta", "charlie", "bravo", "alpha"]),
    ],
)
def test_project_filters_search_and_ordering(sample, as_user, outsider, query, expected):
    response = as_user(outsider).get(f"/api/v1/projects/{query}")
    assert names(response) == expected
    assert response.json()["count"] == len(expected)


def test_people_repositories_findings_and_teams_filter_with_their_filtersets(sample, as_user, outsider):
    client = as_user(outsider)
    assert names(client.get("/api/v1/people/?team=fraud")) == ["ada"]
    assert names(client.get("/api/v1/teams/?parent=ml-platform")) == ["fraud"]
    assert names(client.get("/api/v1/repositories/?q=bravo")) == ["bravo"]
    findings = client.get(f"/api/v1/findings/?project={sample.alpha.pk}&severity=30").json()["results"]
    assert [(f["rule"], f["severity"], f["subject"]["name"]) for f in findings] == [
        ("stale-code", "critical", "alpha")
    ]
    assert client.get("/api/v1/findings/?open=false").json()["count"] == 1


def test_cursor_pages_walk_every_row_once_with_a_total_count(catalog, as_user, outsider):
    catalog.populate(13)
    client = as_user(outsider)
    url, seen, counts = "/api/v1/projects/?limit=4&ordering=-name", [], set()
    while url:
        page = client.get(url).json()
        counts.add(page["count"])
        seen += [row["name"] for row in page["results"]]
        url = page["next"]
    assert counts == {13}
    assert seen == sorted((f"project-{i:03d}" for i in range(13)), reverse=True)
    previous = client.get(client.get("/api/v1/projects/?limit=4").json()["next"]).json()["previous"]
    assert names(client.get(previous)) == ["project-000", "project-001", "project-002", "project-003"]


def test_an_invalid_filter_is_a_400_naming_the_parameter(sample, as_user, outsider):
    response = as_user(outsider).get("/api/v1/projects/?team=no-such-team&owner=a:b:c")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"team", "owner"}
    assert error["message"].startswith("team: ")


def test_the_fast_list_serializer_matches_the_declared_fields(sample, catalog):
    """ProjectListSerializer builds rows by hand; its output must be ProjectSerializer's, field for field."""
    catalog.populate(3)
    request = APIRequestFactory().get("/api/v1/projects/")
    view = ProjectViewSet(action="list", request=request, format_kwarg=None)
    rows = list(view.page_queryset(Project.objects.order_by("pk")))
    generic = Project.objects.select_related("owner_team", "owner_person", "system", "repository").order_by(
        "pk"
    )
    counts = {row["id"]: row["open_findings_count"] for row in rows}
    expected = []
    for project in generic:
        project.open_findings_count = counts[project.pk]
        expected.append(dict(ProjectSerializer(project).data))
    assert [ProjectListSerializer(row).data for row in rows] == expected
    assert list(expected[0]) == [name for name in ProjectSerializer.Meta.fields if name != "repository_id"]


def test_project_detail_nests_what_its_page_shows(sample, catalog, as_user, member, outsider):
    descriptor = catalog.descriptor_file(repository=sample.bravo.repository, errors=[])
    Project.objects.filter(pk=sample.bravo.pk).update(descriptor=descriptor)
    ProjectFact.objects.create(project=sample.bravo, name="coverage", number=0.5, observed_at=catalog.now)
    ProjectFact.objects.create(
        project=sample.bravo, name="coverage", number=0.7, observed_at=catalog.now + timedelta(hours=1)
    )
    ProjectFact.objects.create(project=sample.bravo, name="status", text="green", observed_at=catalog.now)
    body = as_user(member).get(f"/api/v1/projects/{sample.bravo.pk}/").json()
    assert body["owner"] == {
        "id": sample.team.pk,
        "ref": "group:default/ml-platform",
        "name": "ml-platform",
        "title": "ML Platform",
    }
    assert body["repository"]["name"] == "bravo" and body["repository"]["source"] == "git-main"
    assert body["descriptor"]["path"] == "catalog-info.yaml" and body["descriptor"]["repository"] == "bravo"
    assert [f["rule"] for f in body["open_findings"]] == ["no-owner"]
    assert [(f["name"], f["value"]) for f in body["facts"]] == [("coverage", 0.7), ("status", "green")]
    assert body["managed_by"] == "descriptor"
    assert "catalog-info.yaml in repository bravo" in body["managed_fields"]["title"]
    assert body["can_edit"] is True
    assert as_user(outsider).get(f"/api/v1/projects/{sample.bravo.pk}/").json()["can_edit"] is False


def test_anonymous_read_is_a_setting(sample, api, settings):
    assert api.get("/api/v1/projects/").status_code == 401
    settings.PORTAL = {**settings.PORTAL, "ANONYMOUS_READ": True}
    assert api.get("/api/v1/projects/").status_code == 200
    assert api.get("/api/v1/sources/").status_code == 401


def test_filter_sets_build_their_form_class_once_unless_a_filter_depends_on_the_request():
    import django_filters

    from catalog.api.filters import with_cached_form
    from catalog.filtersets import ProjectFilterSet
    from catalog.models import Team

    fast = with_cached_form(ProjectFilterSet)
    assert issubclass(fast, ProjectFilterSet) and with_cached_form(ProjectFilterSet) is fast
    first, second = fast({"lifecycle": "production"}), fast({"owner": "fraud"})
    assert first.get_form_class() is second.get_form_class()
    assert second.form.is_valid() and second.form.cleaned_data["owner"] == "group:default/fraud"

    class PerRequest(django_filters.FilterSet):
        team = django_filters.ModelChoiceFilter(queryset=lambda request: Team.objects.all())

        class Meta:
            model = Project
            fields = ["team"]

    assert with_cached_form(PerRequest) is PerRequest
