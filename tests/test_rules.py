"""The rules and the findings they keep: first seen, last seen, resolved at."""

from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import DescriptorFile, Finding, Project, Repository, RuleConfig, Severity, Source, Team
from catalog.rules import RULES
from catalog.rules.evaluate import evaluate_rules

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def source():
    return Source.objects.create(name="repos", kind=Source.Kind.GIT)


def make_project(source, name, *, days_since_commit=10, lifecycle="production", owner=None, **fields):
    repository = Repository.objects.create(
        source=source,
        external_id=f"/r/{name}",
        url=f"/r/{name}",
        name=name,
        default_branch="main",
        last_commit_sha="c" * 40,
        last_commit_at=NOW - timedelta(days=days_since_commit),
        last_commit_author_name="Jane Doe",
        last_read_at=NOW,
    )
    descriptor = fields.pop("descriptor", None) or DescriptorFile.objects.create(
        source=source, repository=repository, path="catalog-info.yaml", read_at=NOW
    )
    team = owner or Team.objects.get_or_create(name="team-a")[0]
    return Project.objects.create(
        name=name,
        source=source,
        repository=repository,
        lifecycle=lifecycle,
        descriptor=descriptor,
        owner_ref=f"group:default/{team.name}",
        owner_team=team,
        **fields,
    )


def open_findings(rule):
    return {
        f.project.name if f.project else f.team.name: f
        for f in Finding.objects.filter(rule=rule, resolved_at=None)
    }


def test_every_rule_has_a_title_and_a_description():
    assert {
        "stale-code",
        "no-owner",
        "owner-unknown",
        "invalid-descriptor",
        "no-descriptor",
        "orphaned",
    } <= set(RULES)
    for rule in RULES.values():
        assert rule.title and rule.description, rule.code


def test_stale_code_threshold_and_lifecycle(source):
    make_project(source, "fresh", days_since_commit=89)
    make_project(source, "stale", days_since_commit=91)
    make_project(source, "retired", days_since_commit=400, lifecycle="deprecated")
    evaluate_rules(now=NOW, codes=["stale-code"])
    findings = open_findings("stale-code")
    assert set(findings) == {"stale"}
    finding = findings["stale"]
    assert finding.message == (
        "No commit on main for 91 days (last on 2026-08-02 by Jane Doe); the limit is 90 days."
    )
    assert finding.evidence["days_since_last_commit"] == 91 and finding.evidence["threshold_days"] == 90
    assert finding.severity == Severity.WARNING


def test_thresholds_come_from_settings_then_from_the_admin(source, settings):
    make_project(source, "p", days_since_commit=40)
    settings.PORTAL = {**settings.PORTAL, "RULE_DEFAULTS": {"stale-code": {"days": 30}}}
    evaluate_rules(now=NOW, codes=["stale-code"])
    assert set(open_findings("stale-code")) == {"p"}
    RuleConfig.objects.create(code="stale-code", params={"days": 60}, severity=Severity.ERROR)
    evaluate_rules(now=NOW, codes=["stale-code"])
    assert open_findings("stale-code") == {}


def test_findings_are_updated_in_place_then_resolved_then_reopened_as_new(source):
    project = make_project(source, "p", days_since_commit=100)
    evaluate_rules(now=NOW, codes=["stale-code"])
    first = Finding.objects.get()
    later = NOW + timedelta(days=1)
    evaluate_rules(now=later, codes=["stale-code"])
    first.refresh_from_db()
    assert (first.first_seen_at, first.last_seen_at, first.resolved_at) == (NOW, later, None)
    assert "for 101 days" in first.message
    Repository.objects.filter(pk=project.repository_id).update(last_commit_at=later)
    evaluate_rules(now=later + timedelta(hours=1), codes=["stale-code"])
    first.refresh_from_db()
    assert first.resolved_at == later + timedelta(hours=1)
    Repository.objects.filter(pk=project.repository_id).update(last_commit_at=NOW - timedelta(days=200))
    evaluate_rules(now=later + timedelta(hours=2), codes=["stale-code"])
    assert Finding.objects.count() == 2
    assert Finding.objects.get(resolved_at=None).first_seen_at == later + timedelta(hours=2)


def test_disabled_rule_resolves_its_findings(source):
    make_project(source, "p", days_since_commit=100)
    evaluate_rules(now=NOW, codes=["stale-code"])
    RuleConfig.objects.create(code="stale-code", enabled=False)
    evaluate_rules(now=NOW, codes=["stale-code"])
    assert Finding.objects.get().resolved_at == NOW


def test_ownership_rules(source):
    team = Team.objects.create(name="team-a")
    make_project(source, "owned", owner=team)
    nobody = make_project(source, "nobody")
    Project.objects.filter(pk=nobody.pk).update(owner_ref="", owner_team=None)
    ghost = make_project(source, "ghost")
    Project.objects.filter(pk=ghost.pk).update(owner_ref="group:default/cncf", owner_team=None)
    evaluate_rules(now=NOW, codes=["no-owner", "owner-unknown"])
    assert set(open_findings("no-owner")) == {"nobody"}
    unknown = open_findings("owner-unknown")
    assert set(unknown) == {"ghost"}
    assert (
        unknown["ghost"].message == "Its owner group:default/cncf matches no team or person in the catalog."
    )


def test_invalid_descriptor_names_file_document_and_field(source):
    project = make_project(source, "p")
    DescriptorFile.objects.filter(pk=project.descriptor_id).update(
        errors=[
            {
                "path": "catalog-info.yaml",
                "document": 2,
                "field": "metadata.name",
                "message": "not a valid name",
            },
            {"path": "catalog-info.yaml", "document": 2, "field": "spec.owner", "message": "required"},
        ]
    )
    evaluate_rules(now=NOW, codes=["invalid-descriptor"])
    finding = open_findings("invalid-descriptor")["p"]
    assert finding.message == (
        "Invalid descriptor: catalog-info.yaml, document 2, field metadata.name: not a valid name "
        "(and 1 more)."
    )
    assert len(finding.evidence["errors"]) == 2 and finding.severity == Severity.ERROR


def test_invalid_descriptor_of_a_file_of_teams_lands_on_the_teams(source):
    descriptor = DescriptorFile.objects.create(
        source=source,
        path="org.yaml",
        read_at=NOW,
        errors=[
            {"path": "org.yaml", "document": 1, "field": None, "message": "invalid YAML at line 3, column 1"}
        ],
    )
    Team.objects.create(name="team-a", source=source, descriptor=descriptor)
    evaluate_rules(now=NOW, codes=["invalid-descriptor"])
    assert set(open_findings("invalid-descriptor")) == {"team-a"}


def test_no_descriptor_and_orphaned(source):
    found = make_project(source, "found")
    DescriptorFile.objects.filter(pk=found.descriptor_id).delete()
    declared_elsewhere = make_project(source, "declared-elsewhere")  # its repository has a descriptor file
    Project.objects.filter(pk=declared_elsewhere.pk).update(descriptor=None)
    gone = make_project(source, "gone", orphaned_at=NOW - timedelta(days=2))
    evaluate_rules(now=NOW, codes=["no-descriptor", "orphaned", "stale-code"])
    assert set(open_findings("no-descriptor")) == {"found"}
    orphan = open_findings("orphaned")["gone"]
    assert orphan.message.startswith("Orphaned since 2026-10-30: it is no longer declared in source repos")
    Project.objects.filter(pk=gone.pk).update(orphaned_at=None)
    evaluate_rules(now=NOW, codes=["orphaned"])
    assert open_findings("orphaned") == {}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"days": 30}, None),
        ([], 'must be a JSON object, such as {"days": 90}'),
        ({"weeks": 3}, "stale-code has no parameter 'weeks' (its parameters: days)"),
        ({"days": "30"}, "days must be a whole number, like 90"),
        ({"days": 1.5}, "days must be a whole number, like 90"),
        ({"days": True}, "days must be a whole number, like 90"),
        ({"days": -5}, "days must not be negative"),
    ],
)
def test_rule_parameters_are_checked(params, error):
    rule = RULES["stale-code"]
    if error is None:
        rule.check_params(params)
    else:
        with pytest.raises(ValueError) as exc:
            rule.check_params(params)
        assert str(exc.value) == error


def test_the_admin_refuses_bad_parameters(admin_client):
    from django.urls import reverse

    url = reverse("admin:catalog_ruleconfig_add")
    response = admin_client.post(url, {"code": "stale-code", "enabled": "on", "params": '{"days": -5}'})
    assert response.status_code == 200 and "days must not be negative" in response.content.decode()
    assert not RuleConfig.objects.exists()


def test_a_rule_is_evaluated_again_when_a_concurrent_evaluation_wrote_first(source, monkeypatch):
    project = make_project(source, "p", days_since_commit=100)
    real_bulk_create = Finding.objects.bulk_create
    calls = []

    def racing_bulk_create(objs, **kwargs):
        if not calls:  # another worker opens the same finding between our read and our write
            Finding.objects.create(
                rule="stale-code", project=project, message="theirs", first_seen_at=NOW, last_seen_at=NOW
            )
        calls.append(len(objs))
        return real_bulk_create(objs, **kwargs)

    monkeypatch.setattr(Finding.objects, "bulk_create", racing_bulk_create)
    evaluate_rules(now=NOW, codes=["stale-code"])
    assert calls == [1, 1]  # refused once, then written on the second evaluation
    assert Finding.objects.get(resolved_at=None).message.startswith("No commit on main for 100 days")
