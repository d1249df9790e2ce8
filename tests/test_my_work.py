"""My work: my teams' projects and models that need maintenance (ranked as the maintenance view), the
transfer requests I decide, the projects I could claim; sign-in lands there; its query count is fixed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog import transfers
from catalog.models import Finding, Project, Severity
from tests.conftest import PASSWORD

HTMX = {"HTTP_HX_REQUEST": "true"}


def text_of(response) -> str:
    return " ".join(response.content.decode().split())


def words_of(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", response.content.decode()).split())


@pytest.fixture
def fraud(catalog):
    return catalog.team("fraud")


@pytest.fixture
def requester(catalog, fraud, django_user_model):
    user = django_user_model.objects.create_user("requester", password=PASSWORD)
    catalog.person("requester", user=user, teams=[fraud])
    return user


def test_sign_in_lands_on_my_work(client, member):
    response = client.post(reverse("login"), {"username": "member", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("my-work")
    assert client.get(reverse("my-work")).status_code == 200
    client.logout()
    response = client.get(reverse("my-work"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_my_work_lists_my_teams_findings_ranked_and_leaves_others_and_snoozed_out(
    client, member, owner, team, fraud, catalog
):
    team_model = Project.objects.get(name="team-model")
    other = catalog.project("other-team-project", owner=fraud)
    older = catalog.project("older-platform-project", owner=team, maintenance_burden=50)
    team_model.maintenance_burden = 5
    team_model.save(update_fields=["maintenance_burden"])
    catalog.finding(team_model, "stale-code", message="team-model is stale.")
    catalog.finding(older, "ci-failing", severity=Severity.ERROR, message="older CI is red.")
    catalog.finding(other, "stale-code", message="not mine.")
    snoozed = catalog.finding(older, "no-descriptor", message="quiet for now.")
    snoozed.snoozed_until = timezone.now() + timedelta(days=5)
    snoozed.save()
    model = catalog.registered_model("platform-model", project=team_model)
    catalog.finding(model, "stale-model", message="platform-model is old.")
    catalog.finding(team, "owner-team-empty", message="the team finding.")
    catalog.project("nobodys", source=None, title="Unowned")

    client.force_login(member)
    response = client.get(reverse("my-work"))
    page = text_of(response)

    assert page.index("older-platform-project") < page.index("team-model is stale.")  # highest burden first
    assert "older CI is red." in page and "platform-model is old." in page and "the team finding." in page
    assert "not mine." not in page and "quiet for now." not in page
    assert "nobodys" in page.split('id="claimable"')[1]
    assert "Teams: ml-platform" in words_of(response)


def test_owners_decide_transfers_from_my_work(client, member, requester, fraud):
    team_model = Project.objects.get(name="team-model")
    transfer = transfers.request_transfer(team_model, fraud, by=requester, reason="we run it")

    client.force_login(requester)
    mine = text_of(client.get(reverse("my-work")))
    assert "My pending requests" in mine and "waiting for group:default/ml-platform" in mine
    assert 'id="to-decide"' not in mine

    client.force_login(member)
    page = text_of(client.get(reverse("my-work")))
    assert "team-model</a>: fraud asks for it (requester," in page and "we run it" in page
    response = client.post(
        reverse("transfer-decide", args=[transfer.pk]), {"decision": "accept", "answer": "row"}, **HTMX
    )
    assert response.status_code == 200
    row = text_of(response)
    assert row.startswith(f'<li class="transfer" id="transfer-{transfer.pk}">') and ">accepted<" in row
    team_model.refresh_from_db()
    assert team_model.owner_team == fraud


def test_my_work_takes_the_same_number_of_queries_for_many_items(
    client, member, requester, team, fraud, catalog
):
    def make(start: int, count: int) -> None:
        for i in range(start, start + count):
            project = catalog.project(f"p-{i:03d}", owner=team)
            catalog.finding(project, "stale-code")
            catalog.finding(project, "no-ci", severity=Severity.ERROR)
            catalog.finding(catalog.registered_model(f"m-{i:03d}", project=project), "stale-model")
            transfers.request_transfer(project, fraud, by=requester)
            catalog.project(f"free-{i:03d}", source=None)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("my-work")).status_code == 200
        return len(captured.captured_queries)

    client.force_login(member)
    make(0, 2)
    few = count()
    make(2, 30)
    assert count() == few
    assert few <= 20


def test_the_maintenance_view_leaves_findings_snoozed_now_out(client, member, catalog):
    project = Project.objects.get(name="team-model")
    quiet = catalog.finding(project, "stale-code", message="quiet until next week.")
    catalog.finding(project, "no-ci", message="still loud.")
    woken = catalog.finding(catalog.project("other"), "no-ci", message="snooze over.")
    Finding.objects.filter(pk=quiet.pk).update(snoozed_until=timezone.now() + timedelta(days=7))
    Finding.objects.filter(pk=woken.pk).update(snoozed_until=timezone.now() - timedelta(minutes=1))
    client.force_login(member)
    response = client.get(reverse("maintenance"))
    page = text_of(response)
    assert "still loud." in page and "snooze over." in page and "quiet until next week." not in page
    assert response.context["findings_total"] == 2
