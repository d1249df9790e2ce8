"""CSV exports carry what the page shows as plain text: no links, tags or other markup in any cell."""

import csv
import io

import pytest
from django.urls import reverse

from catalog.models import ModelVersion, RegisteredModel, Severity

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def listed(catalog):
    data = catalog.team("data", title="Data & Analytics")
    team = catalog.team("ml-platform", title="ML Platform", parent=data)
    project = catalog.project("ranker", owner=team)
    catalog.finding(project, "stale-code", severity=Severity.ERROR)
    source = catalog.source("mlflow-prod", kind="mlflow")
    model = RegisteredModel.objects.create(source=source, name="ranker", project=project)
    version = ModelVersion.objects.create(registered_model=model, version="1", aliases=["champion"])
    RegisteredModel.objects.filter(pk=model.pk).update(production_version=version)
    return team


@pytest.mark.parametrize("page", ["project-list", "team-list", "model-list", "syncrun-list"])
def test_no_markup_in_any_cell(client, staff, listed, page):
    client.force_login(staff)
    rows = rows_of(client.get(reverse(page), {"format": "csv"}))
    assert len(rows) >= 2 or page == "syncrun-list"
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if "<" in cell or "&amp;" in cell or "&lt;" in cell]


def test_team_cells_are_the_values_the_page_shows(client, staff, listed):
    client.force_login(staff)
    rows = rows_of(client.get(reverse("team-list"), {"format": "csv", "q": "ml-platform"}))
    header, [row] = rows[0], rows[1:]
    cells = dict(zip(header, row, strict=True))
    assert cells["Name"] == "ml-platform"
    assert cells["Parent"] == "data"
    assert (cells["Members"], cells["Projects"]) == ("0", "1")


def test_model_cells_keep_the_alias_as_text(client, staff, listed):
    client.force_login(staff)
    [header, row] = rows_of(client.get(reverse("model-list"), {"format": "csv"}))
    cells = dict(zip(header, row, strict=True))
    assert cells["In production"] == "v1 @champion"
    assert cells["Project"] == "ranker"
