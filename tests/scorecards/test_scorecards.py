"""Scorecards: the YAML file and its errors, the check kinds, levels, exemptions and stored results."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import (
    Pipeline,
    PortalStatus,
    Project,
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
    # All in one pass: an unknown key of the scorecard hides none of its checks' errors.
    known_rules = raised.value.errors[4].split("known: ")[1]
    assert "stale-code" in known_rules
    assert raised.value.errors == [
        "scorecards.yaml:4: scorecards[0].colour: unknown key",
        "scorecards.yaml:9: scorecards[0].checks[1].id: 'owned' is repeated in ml-readiness",
        "scorecards.yaml:10: scorecards[0].checks[1].level: 'platinum' is not one of ['bronze', 'silver']",
        "scorecards.yaml:12: scorecards[0].checks[2].params: give min, max or both",
        "scorecards.yaml:19: scorecards[0].checks[3].rule: unknown rule 'no-such-rule'; known: "
        + known_rules,
        "scorecards.yaml:22: scorecards[0].checks[4].kind: unknown kind 'telepathy'; known: ci-green, fact, "
        "has-descriptor, has-owner, lifecycle, production-model, rule, standard-template",
        "scorecards.yaml:23: scorecards[0].checks[5].id: Field required",
    ]


def test_a_bad_scorecard_name_repeat_or_empty_levels_hide_no_other_error():
    text = """\
scorecards:
  - name: Not A Slug
    levels: [bronze]
    checks:
      - {id: a, level: gold, kind: has-owner}
      - {id: a, level: bronze, kind: telepathy}
      - {id: B!, level: bronze, kind: fact, name: coverage}
  - name: twice
    levels: []
    checks:
      - {id: c, level: bronze, kind: rule, rule: no-such-rule}
  - name: twice
    levels: [x, x]
    checks: [{id: d, level: x, kind: lifecycle, colour: red}]
"""
    with pytest.raises(ScorecardFileError) as raised:
        parse_scorecards(text, "f.yaml")
    errors = [e.split("; known:")[0] for e in raised.value.errors]
    assert errors == [
        "f.yaml:2: scorecards[0].name: must be a slug: lowercase letters, digits, '-' and '_'",
        "f.yaml:5: scorecards[0].checks[0].level: 'gold' is not one of ['bronze']",
        "f.yaml:6: scorecards[0].checks[1].id: 'a' is repeated in scorecards[0]",
        "f.yaml:6: scorecards[0].checks[1].kind: unknown kind 'telepathy'",
        "f.yaml:7: scorecards[0].checks[2].id: must be a slug: lowercase letters, digits, '-' and '_'",
        "f.yaml:7: scorecards[0].checks[2].params: give min, max or both",
        "f.yaml:9: scorecards[1].levels: List should have at least 1 item after validation, not 0",
        "f.yaml:11: scorecards[1].checks[0].rule: unknown rule 'no-such-rule'",
        "f.yaml:12: scorecards[2].name: 'twice' is repeated",
        "f.yaml:13: scorecards[2].levels: each level is named once",
        "f.yaml:14: scorecards[2].checks[0].colour: Extra inputs are not permitted",
        "f.yaml:14: scorecards[2].checks[0].in: Field required",
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


def configured_file(settings, path) -> None:
    settings.PORTAL = {**settings.PORTAL, "SCORECARDS_FILE": str(path)}


def test_a_file_that_is_not_utf8_is_an_error_naming_it_and_the_rest_runs(
    readiness, projects, settings, tmp_path, capsys
):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"\xff\xfes\x00c\x00")
    configured_file(settings, path)
    call_command("evaluate")  # no traceback: the rules, the burden and the scorecards are evaluated
    err = capsys.readouterr().err
    assert f"scorecards file {path} not loaded" in err
    assert f"{path}:1: not UTF-8 text (byte 0xff at offset 0)" in err
    assert ScorecardResult.objects.filter(check_ref__scorecard=readiness).count() == 16
    assert list(readiness.checks.values_list("code", flat=True)) == [
        "owned",
        "declared",
        "fresh-code",
        "coverage",
    ]
    with pytest.raises(CommandError, match=rf"^{path} has errors .*\n{path}:1: not UTF-8 text"):
        call_command("scorecards", "--file", str(path), "--check")
    path.write_bytes(READINESS.encode() + b"# caf\xe9\n")  # Latin-1, on line 22
    with pytest.raises(CommandError, match=rf"{path}:22: not UTF-8 text \(byte 0xe9"):
        call_command("scorecards", "--file", str(path))


def test_the_command_reads_the_configured_file_by_default(readiness, settings, tmp_path, capsys):
    path = tmp_path / "scorecards.yaml"
    path.write_text(READINESS + "  - name: delivery\n    levels: [ok]\n    checks: []\n")
    configured_file(settings, path)
    call_command("scorecards", "--check")
    assert capsys.readouterr().out == f"{path}: valid\n"
    assert not Scorecard.objects.filter(name="delivery").exists()  # --check writes nothing
    call_command("scorecards")
    assert Scorecard.objects.get(name="delivery").file == str(path)
    path.write_text(READINESS.replace("kind: has-descriptor", "kind: has-descriptr"))
    for args in ((), ("--check",)):
        with pytest.raises(
            CommandError, match=r"scorecards.yaml:11: scorecards\[0\].checks\[1\].kind: unknown"
        ):
            call_command("scorecards", *args)
    settings.PORTAL = {**settings.PORTAL, "SCORECARDS_FILE": ""}
    with pytest.raises(CommandError, match="--check needs --file"):
        call_command("scorecards", "--check")


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


def test_scorecards_share_what_their_checks_read(readiness, projects, catalog, django_assert_num_queries):
    """Each scorecard costs the same few queries whatever the number of projects, and what several
    scorecards' checks read (open findings of a rule, a fact's values) is read once for all of them."""
    copies = READINESS.replace("ml-readiness", "copy-a") + READINESS.split("scorecards:\n")[1].replace(
        "ml-readiness", "copy-b"
    )
    load_scorecards(copies, "platform/copies.yaml")
    # first run: the scorecards, the projects, then per scorecard a savepoint, its checks, exemptions,
    # results, the results' insert, levels, the levels' insert and the release; the first scorecard also
    # reads the open stale-code findings and the coverage facts, the two copies reuse them
    with django_assert_num_queries(2 + 2 + 3 * 8):
        outcomes = evaluate_scorecards(now=catalog.now)
    assert {name: outcome.created for name, outcome in outcomes.items()} == {
        "copy-a": 16,
        "copy-b": 16,
        "ml-readiness": 16,
    }
    assert levels(Scorecard.objects.get(name="copy-b")) == levels(Scorecard.objects.get(name="ml-readiness"))
    catalog.populate(30)
    # 30 new projects: their 120 results in two statements (100 rows, then 20), their levels in one
    with django_assert_num_queries(2 + 2 + 3 * 9):
        evaluate_scorecards(now=catalog.now)
    scored = Project.objects.filter(orphaned_at=None).count()
    assert scored == 34 and ScorecardResult.objects.count() == 3 * 4 * scored
    # later runs: no insert when nothing is new
    with django_assert_num_queries(2 + 2 + 3 * 6):
        outcomes = evaluate_scorecards(now=catalog.now)
    assert {outcome.created + outcome.changed for outcome in outcomes.values()} == {0}
