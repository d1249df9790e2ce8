"""``manage.py source_add`` for github, gitlab and mlflow sources: options -> config, checked as the admin
and the connector check it, errors naming the option, nothing saved on a bad one."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Repository, Source, SyncRun

pytestmark = pytest.mark.django_db


def add(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("source_add", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args: str, match: str) -> None:
    with pytest.raises(CommandError, match=match):
        add(*args)
    assert not Source.objects.filter(name=args[0]).exists()


def test_github_org_with_every_option(monkeypatch):
    monkeypatch.setenv("GH_TOKEN_TEST", "secret-value")
    monkeypatch.setenv("GH_HOOK", "hook-secret")
    out, err = add(
        "gh", "--kind", "github", "--org", "ml-org", "--api-url", "https://ghe.example.com/api/v3",
        "--token-env", "GH_TOKEN_TEST", "--webhook-secret-env", "GH_HOOK", "--include-archived",
        "--include-forks", "--topic", "ml", "--topic", "fraud", "--name-pattern", "model-*",
        "--descriptor-path", "catalog-info.yaml", "--window-days", "30", "--runs", "10",
        "--concurrency", "8", "--timeout", "20", "--interval", "15",
    )  # fmt: skip
    source = Source.objects.get(name="gh")
    assert source.kind == Source.Kind.GITHUB
    assert source.sync_interval_minutes == 15
    assert source.config == {
        "org": "ml-org",
        "api_url": "https://ghe.example.com/api/v3",
        "token_env": "GH_TOKEN_TEST",
        "webhook_secret_env": "GH_HOOK",
        "include_archived": True,
        "include_forks": True,
        "topics": ["ml", "fraud"],
        "name_patterns": ["model-*"],
        "descriptor_paths": ["catalog-info.yaml"],
        "window_days": 30,
        "runs": 10,
        "concurrency": 8,
        "timeout": 20,
    }
    assert out.startswith("created source gh")
    assert "secret-value" not in out + err and err == ""


def test_github_user_and_gitlab_group_with_defaults():
    add("octo", "--kind", "github", "--user", "octocat")
    add("gl", "--kind", "gitlab", "--group", "ml/platform", "--api-url", "https://gitlab.example.com/api/v4")
    assert Source.objects.get(name="octo").config == {"user": "octocat"}
    assert Source.objects.get(name="gl").config == {
        "group": "ml/platform",
        "api_url": "https://gitlab.example.com/api/v4",
    }


def test_running_it_again_updates_the_source():
    add("gl", "--kind", "gitlab", "--group", "ml")
    out, _ = add("gl", "--kind", "gitlab", "--group", "ml/platform", "--include-archived")
    assert out.startswith("updated source gl")
    assert Source.objects.get(name="gl").config == {"group": "ml/platform", "include_archived": True}


def test_an_unset_token_variable_is_a_warning_not_an_error(monkeypatch):
    monkeypatch.delenv("GH_TOKEN_UNSET", raising=False)
    _, err = add("gh", "--kind", "github", "--org", "ml-org", "--token-env", "GH_TOKEN_UNSET")
    assert "--token-env GH_TOKEN_UNSET is not set in this environment" in err
    assert Source.objects.get(name="gh").config["token_env"] == "GH_TOKEN_UNSET"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        # The address policy speaks first (as in the admin): it names the key and the value at fault.
        (
            ["--api-url", "ftp://ghe.example.com"],
            r"^--api-url: config.api_url: 'ftp://ghe.example.com' must be",
        ),
        (["--api-url", "https://me:pw@ghe.example.com"], r"^--api-url: .*holds a password"),
        (["--runs", "0"], r"^--runs: .*'runs' must be an integer from 1 to 100"),
        (["--concurrency", "65"], r"^--concurrency: .*from 1 to 64"),
        (["--window-days", "0"], r"^--window-days: "),
        (["--descriptor-path", "../etc/passwd"], r"^--descriptor-path: .*not a relative path"),
        (["--timeout", "0"], r"^--timeout: "),
    ],
)
def test_a_bad_option_is_named_and_nothing_is_saved(args, match):
    refused("gh", "--kind", "github", "--org", "ml-org", *args, match=match)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--kind", "github"], "needs exactly one of --org, --user"),
        (["--kind", "github", "--org", "a", "--user", "b"], "needs exactly one of --org, --user"),
        (["--kind", "github", "--group", "ml"], "does not take --group: use --org or --user"),
        (["--kind", "gitlab", "--org", "ml"], "does not take --org: use --group"),
        (["--kind", "gitlab"], "needs exactly one of --group"),
        (
            ["--kind", "github", "--org", "ml", "ml-org"],
            "takes no targets: name the owner with --org or --user",
        ),
        (["--kind", "git", "/tmp", "--org", "ml"], "--kind git does not take --org"),
        (["--kind", "git"], "--kind git needs at least one target"),
        (["--kind", "file", "x.yaml", "--token-env", "T"], "--kind file does not take --token-env"),
        (
            ["--kind", "mlflow", "https://m.example.com", "--topic", "x"],
            "--kind mlflow does not take --topic",
        ),
        (["--kind", "gitlab", "--group", "ml", "--metric", "auc"], "--kind gitlab does not take --metric"),
        (["--kind", "gitlab", "--group", "ml", "--interval", "-5"], "^--interval: "),
    ],
)
def test_options_that_do_not_fit_the_kind(args, match):
    refused("src", *args, match=match)


def test_a_bad_name_is_refused():
    refused("not a slug", "--kind", "github", "--org", "ml", match="^NAME: ")


def test_mlflow_auth_metrics_and_timeout():
    add("reg", "https://mlflow.example.com", "--kind", "mlflow", "--token-env", "MLFLOW_TOKEN",
        "--metric", "auc", "--metric", "rmse", "--timeout", "10")  # fmt: skip
    assert Source.objects.get(name="reg").config == {
        "tracking_uri": "https://mlflow.example.com",
        "auth": {"type": "bearer", "token_env": "MLFLOW_TOKEN"},
        "metrics": ["auc", "rmse"],
        "timeout": 10,
    }
    add(
        "reg2", "https://mlflow.example.com", "--kind", "mlflow", "--username-env", "U", "--password-env", "P"
    )
    assert Source.objects.get(name="reg2").config["auth"] == {
        "type": "basic",
        "username_env": "U",
        "password_env": "P",
    }
    refused("reg3", "https://m.example.com", "--kind", "mlflow", "--username-env", "U", match="needs both")
    refused(
        "reg4", "https://m.example.com", "--kind", "mlflow", "--token-env", "T", "--username-env", "U",
        match="give one kind",
    )  # fmt: skip
    refused("reg5", "https://m.example.com", "--kind", "mlflow", "--timeout", "0", match=r"^--timeout: ")
    refused(
        "reg6",
        "mlflow.example.com",
        "--kind",
        "mlflow",
        match=r"^TARGET .*'mlflow.example.com' must be a URL",
    )


def test_a_github_source_added_on_the_command_line_syncs(github):
    add("gh", "--kind", "github", "--org", "ml-org", "--api-url", github.base_url, "--concurrency", "2")
    out = io.StringIO()
    call_command("sync", "gh", stdout=out)
    run = SyncRun.objects.get(source__name="gh")
    assert run.status == SyncRun.Status.SUCCESS, run.errors
    # The archived repository is left out unless --include-archived.
    assert set(Repository.objects.values_list("name", flat=True)) == {"fraud-model", "churn", "empty"}


def test_an_update_changes_only_what_the_command_names(monkeypatch):
    monkeypatch.setenv("GHS_TOKEN", "t")
    monkeypatch.setenv("GHS_HOOK", "h")
    add("ghs", "--kind", "github", "--org", "ml-org", "--api-url", "https://ghe.example.com/api/v3",
        "--token-env", "GHS_TOKEN", "--webhook-secret-env", "GHS_HOOK", "--include-archived",
        "--scorecards-repository", "ml-org/platform", "--interval", "1")  # fmt: skip
    out, err = add("ghs", "--kind", "github", "--org", "other")
    source = Source.objects.get(name="ghs")
    assert source.config == {
        "org": "other",
        "api_url": "https://ghe.example.com/api/v3",
        "token_env": "GHS_TOKEN",
        "webhook_secret_env": "GHS_HOOK",
        "include_archived": True,
        "scorecards_repository": "ml-org/platform",
    }
    assert source.sync_interval_minutes == 1
    assert out.startswith("updated source ghs: org;") and err == ""
    # --user replaces --org (one owner); --no-include-archived and --interval change their own keys.
    out, _ = add("ghs", "--user", "octocat", "--no-include-archived", "--interval", "5")
    source.refresh_from_db()
    assert "org" not in source.config and source.config["user"] == "octocat"
    assert source.config["include_archived"] is False and source.config["token_env"] == "GHS_TOKEN"
    assert source.sync_interval_minutes == 5
    assert out.startswith("updated source ghs: include_archived, org, user, interval (1 -> 5 minutes);")
    out, _ = add("ghs")
    assert out.startswith("updated source ghs: nothing changed;")


def test_an_update_of_a_git_source_replaces_its_targets_and_keeps_the_rest(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    add("local", str(first), "https://git.example.com/x.git", "--scorecards-repository", "platform")
    Source.objects.filter(name="local").update(sync_interval_minutes=7)
    out, _ = add("local", str(second))
    source = Source.objects.get(name="local")
    assert source.config == {"paths": [str(second)], "urls": [], "scorecards_repository": "platform"}
    assert source.sync_interval_minutes == 7
    assert out.startswith("updated source local: paths, urls;")
    add("local", "--scorecards-path", "standards/cards.yaml")
    source.refresh_from_db()
    assert source.config["paths"] == [str(second)]
    assert source.config["scorecards_path"] == "standards/cards.yaml"


def test_a_new_kind_replaces_the_config():
    add("s", "--kind", "github", "--org", "ml-org", "--runs", "5")
    out, _ = add("s", "--kind", "gitlab", "--group", "ml/platform")
    assert Source.objects.get(name="s").config == {"group": "ml/platform"}
    assert out.startswith("updated source s: kind (github -> gitlab; config replaced)")


def test_scorecards_options_for_hosted_sources():
    add("gl", "--kind", "gitlab", "--group", "ml", "--scorecards-repository", "ml/platform",
        "--scorecards-path", "cards/scorecards.yaml")  # fmt: skip
    config = Source.objects.get(name="gl").config
    assert config["scorecards_repository"] == "ml/platform"
    assert config["scorecards_path"] == "cards/scorecards.yaml"
    refused(
        "gh", "--kind", "github", "--org", "o", "--scorecards-path", "../x.yaml", match="^--scorecards-path: "
    )
    refused(
        "f", "--kind", "file", "x.yaml", "--scorecards-path", "a.yaml", match="does not take --scorecards"
    )


@pytest.mark.parametrize(
    "value",
    ["ghp_SUPERSECRETTOKEN123", "glpat-abcdefghij", "github_pat_11ABCDEF_xyz", "my token=abc", "xoxb-1-2"],
)
@pytest.mark.parametrize("option", ["--token-env", "--webhook-secret-env"])
def test_a_token_where_a_variable_name_belongs_is_refused_and_never_echoed(option, value):
    with pytest.raises(CommandError, match=f"^{option}: ") as caught:
        add("gh", "--kind", "github", "--org", "ml-org", option, value)
    assert value not in str(caught.value)
    assert not Source.objects.filter(name="gh").exists()


def test_mlflow_auth_variable_names_are_checked_too():
    with pytest.raises(CommandError, match=r"auth\.username_env") as caught:
        add("reg", "https://m.example.com", "--kind", "mlflow", "--username-env", "glpat-xyz",
            "--password-env", "P")  # fmt: skip
    assert "glpat-xyz" not in str(caught.value)
    refused("reg", "https://m.example.com", "--kind", "mlflow", "--token-env", "A" * 200, match="longer than")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--kind", "github", "--org", "ml org/../x"], "^--org: .*must be a GitHub login"),
        (["--kind", "github", "--org=ml-"], "^--org: "),
        (["--kind", "github", "--org", "ml--org"], "^--org: "),
        (["--kind", "github", "--user", "a" * 40], "^--user: "),
        (["--kind", "github", "--user", "octo__cat"], "^--user: "),
        (["--kind", "github", "--user", "octo_"], "^--user: "),
        (["--kind", "github", "--org", "ml_org"], "^--org: "),
        (["--kind", "gitlab", "--group", "ml/../x"], "^--group: .*GitLab group path"),
        (["--kind", "gitlab", "--group", "ml//x"], "^--group: "),
        (["--kind", "gitlab", "--group", "ml org"], "^--group: "),
        (["--kind", "github", "--org", "ml", "--name-pattern", "["], r"^--name-pattern: .*'\[' opens a set"),
        (["--kind", "gitlab", "--group", "ml", "--name-pattern", "model-[!ab"], "^--name-pattern: "),
    ],
)
def test_owner_and_name_pattern_syntax(args, match):
    refused("src", *args, match=match)


def test_valid_owners_and_patterns_pass():
    add("a", "--kind", "github", "--org", "ml-org-2", "--name-pattern", "model-[a-z]*")
    add("b", "--kind", "gitlab", "--group", "ml.team/sub_group/x-y", "--name-pattern", "[]]x")
    add("c", "--kind", "github", "--user", "mona-lisa_octo")  # an Enterprise Managed Users login
    assert Source.objects.count() == 3


def test_an_unset_webhook_secret_variable_is_a_warning_too(monkeypatch):
    monkeypatch.delenv("GH_HOOK_UNSET", raising=False)
    _, err = add("gh", "--kind", "github", "--org", "ml-org", "--webhook-secret-env", "GH_HOOK_UNSET")
    assert "warning: --webhook-secret-env GH_HOOK_UNSET is not set in this environment" in err
