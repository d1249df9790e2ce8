"""People: git e-mails and Slack member id edited on the profile page, and commit authors matched to people
(on the project page, after a real git sync)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from catalog.models import Person, Project, Repository, Source
from catalog.people import match_authors, parse_git_emails, people_by_email
from catalog.sync import sync_source
from tests.gitrepos import git

NOREPLY = "12345+ada@users.noreply.github.com"


def edit_url(person: Person) -> str:
    return reverse("person-edit", args=[person.namespace, person.name])


def page_url(entity) -> str:
    kind = "project-detail" if isinstance(entity, Project) else "person-detail"
    return reverse(kind, args=[entity.namespace, entity.name])


# --- the addresses ------------------------------------------------------------------------------------------


def test_git_emails_are_normalised_deduplicated_and_validated():
    text = " Ada@Example.COM\nada@example.com, 12345+Ada@users.noreply.github.com ;\n\n"
    assert parse_git_emails(text) == ["ada@example.com", NOREPLY]
    with pytest.raises(Exception, match="'not-an-address' is not a valid e-mail address"):
        parse_git_emails("ada@example.com\nnot-an-address")


def test_people_by_email_matches_primary_and_git_emails_case_insensitively(catalog):
    ada = catalog.person("ada", email="Ada@Example.com", git_emails=[NOREPLY])
    grace = catalog.person("grace", git_emails=["grace@work.example", "g@home.example"])
    catalog.person("other", email="other@example.com", git_emails=["x-ada@example.com"])

    found = people_by_email(
        ["ADA@example.com", "12345+ADA@users.noreply.github.com", "G@home.example", "no@x"]
    )

    assert found == {"ada@example.com": ada, NOREPLY: ada, "g@home.example": grace}


def test_a_primary_email_wins_over_someone_elses_git_email(catalog):
    catalog.person("first", git_emails=["shared@example.com"])
    owner = catalog.person("second", email="shared@example.com")
    assert people_by_email(["shared@example.com"]) == {"shared@example.com": owner}


def test_match_authors_keeps_unmatched_authors_as_name_and_email(catalog, django_assert_num_queries):
    ada = catalog.person("ada", git_emails=[NOREPLY])
    authors = [{"name": "Ada", "email": NOREPLY, "commits": 7}] + [
        {"name": f"Dev {n}", "email": f"dev{n}@example.com", "commits": 1} for n in range(30)
    ]
    with django_assert_num_queries(1):
        matched = match_authors(authors)
    assert [(m.name, m.email, m.commits, m.person) for m in matched[:2]] == [
        ("Ada", NOREPLY, 7, ada),
        ("Dev 0", "dev0@example.com", 1, None),
    ]


def test_one_person_with_two_addresses_is_one_author(catalog):
    from catalog.people import merge_by_person

    ada = catalog.person("ada", email="ada@example.com", git_emails=[NOREPLY])
    authors = [
        {"name": "Bo", "email": "bo@example.com", "commits": 5},
        {"name": "Ada L", "email": "ada@example.com", "commits": 4},
        {"name": "Ada", "email": NOREPLY, "commits": 3},
    ]
    merged = merge_by_person(match_authors(authors))
    assert [(m.name, m.commits, m.person) for m in merged] == [("Ada L", 7, ada), ("Bo", 5, None)]


# --- the profile page ---------------------------------------------------------------------------------------


def test_the_person_edits_their_git_emails_and_slack_id(client, owner):
    person = owner.person
    client.force_login(owner)
    assert 'id="edit-profile"' in client.get(page_url(person)).content.decode()

    answer = client.post(
        edit_url(person),
        {
            "git_emails": "Owner@Example.com\n12345+Owner@users.noreply.github.com\nowner@example.com",
            "slack_user_id": " u024be7lh ",
        },
    )

    assert answer.status_code == 302 and answer["Location"] == page_url(person)
    person.refresh_from_db()
    assert person.git_emails == ["owner@example.com", "12345+owner@users.noreply.github.com"]
    assert person.slack_user_id == "U024BE7LH"
    page = client.get(page_url(person)).content.decode()
    assert "12345+owner@users.noreply.github.com" in page and "U024BE7LH" in page


def test_an_address_of_another_person_is_refused_by_name(client, owner, member):
    member.person.git_emails = ["shared@example.com"]
    member.person.save()
    client.force_login(owner)

    answer = client.post(edit_url(owner.person), {"git_emails": "Shared@example.com", "slack_user_id": ""})

    assert answer.status_code == 400
    assert "shared@example.com is already claimed by member (user:default/member)" in answer.content.decode()
    owner.person.refresh_from_db()
    assert owner.person.git_emails == []
    # Someone's primary address counts as claimed too.
    answer = client.post(edit_url(owner.person), {"git_emails": "member@example.com", "slack_user_id": ""})
    assert "member@example.com is already claimed by member" in answer.content.decode()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("T024BE7LH", "is not a Slack member id"),
        ("U0 24", "is not a Slack member id"),
        ("@ada", "not a Slack"),
    ],
)
def test_a_malformed_slack_id_is_refused(client, owner, value, error):
    client.force_login(owner)
    answer = client.post(edit_url(owner.person), {"git_emails": "", "slack_user_id": value})
    assert answer.status_code == 400 and error in answer.content.decode()


def test_a_slack_id_held_by_someone_else_is_refused(client, owner, member):
    member.person.slack_user_id = "U111"
    member.person.save()
    client.force_login(owner)
    answer = client.post(edit_url(owner.person), {"git_emails": "", "slack_user_id": "u111"})
    assert answer.status_code == 400
    assert "U111 is already the Slack member id of member" in answer.content.decode()


def test_outsiders_may_not_edit_and_staff_may(client, owner, member, outsider, staff):
    client.force_login(member)
    assert client.get(edit_url(owner.person)).status_code == 403
    assert client.post(edit_url(owner.person), {"git_emails": "x@example.com"}).status_code == 403
    assert 'id="edit-profile"' not in client.get(page_url(owner.person)).content.decode()
    client.force_login(staff)
    answer = client.post(edit_url(owner.person), {"git_emails": "x@example.com", "slack_user_id": "W0ABC"})
    assert answer.status_code == 302
    owner.person.refresh_from_db()
    assert (owner.person.git_emails, owner.person.slack_user_id) == (["x@example.com"], "W0ABC")


def test_descriptor_managed_fields_name_their_file(client, catalog, owner):
    repo = catalog.repository("people-repo")
    descriptor = catalog.descriptor_file("users.yaml", repository=repo)
    person = owner.person
    person.descriptor = descriptor
    person.save()
    client.force_login(owner)

    page = client.get(edit_url(person)).content.decode()

    assert "declared in users.yaml in repository people-repo (source &#x27;git-main&#x27;)" in page
    assert 'name="email"' not in page  # read-only: only git e-mails and Slack are in the form


# --- commit authors after a real git sync -------------------------------------------------------------------


def commit_as(repo, author: tuple[str, str], when: datetime, n: int) -> None:
    (repo / "history.txt").write_text(f"change {n}\n")
    git(repo, "add", "-A")
    env = {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_AUTHOR_DATE": when.isoformat(),
        "GIT_COMMITTER_NAME": author[0],
        "GIT_COMMITTER_EMAIL": author[1],
        "GIT_COMMITTER_DATE": when.isoformat(),
    }
    git(repo, "commit", "-q", "-m", f"change {n}", env=env)


@pytest.fixture
def synced_repo(tmp_path, db):
    """A real repository with commits by Ada (GitHub noreply address), Grace and an unknown author, synced."""
    repo = tmp_path / "fraud-model"
    repo.mkdir()
    git(repo, "init", "-q")
    now = datetime.now(UTC)
    authors = [("Ada L", NOREPLY)] * 3 + [("Grace", "GRACE@example.com")] * 2 + [("Stranger", "who@else.org")]
    for n, author in enumerate(authors):
        commit_as(repo, author, now - timedelta(days=30 - n), n)
    source = Source.objects.create(name="local", kind=Source.Kind.GIT, config={"paths": [str(repo)]})
    run = sync_source(source)
    assert run.failed == 0, run.errors
    return Repository.objects.get(name="fraud-model")


def test_sync_stores_authors_and_the_project_page_links_people(client, outsider, catalog, synced_repo):
    ada = catalog.person("ada", title="Ada Lovelace", git_emails=[NOREPLY])
    grace = catalog.person("grace", email="grace@example.com")
    assert synced_repo.authors_days == 180
    assert [(a["email"], a["commits"]) for a in synced_repo.authors] == [
        (NOREPLY, 3),
        ("grace@example.com", 2),
        ("who@else.org", 1),
    ]
    client.force_login(outsider)

    page = client.get(page_url(Project.objects.get(repository=synced_repo))).content.decode()

    assert f'<a class="author" href="{page_url(ada)}">Ada Lovelace</a> (3)' in page
    assert f'<a class="author" href="{page_url(grace)}">grace</a> (2)' in page
    assert '<span class="author">Stranger</span> <span class="muted">&lt;who@else.org&gt;</span> (1)' in page
    assert f'by <a href="{page_url(ada)}">Ada Lovelace</a>' not in page  # the last commit is the stranger's


def test_project_page_queries_do_not_grow_with_authors(
    client, outsider, catalog, django_assert_max_num_queries
):
    client.force_login(outsider)
    few = catalog.project("few", repository=catalog.repository("few", top_authors=[]))
    with django_assert_max_num_queries(60) as counted:
        client.get(page_url(few))
    baseline = len(counted.captured_queries)
    authors = [{"name": f"Dev {n}", "email": f"dev{n}@example.com", "commits": 1} for n in range(5)]
    for n in range(5):
        catalog.person(f"dev-{n}", git_emails=[f"dev{n}@example.com"])
    many = catalog.project("many", repository=catalog.repository("many", top_authors=authors))
    with django_assert_max_num_queries(baseline):  # one query matches every address, on both pages
        page = client.get(page_url(many)).content.decode()
    assert page.count('class="author"') == 5


def test_staff_deactivate_and_reactivate_people_in_the_admin(client, catalog, staff):
    staff.is_superuser = True
    staff.save()
    ada = catalog.person("ada")
    client.force_login(staff)
    url = reverse("admin:catalog_person_changelist")

    client.post(url, {"action": "deactivate", "_selected_action": [ada.pk]})
    ada.refresh_from_db()
    assert ada.deactivated_at is not None and not ada.is_active

    client.post(url, {"action": "reactivate", "_selected_action": [ada.pk]})
    ada.refresh_from_db()
    assert ada.deactivated_at is None and ada.is_active


def test_the_admin_form_checks_what_the_profile_checks(owner, member):
    from catalog import admin as catalog_admin
    from catalog.people_forms import PersonAdminForm

    assert catalog_admin.PersonAdmin.form is PersonAdminForm
    person = owner.person
    data = {"namespace": "default", "name": person.name, "git_emails": "member@example.com\nnot-an-email"}
    form = PersonAdminForm(data={**data, "slack_user_id": "bad id"}, instance=person)
    assert not form.is_valid()
    assert set(form.errors) >= {"git_emails", "slack_user_id"}
