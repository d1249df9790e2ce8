"""The registered-model pages in a real browser: the list filters in place, a model's page answers which
version was in production on a date.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from catalog.connectors.records import ModelVersionRecord, RegisteredModelRecord, RunRecord, SourceSnapshot
from catalog.models import Project, Source
from catalog.sync import apply_snapshot
from catalog.sync_registry import ANNOTATION

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def version(number, *aliases, days_ago, run=None):
    return ModelVersionRecord(
        version=str(number),
        aliases=aliases,
        registered_at=datetime.now(UTC) - timedelta(days=days_ago),
        status="READY",
        run_id=run.run_id if run else "",
        run=run,
    )


@pytest.fixture
def registry(db):
    Project.objects.create(
        name="fraud", type="ml-model", lifecycle="production", annotations={ANNOTATION: "fraud-detector"}
    )
    source = Source.objects.create(name="mlflow", kind=Source.Kind.MLFLOW)
    run = RunRecord(
        run_id="r2",
        started_at=datetime.now(UTC) - timedelta(days=3),
        git_repo_url="https://github.com/acme/fraud.git",
        git_commit="ab12" * 10,
        metrics={"auc": 0.94},
    )

    def write(champion: str, when: datetime):
        fraud = RegisteredModelRecord(
            name="fraud-detector",
            aliases={"champion": champion},
            versions=(
                version(1, *(["champion"] if champion == "1" else []), days_ago=30),
                version(2, *(["champion"] if champion == "2" else []), days_ago=3, run=run),
            ),
        )
        sandbox = RegisteredModelRecord(name="sandbox", versions=(version(1, days_ago=1),))
        apply_snapshot(source, SourceSnapshot(registered_models=(fraud, sandbox)), now=when)

    now = datetime.now(UTC)
    write("1", now - timedelta(days=10))
    write("2", now - timedelta(days=2))


def test_model_list_filters_in_place_and_a_model_answers_for_a_date(page, live_server, sign_in, registry):
    sign_in()
    page.get_by_role("link", name="Models").click()
    names = page.locator("#model-table tbody td:first-child a")
    expect(names).to_have_text(["fraud-detector", "sandbox"])

    page.locator("select[name=linked]").select_option("false")
    expect(page).to_have_url(re.compile(r"[?&]linked=false\b"))
    expect(names).to_have_text(["sandbox"])

    page.locator("select[name=linked]").select_option("true")
    expect(page).to_have_url(re.compile(r"[?&]linked=true\b"))
    expect(names).to_have_text(["fraud-detector"])  # swapped in: clicking earlier could hit the old list
    names.first.click()
    expect(page.locator("h1")).to_have_text("fraud-detector")
    expect(page.locator("#production")).to_contain_text("v2")
    expect(page.locator("#production a[href^='https://github.com/acme/fraud/commit/']")).to_have_count(1)
    expect(page.locator("#history tbody tr")).to_have_count(3)  # champion on v1, then moved to v2

    a_week_ago = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
    page.locator("#on-date").fill(a_week_ago)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#production-on-answer")).to_contain_text(f"On {a_week_ago}: version v1")
