"""Teams made and edited in the portal; descriptor-managed teams are read-only and say where to edit."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from catalog.models import DescriptorFile, Membership, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(catalog):
    """A portal team with a member, an outsider (with a Person), staff, and a declared team."""
    users = get_user_model().objects
    crew = catalog.team("crew")
    member = users.create_user("member")
    outsider = users.create_user("outsider")
    staff = users.create_user("staff", is_staff=True)
    catalog.person("member", user=member, teams=[crew])
    catalog.person("outsider", user=outsider)
    source = catalog.source("org-repo")
    file = DescriptorFile.objects.create(source=source, path="teams/org.yaml", read_at=catalog.now)
    declared = catalog.team("declared", source=source, descriptor=file)
    return {"crew": crew, "declared": declared, "member": member, "outsider": outsider, "staff": staff}


def edit_url(team):
    return f"/teams/{team.namespace}/{team.name}/edit/"


@pytest.mark.parametrize(("who", "status"), [("member", 302), ("staff", 302), ("outsider", 403)])
def test_who_may_edit_a_portal_team(client, people, who, status):
    client.force_login(people[who])
    response = client.post(
        edit_url(people["crew"]),
        {"name": "crew", "title": "The Crew", "description": "We ship.", "slack_channel": "#crew"},
    )
    assert response.status_code == status
    crew = Team.objects.get(pk=people["crew"].pk)
    assert (crew.title == "The Crew") is (status == 302)


def test_anonymous_is_sent_to_sign_in(client, people):
    response = client.post(edit_url(people["crew"]), {"name": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Team.objects.get(pk=people["crew"].pk).name == "crew"


def test_descriptor_managed_team_is_read_only_and_names_its_file(client, people):
    client.force_login(people["staff"])
    page = client.get("/teams/default/declared/").content.decode()
    assert "Read-only here" in page and "teams/org.yaml" in page and "org-repo" in page
    assert edit_url(people["declared"]) not in page
    assert client.get(edit_url(people["declared"])).status_code == 403
    response = client.post(edit_url(people["declared"]), {"name": "renamed"})
    assert response.status_code == 403 and b"teams/org.yaml" in response.content
    assert Team.objects.filter(name="declared").exists()


def test_team_page_offers_edit_to_members_only(client, people):
    client.force_login(people["member"])
    assert edit_url(people["crew"]) in client.get("/teams/default/crew/").content.decode()
    client.force_login(people["outsider"])
    assert edit_url(people["crew"]) not in client.get("/teams/default/crew/").content.decode()


def test_create_a_team_makes_its_maker_a_member(client, people):
    client.force_login(people["outsider"])
    response = client.post(
        "/teams/new/", {"name": "new-team", "title": "New", "parent": people["crew"].pk, "slack_channel": ""}
    )
    assert response.status_code == 302 and response["Location"] == "/teams/default/new-team/"
    team = Team.objects.get(name="new-team")
    assert team.parent == people["crew"] and team.source is None
    assert [m.sources for m in Membership.objects.filter(team=team)] == [["portal"]]
    assert team.members.get().user == people["outsider"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "CREW"}, "a team default/CREW already exists"),
        ({"name": "bad name!"}, "name: 1-63 letters"),
        ({"name": "ok", "slack_channel": "Not A Channel"}, "slack_channel: a channel name"),
    ],
)
def test_bad_team_input_is_refused_with_the_field_named(client, people, data, error):
    client.force_login(people["staff"])
    response = client.post("/teams/new/", data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert Team.objects.count() == 2


def test_a_team_cannot_be_its_own_ancestor(client, people, catalog):
    child = catalog.team("child", parent=people["crew"])
    client.force_login(people["staff"])
    response = client.post(edit_url(people["crew"]), {"name": "crew", "parent": child.pk})
    assert response.status_code == 400
    assert Team.objects.get(pk=people["crew"].pk).parent is None


def test_members_add_and_remove_keep_idp_memberships(client, people, catalog):
    from catalog import memberships

    crew = people["crew"]
    ivy = catalog.person("ivy", email="ivy@example.com")
    memberships.replace_from_idp(ivy, [crew])
    client.force_login(people["member"])

    assert client.post("/teams/default/crew/members/", {"person": "outsider"}).status_code == 302
    assert client.post("/teams/default/crew/members/", {"person": "IVY@example.com"}).status_code == 302
    response = client.post("/teams/default/crew/members/", {"person": "nobody"})
    assert response.status_code == 400 and "nobody named &#x27;nobody&#x27;" in response.content.decode()
    assert sorted(crew.members.values_list("name", flat=True)) == ["ivy", "member", "outsider"]

    client.post(f"/teams/default/crew/members/{ivy.pk}/remove/")
    outsider = people["outsider"].person
    client.post(f"/teams/default/crew/members/{outsider.pk}/remove/")
    rows = {m.person.name: m.sources for m in Membership.objects.filter(team=crew).select_related("person")}
    assert rows == {"ivy": ["idp"], "member": ["portal"]}
    page = client.get(edit_url(crew)).content.decode()
    assert "from idp" in page and "stays in crew" in page


def test_outsider_cannot_change_members(client, people):
    client.force_login(people["outsider"])
    member = people["member"].person
    assert client.post(f"/teams/default/crew/members/{member.pk}/remove/").status_code == 403
    assert client.post("/teams/default/crew/members/", {"person": "outsider"}).status_code == 403
    assert list(people["crew"].members.values_list("name", flat=True)) == ["member"]


def test_team_forms_need_the_csrf_token(people):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(people["member"])
    assert client.post(edit_url(people["crew"]), {"name": "crew", "title": "x"}).status_code == 403
    assert 'name="csrfmiddlewaretoken"' in client.get(edit_url(people["crew"])).content.decode()
    assert Team.objects.get(pk=people["crew"].pk).title == "Crew"


def test_a_team_keeps_its_name_so_what_points_at_it_keeps_pointing(client, people, catalog):
    project = catalog.project("free-a", owner=people["crew"])
    client.force_login(people["member"])
    page = client.get(edit_url(people["crew"])).content.decode()
    assert "group:default/crew: it does not change" in page
    response = client.post(edit_url(people["crew"]), {"name": "crew-bee", "title": "Crew Bee"})
    assert response.status_code == 302
    crew = Team.objects.get(pk=people["crew"].pk)
    assert (crew.name, crew.title) == ("crew", "Crew Bee")
    project.refresh_from_db()
    assert (project.owner_team, project.owner_ref) == (crew, "group:default/crew")


def test_a_refusal_page_says_why(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("noperson"))
    response = client.get("/teams/new/")
    assert response.status_code == 403
    assert "Only staff and people known to the portal may make teams." in response.content.decode()
