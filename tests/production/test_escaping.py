"""User-supplied text (descriptors, evidence, registry and sync errors) is shown escaped, and only http(s)
addresses become links: nothing a descriptor declares runs in a reader's browser."""

import re

import pytest
from django.urls import reverse

from catalog.models import ModelVersion, SyncRun

HTML = '<script>alert(1)</script><img src=x onerror="alert(2)">'
SCRIPT_URL = "javascript:alert(3)"


@pytest.fixture
def hostile(catalog):
    team = catalog.team("fraud", title=HTML, description=HTML)
    project = catalog.project(
        "alpha",
        owner=team,
        title=HTML,
        description=HTML,
        tags=[HTML],
        links=[{"url": SCRIPT_URL, "title": HTML}, {"url": "data:text/html,<b>x</b>", "title": "data"}],
        annotations={"acme.com/note": HTML},
    )
    catalog.finding(project, "stale-code", message=HTML, evidence={"url": SCRIPT_URL, "note": HTML})
    model = catalog.registered_model("churn", project=project, url=SCRIPT_URL, description=HTML)
    ModelVersion.objects.create(
        registered_model=model, version="1", git_repo_url=SCRIPT_URL, git_commit="abc", run_id="r1"
    )
    run = catalog.sync_run(status=SyncRun.Status.PARTIAL, errors=[{"item": HTML, "message": HTML}], failed=1)
    return {"project": project, "team": team, "model": model, "run": run}


def assert_inert(html: str, url: str) -> None:
    assert "<script>alert" not in html, url
    assert "<img src=x" not in html, url
    assert not re.search(r"""href=["']?\s*(javascript|data):""", html, re.IGNORECASE), url


@pytest.mark.django_db
def test_pages_escape_what_sources_declare(client, outsider, hostile):
    client.force_login(outsider)
    project, team, model, run = hostile["project"], hostile["team"], hostile["model"], hostile["run"]
    urls = [
        reverse("maintenance"),
        reverse("project-list"),
        reverse("project-detail", args=[project.namespace, project.name]),
        reverse("team-detail", args=[team.namespace, team.name]),
        reverse("model-list"),
        reverse("model-detail", args=[model.source.name, model.name]),
        reverse("syncrun-detail", args=[run.pk]),
    ]
    shown = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        shown[url] = response.content.decode()
        assert_inert(shown[url], url)
    # The text is there, as text: on the project's page, its description, link title and annotation.
    project_page = shown[urls[2]]
    assert project_page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3
    assert "javascript:alert(3)" in project_page  # named, not linked
