"""The audit log (django-auditlog): who changed what, when, before and after; from the pages, the API (token
auth), the admin and commands; sync triggers; nothing from the sync itself; the project page's history."""

from __future__ import annotations

import json
import re
from datetime import UTC, timedelta

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.db.models.signals import pre_save
from django.urls import reverse
from django.utils import timezone

from catalog import audit, triage
from catalog.models import APIToken, Finding, Project, Source
from catalog.ownership import set_owner
from tests.auditing import entries

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def as_user(db):
    """An API client authenticated by a personal token of the given user (``Authorization: Bearer``)."""
    from rest_framework.test import APIClient

    def make(user) -> APIClient:
        _, token = APIToken.objects.issue(user, f"audit test token of {user.username}")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


def sync_entries(source: Source) -> list[LogEntry]:
    return [entry for entry in entries(source) if (entry.additional_data or {}).get("event") == "sync"]


@pytest.fixture
def descriptor_source(catalog, tmp_path) -> Source:
    descriptor = tmp_path / "catalog-info.yaml"
    descriptor.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: synced}\n"
        "spec: {type: service, lifecycle: production, owner: ml-platform}\n"
    )
    return catalog.source("files", kind=Source.Kind.FILE, config={"paths": [str(descriptor)]})


def test_a_sync_triggered_through_the_api_is_recorded_and_the_sync_writes_nothing(
    as_user, staff, team, descriptor_source
):
    response = as_user(staff).post(f"/api/v1/sources/{descriptor_source.pk}/sync/")

    assert response.status_code == 202
    [entry] = sync_entries(descriptor_source)
    assert (entry.actor, entry.action) == (staff, LogEntry.Action.UPDATE)
    assert entry.changes_dict == {"sync": ["", "queued (manual)"]}
    assert entry.additional_data == {"event": "sync", "trigger": "manual", "via": "api"}
    # The (eager) sync made the project through its bulk upserts: no audit entry for it.
    assert Project.objects.filter(name="synced").exists()
    assert entries(Project.objects.get(name="synced")) == []


def test_manage_py_sync_is_recorded_with_no_actor(descriptor_source, capsys):
    call_command("sync", "files")
    [entry] = sync_entries(descriptor_source)
    assert entry.actor is None and entry.additional_data["via"] == "command"


def test_admin_edits_and_sync_actions_name_the_staff_user(client, staff, descriptor_source):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    url = reverse("admin:catalog_source_change", args=[descriptor_source.pk])
    data = {
        "name": "files",
        "kind": "file",
        "config": json.dumps(descriptor_source.config),
        "enabled": "on",
        "sync_interval_minutes": "15",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    client.post(
        reverse("admin:catalog_source_changelist"),
        {"action": "sync_now", "_selected_action": [descriptor_source.pk]},
    )

    created, edit, sync = entries(descriptor_source)
    assert created.action == LogEntry.Action.CREATE and created.actor is None
    assert (edit.actor, edit.additional_data["via"]) == (staff, "admin")
    assert edit.changes_dict == {"sync_interval_minutes": ["60", "15"]}
    assert (sync.actor, sync.additional_data) == (
        staff,
        {"event": "sync", "trigger": "manual", "via": "admin"},
    )
    listing = client.get(reverse("admin:auditlog_logentry_changelist")).content.decode()
    assert "files" in listing


def test_a_token_authenticated_api_change_names_its_user(as_user, member, team):
    body = {"name": "churn", "type": "notebook", "owner_ref": "ml-platform"}
    assert as_user(member).post("/api/v1/projects/", body, format="json").status_code == 201
    [created] = entries(Project.objects.get(name="churn"))
    assert (created.actor, created.action, created.additional_data) == (
        member,
        LogEntry.Action.CREATE,
        {"via": "api"},
    )
    assert created.changes_dict["owner_ref"][1] == "group:default/ml-platform"


def test_triage_through_the_api_records_before_and_after(as_user, member, catalog):
    finding = catalog.finding(Project.objects.get(name="team-model"), "stale-code")
    client = as_user(member)
    until = timezone.now() + timedelta(days=3)
    client.post(
        f"/api/v1/findings/{finding.pk}/snooze/", {"until": until.isoformat(), "reason": "x"}, format="json"
    )
    client.delete(f"/api/v1/findings/{finding.pk}/snooze/")
    snoozed, woken = entries(finding)
    assert snoozed.actor == woken.actor == member
    expected_until = timezone.make_naive(until, UTC)
    assert snoozed.changes_dict["snoozed_until"] == ["None", str(expected_until)]
    assert woken.changes_dict == {"snoozed_until": [str(expected_until), "None"], "snooze_reason": ["x", ""]}


def test_nested_actors_leak_no_signal_receiver(client, member, catalog):
    finding = catalog.finding(Project.objects.get(name="team-model"), "stale-code")
    client.force_login(member)
    url = reverse("finding-triage", args=[finding.pk])
    client.post(url, {"action": "acknowledge"}, **HTMX)
    before = len(pre_save.receivers)
    for action in ("unacknowledge", "acknowledge", "unacknowledge"):
        client.post(url, {"action": action}, **HTMX)
    assert len(pre_save.receivers) == before
    assert [entry.additional_data["via"] for entry in entries(finding)] == ["portal"] * 4
    with audit.acting(member, "outer"), audit.acting(None, "inner"):
        pass
    assert audit._acting.get() is None


def test_rules_and_factories_make_findings_without_entries(catalog):
    finding = catalog.finding(catalog.project("p"), "stale-code")
    Finding.objects.filter(pk=finding.pk).update(message="changed in bulk")
    assert entries(finding) == []


def test_the_project_page_shows_its_history_in_a_fixed_number_of_queries(
    client, member, outsider, team, catalog, django_assert_max_num_queries
):
    project = Project.objects.get(name="team-model")
    findings = [catalog.finding(project, f"rule-{i}") for i in range(3)]
    url = reverse("project-detail", args=["default", "team-model"])
    client.force_login(outsider)

    def queries_for_page() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    triage.acknowledge(findings[0], by=member, via="portal")
    few = queries_for_page()
    for finding in findings:
        triage.snooze(finding, by=member, until=timezone.now() + timedelta(days=2), reason="later", via="api")
    set_owner(project, team, by=member, via="portal")  # no change of owner: no entry
    with django_assert_max_num_queries(few):
        page = client.get(url).content.decode()
    text = " ".join(re.sub(r"<[^>]+>", "", page).split())
    assert "member snoozed rule-2 until" in text and "via api" in text
    assert "member acknowledged rule-0" in text
    assert "snooze reason — → later" in text
    assert "made the project, owned by group:default/ml-platform" in text
