"""Writes: projects made in the portal, fields owned by descriptors and syncs, ownership, custom facts,
triage of findings and sync triggers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Finding, Project, ProjectFact, Source, SyncRun
from tests.auditing import triage_actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal_project(catalog, team):
    return catalog.project("portal-made", owner=team, source=None, repository=False)


@pytest.fixture
def declared_project(catalog, team):
    project = catalog.project("declared", owner=team)
    descriptor = catalog.descriptor_file("ml/catalog-info.yaml", repository=project.repository)
    Project.objects.filter(pk=project.pk).update(descriptor=descriptor)
    project.refresh_from_db()
    return project


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_create_a_project_owned_by_one_of_my_teams(as_user, member, team):
    body = {
        "name": "churn",
        "title": "Churn",
        "type": "notebook",
        "owner_ref": "ml-platform",
        "tags": ["churn"],
    }
    response = as_user(member).post("/api/v1/projects/", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["owner_ref"] == "group:default/ml-platform"
    assert created["owner"]["id"] == team.pk
    assert created["managed_by"] == "portal"
    project = Project.objects.get(name="churn")
    assert (project.owner_team, project.source, project.descriptor) == (team, None, None)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": "Not a name!"}, "name", "must be 1-63 characters"),
        ({"name": "x", "tags": ["Bad Tag"]}, "tags", "metadata.tags.0"),
        ({"name": "x", "links": [{"url": "not a url"}]}, "links", "must be an absolute URL"),
        ({"name": "x", "labels": {"bad key!": "v"}}, "labels", "key must be"),
        ({"name": "x", "owner_ref": "group:default/nobody"}, "owner_ref", "names no known team or person"),
        ({"name": "x", "owner_ref": "a:b:c"}, "owner_ref", "is not of the form"),
        ({"name": "x", "owner_ref": "group:default/fraud"}, "owner_ref", "one of your own teams"),
        ({"name": "TEAM-MODEL"}, "name", "already exists"),
        ({"title": "no name"}, "name", "required"),
    ],
)
def test_a_bad_project_is_a_400_naming_the_field(catalog, as_user, member, body, field, words):
    catalog.team("fraud")
    error = error_of(as_user(member).post("/api/v1/projects/", body, format="json"), 400)
    assert set(error["fields"]) == {field}
    assert words in error["fields"][field][0]
    assert error["message"].startswith(f"{field}: ")
    assert not Project.objects.filter(name__in=["x", "Not a name!"]).exists()


def test_owners_update_a_portal_project(as_user, member, outsider, portal_project):
    url = f"/api/v1/projects/{portal_project.pk}/"
    assert as_user(outsider).patch(url, {"title": "Mine"}, format="json").status_code == 403
    response = as_user(member).patch(url, {"title": "Renamed", "lifecycle": "production"}, format="json")
    assert response.status_code == 200
    portal_project.refresh_from_db()
    assert (portal_project.title, portal_project.lifecycle) == ("Renamed", "production")


def test_a_descriptor_field_is_read_only_and_the_error_names_the_file(as_user, member, declared_project):
    url = f"/api/v1/projects/{declared_project.pk}/"
    error = error_of(as_user(member).patch(url, {"title": "New", "tags": ["x"]}, format="json"), 400)
    assert error["code"] == "managed_by_descriptor"
    assert set(error["fields"]) == {"title", "tags"}
    assert "ml/catalog-info.yaml in repository declared" in error["fields"]["title"][0]
    assert error["message"].startswith("title: title is set by the descriptor ml/catalog-info.yaml")
    declared_project.refresh_from_db()
    assert declared_project.title == ""
    # Sending a field unchanged is fine (a client echoing back what it read).
    assert as_user(member).patch(url, {"title": "", "name": "declared"}, format="json").status_code == 200


def test_a_found_projects_name_belongs_to_its_sync(as_user, member, catalog, team):
    project = catalog.project("found", owner=team)
    url = f"/api/v1/projects/{project.pk}/"
    error = error_of(as_user(member).patch(url, {"title": "Nicer"}, format="json"), 400)
    assert "the sync of source 'git-main'" in error["fields"]["title"][0]
    assert as_user(member).patch(url, {"description": "Fine."}, format="json").status_code == 200


def test_the_owner_changes_only_through_its_endpoint(as_user, member, portal_project):
    url = f"/api/v1/projects/{portal_project.pk}/"
    error = error_of(as_user(member).patch(url, {"owner_ref": "user:default/member"}, format="json"), 400)
    assert "/owner/" in error["fields"]["owner_ref"][0]


def test_claim_and_transfer(
    catalog, as_user, member, outsider, staff, team, portal_project, django_user_model
):
    other_team = catalog.team("fraud")
    newcomer = django_user_model.objects.create_user("newcomer")
    catalog.person("newcomer", user=newcomer, teams=[other_team])
    unowned = catalog.project("unowned", source=None, repository=False)

    def move(user, project, owner):
        return as_user(user).post(f"/api/v1/projects/{project.pk}/owner/", {"owner": owner}, format="json")

    # A project nobody owns: anyone claims it for a team of theirs, not for another team.
    assert move(newcomer, unowned, "ml-platform").status_code == 403
    assert move(newcomer, unowned, "group:default/fraud").status_code == 200
    unowned.refresh_from_db()
    assert (unowned.owner_team, unowned.owner_ref) == (other_team, "group:default/fraud")
    # An owned project: not by outsiders; its owners hand it to themselves or their teams; staff anywhere.
    assert move(newcomer, portal_project, "fraud").status_code == 403
    assert move(outsider, portal_project, "fraud").status_code == 403
    assert move(member, portal_project, "fraud").status_code == 403
    assert move(member, portal_project, "user:default/member").status_code == 200
    portal_project.refresh_from_db()
    assert (portal_project.owner_person.name, portal_project.owner_team) == ("member", None)
    assert move(staff, portal_project, "fraud").json()["owner_ref"] == "group:default/fraud"
    error = error_of(move(staff, portal_project, "group:default/ghosts"), 400)
    assert error["fields"] == {"owner": ["group:default/ghosts names no known team"]}


def test_a_declared_owner_cannot_be_claimed(as_user, staff, declared_project):
    url = f"/api/v1/projects/{declared_project.pk}/owner/"
    error = error_of(as_user(staff).post(url, {"owner": "ml-platform"}, format="json"), 400)
    assert error["code"] == "managed_by_descriptor"
    assert "ml/catalog-info.yaml in repository declared" in error["fields"]["owner"][0]


def test_facts_keep_their_history_and_the_latest_of_each(as_user, member, portal_project):
    client = as_user(member)
    url = f"/api/v1/projects/{portal_project.pk}/facts/"
    now = timezone.now()
    for value, minutes_ago in ((0.71, 30), (0.83, 10), (0.79, 20)):
        at = (now - timedelta(minutes=minutes_ago)).isoformat()
        response = client.post(url, {"name": "coverage", "value": value, "observed_at": at}, format="json")
        assert response.status_code == 201, response.content
    assert (
        client.post(url, {"name": "status", "value": "green"}, format="json").json()["reported_by"]
        == "member"
    )
    body = client.get(url).json()
    assert [(f["name"], f["value"]) for f in body["latest"]] == [("coverage", 0.83), ("status", "green")]
    assert [f["value"] for f in client.get(f"{url}?name=coverage&limit=2").json()["history"]] == [0.83, 0.79]
    assert ProjectFact.objects.filter(project=portal_project).count() == 4
    latest = ProjectFact.objects.latest_per_name().get(project=portal_project, name="coverage")
    assert latest.value == 0.83


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "coverage", "value": True}, "value"),
        ({"name": "coverage", "value": [1]}, "value"),
        ({"name": "coverage"}, "value"),
        ({"name": "Coverage %", "value": 1}, "name"),
        ({"name": "coverage", "value": 1, "observed_at": "2999-01-01T00:00:00Z"}, "observed_at"),
        ({"name": "coverage", "value": 1, "observed_at": "yesterday"}, "observed_at"),
    ],
)
def test_a_bad_fact_is_a_400_naming_the_field(as_user, member, portal_project, body, field):
    response = as_user(member).post(f"/api/v1/projects/{portal_project.pk}/facts/", body, format="json")
    assert set(error_of(response, 400)["fields"]) == {field}
    assert not ProjectFact.objects.exists()


def test_owners_acknowledge_and_snooze_findings(catalog, as_user, member, outsider, portal_project):
    finding = catalog.finding(portal_project, "stale-code")
    client = as_user(member)
    base = f"/api/v1/findings/{finding.pk}"
    assert as_user(outsider).post(f"{base}/acknowledge/").status_code == 403
    body = client.post(f"{base}/acknowledge/").json()
    assert body["acknowledged_by"] == "member" and body["acknowledged_at"]
    assert client.delete(f"{base}/acknowledge/").json()["acknowledged_at"] is None
    until = timezone.now() + timedelta(days=30)
    body = client.post(
        f"{base}/snooze/", {"until": until.isoformat(), "reason": "release"}, format="json"
    ).json()
    assert body["snooze_reason"] == "release"
    finding.refresh_from_db()
    assert finding.snoozed_until == until
    assert client.get("/api/v1/findings/?snoozed=true").json()["count"] == 1
    past = (timezone.now() - timedelta(days=1)).isoformat()
    error = error_of(client.post(f"{base}/snooze/", {"until": past}, format="json"), 400)
    assert error["fields"] == {"until": ["must be in the future"]}
    far = (timezone.now() + timedelta(days=400)).isoformat()
    assert (
        "365 days" in error_of(client.post(f"{base}/snooze/", {"until": far}, format="json"), 400)["message"]
    )
    assert client.delete(f"{base}/snooze/").json()["snoozed_until"] is None
    actions = [(action, via) for action, _, via in triage_actions(finding)]
    assert actions == [
        ("acknowledge", "api"),
        ("unacknowledge", "api"),
        ("snooze", "api"),
        ("unsnooze", "api"),
    ]


def test_resolved_findings_and_team_findings(catalog, as_user, member, outsider, team, portal_project):
    resolved = catalog.finding(portal_project, "no-owner", resolved_at=catalog.now)
    error = error_of(as_user(member).post(f"/api/v1/findings/{resolved.pk}/acknowledge/"), 400)
    assert "was resolved" in error["message"]
    team_finding = catalog.finding(team, "invalid-descriptor")
    assert as_user(outsider).post(f"/api/v1/findings/{team_finding.pk}/acknowledge/").status_code == 403
    assert as_user(member).post(f"/api/v1/findings/{team_finding.pk}/acknowledge/").status_code == 200
    assert Finding.objects.get(pk=team_finding.pk).acknowledged_by == member


def test_staff_trigger_a_sync(catalog, as_user, staff, tmp_path):
    descriptor = tmp_path / "catalog-info.yaml"
    descriptor.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: synced}\n"
        "spec: {type: service, lifecycle: production, owner: ml-platform}\n"
    )
    source = catalog.source("files", kind=Source.Kind.FILE, config={"paths": [str(descriptor)]})
    client = as_user(staff)
    response = client.post(f"/api/v1/sources/{source.pk}/sync/")
    assert response.status_code == 202
    assert response.json() == {"source": "files", "queued": True, "message": "a sync of 'files' was queued"}
    # Celery runs eagerly in the tests: the sync has run.
    assert SyncRun.objects.get(source=source).trigger == "manual"
    assert Project.objects.filter(name="synced").exists()
    catalog.sync_run(source, status=SyncRun.Status.RUNNING, finished_at=None)
    error = error_of(client.post(f"/api/v1/sources/{source.pk}/sync/"), 409)
    assert error["code"] == "conflict" and "already being synced" in error["message"]
    Source.objects.filter(pk=source.pk).update(enabled=False)
    assert "disabled" in error_of(client.post(f"/api/v1/sources/{source.pk}/sync/"), 409)["message"]


def test_a_name_taken_meanwhile_is_a_400_not_a_500(as_user, member, monkeypatch):
    from catalog.api.serializers import ProjectSerializer

    monkeypatch.setattr(ProjectSerializer, "_check_unique", lambda self, project: None)  # lose the race
    body = {"name": "team-model", "owner_ref": "group:default/ml-platform"}
    error = error_of(as_user(member).post("/api/v1/projects/", body, format="json"), 400)
    assert error["fields"] == {
        "name": ["a project default/team-model already exists (names are compared case-insensitively)"]
    }


def test_a_name_clash_names_the_existing_project(as_user, member, catalog):
    catalog.project("ranker")
    body = {"name": "Ranker", "owner_ref": "group:default/ml-platform"}
    error = error_of(as_user(member).post("/api/v1/projects/", body, format="json"), 400)
    assert error["fields"] == {
        "name": ["a project default/ranker already exists (names are compared case-insensitively)"]
    }


@pytest.mark.parametrize("model_name", ["project", "team", "person"])
def test_full_clean_names_the_entity_a_name_clashes_with(catalog, model_name):
    from django.core.exceptions import ValidationError

    from catalog.models import Person, Team

    model = {"project": Project, "team": Team, "person": Person}[model_name]
    model.objects.create(namespace="default", name="ranker")
    with pytest.raises(ValidationError) as raised:
        model(namespace="Default", name="RANKER").validate_constraints()
    assert raised.value.message_dict == {
        "name": [
            f"a {model._meta.verbose_name} default/ranker already exists (names are compared "
            "case-insensitively)"
        ]
    }
    model(namespace="default", name="ranker-2").validate_constraints()


def test_a_non_staff_creator_must_name_an_owner_of_theirs(as_user, member, outsider, staff):
    error = error_of(as_user(member).post("/api/v1/projects/", {"name": "unowned"}, format="json"), 400)
    assert list(error["fields"]) == ["owner_ref"]
    assert error["message"].startswith("owner_ref: required: give one of your own teams")
    body = {"name": "unowned", "owner_ref": "group:default/ml-platform"}
    error = error_of(as_user(outsider).post("/api/v1/projects/", body, format="json"), 400)
    assert list(error["fields"]) == ["owner_ref"]
    assert not Project.objects.filter(name="unowned").exists()
    # With an owner of theirs, the creator can edit what they made.
    client = as_user(member)
    created = client.post("/api/v1/projects/", body, format="json")
    assert created.status_code == 201
    patched = client.patch(f"/api/v1/projects/{created.json()['id']}/", {"title": "Mine"}, format="json")
    assert patched.status_code == 200
    # Staff may still make a project with no owner.
    assert as_user(staff).post("/api/v1/projects/", {"name": "orphan"}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("method", "url", "body", "unknown"),
    [
        ("patch", "/api/v1/projects/{project}/", {"bogus": 1}, ["bogus"]),
        ("patch", "/api/v1/projects/{project}/", {"title": "x", "zeta": 1, "alpha": 2}, ["alpha", "zeta"]),
        ("put", "/api/v1/projects/{project}/", {"name": "team-model", "bogus": 1}, ["bogus"]),
        (
            "post",
            "/api/v1/projects/",
            {"name": "new", "owner_ref": "group:default/ml-platform", "x": 1},
            ["x"],
        ),
        ("post", "/api/v1/projects/{project}/owner/", {"owner": "group:default/ml-platform", "x": 1}, ["x"]),
        (
            "post",
            "/api/v1/projects/{project}/facts/",
            {"name": "coverage", "value": 1, "unit": "%"},
            ["unit"],
        ),
        ("post", "/api/v1/findings/{finding}/snooze/", {"until": "2099-01-01T00:00:00Z", "x": 1}, ["x"]),
    ],
)
def test_unknown_fields_in_a_write_are_a_400_naming_them(
    catalog, as_user, member, method, url, body, unknown
):
    project = Project.objects.get(name="team-model")
    finding = catalog.finding(project, "stale-code")
    before = project.updated_at
    url = url.format(project=project.pk, finding=finding.pk)
    error = error_of(getattr(as_user(member), method)(url, body, format="json"), 400)
    assert sorted(error["fields"]) == unknown
    assert error["fields"][unknown[0]][0].startswith("unknown field; the fields that can be written are: ")
    project.refresh_from_db()
    assert project.updated_at == before
    assert not project.facts.exists()


def test_read_only_fields_sent_back_are_ignored(as_user, member, portal_project):
    client = as_user(member)
    url = f"/api/v1/projects/{portal_project.pk}/"
    read = client.get(url).json()
    body = {key: read[key] for key in ("id", "ref", "managed_by", "created_at", "updated_at")}
    response = client.patch(url, {**body, "title": "T"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "T"
