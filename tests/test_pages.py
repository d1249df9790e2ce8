"""The browser pages: access, maintenance ranking and filters, htmx partials, detail pages, query counts."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse

from catalog.models import RegisteredModel, Severity, SyncRun
from tests.conftest import CatalogFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(catalog: CatalogFactory):
    """A catalog whose maintenance ranking is known: alpha, bravo, charlie, delta, echo, golf.

    alpha has a critical finding; bravo two errors; charlie and delta one error each (charlie's older);
    echo a warning and an info; golf (orphaned) one warning. foxtrot has only a resolved finding and hotel
    none: neither is listed.
    """
    platform = catalog.team("ml-platform", title="ML Platform")
    fraud = catalog.team("fraud", title="Fraud detection", parent=platform)
    ada = catalog.person("ada", title="Ada Lovelace", teams=[fraud])
    p = SimpleNamespace(platform=platform, fraud=fraud, ada=ada)
    p.alpha = catalog.project(
        "alpha", owner=fraud, lifecycle="production", description="Scores card payments."
    )
    p.bravo = catalog.project("bravo", owner=platform, lifecycle="experimental", tags=["nlp", "transformers"])
    p.charlie = catalog.project("charlie", owner=ada, lifecycle="production", type="pipeline")
    p.delta = catalog.project("delta", owner_ref="group:default/nobody", lifecycle="deprecated")
    p.echo = catalog.project("echo", owner=fraud, lifecycle="production")
    p.foxtrot = catalog.project("foxtrot", owner=fraud)
    p.golf = catalog.project("golf", owner=platform, orphaned_at=catalog.now - timedelta(days=3))
    p.hotel = catalog.project("hotel", owner=platform)

    catalog.finding(p.alpha, "stale-code", severity=Severity.CRITICAL, age_days=5, message="Alpha is stale.")
    catalog.finding(p.bravo, "no-owner", severity=Severity.ERROR, age_days=3, message="Bravo has no owner.")
    catalog.finding(
        p.bravo, "invalid-descriptor", severity=Severity.ERROR, age_days=3, message="Bravo invalid."
    )
    catalog.finding(
        p.charlie, "invalid-descriptor", severity=Severity.ERROR, age_days=60, message="Charlie bad."
    )
    catalog.finding(
        p.delta, "owner-unknown", severity=Severity.ERROR, age_days=10, message="Delta owner unknown."
    )
    catalog.finding(
        p.echo,
        "stale-code",
        severity=Severity.WARNING,
        age_days=200,
        message="Echo has had no commit for 200 days.",
        evidence={"last_commit_at": "2024-11-13T09:30:00+00:00", "url": "https://git.example.com/ml/echo"},
    )
    catalog.finding(
        p.echo, "no-descriptor", severity=Severity.INFO, age_days=200, message="Echo no descriptor."
    )
    catalog.finding(p.golf, "orphaned", severity=Severity.WARNING, age_days=3, message="Golf is orphaned.")
    catalog.finding(
        p.foxtrot,
        "stale-code",
        age_days=90,
        message="Foxtrot was stale.",
        resolved_at=catalog.now - timedelta(days=2),
    )
    catalog.finding(
        fraud, "invalid-descriptor", severity=Severity.ERROR, message="Fraud team descriptor invalid."
    )
    return p


@pytest.fixture
def signed_in(client, outsider):
    """Any signed-in user may read every page: the outsider too."""
    client.force_login(outsider)
    return client


def page_urls(sample, run: SyncRun):
    return {
        "maintenance": reverse("maintenance"),
        "project-list": reverse("project-list"),
        "project-detail": reverse("project-detail", args=["default", "alpha"]),
        "team-list": reverse("team-list"),
        "team-detail": reverse("team-detail", args=["default", "fraud"]),
        "person-detail": reverse("person-detail", args=["default", "ada"]),
        "syncrun-list": reverse("syncrun-list"),
        "syncrun-detail": reverse("syncrun-detail", args=[run.pk]),
        "source-list": reverse("source-list"),
    }


PAGES = [
    "maintenance",
    "project-list",
    "project-detail",
    "team-list",
    "team-detail",
    "person-detail",
    "syncrun-list",
    "syncrun-detail",
    "source-list",
]


def listed(response) -> list[str]:
    """The project names of a maintenance page, in order."""
    return [project.name for project in response.context["object_list"]]


# Access


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_for_signed_in_user(signed_in, sample, catalog, page):
    run = catalog.sync_run(errors=[{"item": "repo-x", "message": "clone failed"}])
    response = signed_in.get(page_urls(sample, run)[page])
    assert response.status_code == 200
    assert b"<html" in response.content


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_user_is_sent_to_login(client, sample, catalog, page):
    url = page_urls(sample, catalog.sync_run())[page]
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_anonymous_htmx_request_is_sent_to_login_page(client):
    response = client.get(reverse("maintenance") + "?rule=stale-code", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_read_when_enabled(client, sample, catalog, settings, page):
    settings.PORTAL = {**settings.PORTAL, "ANONYMOUS_READ": True}
    response = client.get(page_urls(sample, catalog.sync_run())[page])
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_login_page_and_logout_form(client, signed_in):
    assert client.get(reverse("login")).status_code == 200
    page = signed_in.get(reverse("maintenance")).content.decode()
    assert f'<form method="post" action="{reverse("logout")}"' in page
    assert "csrfmiddlewaretoken" in page
    assert "X-CSRFToken" in page
    assert "/static/vendor/htmx.min.js" in page


def test_admin_link_only_for_staff(client, outsider, staff):
    client.force_login(outsider)
    assert reverse("admin:index") not in client.get(reverse("maintenance")).content.decode()
    client.force_login(staff)
    assert reverse("admin:index") in client.get(reverse("maintenance")).content.decode()


def test_login_through_the_form(client, outsider):
    from tests.conftest import PASSWORD

    response = client.post(reverse("login"), {"username": "outsider", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("my-work")  # the first thing after sign-in


# The maintenance view


def test_maintenance_ranking(signed_in, sample):
    response = signed_in.get(reverse("maintenance"))
    assert listed(response) == ["alpha", "bravo", "charlie", "delta", "echo", "golf"]


def test_maintenance_rows(signed_in, sample):
    page = signed_in.get(reverse("maintenance")).content.decode()
    assert "Echo has had no commit for 200 days." in page
    assert 'href="https://git.example.com/ml/echo"' in page  # evidence url as a link
    assert "2024-11-13" in page  # evidence date
    assert "since 2024-11-13" in page  # first seen 200 days before NOW
    assert "stale-code" in page
    assert reverse("team-detail", args=["default", "fraud"]) in page  # owner link
    assert reverse("person-detail", args=["default", "ada"]) in page
    assert "group:default/nobody" in page and "(unknown)" in page
    assert "orphaned" in page
    assert "Foxtrot was stale." not in page
    # The team's own finding has its own section.
    assert "Fraud team descriptor invalid." in page


def test_maintenance_counts(signed_in, sample):
    response = signed_in.get(reverse("maintenance"))
    counts = {item["severity"]: item["count"] for item in response.context["severity_counts"]}
    assert counts == {Severity.CRITICAL: 1, Severity.ERROR: 5, Severity.WARNING: 2, Severity.INFO: 1}
    assert response.context["findings_total"] == 9


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("team=fraud", ["alpha", "echo"]),
        ("team=ml-platform", ["bravo", "golf"]),
        ("rule=invalid-descriptor", ["charlie", "bravo"]),  # the older finding first
        ("rule=stale-code", ["alpha", "echo"]),
        ("severity=30", ["alpha", "bravo", "charlie", "delta"]),
        ("severity=40", ["alpha"]),
        ("lifecycle=production", ["alpha", "charlie", "echo", "golf"]),
        ("lifecycle=deprecated", ["delta"]),
        ("q=card+payments", ["alpha"]),
        ("q=TRANSFORM", ["bravo"]),
        ("q=ech", ["echo"]),
        ("team=FRAUD&rule=no-descriptor", ["echo"]),  # references ignore case
        ("team=default/fraud", ["alpha", "echo"]),
        ("rule=stale-code&severity=40", ["alpha"]),
        ("rule=no-descriptor&severity=20", []),
    ],
)
def test_maintenance_filters(signed_in, sample, query, expected):
    url = reverse("maintenance") + "?" + query
    assert listed(signed_in.get(url)) == expected


def test_maintenance_filters_narrow_findings_and_counts(signed_in, sample):
    response = signed_in.get(reverse("maintenance") + "?rule=no-descriptor")
    page = response.content.decode()
    assert "Echo no descriptor." in page
    assert "Echo has had no commit" not in page  # the other rule's finding is not shown
    assert response.context["findings_total"] == 1
    # A rule that holds only for teams empties the project list but keeps the team section.
    response = signed_in.get(reverse("maintenance") + "?team=fraud&rule=invalid-descriptor")
    assert listed(response) == []
    assert [team.name for team in response.context["teams_with_findings"]] == ["fraud"]
    assert response.context["findings_total"] == 1


def test_maintenance_lists_registered_models(signed_in, sample, catalog):
    orphan = catalog.registered_model("churn-model")
    linked = catalog.registered_model("alpha-model", project=sample.alpha)
    catalog.finding(orphan, "orphan-model", severity=Severity.ERROR, message="churn-model has no project.")
    catalog.finding(linked, "stale-model", message="alpha-model's production version is 200 days old.")
    response = signed_in.get(reverse("maintenance"))
    page = response.content.decode()
    assert "churn-model has no project." in page and "no project" in page
    assert "alpha-model&#x27;s production version is 200 days old." in page
    assert 'href="https://mlflow.example.com/#/models/churn-model"' in page
    assert [m.name for m in response.context["models_with_findings"]] == ["alpha-model", "churn-model"]
    assert response.context["findings_total"] == 11
    # Filters on the project reach models through their project, so orphans drop out.
    response = signed_in.get(reverse("maintenance") + "?team=fraud")
    assert [m.name for m in response.context["models_with_findings"]] == ["alpha-model"]
    response = signed_in.get(reverse("maintenance") + "?severity=30")
    assert [m.name for m in response.context["models_with_findings"]] == ["churn-model"]
    response = signed_in.get(reverse("maintenance") + "?q=churn")
    assert [m.name for m in response.context["models_with_findings"]] == ["churn-model"]
    assert listed(response) == []


def test_maintenance_lifecycle_filter_hides_teams(signed_in, sample):
    response = signed_in.get(reverse("maintenance") + "?lifecycle=production")
    assert response.context["teams_with_findings"] == []


def test_maintenance_invalid_filter_shows_nothing(signed_in, sample):
    response = signed_in.get(reverse("maintenance") + "?team=no-such-team")
    assert response.status_code == 200
    assert listed(response) == []
    assert response.context["findings_total"] == 0


def test_maintenance_form_uses_htmx(signed_in, sample):
    page = signed_in.get(reverse("maintenance")).content.decode()
    assert 'hx-get="/"' in page
    assert 'hx-target="#results"' in page
    assert 'hx-push-url="true"' in page
    assert 'hx-trigger="change, keyup changed delay:300ms from:input[type=search]' in page
    assert 'type="search"' in page


def test_htmx_request_gets_only_the_results(signed_in, sample):
    full = signed_in.get(reverse("maintenance") + "?rule=stale-code")
    partial = signed_in.get(reverse("maintenance") + "?rule=stale-code", headers={"HX-Request": "true"})
    assert b"<html" in full.content and b'id="results"' in full.content
    assert b"<html" not in partial.content
    assert b"<form" not in partial.content
    assert b'id="finding-counts"' in partial.content
    assert listed(partial) == ["alpha", "echo"]
    assert "HX-Request" in partial["Vary"] and "HX-Request" in full["Vary"]
    # A history restore asks for the full page.
    restore = signed_in.get(
        reverse("maintenance"), headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert b"<html" in restore.content


def test_maintenance_pagination(signed_in, catalog):
    catalog.populate(55)
    first = signed_in.get(reverse("maintenance") + "?rule=stale-code")
    assert len(first.context["object_list"]) == 50
    page = first.content.decode()
    assert 'hx-get="/?rule=stale-code&amp;page=2"' in page
    second = signed_in.get(reverse("maintenance") + "?rule=stale-code&page=2", headers={"HX-Request": "true"})
    assert len(second.context["object_list"]) == 5
    assert b'start="51"' in second.content
    # out of range or not a number: the nearest page, as the tables do, not a 404
    assert (
        len(signed_in.get(reverse("maintenance") + "?rule=stale-code&page=999").context["object_list"]) == 5
    )
    assert len(signed_in.get(reverse("maintenance") + "?page=abc").context["object_list"]) == 50


# The project list


def test_project_list_search(signed_in, sample):
    def names(query):
        response = signed_in.get(reverse("project-list") + query)
        return sorted(row.record.name for row in response.context["table"].rows)

    assert names("") == ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    assert names("?q=transf") == ["bravo"]  # a tag
    assert names("?q=PAYMENTS") == ["alpha"]  # the description
    assert names("?q=golf") == ["golf"]  # the name
    assert names("?q=nothing-like-this") == []
    assert names("?team=fraud") == ["alpha", "echo", "foxtrot"]
    assert names("?type=pipeline") == ["charlie"]
    assert names("?lifecycle=deprecated") == ["delta"]


def test_project_list_table(signed_in, sample):
    response = signed_in.get(reverse("project-list") + "?sort=-name")
    assert [row.record.name for row in response.context["table"].rows][:2] == ["hotel", "golf"]
    page = response.content.decode()
    assert 'hx-trigger="keyup changed delay:250ms, search"' in page
    assert reverse("project-detail", args=["default", "alpha"]) in page
    open_counts = {row.record.name: row.record.open_findings_count for row in response.context["table"].rows}
    assert open_counts["bravo"] == 2 and open_counts["foxtrot"] == 0
    sample.charlie.repository.last_commit_at = sample.charlie.repository.last_commit_at - timedelta(days=400)
    sample.charlie.repository.save()
    response = signed_in.get(reverse("project-list") + "?sort=last_commit")
    assert response.context["table"].rows[0].record.name == "charlie"
    partial = signed_in.get(reverse("project-list") + "?q=alpha", headers={"HX-Request": "true"})
    assert b"<html" not in partial.content and b"project-table" in partial.content


def test_team_list_counts(signed_in, sample):
    response = signed_in.get(reverse("team-list"))
    rows = {row.record.name: row.record for row in response.context["table"].rows}
    assert rows["fraud"].members_count == 1
    assert rows["fraud"].projects_count == 3
    assert rows["fraud"].open_findings_count == 1
    assert rows["ml-platform"].projects_count == 3


def test_syncrun_list_filters(signed_in, catalog):
    other = catalog.source("other")
    catalog.sync_run(status="failed")
    catalog.sync_run(source=other, status="success")
    response = signed_in.get(reverse("syncrun-list") + "?source=other")
    assert [row.record.source.name for row in response.context["table"].rows] == ["other"]
    response = signed_in.get(reverse("syncrun-list") + "?status=failed")
    assert [row.record.status for row in response.context["table"].rows] == ["failed"]


def test_syncrun_detail_lists_errors(signed_in, catalog):
    run = catalog.sync_run(
        status="partial", errors=[{"item": "repos/broken", "message": "not a git repository"}]
    )
    page = signed_in.get(reverse("syncrun-detail", args=[run.pk])).content.decode()
    assert "repos/broken" in page and "not a git repository" in page
    assert "42.0 s" in page


def test_syncrun_detail_lists_what_changed(signed_in, catalog):
    run = catalog.sync_run(changes={"orphaned": {"project": ["default/fraud-model"]}})
    page = signed_in.get(reverse("syncrun-detail", args=[run.pk])).content.decode()
    assert "Orphaned" in page and "<code>default/fraud-model</code>" in page


def test_source_list_shows_last_run(signed_in, catalog):
    catalog.sync_run(status="failed", started_at=catalog.now - timedelta(days=1))
    catalog.sync_run(status="partial")
    catalog.source("never-synced", enabled=False)
    page = signed_in.get(reverse("source-list")).content.decode()
    assert "git-main" in page and "partial" in page and "failed" not in page
    assert "never-synced" in page
    response = signed_in.get(reverse("source-list") + "?enabled=false")
    assert [row.record.name for row in response.context["table"].rows] == ["never-synced"]


# Detail pages


def test_project_detail(signed_in, catalog, sample):
    project = sample.alpha
    catalog.descriptor_file(
        repository=project.repository,
        errors=[
            {
                "path": "catalog-info.yaml",
                "document": 2,
                "field": "spec.lifecycle",
                "message": "must be a string",
            }
        ],
    )
    project.descriptor = catalog.descriptor_file("catalog/alpha.yaml")
    project.descriptor_document = 3
    project.save()
    catalog.finding(
        project, "no-owner", message="Alpha had no owner.", resolved_at=catalog.now - timedelta(days=4)
    )
    page = signed_in.get(reverse("project-detail", args=["default", "alpha"])).content.decode()
    # Descriptor errors of the repository's descriptor files.
    assert "must be a string" in page and "spec.lifecycle" in page
    # Where it was declared.
    assert "catalog/alpha.yaml" in page and "document 3" in page and "git-main" in page
    # Repository facts.
    assert 'href="https://git.example.com/ml/alpha"' in page
    assert "0123456789" in page and "Ada Lovelace" in page and "main" in page
    assert "Commits, last 90 days" in page
    # Findings: open, and the history of resolved ones.
    assert "Alpha is stale." in page
    assert "Alpha had no owner." in page and "2025-05-28" in page
    assert "Scores card payments." in page
    assert reverse("team-detail", args=["default", "fraud"]) in page


def test_project_detail_lookup_is_case_insensitive(signed_in, sample):
    assert signed_in.get(reverse("project-detail", args=["default", "ALPHA"])).status_code == 200


def test_project_detail_escapes_description(signed_in, catalog):
    catalog.project("xss", description="<script>alert('x')</script> & <b>bold</b>", title="<i>t</i>")
    page = signed_in.get(reverse("project-detail", args=["default", "xss"])).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page and "<i>t</i>" not in page


def test_project_detail_links_only_http(signed_in, catalog):
    catalog.project(
        "linked",
        links=[
            {"url": "javascript:alert(1)", "title": "Evil"},
            {"url": "JAVASCRIPT:alert(2)", "title": "Evil too"},
            {"url": "https://docs.example.com/linked", "title": "Docs"},
            {"url": "data:text/html,hi", "title": "Data"},
        ],
        annotations={"mlflow.org/registered-model": "fraud-scorer"},
    )
    page = signed_in.get(reverse("project-detail", args=["default", "linked"])).content.decode()
    assert 'href="https://docs.example.com/linked"' in page
    assert 'href="javascript' not in page.lower()
    assert 'href="data:' not in page
    assert "Evil" in page  # shown as text
    assert "fraud-scorer" in page


def test_project_detail_orphaned_banner_and_unknown_owner(signed_in, sample):
    page = signed_in.get(reverse("project-detail", args=["default", "golf"])).content.decode()
    assert "Orphaned since" in page
    page = signed_in.get(reverse("project-detail", args=["default", "delta"])).content.decode()
    assert "group:default/nobody" in page and "(unknown)" in page
    assert "Orphaned since" not in page


def test_unknown_pages_are_404(signed_in, sample):
    assert signed_in.get(reverse("project-detail", args=["default", "nope"])).status_code == 404
    assert signed_in.get(reverse("team-detail", args=["default", "nope"])).status_code == 404
    assert signed_in.get(reverse("person-detail", args=["default", "nope"])).status_code == 404
    assert signed_in.get(reverse("syncrun-detail", args=[999999])).status_code == 404


def test_404_page_is_the_portals(signed_in, settings):
    settings.DEBUG = False
    response = signed_in.get(reverse("project-detail", args=["default", "nope"]))
    assert response.status_code == 404
    assert (
        b"Back to the maintenance view" in response.content and b"No project default/nope" in response.content
    )


def test_team_detail(signed_in, sample):
    page = signed_in.get(reverse("team-detail", args=["default", "ml-platform"])).content.decode()
    assert reverse("team-detail", args=["default", "fraud"]) in page  # child team
    assert reverse("project-detail", args=["default", "bravo"]) in page  # owned project
    page = signed_in.get(reverse("team-detail", args=["default", "fraud"])).content.decode()
    assert "Ada Lovelace" in page  # member
    assert "Fraud team descriptor invalid." in page  # the team's own finding
    assert reverse("team-detail", args=["default", "ml-platform"]) in page  # parent


def test_person_detail(signed_in, sample):
    page = signed_in.get(reverse("person-detail", args=["default", "ada"])).content.decode()
    assert reverse("team-detail", args=["default", "fraud"]) in page
    assert reverse("project-detail", args=["default", "charlie"]) in page


# Query counts: pinned per page, and the same at 3 and at 30 projects.

# Each count includes the session and the user of the signed-in client (2 queries).
EXPECTED_QUERIES = {
    "maintenance": 17,  # 14, plus the trends: snapshots, findings opened and fixed, level moves
    "project-list": 7,
    # 7, its CI pipelines (their runs only when it has some), triage rights, scorecards (its levels, its
    # results), the people of its commit authors (1), pending transfer requests and the audit log (2)
    "project-detail": 14,
    "team-list": 6,
    "team-detail": 12,  # 7, plus its Slack channel, plus the trends (3), plus whether one may edit it
    "person-detail": 5,
    "syncrun-list": 5,
    "syncrun-detail": 3,
    "source-list": 4,
}


@pytest.mark.parametrize("page", PAGES)
def test_query_count_is_constant(signed_in, catalog, django_assert_num_queries, page):
    small = catalog.populate(3)
    run = SyncRun.objects.first()
    urls = {
        "maintenance": reverse("maintenance"),
        "project-list": reverse("project-list"),
        "project-detail": reverse("project-detail", args=["default", small[0].name]),
        "team-list": reverse("team-list"),
        "team-detail": reverse("team-detail", args=["default", "team-0"]),
        "person-detail": reverse("person-detail", args=["default", "maintainer"]),
        "syncrun-list": reverse("syncrun-list"),
        "syncrun-detail": reverse("syncrun-detail", args=[run.pk]),
        "source-list": reverse("source-list"),
    }
    with django_assert_num_queries(EXPECTED_QUERIES[page]):
        assert signed_in.get(urls[page]).status_code == 200
    catalog.populate(27, start=3)
    for i in range(3):
        catalog.sync_run(source=catalog.source(f"extra-{i}"))
    with django_assert_num_queries(EXPECTED_QUERIES[page]):
        assert signed_in.get(urls[page]).status_code == 200


# The pieces behind the pages


def test_rank_for_maintenance(sample):
    from catalog.models import Finding, Project
    from catalog.views import open_findings_prefetch, rank_for_maintenance, ranked_projects

    rows = rank_for_maintenance(Finding.objects.filter(resolved_at__isnull=True))
    projects = ranked_projects(rows, Project.objects.prefetch_related(open_findings_prefetch()))
    assert [(p.name, p.worst_severity, p.open_count) for p in projects] == [
        ("alpha", 40, 1),
        ("bravo", 30, 2),
        ("charlie", 30, 1),
        ("delta", 30, 1),
        ("echo", 20, 2),
        ("golf", 20, 1),
    ]
    assert [f.rule for f in projects[4].open_findings] == ["stale-code", "no-descriptor"]  # worst first
    production = Project.objects.filter(lifecycle="production")
    rows = rank_for_maintenance(
        Finding.objects.filter(resolved_at__isnull=True, severity__gte=30), production
    )
    assert [row["project"] for row in rows] == [sample.alpha.pk, sample.charlie.pk]


def test_template_filters():
    from catalog.templatetags.portal import evidence_items, http_url

    assert http_url("https://example.com/x") == "https://example.com/x"
    assert http_url(" HTTP://example.com ") == "HTTP://example.com"
    bad = ["javascript:alert(1)", "data:text/html,x", "//example.com", "ftp://example.com", "https:", None, 3]
    assert [http_url(value) for value in bad] == [""] * len(bad)
    items = evidence_items(
        {
            "repository": "alpha",
            "last_commit_at": "2025-01-02T03:04:05+00:00",
            "url": "https://git.example.com/alpha",
            "days": 120,
            "empty": "",
            "files": ["a.yaml", "b.yaml"],
        },
        "No commit for 120 days.",
    )
    assert [(i["label"], i["text"], i["href"]) for i in items] == [
        ("url", "https://git.example.com/alpha", "https://git.example.com/alpha"),
        ("last commit", "2025-01-02", ""),
        ("repository", "alpha", ""),
        ("files", "a.yaml, b.yaml", ""),
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.19999999999999996, "0.2"),
        (0.912345678, "0.912346"),
        (1234567.0, "1.23457e+06"),
        (3, "3"),
        (None, "NaN"),
    ],
)
def test_metrics_read_as_people_write_them(value, shown):
    from catalog.templatetags.portal import metric

    assert metric(value) == shown


def test_the_headline_counts_the_findings_of_every_model_not_only_those_listed(
    client, outsider, catalog, monkeypatch
):
    from catalog import views

    monkeypatch.setattr(views, "SECTION_SIZE", 2)
    source = catalog.source("mlflow-prod", kind="mlflow")
    for name in ("a", "b", "c"):
        catalog.finding(RegisteredModel.objects.create(source=source, name=name), "orphan-model")
    client.force_login(outsider)
    response = client.get(reverse("maintenance"))
    assert response.context["findings_total"] == 3
    assert [m.name for m in response.context["models_with_findings"]] == ["a", "b"]
    assert "2+ models" in response.content.decode()
