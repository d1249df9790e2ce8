"""Membership provenance: each source (descriptor sync, identity provider, portal) replaces only its own."""

from __future__ import annotations

import pytest

from catalog import memberships
from catalog.models import Membership, Person, Source, Team
from catalog.sso import sign_in_person
from tests.test_sync import GROUP, descriptor, repo, sync

pytestmark = pytest.mark.django_db


def sources_of(team: Team) -> dict[str, list[str]]:
    return {m.person.name: m.sources for m in Membership.objects.filter(team=team).select_related("person")}


@pytest.fixture
def source():
    return Source.objects.create(name="repos", kind=Source.Kind.GIT)


def test_descriptor_sync_keeps_idp_and_portal_members(source, catalog, django_user_model):
    sync(source, repo("org", descriptor(GROUP, "org.yaml")))
    team = Team.objects.get(name="team-a")
    assert sources_of(team) == {"jdoe": ["descriptor"], "rroe": ["descriptor"]}
    mo = catalog.person("mo")
    team.members.add(mo)  # a portal (or admin) edit
    jdoe = Person.objects.get(name="jdoe")
    user = django_user_model.objects.create_user("jdoe", email="jdoe@example.com")
    sign_in_person(user, {"email": "jdoe@example.com", "groups": ["team-a"]})

    without_members = GROUP.replace("members: [jdoe]", "members: []").replace(
        "memberOf: [group:default/team-a]", "memberOf: []"
    )
    sync(source, repo("org", descriptor(without_members, "org.yaml")))

    assert sources_of(team) == {"jdoe": ["idp"], "mo": ["portal"]}
    jdoe.refresh_from_db()
    assert jdoe.user == user
    # declared again: the descriptor's claim comes back beside the others, one row each
    sync(source, repo("org", descriptor(GROUP, "org.yaml")))
    assert sources_of(team) == {"jdoe": ["descriptor", "idp"], "mo": ["portal"], "rroe": ["descriptor"]}
    assert list(team.members.order_by("name").values_list("name", flat=True)) == ["jdoe", "mo", "rroe"]


def test_sign_in_replaces_only_that_persons_idp_memberships(catalog, django_user_model):
    a, b, c = catalog.team("a"), catalog.team("b"), catalog.team("c")
    other = catalog.person("other", email="other@example.com")
    memberships.replace_from_idp(other, [a])
    user = django_user_model.objects.create_user("zoe")
    zoe = sign_in_person(
        user, {"email": "zoe@example.com", "preferred_username": "zoe", "groups": ["a", "b"]}
    )
    memberships.add_member(c, zoe)
    memberships.add_member(b, zoe)  # also added by hand

    sign_in_person(user, {"email": "zoe@example.com", "groups": "c"})  # one group as a plain string

    assert sources_of(a) == {"other": ["idp"]}
    assert sources_of(b) == {"zoe": ["portal"]}
    assert sources_of(c) == {"zoe": ["idp", "portal"]}
    sign_in_person(user, {"email": "zoe@example.com"})  # no groups claim: no provider memberships
    assert sources_of(c) == {"zoe": ["portal"]}


def test_group_mapping_setting_then_team_name(catalog, settings):
    fraud = catalog.team("fraud")
    ops = catalog.team("ops", namespace="infra")
    settings.PORTAL = {
        **settings.PORTAL,
        "OIDC": {"GROUPS_CLAIM": "roles", "GROUP_TEAMS": {"Ops-Admins": "group:infra/ops"}},
    }
    assert memberships.teams_for_groups(["ops-admins", "FRAUD", "nobody", "", 3]) == [fraud, ops]


def test_remove_member_keeps_other_sources(catalog):
    team, person = catalog.team("t"), catalog.person("p")
    memberships.replace_declared({(team.pk, person.pk)})
    memberships.add_member(team, person)
    assert memberships.remove_member(team, person) is True
    assert sources_of(team) == {"p": ["descriptor"]}
    memberships.replace_declared(set())
    assert not Membership.objects.exists()
    assert memberships.remove_member(team, person) is False
    with pytest.raises(ValueError, match="unknown membership source 'slack'"):
        memberships.add_member(team, person, source="slack")


def test_sign_in_names_a_new_person_without_clashing(catalog, django_user_model):
    catalog.person("sam")
    user = django_user_model.objects.create_user("u1")
    person = sign_in_person(user, {"email": "sam@example.com", "name": "Sam Two"})
    assert (person.name, person.title, person.user) == ("sam-2", "Sam Two", user)


def test_an_unverified_email_links_no_existing_person(catalog, django_user_model):
    ada = catalog.person("ada", email="ada@example.com")
    user = django_user_model.objects.create_user("mallory")
    person = sign_in_person(user, {"email": "ada@example.com", "email_verified": False, "sub": "m-1"})
    assert person != ada and person.user == user
    ada.refresh_from_db()
    assert ada.user is None
