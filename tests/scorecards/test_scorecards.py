"""Scorecards: the YAML file and its errors, the check kinds, levels, exemptions and stored results."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import (
    Pipeline,
    PortalStatus,
    ProjectFact,
    ProjectLevel,
    Scorecard,
    ScorecardCheck,
    ScorecardExemption,
    ScorecardResult,
    Severity,
)
from catalog.scorecards.evaluate import evaluate_scorecards, next_level_steps
from catalog.scorecards.spec import ScorecardFileError, load_scorecards, parse_scorecards

READINESS = """\
scorecards:
  - name: ml-readiness
    title: ML readiness
    levels: [bronze, silver, gold]
    checks:
      - id: owned
        level: bronze
        kind: has-owner
      - id: declared
        level: bronze
        kind: has-descriptor
      - id: fresh-code
        title: Code touched in the last 90 days
        level: silver
        kind: rule
        rule: stale-code
      - id: coverage
        level: gold
        kind: fact
        name: coverage
        min: 0.8
"""


@pytest.fixture
def readiness(db):
    load_scorecards(READINESS, "platform/scorecards.yaml")
    return Scorecard.objects.get(name="ml-readiness")


@pytest.fixture
def projects(catalog):
    team = catalog.team("fraud")
    descriptor = catalog.descriptor_file()
    gold = catalog.project("gold", owner=team, descriptor=descriptor)
    silver = catalog.project("silver", owner=team, descriptor=descriptor)
    bronze = catalog.project("bronze", owner=team, descriptor=descriptor)
    none = catalog.project("none", owner=team)  # no descriptor
    catalog.finding(bronze, "stale-code", severity=Severity.WARNING)
    for project, value in [(gold, 0.91), (bronze, 0.95), (none, 0.99)]:
        ProjectFact.objects.create(project=project, name="coverage", number=value, observed_at=catalog.now)
    # silver's coverage was good once; the latest report is what counts
    ProjectFact.objects.create(
        project=silver, name="coverage", number=0.9, observed_at=catalog.now - timedelta(days=3)
    )
    ProjectFact.objects.create(project=silver, name="coverage", number=0.5, observed_at=catalog.now)
    return {"gold": gold, "silver": silver, "bronze": bronze, "none": none}


def levels(scorecard):
    return {row.project.name: row.level for row in ProjectLevel.objects.filter(scorecard=scorecard)}


def test_the_file_defines_scorecards_and_checks(readiness):
    assert readiness.levels == ["bronze", "silver", "gold"]
    assert readiness.file == "platform/scorecards.yaml"
    checks = list(readiness.checks.values_list("code", "level", "kind", "params", "title"))
    assert checks == [
        ("owned", "bronze", "has-owner", {}, "Has an owner that is a known team or person."),
        ("declared", "bronze", "has-descriptor", {}, "Is declared by a catalog-info.yaml descriptor."),
        ("fresh-code", "silver", "rule", {"rule": "stale-code"}, "Code touched in the last 90 days"),
        (
            "coverage",
            "gold",
            "fact",
            {"name": "coverage", "min": 0.8},
            "Custom fact coverage is at least 0.8.",
        ),
    ]


def test_levels_need_every_check_of_the_level_and_those_below(readiness, projects, catalog):
    evaluate_scorecards(now=catalog.now)
    assert levels(readiness) == {"gold": "gold", "silver": "silver", "bronze": "bronze", "none": ""}
    results = {
        (r.project.name, r.check_ref.code): (r.passed, r.detail)
        for r in ScorecardResult.objects.select_related("project", "check_ref")
    }
    assert len(results) == 16
    assert results[("silver", "coverage")] == (False, "coverage is 0.5, below 0.8.")
    assert results[("bronze", "fresh-code")] == (False, "Has an open stale-code finding.")
    assert results[("none", "declared")] == (False, "No descriptor declares it.")
    # "none" passes gold's coverage check, yet reaches no level: bronze is failed
    assert results[("none", "coverage")] == (True, "coverage is 0.99.")

    bronze = projects["bronze"]
    stored = list(bronze.scorecard_results.select_related("check_ref"))
    level, steps = next_level_steps(bronze, readiness, stored)
    assert (level, [r.check_ref.code for r in steps]) == ("silver", ["fresh-code"])
    level, steps = next_level_steps(
        projects["gold"], readiness, list(projects["gold"].scorecard_results.all())
    )
    assert (level, steps) == ("", [])


def test_results_keep_when_they_last_changed(readiness, projects, catalog):
    evaluate_scorecards(now=catalog.now)
    later = catalog.now + timedelta(days=1)
    outcome = evaluate_scorecards(now=later)["ml-readiness"]
    assert (outcome.created, outcome.changed, outcome.level_changes) == (0, 0, 0)
    assert set(ScorecardResult.objects.values_list("changed_at", flat=True)) == {catalog.now}

    ProjectFact.objects.create(project=projects["silver"], name="coverage", number=0.85, observed_at=later)
    outcome = evaluate_scorecards(now=later)["ml-readiness"]
    assert (outcome.created, outcome.changed, outcome.level_changes) == (0, 1, 1)
    result = ScorecardResult.objects.get(project=projects["silver"], check_ref__code="coverage")
    assert (result.passed, result.changed_at) == (True, later)
    row = ProjectLevel.objects.get(project=projects["silver"])
    assert (row.previous_level, row.level, row.changed_at) == ("silver", "gold", later)


def test_exemptions_count_as_met_until_they_expire(readiness, projects, catalog):
    check = ScorecardCheck.objects.get(scorecard=readiness, code="fresh-code")
    ScorecardExemption.objects.create(
        check_ref=check,
        project=projects["bronze"],
        reason="frozen until the Q3 rewrite",
        expires_at=catalog.now + timedelta(days=7),
    )
    evaluate_scorecards(now=catalog.now)
    assert levels(readiness)["bronze"] == "gold"
    result = ScorecardResult.objects.get(project=projects["bronze"], check_ref=check)
    assert (result.passed, result.exempt, result.met) == (False, True, True)

    expired = catalog.now + timedelta(days=8)
    evaluate_scorecards(now=expired)
    assert levels(readiness)["bronze"] == "bronze"
    result.refresh_from_db()
    assert (result.passed, result.exempt, result.changed_at) == (False, False, expired)
    # an exemption on a check that passes changes nothing
    assert not ScorecardResult.objects.filter(exempt=True).exists()


def test_orphaned_projects_leave_the_scorecards(readiness, projects, catalog):
    evaluate_scorecards(now=catalog.now)
    projects["none"].orphaned_at = catalog.now
    projects["none"].save()
    evaluate_scorecards(now=catalog.now)
    assert "none" not in levels(readiness)
    assert not ScorecardResult.objects.filter(project=projects["none"]).exists()


def test_ci_template_and_model_checks(catalog):
    load_scorecards(
        """\
scorecards:
  - name: delivery
    levels: [ok]
    checks:
      - {id: green, level: ok, kind: ci-green, days: 7}
      - {id: template, level: ok, kind: standard-template, templates: ["ml/ci/.github/workflows/t.yml@v3"]}
      - {id: model, level: ok, kind: production-model, days: 90}
      - {id: prod, level: ok, kind: lifecycle, in: [production]}
""",
        "cards.yaml",
    )
    good, red, _ = (catalog.project(name) for name in ("good", "red", "bare"))
    template = [
        {"kind": "reusable-workflow", "project": "ML/ci", "file": ".github/workflows/t.yml", "ref": "v3"}
    ]
    Pipeline.objects.create(
        repository=good.repository,
        provider="github-actions",
        external_id="1",
        name="train",
        state="active",
        latest_status=PortalStatus.SUCCESS,
        latest_run_at=catalog.now - timedelta(days=2),
        templates=template,
    )
    Pipeline.objects.create(
        repository=red.repository,
        provider="github-actions",
        external_id="2",
        name="train",
        state="active",
        latest_status=PortalStatus.FAILURE,
        latest_run_at=catalog.now - timedelta(days=1),
    )
    for project, age in [(good, 10), (red, 200)]:
        model = catalog.registered_model(f"{project.name}-model", project=project)
        version = model.versions.create(
            version="1", number=1, registered_at=catalog.now - timedelta(days=age)
        )
        model.production_version = version
        model.save()
    evaluate_scorecards(now=catalog.now)
    results = {
        (r.project.name, r.check_ref.code): (r.passed, r.detail)
        for r in ScorecardResult.objects.select_related("project", "check_ref")
    }
    assert results[("good", "green")] == (True, "Every pipeline's latest run succeeded.")
    assert results[("red", "green")] == (False, "train's latest run is failure.")
    assert results[("bare", "green")] == (False, "Has no CI pipeline.")
    assert results[("good", "template")] == (True, "Uses a standard CI template.")
    assert results[("red", "template")] == (False, "No pipeline uses a standard CI template.")
    assert results[("good", "model")] == (True, "Its production model version is 10 days old.")
    assert results[("red", "model")] == (False, "Its newest production model version is 200 days old.")
    assert results[("bare", "model")] == (False, "Has no model in production.")
    assert results[("good", "prod")] == (True, "Lifecycle is production.")
    assert levels(Scorecard.objects.get(name="delivery")) == {"good": "ok", "red": "", "bare": ""}


BAD = """\
scorecards:
  - name: ml-readiness
    levels: [bronze, silver]
    colour: gold
    checks:
      - id: owned
        level: bronze
        kind: has-owner
      - id: owned
        level: platinum
        kind: has-owner
      - id: coverage
        level: silver
        kind: fact
        name: coverage
      - id: fresh
        level: silver
        kind: rule
        rule: no-such-rule
      - id: magic
        level: silver
        kind: telepathy
      - level: silver
        kind: has-owner
"""


def test_the_file_errors_name_the_line_and_the_field():
    with pytest.raises(ScorecardFileError) as raised:
        parse_scorecards(BAD, "scorecards.yaml")
    assert raised.value.errors == [
        "scorecards.yaml:4: scorecards[0].colour: unknown key",
        "scorecards.yaml:23: scorecards[0].checks[5].id: Field required",
    ]
    # With the structure right, the checks' own errors come out, one per line
    fixed = BAD.replace("    colour: gold\n", "").replace(
        "      - level: silver\n        kind: has-owner\n", ""
    )
    with pytest.raises(ScorecardFileError) as raised:
        parse_scorecards(fixed, "scorecards.yaml")
    known_rules = raised.value.errors[3].split("known: ")[1]
    assert "stale-code" in known_rules
    assert raised.value.errors == [
        "scorecards.yaml:8: scorecards[0].checks[1].id: 'owned' is repeated in ml-readiness",
        "scorecards.yaml:9: scorecards[0].checks[1].level: 'platinum' is not one of ['bronze', 'silver']",
        "scorecards.yaml:11: scorecards[0].checks[2].params: give min, max or both",
        "scorecards.yaml:18: scorecards[0].checks[3].rule: unknown rule 'no-such-rule'; known: "
        + known_rules,
        "scorecards.yaml:21: scorecards[0].checks[4].kind: unknown kind 'telepathy'; known: ci-green, fact, "
        "has-descriptor, has-owner, lifecycle, production-model, rule, standard-template",
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "scorecards: [\n",
            "cards.yaml:2: not valid YAML: expected the node content, but found '<stream end>'",
        ),
        ("", "cards.yaml:1: empty file: expected a mapping with 'scorecards'"),
        ("- a\n", "cards.yaml:1: file: Input should be a valid dictionary or instance of ScorecardsFile"),
        (
            "scorecards:\n  - name: Not A Slug\n    levels: []\n",
            "cards.yaml:2: scorecards[0].name: must be a slug: lowercase letters, digits, '-' and '_'",
        ),
    ],
)
def test_malformed_files(text, error):
    with pytest.raises(ScorecardFileError) as raised:
        parse_scorecards(text, "cards.yaml")
    assert raised.value.errors[0] == error


def test_a_bad_file_keeps_the_stored_scorecards(readiness, tmp_path):
    path = tmp_path / "scorecards.yaml"
    path.write_text(READINESS.replace("kind: has-descriptor", "kind: has-descriptr"))
    with pytest.raises(
        CommandError, match=r"scorecards.yaml:11: scorecards\[0\].checks\[1\].kind: unknown kind"
    ):
        call_command("scorecards", "--file", str(path))
    assert list(readiness.checks.values_list("code", flat=True)) == [
        "owned",
        "declared",
        "fresh-code",
        "coverage",
    ]
    # a good file that drops a check removes it with its results
    path.write_text(READINESS.split("      - id: coverage")[0])
    call_command("scorecards", "--file", str(path))
    assert list(readiness.checks.values_list("code", flat=True)) == ["owned", "declared", "fresh-code"]


def test_the_command_evaluates_and_prints_levels(readiness, projects, capsys):
    call_command("scorecards")
    out = capsys.readouterr().out
    assert out == (
        "ml-readiness: 16 results created, 0 changed, 4 levels changed; "
        "projects per level: none: 1, bronze: 1, gold: 1, silver: 1\n"
    )
    with pytest.raises(CommandError, match="unknown scorecards: nope"):
        call_command("scorecards", "nope")


def test_queries_per_scorecard_do_not_grow_with_the_catalog(readiness, catalog, django_assert_num_queries):
    catalog.populate(5)
    evaluate_scorecards(now=catalog.now)  # first run: creates
    # the scorecards, the projects, a savepoint, the checks, exemptions, results, open stale-code findings,
    # coverage facts, levels, the savepoint's release
    with django_assert_num_queries(10) as first:
        evaluate_scorecards(now=catalog.now)
    catalog.populate(40, start=5)
    evaluate_scorecards(now=catalog.now)
    with django_assert_num_queries(len(first.captured_queries)):
        evaluate_scorecards(now=catalog.now)
