"""Scorecard pages, scorecard results on the project page, and CSV exports of the lists."""

import csv
import io

import pytest
from django.urls import reverse

from catalog.burden import update_burden
from catalog.models import Project, Severity
from catalog.scorecards.evaluate import evaluate_scorecards
from tests.scorecards.test_scorecards import READINESS, load_scorecards


@pytest.fixture
def signed_in(client, outsider):
    client.force_login(outsider)
    return client


@pytest.fixture
def scored(catalog):
    load_scorecards(READINESS, "platform/scorecards.yaml")
    fraud, search = catalog.team("fraud"), catalog.team("search")
    descriptor = catalog.descriptor_file()
    catalog.project("alpha", owner=fraud, descriptor=descriptor)
    catalog.project("bravo", owner=fraud)
    catalog.project("charlie", owner=search, descriptor=descriptor)
    catalog.project("=HYPERLINK(1)", owner=search)
    evaluate_scorecards(now=catalog.now)
    return catalog


def rows_of(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_scorecard_pages_need_a_sign_in(client, scored):
    response = client.get(reverse("scorecard-detail", args=["ml-readiness"]))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_scorecard_page(signed_in, scored):
    listing = signed_in.get(reverse("scorecard-list")).content.decode()
    assert "ML readiness" in listing and "silver: 2" in listing and "none: 2" in listing

    page = signed_in.get(reverse("scorecard-detail", args=["ml-readiness"])).content.decode()
    most_failed = page.split('id="most-failed"')[1].split("</section>")[0]
    # nobody reported coverage: all four fail it; two have no descriptor
    assert "Custom fact coverage is at least 0.8." in most_failed and "failed by 4" in most_failed
    assert "failed by 2" in most_failed
    assert page.index(">alpha<") < page.index(">bravo<")  # silver before no level

    fraud_only = signed_in.get(reverse("scorecard-detail", args=["ml-readiness"]), {"team": "fraud"})
    text = fraud_only.content.decode()
    assert ">alpha<" in text and ">charlie<" not in text
    assert "2 projects scored owned by" in text
    assert signed_in.get(reverse("scorecard-detail", args=["nope"])).status_code == 404


def test_the_scorecard_csv(signed_in, scored):
    response = signed_in.get(
        reverse("scorecard-detail", args=["ml-readiness"]), {"format": "csv", "level": ""}
    )
    rows = rows_of(response)
    assert rows[0] == ["project", "owner", "level", "failed checks", "level since"]
    assert [row[:4] for row in rows[1:]] == [
        ["component:default/=HYPERLINK(1)", "group:default/search", "", "2"],
        ["component:default/bravo", "group:default/fraud", "", "2"],
    ]


def test_the_project_page_says_how_to_reach_the_next_level(signed_in, scored):
    page = signed_in.get(reverse("project-detail", args=["default", "bravo"])).content.decode()
    section = page.split('id="scorecards"')[1].split("</section>")[0]
    assert "no level yet" in section
    assert "To reach <strong>bronze</strong>" in section
    steps = section.split('class="next-steps"')[1].split("</ul>")[0]
    assert "Is declared by a catalog-info.yaml descriptor." in steps and "No descriptor declares it." in steps
    assert "Has an owner" not in steps


def test_csv_of_the_project_list_and_the_maintenance_view(signed_in, scored):
    alpha, charlie = Project.objects.get(name="alpha"), Project.objects.get(name="charlie")
    scored.finding(alpha, "stale-code", severity=Severity.CRITICAL, age_days=0)
    scored.finding(charlie, "no-ci", severity=Severity.WARNING, age_days=100)
    update_burden(now=scored.now)

    rows = rows_of(signed_in.get(reverse("maintenance"), {"format": "csv"}))
    assert rows[0][:5] == ["rank", "project", "owner", "lifecycle", "maintenance burden"]
    assert [row[:7] for row in rows[1:]] == [
        ["1", "component:default/charlie", "group:default/search", "production", "454.5", "warning", "1"],
        ["2", "component:default/alpha", "group:default/fraud", "production", "40.5", "critical", "1"],
    ]
    assert rows_of(signed_in.get(reverse("maintenance"), {"format": "csv", "team": "fraud"}))[1][1] == (
        "component:default/alpha"
    )

    rows = rows_of(signed_in.get(reverse("project-list"), {"format": "csv", "team": "search"}))
    assert len(rows) == 3
    names = [row[0] for row in rows[1:]]
    assert "'=HYPERLINK(1)" in names  # a formula is never handed to a spreadsheet as one
    page = signed_in.get(reverse("project-list")).content.decode()
    assert "format=csv" in page
