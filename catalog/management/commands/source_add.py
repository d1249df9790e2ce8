"""manage.py source_add: create or update a source from the command line.

Run again on an existing source, it changes only what the command names: each option given replaces its
config key, targets replace a git/file source's ``paths`` and ``urls`` (an mlflow source's
``tracking_uri``), ``--interval`` the schedule; every other key is kept, and the output names the keys
changed. A different ``--kind`` replaces the whole config.

The config is checked as the admin checks a source (``Source.full_clean``, which runs
``catalog.source_config.validate_source_config``: the kind's connector's ``parse_config`` and the address
policy of ``catalog.source_urls``); an error names the option at fault and nothing is saved.
"""

import argparse
import re
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import Source
from catalog.source_config import redacted_config, unset_variables

# The option that sets each config key (hosted kinds and mlflow), for error messages.
OPTIONS = {
    "org": "--org",
    "user": "--user",
    "group": "--group",
    "api_url": "--api-url",
    "token_env": "--token-env",
    "webhook_secret_env": "--webhook-secret-env",
    "include_archived": "--include-archived",
    "include_forks": "--include-forks",
    "topics": "--topic",
    "name_patterns": "--name-pattern",
    "descriptor_paths": "--descriptor-path",
    "window_days": "--window-days",
    "runs": "--runs",
    "concurrency": "--concurrency",
    "timeout": "--timeout",
    "tracking_uri": "TARGET (the tracking server's URL)",
    "auth": "--token-env / --username-env / --password-env",
    "metrics": "--metric",
    "scorecards_repository": "--scorecards-repository",
    "scorecards_path": "--scorecards-path",
    "paths": "TARGET",
    "urls": "TARGET",
}
HOSTED = ("org", "user", "group", "api_url", "token_env", "webhook_secret_env", "include_archived")
HOSTED += ("include_forks", "topic", "name_pattern", "descriptor_path", "window_days", "runs", "concurrency")
SCORECARDS = ("scorecards_repository", "scorecards_path")
HOSTED += SCORECARDS
TAKES = {  # the options of each kind (beyond the targets and --interval)
    Source.Kind.GIT: SCORECARDS,
    Source.Kind.FILE: (),
    Source.Kind.MLFLOW: ("token_env", "username_env", "password_env", "metric", "timeout"),
    Source.Kind.GITHUB: (*HOSTED, "timeout"),
    Source.Kind.GITLAB: (*HOSTED, "timeout"),
}
_MISSING = object()
_QUOTED_KEY = re.compile(r"'([a-z_]+)'|config\.([a-z_]+)")


class IntermixedParser(CommandParser):
    """Targets may follow options (``NAME --kind git PATH``): argparse alone gives an optional positional
    nothing once an option comes between it and the name."""

    def parse_args(self, args=None, namespace=None):
        return self.parse_intermixed_args(args, namespace)


class Command(BaseCommand):
    help = (
        "Create or update a source. --kind git: each target is a local directory (a repository or a folder "
        "scanned for repositories) or a git URL; --kind file: each target is a descriptor file; --kind "
        "mlflow: the one target is the tracking server's URL; --kind github (--org or --user) and --kind "
        "gitlab (--group) take no target."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = IntermixedParser  # Django builds the parser itself and offers no class hook
        return parser

    def add_arguments(self, parser):
        parser.add_argument("name", help="the source's name (a slug)")
        parser.add_argument("targets", nargs="*", help="directories, git URLs, descriptor files or a URL")
        parser.add_argument(
            "--kind", choices=Source.Kind.values, help="default: the existing source's kind, else git"
        )
        parser.add_argument(
            "--interval", type=int, help="minutes between scheduled syncs (default 60; kept on an update)"
        )
        hosted = parser.add_argument_group("github and gitlab")
        hosted.add_argument("--org", help="GitHub: the organization")
        hosted.add_argument("--user", help="GitHub: the user (instead of --org)")
        hosted.add_argument("--group", help="GitLab: the group (its subgroups included), e.g. ml/platform")
        hosted.add_argument(
            "--api-url",
            help="the API's base URL: GitHub Enterprise (https://HOST/api/v3) or a self-managed GitLab "
            "(https://HOST/api/v4); default: GitHub's or GitLab.com's",
        )
        hosted.add_argument(
            "--token-env",
            help="the NAME of the environment variable holding the token (never the token itself); "
            "mlflow: a bearer token's",
        )
        hosted.add_argument(
            "--webhook-secret-env", help="the NAME of the variable holding the webhook secret"
        )
        hosted.add_argument(
            "--include-archived",
            action=argparse.BooleanOptionalAction,
            help="also read archived repositories (--no-include-archived: not)",
        )
        hosted.add_argument(
            "--include-forks", action=argparse.BooleanOptionalAction, help="also read forks (--no-...: not)"
        )
        hosted.add_argument(
            "--topic", action="append", help="keep repositories with this topic (repeat for any of several)"
        )
        hosted.add_argument(
            "--name-pattern", action="append", help="keep repositories whose name matches this glob (repeat)"
        )
        hosted.add_argument("--descriptor-path", action="append", help="where descriptors are (repeat)")
        hosted.add_argument("--window-days", type=int, help="the activity window, in days")
        hosted.add_argument("--runs", type=int, help="workflow runs or pipelines read per repository")
        hosted.add_argument("--concurrency", type=int, help="repositories read at once")
        hosted.add_argument("--timeout", type=int, help="seconds per request (also mlflow)")
        scorecards = parser.add_argument_group("git, github and gitlab")
        scorecards.add_argument(
            "--scorecards-repository",
            help="the repository holding the scorecards file (GitHub owner/name, GitLab group/project; "
            "git: the repository's name, URL or path)",
        )
        scorecards.add_argument(
            "--scorecards-path", help="the scorecards file in it (default .portal/scorecards.yaml)"
        )
        registry = parser.add_argument_group("mlflow")
        registry.add_argument("--username-env", help="basic auth: the NAME of the variable holding the user")
        registry.add_argument(
            "--password-env", help="basic auth: the NAME of the variable holding the password"
        )
        registry.add_argument("--metric", action="append", help="a run metric to keep per version (repeat)")

    def handle(self, *args, name, targets, kind, interval, **options):
        existing = Source.objects.filter(name=name).first()
        same_kind = existing is not None and kind in (None, existing.kind)
        kind = kind or (existing.kind if existing else Source.Kind.GIT)
        given = {o for takes in TAKES.values() for o in takes if options.get(o) not in (None, [])}
        unused = sorted(given - set(TAKES[kind]))
        if unused:
            flags = ", ".join("--" + n.replace("_", "-") for n in unused)
            raise CommandError(f"--kind {kind} does not take {flags}")
        old = dict(existing.config) if same_kind and isinstance(existing.config, dict) else {}
        if kind == Source.Kind.FILE:
            config = self._file_config(targets, old)
        elif kind == Source.Kind.MLFLOW:
            config = self._mlflow_config(targets, options, old)
        elif kind in (Source.Kind.GITHUB, Source.Kind.GITLAB):
            if targets:
                owner = "--group" if kind == Source.Kind.GITLAB else "--org or --user"
                raise CommandError(f"--kind {kind} takes no targets: name the owner with {owner}")
            config = self._hosted_config(kind, options, old)
        else:
            config = self._git_config(targets, options, old)
        if interval is None:
            interval = existing.sync_interval_minutes if existing is not None else 60
        self._validate(name, kind, config, interval)
        if existing is None:
            Source.objects.create(name=name, kind=kind, config=config, sync_interval_minutes=interval)
            self.stdout.write(f"created source {name}: {redacted_config(config)}")
            return
        changed = sorted(k for k in set(old) | set(config) if old.get(k, _MISSING) != config.get(k, _MISSING))
        if existing.kind != kind:
            changed.insert(0, f"kind ({existing.kind} -> {kind}; config replaced)")
        if existing.sync_interval_minutes != interval:
            changed.append(f"interval ({existing.sync_interval_minutes} -> {interval} minutes)")
        existing.kind, existing.config, existing.sync_interval_minutes = kind, config, interval
        existing.save()
        what = ", ".join(changed) if changed else "nothing changed"
        self.stdout.write(f"updated source {name}: {what}; config {redacted_config(config)}")

    @staticmethod
    def _file_config(targets: list[str], old: dict[str, Any]) -> dict[str, Any]:
        if not targets and old:
            return old
        config = {key: value for key, value in old.items() if key != "paths"}
        config["paths"] = [str(Path(t).resolve()) for t in Command._targets(Source.Kind.FILE, targets)]
        return config

    @staticmethod
    def _git_config(targets: list[str], options: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
        config = dict(old)
        if targets or not old:
            targets = Command._targets(Source.Kind.GIT, targets)
            paths = [str(Path(t).resolve()) for t in targets if Path(t).exists()]
            urls = [t for t in targets if not Path(t).exists()]
            bad = [u for u in urls if "://" not in u and "@" not in u]
            if bad:
                raise CommandError(f"neither an existing directory nor a git URL: {', '.join(bad)}")
            config.update(paths=paths, urls=urls)
        for key in SCORECARDS:
            if options.get(key) is not None:
                config[key] = options[key]
        return config

    @staticmethod
    def _targets(kind: str, targets: list[str]) -> list[str]:
        if not targets:
            raise CommandError(f"--kind {kind} needs at least one target")
        return targets

    @staticmethod
    def _mlflow_config(targets: list[str], options: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
        if len(targets) > 1 or not (targets or old):
            raise CommandError("--kind mlflow takes one target: the tracking server's URL")
        config: dict[str, Any] = dict(old)
        if targets:
            config["tracking_uri"] = targets[0]
        token, user, password = (
            options.get("token_env"),
            options.get("username_env"),
            options.get("password_env"),
        )
        if token and (user or password):
            raise CommandError(
                "--token-env (bearer) and --username-env/--password-env (basic): give one kind"
            )
        if token:
            config["auth"] = {"type": "bearer", "token_env": token}
        elif user or password:
            kept = config.get("auth") if isinstance(config.get("auth"), dict) else {}
            if kept.get("type") == "basic":  # an update may change one of the two
                user, password = user or kept.get("username_env"), password or kept.get("password_env")
            if not (user and password):
                raise CommandError("basic auth needs both --username-env and --password-env")
            config["auth"] = {"type": "basic", "username_env": user, "password_env": password}
        if options.get("metric"):
            config["metrics"] = options["metric"]
        if options.get("timeout") is not None:
            config["timeout"] = options["timeout"]
        return config

    @staticmethod
    def _hosted_config(kind: str, options: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
        owners = ("group",) if kind == Source.Kind.GITLAB else ("org", "user")
        wrong = [o for o in ("org", "user", "group") if o not in owners and options.get(o)]
        if wrong:
            use = " or ".join("--" + o for o in owners)
            raise CommandError(f"--kind {kind} does not take --{wrong[0]}: use {use}")
        given = [o for o in owners if options.get(o)]
        if len(given) > 1 or not (given or any(o in old for o in owners)):
            raise CommandError(f"--kind {kind} needs exactly one of {', '.join('--' + o for o in owners)}")
        config: dict[str, Any] = dict(old)
        if given:
            for owner in owners:
                config.pop(owner, None)
            config[given[0]] = options[given[0]]
        for key in (
            "api_url",
            "token_env",
            "webhook_secret_env",
            "window_days",
            "runs",
            "concurrency",
            "timeout",
            "include_archived",
            "include_forks",
            *SCORECARDS,
        ):
            if options.get(key) is not None:
                config[key] = options[key]
        for option, key in (
            ("topic", "topics"),
            ("name_pattern", "name_patterns"),
            ("descriptor_path", "descriptor_paths"),
        ):
            if options.get(option):
                config[key] = options[option]
        return config

    def _validate(self, name: str, kind: str, config: dict[str, Any], interval: int) -> None:
        """Check the source as the admin does (``Source.full_clean``: the connector's ``parse_config`` and
        the address policy, ``catalog.source_config``); CommandError names the option at fault."""
        try:
            Source(name=name, kind=kind, config=config, sync_interval_minutes=interval).full_clean(
                validate_unique=False
            )
        except ValidationError as exc:
            problems = exc.message_dict
            if "config" in problems:
                raise CommandError("; ".join(_named(m) for m in problems["config"])) from None
            field, messages = next(iter(problems.items()))
            option = {"name": "NAME", "sync_interval_minutes": "--interval"}.get(field, field)
            raise CommandError(f"{option}: {'; '.join(messages)}") from None
        for key, variable in unset_variables(config):
            option = OPTIONS.get(key.rsplit(".", 1)[-1], OPTIONS.get(key, key))
            if key.startswith("auth."):
                option = "--" + key.split(".", 1)[1].replace("_", "-")
            self.stderr.write(
                f"warning: {option} {variable} is not set in this environment; the workers need it"
            )


def _named(message: str) -> str:
    """``message`` prefixed with the option that sets the config key it names (when it names one)."""
    for match in _QUOTED_KEY.finditer(message):
        key = match[1] or match[2]
        if key in OPTIONS:
            return f"{OPTIONS[key]}: {message}"
    return message
