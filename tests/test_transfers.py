"""Handing a project over: requests, who may decide, their states, descriptor-managed owners, and the
project page's ownership panel (htmx, CSRF, sign-in)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from catalog import transfers
from catalog.models import Project, TransferRequest
from tests.auditing import entries
from tests.conftest import PASSWORD

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def fraud(catalog):
    return catalog.team("fraud")


@pytest.fixture
def requester(catalog, fraud, django_user_model):
    """A member of team ``fraud`` only: asks for the ``team-model`` project of ``ml-platform``."""
    user = django_user_model.objects.create_user("requester", email="req@example.com", password=PASSWORD)
    catalog.person("requester", user=user, teams=[fraud])
    return user


@pytest.fixture
def team_model(member) -> Project:
    return Project.objects.get(name="team-model")


def test_a_member_of_the_owner_team_accepts_and_the_owner_changes(team_model, requester, member, fraud):
    transfer = transfers.request_transfer(
        team_model, fraud, by=requester, reason="we run it now", via="portal"
    )
    assert (transfer.status, transfer.from_ref, transfer.reason) == (
        "pending",
        "group:default/ml-platform",
        "we run it now",
    )

    transfers.decide(transfer, by=member, accept=True, via="portal")

    team_model.refresh_from_db()
    transfer.refresh_from_db()
    assert (team_model.owner_team, team_model.owner_ref) == (fraud, "group:default/fraud")
    assert (transfer.status, transfer.decided_by) == ("accepted", member)
    assert transfer.decided_at is not None
    asked, decided = entries(transfer)
    assert (asked.actor, asked.action, asked.additional_data["via"]) == (
        requester,
        asked.Action.CREATE,
        "portal",
    )
    assert decided.actor == member and decided.changes_dict["status"] == ["pending", "accepted"]
    owner_change = entries(team_model)[-1]
    assert owner_change.actor == member and owner_change.additional_data == {"via": "portal"}
    assert owner_change.changes_dict["owner_ref"] == ["group:default/ml-platform", "group:default/fraud"]
    assert owner_change.changes_dict["owner_team"] == ["ml-platform", "fraud"]


def test_outsiders_and_the_requester_cannot_accept_staff_can(team_model, requester, outsider, staff, fraud):
    transfer = transfers.request_transfer(team_model, fraud, by=requester)
    with pytest.raises(PermissionDenied, match="only the owners of component:default/team-model or staff"):
        transfers.decide(transfer, by=outsider, accept=True)
    with pytest.raises(PermissionDenied):
        transfers.decide(transfer, by=requester, accept=True)
    transfer.refresh_from_db()
    assert transfer.is_pending

    transfers.decide(transfer, by=staff, accept=True)
    team_model.refresh_from_db()
    assert team_model.owner_team == fraud


def test_a_requester_who_is_also_an_owner_may_accept(team_model, requester, team, fraud):
    team.members.add(requester.person)
    transfer = transfers.request_transfer(team_model, fraud, by=requester)
    transfers.decide(transfer, by=requester, accept=True)
    team_model.refresh_from_db()
    assert team_model.owner_team == fraud


def test_declined_and_cancelled_requests_are_closed_for_good(
    team_model, requester, member, staff, fraud, team
):
    declined = transfers.request_transfer(team_model, fraud, by=requester)
    transfers.decide(declined, by=member, accept=False)
    declined.refresh_from_db()
    assert (declined.status, declined.decided_by) == ("declined", member)
    team_model.refresh_from_db()
    assert team_model.owner_team == team
    with pytest.raises(ValidationError, match="this request was declined already"):
        transfers.decide(declined, by=member, accept=True)
    with pytest.raises(ValidationError, match="declined already"):
        transfers.cancel(declined, by=requester)

    again = transfers.request_transfer(team_model, fraud, by=requester)  # a new request after a decline
    with pytest.raises(PermissionDenied, match="only who asked, or staff"):
        transfers.cancel(again, by=member)
    transfers.cancel(again, by=requester)
    again.refresh_from_db()
    assert (again.status, again.decided_by) == ("cancelled", requester)
    with pytest.raises(ValidationError, match="cancelled already"):
        transfers.decide(again, by=member, accept=True)
    third = transfers.request_transfer(team_model, fraud, by=requester)
    transfers.cancel(third, by=staff)
    assert TransferRequest.objects.filter(status="pending").count() == 0


def test_a_decision_on_a_stale_copy_is_refused(team_model, requester, member, fraud):
    transfer = transfers.request_transfer(team_model, fraud, by=requester)
    stale_copy = TransferRequest.objects.get(pk=transfer.pk)
    transfers.cancel(transfer, by=requester)
    with pytest.raises(ValidationError, match="cancelled already"):
        transfers.decide(stale_copy, by=member, accept=True)
    team_model.refresh_from_db()
    assert team_model.owner_team.name == "ml-platform"


def test_requests_are_refused_with_the_reason(team_model, requester, outsider, member, fraud, team, catalog):
    transfers.request_transfer(team_model, fraud, by=requester)
    with pytest.raises(
        ValidationError, match="group:default/fraud has asked for component:default/team-model"
    ):
        transfers.request_transfer(team_model, fraud, by=requester)
    with pytest.raises(PermissionDenied, match="only for one of your own teams, not group:default/fraud"):
        transfers.request_transfer(team_model, fraud, by=outsider)
    with pytest.raises(ValidationError, match="owns component:default/team-model already"):
        transfers.request_transfer(team_model, team, by=member)
    unowned = catalog.project("nobodys")
    with pytest.raises(ValidationError, match="nobody owns component:default/nobodys: claim it instead"):
        transfers.request_transfer(unowned, fraud, by=requester)


def test_descriptor_managed_ownership_is_refused_naming_the_file(
    team_model, requester, member, fraud, catalog
):
    transfer = transfers.request_transfer(team_model, fraud, by=requester)
    team_model.descriptor = catalog.descriptor_file("ml/catalog-info.yaml", repository=team_model.repository)
    team_model.save(update_fields=["descriptor"])
    expected = "ml/catalog-info.yaml in repository team-model .source 'git-main'.: change spec.owner there"

    with pytest.raises(ValidationError, match=expected):
        transfers.request_transfer(team_model, fraud, by=member)
    with pytest.raises(ValidationError, match=expected):
        transfers.decide(transfer, by=member, accept=True)
    transfer.refresh_from_db()
    team_model.refresh_from_db()
    assert transfer.is_pending and team_model.owner_team.name == "ml-platform"


# The project page's ownership panel.


def panel_post(client, name: str, *args, **data):
    return client.post(reverse(name, args=args), data, **HTMX)


def test_claim_from_the_page_swaps_the_panel_and_the_history(client, requester, fraud, catalog):
    catalog.project("nobodys")
    client.force_login(requester)
    page = client.get(reverse("project-detail", args=["default", "nobodys"])).content.decode()
    assert 'hx-post="/projects/default/nobodys/claim/"' in page and "Claim it for" in page

    response = panel_post(client, "project-claim", "default", "nobodys", team=fraud.pk)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<section class="card" id="ownership"')
    assert 'href="/teams/default/fraud/">fraud</a>' in html and "Claim it for" not in html
    assert 'id="audit-history" hx-swap-oob="true"' in html
    assert "requester claimed it for group:default/fraud" in " ".join(html.split())
    assert Project.objects.get(name="nobodys").owner_team == fraud


def test_claiming_an_owned_project_or_for_another_team_is_refused(
    client, requester, team_model, team, catalog
):
    client.force_login(requester)
    response = panel_post(client, "project-claim", "default", "team-model", team=team.pk)
    assert response.status_code == 400 and "ask for a transfer" in response.content.decode()
    catalog.project("nobodys")
    response = panel_post(client, "project-claim", "default", "nobodys", team=team.pk)
    assert response.status_code == 403
    assert "only one of your own teams (or yourself) the owner, not group:default/ml-platform" in (
        response.content.decode()
    )


def test_request_and_accept_from_the_page(client, requester, member, team_model, fraud):
    client.force_login(requester)
    url = reverse("project-detail", args=["default", "team-model"])
    assert "Hand it to" in client.get(url).content.decode()
    response = panel_post(
        client, "project-transfer-request", "default", "team-model", team=fraud.pk, reason="ours"
    )
    assert response.status_code == 200
    html = " ".join(response.content.decode().split())
    assert (
        "fraud</a> asked by requester" in html and "Cancel request" in html and 'value="accept"' not in html
    )
    transfer = TransferRequest.objects.get()

    client.force_login(member)
    assert 'value="accept"' in client.get(url).content.decode()
    response = panel_post(client, "transfer-decide", transfer.pk, decision="accept")
    assert response.status_code == 200
    html = " ".join(response.content.decode().split())
    assert 'href="/teams/default/fraud/">fraud</a>' in html
    assert "member accepted the transfer to fraud" in html and "requester asked that fraud owns it" in html
    team_model.refresh_from_db()
    assert team_model.owner_team == fraud


def test_the_panel_names_the_descriptor_and_offers_nothing(client, member, team_model, catalog):
    team_model.descriptor = catalog.descriptor_file("catalog-info.yaml", repository=team_model.repository)
    team_model.save(update_fields=["descriptor"])
    client.force_login(member)
    html = client.get(reverse("project-detail", args=["default", "team-model"])).content.decode()
    assert (
        "The owner is declared by catalog-info.yaml in repository team-model (source &#x27;git-main&#x27;)"
        in html
    )
    assert "Hand it to" not in html and "Claim it for" not in html


def test_sign_in_and_csrf_are_required(client, requester, fraud, catalog):
    catalog.project("nobodys")
    response = client.post(reverse("project-claim", args=["default", "nobodys"]), {"team": fraud.pk})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(requester)
    response = strict.post(reverse("project-claim", args=["default", "nobodys"]), {"team": fraud.pk}, **HTMX)
    assert response.status_code == 403
    assert Project.objects.get(name="nobodys").owner_team is None


def test_bad_decisions_are_named(client, requester, member, team_model, fraud, outsider):
    transfer = transfers.request_transfer(team_model, fraud, by=requester)
    client.force_login(member)
    response = panel_post(client, "transfer-decide", transfer.pk, decision="maybe")
    assert (
        response.status_code == 400
        and "decision must be one of accept, decline, cancel, not &#x27;maybe&#x27;"
        in (response.content.decode())
    )
    client.force_login(outsider)
    response = panel_post(client, "transfer-decide", transfer.pk, decision="accept")
    assert response.status_code == 403
    response = client.post(reverse("transfer-decide", args=[transfer.pk]), {"decision": "accept"})
    assert response.status_code == 302 and response["Location"] == "/projects/default/team-model/"
    transfer.refresh_from_db()
    assert transfer.is_pending


def test_a_claim_decides_on_the_project_as_stored_not_a_stale_copy(catalog, requester, member, team, fraud):
    from catalog.ownership import set_owner

    project = catalog.project("race-0", owner=None, owner_ref="", descriptor=None)
    stale = Project.objects.get(pk=project.pk)  # read by the second request before the first claim
    set_owner(Project.objects.get(pk=project.pk), team, by=member, via="portal")

    with pytest.raises(PermissionDenied, match="only its owners or staff"):
        set_owner(stale, fraud, by=requester, via="portal")
    project.refresh_from_db()
    assert project.owner_team == team
    assert [str(entry) for entry in entries(project)].count("Updated race-0") == 1  # the first claim only


def test_a_claim_resolves_the_no_owner_finding_at_once(
    catalog, member, team, django_capture_on_commit_callbacks
):
    from catalog.models import Finding
    from catalog.ownership import set_owner
    from catalog.rules.evaluate import evaluate_rules

    project = catalog.project("lost", owner=None, owner_ref="", descriptor=None)
    evaluate_rules(codes=["no-owner"])
    assert Finding.objects.filter(project=project, rule="no-owner", resolved_at=None).exists()

    with django_capture_on_commit_callbacks(execute=True):
        set_owner(project, team, by=member, via="portal")

    assert not Finding.objects.filter(project=project, rule="no-owner", resolved_at=None).exists()


def test_claiming_a_descriptor_owned_project_names_the_file_not_a_transfer(
    client, requester, fraud, team_model, catalog
):
    team_model.descriptor = catalog.descriptor_file("ml/catalog-info.yaml", repository=team_model.repository)
    team_model.save(update_fields=["descriptor"])
    client.force_login(requester)
    response = panel_post(client, "project-claim", "default", "team-model", team=fraud.pk)
    text = response.content.decode()
    assert response.status_code == 400 and "ml/catalog-info.yaml" in text and "ask for a transfer" not in text


def test_a_refusal_without_htmx_is_shown_after_the_redirect(client, requester, team, catalog):
    catalog.project("nobodys", owner=None, owner_ref="", descriptor=None)
    client.force_login(requester)
    response = client.post(
        reverse("project-claim", args=["default", "nobodys"]), {"team": team.pk}, follow=True
    )
    assert "Ownership not changed: you can make only one of your own teams" in response.content.decode()
