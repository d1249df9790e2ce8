"""Webhooks from GitHub (``POST /hooks/github``) and GitLab (``POST /hooks/gitlab``).

A delivery is checked against the secret of each enabled source of that kind whose config names one
(``webhook_secret_env``: the NAME of the environment variable holding it): GitHub's ``X-Hub-Signature-256``
(HMAC-SHA256 of the raw body, https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries)
or GitLab's ``X-Gitlab-Token`` (https://docs.gitlab.com/ee/user/project/integrations/webhooks.html), in
constant time. No match: 401 and nothing changes. A delivery id or event name that is not printable ASCII
of at most 128 (64) characters: 400. A payload value the database cannot hold (a number too large): 400.
A delivery id seen before (GitHub's ``X-GitHub-Delivery``,
GitLab's ``Idempotency-Key``) is acknowledged and not applied again.

What an event does, for the sources it verified against:

- a run on the default branch (GitHub ``workflow_run``, GitLab Pipeline Hook) is written at once through
  ``catalog.sync_pipelines.record_run``, then ``ci-failing`` is re-evaluated. Not a pull request's run
  (GitHub: its ``event``, or a ``head_repository`` that is a fork) nor a merge request pipeline (GitLab
  names its source branch in ``ref``), which a sync does not read either. Deliveries may arrive out of
  order: a run behind the stored one is not written (GitHub: an earlier attempt, an unfinished state of a
  finished attempt, an earlier finish); a GitLab pipeline stored finished and reported unfinished (it may
  have been retried under the same id) queues a targeted re-sync of its project instead;
- a push to the default branch, or a GitHub ``repository`` event, queues a targeted re-sync of that
  repository (a deleted or transferred one: of the whole source, so that it is taken as gone);
- a repository outside the source's organization, user or group (by its name) changes nothing for that
  source (the targeted sync would skip it too);
- ``ping``, runs and pushes on other branches, and unknown events get a 2xx and change nothing. The
  answer's ``status`` says what was done (``updated``, ``queued``, ``ignored: <why>``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DataError, IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from catalog.connectors import github as github_connector
from catalog.connectors import gitlab as gitlab_connector
from catalog.env_names import env_name_problem
from catalog.models import Pipeline, Repository, Source, SyncRun, WebhookDelivery
from catalog.sync_pipelines import NEWER, REOPENED, compare_run, is_behind, record_run
from catalog.tasks import evaluate_rules, sync_source

logger = logging.getLogger(__name__)

Sources = list[Source]


# Delivery ids (a GUID, a UUID) and event names ("workflow_run", "Pipeline Hook") are printable ASCII.
HEADER_VALUE = re.compile(r"[ -~]*", re.ASCII)


class BadPayload(ValueError):
    """The payload lacks a field its event documents, or holds it null or of another type; answered 400
    with the message, which names the field (``workflow_run.head_branch``)."""


# The JSON types a payload field may have. An id is a number or a string; JSON true is no number.
TEXT, NUMBER, ID, FLAG = (str,), (int,), (int, str), (bool,)
_TYPE_NAMES = {str: "a string", int: "a number", bool: "true or false"}


def _fields(parent: Any, key: str, where: str, spec: dict[str, tuple[tuple[type, ...], bool]]) -> dict:
    """``parent[key]``, checked to be an object whose fields of ``spec`` (name -> (JSON types, required))
    have those types; an optional field may be missing or null. Raises BadPayload naming the field
    (``where`` is the dotted path of ``parent``, "" for the payload)."""
    path = f"{where}.{key}" if where else key
    value = parent.get(key)
    if not isinstance(value, dict):
        raise BadPayload(f"{path} must be an object, not {_json_type(value)}")
    for name, (types, required) in spec.items():
        field = value.get(name)
        if field is None:
            if required:
                raise BadPayload(f"{path}.{name} is {'null' if name in value else 'missing'}")
            continue
        if (isinstance(field, bool) and bool not in types) or not isinstance(field, types):
            wanted = " or ".join(_TYPE_NAMES[t] for t in types)
            raise BadPayload(f"{path}.{name} must be {wanted}, not {_json_type(field)}")
    return value


def _json_type(value: Any) -> str:
    names = {type(None): "null", bool: "true or false", int: "a number", float: "a number", str: "a string"}
    return names.get(type(value), "an array" if isinstance(value, list) else "an object")


def _text(payload: dict[str, Any], key: str) -> str | None:
    """An optional top-level string field of the payload (``ref``, ``action``); BadPayload otherwise."""
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise BadPayload(f"{key} must be a string, not {_json_type(value)}")
    return value


GITHUB_REPOSITORY = {
    "id": (ID, True),
    "full_name": (TEXT, True),
    "default_branch": (TEXT, False),
    "master_branch": (TEXT, False),
}
GITHUB_RUN = {
    "id": (ID, True),
    "created_at": (TEXT, True),
    "workflow_id": (ID, False),
    **dict.fromkeys(
        ("name", "path", "status", "conclusion", "head_branch", "head_sha", "run_started_at", "updated_at"),
        (TEXT, False),
    ),
    **dict.fromkeys(("html_url", "event"), (TEXT, False)),
    **dict.fromkeys(("run_number", "run_attempt"), (NUMBER, False)),
}
GITHUB_HEAD_REPOSITORY = {"id": (ID, False), "full_name": (TEXT, False)}
GITHUB_WORKFLOW = {"id": (ID, True), **dict.fromkeys(("name", "path", "state", "html_url"), (TEXT, False))}
GITLAB_PROJECT = {
    "id": (ID, True),
    "path_with_namespace": (TEXT, True),
    "default_branch": (TEXT, False),
    "web_url": (TEXT, False),
}
GITLAB_PIPELINE = {
    "id": (ID, True),
    "created_at": (TEXT, True),
    "tag": (FLAG, False),
    "iid": (NUMBER, False),
    **dict.fromkeys(
        ("status", "ref", "sha", "started_at", "finished_at", "updated_at", "web_url", "url", "source"),
        (TEXT, False),
    ),
}


def _secret_sources(kind: str) -> list[tuple[Source, str]]:
    """Enabled sources of ``kind`` with a webhook secret set in the environment, with that secret."""
    found = []
    for source in Source.objects.filter(kind=kind, enabled=True):
        name = (source.config or {}).get("webhook_secret_env") if isinstance(source.config, dict) else None
        if name and env_name_problem(name):  # saved before validation, perhaps the secret itself
            logger.warning("webhook secret of source %s: webhook_secret_env is no variable name", source.name)
            continue
        secret = os.environ.get(name, "") if isinstance(name, str) and name else ""
        if secret:
            found.append((source, secret))
        elif name:
            logger.warning(
                "webhook secret of source %s: environment variable %s is not set", source.name, name
            )
    return found


def github_signature_ok(secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` is ``sha256=<hex HMAC-SHA256 of body with secret>``, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def _first_delivery(provider: str, delivery_id: str, event: str, now: datetime) -> bool:
    """Record a delivery id; False when it was seen before. Old ids are dropped as new ones come."""
    retention = timedelta(days=settings.PORTAL["WEBHOOK_DELIVERY_RETENTION_DAYS"])
    WebhookDelivery.objects.filter(received_at__lt=now - retention).delete()
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(
                provider=provider, delivery_id=delivery_id, event=event, received_at=now
            )
    except IntegrityError:
        return False
    return True


def _receive(
    request: HttpRequest,
    *,
    provider: str,
    verified: Callable[[str], bool],
    delivery_id: str,
    event: str,
    handlers: dict[str, Callable[[Sources, dict[str, Any]], str]],
    headers: tuple[str, str],
) -> JsonResponse:
    """Verify, deduplicate, parse and dispatch one delivery (shared by both providers). ``headers`` names
    the headers of the delivery id and the event, for error messages."""
    sources = [source for source, secret in _secret_sources(provider) if verified(secret)]
    if not sources:
        return JsonResponse(
            {"error": "the signature or token matches no source's webhook secret"}, status=401
        )
    for header, value, longest in ((headers[0], delivery_id, 128), (headers[1], event, 64)):
        if len(value) > longest or not HEADER_VALUE.fullmatch(value):
            return JsonResponse(
                {"error": f"{header} is not printable ASCII of at most {longest} characters"}, status=400
            )
    try:
        payload = json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return JsonResponse({"error": f"the body is not JSON: {exc}"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": "the body is not a JSON object"}, status=400)
    handler = handlers.get(event)
    if handler is None:
        return JsonResponse({"status": "ignored", "event": event})
    try:
        with transaction.atomic():
            if delivery_id and not _first_delivery(provider, delivery_id, event, datetime.now(UTC)):
                return JsonResponse({"status": "duplicate", "delivery": delivery_id})
            status = handler(sources, payload)
    except BadPayload as exc:
        logger.warning("%s webhook %s (%s) refused: %s", provider, event, delivery_id, exc)
        return JsonResponse({"error": f"the {event} payload is not as documented: {exc}"}, status=400)
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, DataError) as exc:
        logger.warning("%s webhook %s (%s) refused: %r", provider, event, delivery_id, exc)
        return JsonResponse({"error": f"the {event} payload is not as documented: {exc!r}"}, status=400)
    return JsonResponse({"status": status, "event": event})


@csrf_exempt
@login_not_required
@require_POST
def github(request: HttpRequest) -> JsonResponse:
    """``POST /hooks/github``: a GitHub webhook delivery (see the module docstring)."""
    signature = request.headers.get("X-Hub-Signature-256", "")
    return _receive(
        request,
        provider="github",
        verified=lambda secret: bool(signature) and github_signature_ok(secret, request.body, signature),
        delivery_id=request.headers.get("X-GitHub-Delivery", ""),
        event=request.headers.get("X-GitHub-Event", ""),
        handlers=GITHUB_EVENTS,
        headers=("X-GitHub-Delivery", "X-GitHub-Event"),
    )


@csrf_exempt
@login_not_required
@require_POST
def gitlab(request: HttpRequest) -> JsonResponse:
    """``POST /hooks/gitlab``: a GitLab webhook delivery (see the module docstring)."""
    token = request.headers.get("X-Gitlab-Token", "")
    return _receive(
        request,
        provider="gitlab",
        verified=lambda secret: bool(token) and hmac.compare_digest(secret.encode(), token.encode()),
        delivery_id=request.headers.get("Idempotency-Key", ""),
        event=request.headers.get("X-Gitlab-Event", ""),
        handlers=GITLAB_EVENTS,
        headers=("Idempotency-Key", "X-Gitlab-Event"),
    )


# What events do

OUTSIDE_ORG = "ignored: not in this source's org"
OUTSIDE_GROUP = "ignored: not in this source's group"
OLDER_THAN_STORED = "ignored: older than stored"


def _repositories(sources: Sources, external_id: Any) -> list[Repository]:
    return list(
        Repository.objects.filter(
            source__in=sources, external_id=str(external_id), gone_at__isnull=True
        ).select_related("source")
    )


def _holding(sources: Sources, keys: tuple[str, ...], holds: Callable[[str], bool]) -> Sources:
    """The sources whose owner (the first of the config's ``keys`` it has) ``holds`` the repository. One
    that does not name it by path (a GitLab group id, a bad config) is kept: its sync decides."""
    kept = []
    for source in sources:
        config = source.config if isinstance(source.config, dict) else {}
        owner = next((config[key] for key in keys if key in config), None)
        if not isinstance(owner, str) or owner.strip().isdigit() or holds(owner.strip().strip("/")):
            kept.append(source)
    return kept


def _resync(sources: Sources, name: str | None) -> str:
    """Queue, once the transaction commits, a re-sync of ``name`` (or of the whole source when None)."""
    for source in sources:
        only = [name] if name else None
        transaction.on_commit(
            lambda pk=source.pk, only=only: sync_source.delay(pk, SyncRun.Trigger.WEBHOOK, only)
        )
    return "queued"


def _run_recorded(repositories: list[Repository], write: Callable[[Repository], None]) -> str:
    for repository in repositories:
        write(repository)
    transaction.on_commit(lambda: evaluate_rules.delay(["ci-failing"]))
    return "updated"


def _github_sources(sources: Sources, full_name: str) -> Sources:
    return _holding(sources, ("org", "user"), lambda owner: github_connector.owns(owner, full_name))


def github_workflow_run(sources: Sources, payload: dict[str, Any]) -> str:
    """Write the run (on the default branch, not a pull request's) of a ``workflow_run`` event at once, unless
    it is behind the stored one."""
    repo = _fields(payload, "repository", "", GITHUB_REPOSITORY)
    run = _fields(payload, "workflow_run", "", GITHUB_RUN)
    if run.get("head_repository") is not None:
        _fields(run, "head_repository", "workflow_run", GITHUB_HEAD_REPOSITORY)
    known = payload.get("workflow") is not None  # GitHub documents it; without it, only the run is news
    workflow = _fields(payload, "workflow", "", GITHUB_WORKFLOW) if known else None
    if workflow is None and run.get("workflow_id") is None:
        raise BadPayload("workflow is missing and workflow_run.workflow_id too")
    sources = _github_sources(sources, repo["full_name"])
    if not sources:
        return OUTSIDE_ORG
    repositories = _repositories(sources, repo["id"])
    if not repositories:
        return _resync(sources, repo["full_name"])
    if run.get("head_branch") != repo.get("default_branch"):
        return "ignored: not the default branch"
    if not github_connector.on_own_branch(run, repo):
        return "ignored: a pull request's run"
    news = github_connector.run_record(run)
    # A re-run raises run_attempt (where GitHub sends it): the same attempt unfinished again is older.
    repositories = [
        r for r in repositories if not is_behind(compare_run(r, github_connector.PROVIDER, news), news)
    ]
    if not repositories:
        return OLDER_THAN_STORED
    workflow = workflow or {"id": run["workflow_id"], "name": run.get("name"), "path": run.get("path")}
    record = github_connector.workflow_record(workflow, [news])
    return _run_recorded(
        repositories, lambda r: record_run(r, record, datetime.now(UTC), runs_only=not known)
    )


def github_push(sources: Sources, payload: dict[str, Any]) -> str:
    repo = _fields(payload, "repository", "", GITHUB_REPOSITORY)
    if _text(payload, "ref") != f"refs/heads/{repo.get('default_branch') or repo.get('master_branch')}":
        return "ignored: not the default branch"
    sources = _github_sources(sources, repo["full_name"])
    return _resync(sources, repo["full_name"]) if sources else OUTSIDE_ORG


def github_repository(sources: Sources, payload: dict[str, Any]) -> str:
    if _text(payload, "action") in ("deleted", "transferred"):
        return _resync(sources, None)
    full_name = _fields(payload, "repository", "", GITHUB_REPOSITORY)["full_name"]
    sources = _github_sources(sources, full_name)
    return _resync(sources, full_name) if sources else OUTSIDE_ORG


def github_ping(sources: Sources, payload: dict[str, Any]) -> str:
    return "pong"


GITHUB_EVENTS = {
    "workflow_run": github_workflow_run,
    "push": github_push,
    "repository": github_repository,
    "ping": github_ping,
}


def _gitlab_sources(sources: Sources, path: str) -> Sources:
    return _holding(sources, ("group",), lambda group: gitlab_connector.in_group(group, path))


def gitlab_pipeline(sources: Sources, payload: dict[str, Any]) -> str:
    """Write the pipeline (on the default branch, not a merge request's) of a Pipeline Hook at once,
    unless it is behind the stored one; re-sync its project when a finished one is reported unfinished."""
    project = _fields(payload, "project", "", GITLAB_PROJECT)
    attributes = _fields(payload, "object_attributes", "", GITLAB_PIPELINE)
    name = project["path_with_namespace"]
    sources = _gitlab_sources(sources, name)
    if not sources:
        return OUTSIDE_GROUP
    repositories = _repositories(sources, project["id"])
    if not repositories:
        return _resync(sources, name)
    if attributes.get("tag") or attributes.get("ref") != project.get("default_branch"):
        return "ignored: not the default branch"
    # Its ref is the merge request's source branch, perhaps a fork's of the same name; the API's is
    # refs/merge-requests/<iid>/head, so a sync does not read it as the default branch's either.
    if attributes.get("source") == "merge_request_event" or payload.get("merge_request") is not None:
        return "ignored: a merge request pipeline"
    run = gitlab_connector.run_record(attributes, web_url=project.get("web_url") or "")
    news = {r: compare_run(r, gitlab_connector.PROVIDER, run) for r in repositories}
    # No attempt counter: a retried pipeline keeps its id, so the API says whether it runs again.
    reopened = [r.source for r, state in news.items() if state == REOPENED]
    repositories = [r for r, state in news.items() if state == NEWER]
    if reopened:
        _resync(reopened, name)
    if not repositories:
        return "queued: finished before, re-read from the API" if reopened else OLDER_THAN_STORED

    def write(repository: Repository) -> None:
        known = Pipeline.objects.filter(
            repository=repository, provider=gitlab_connector.PROVIDER, gone_at=None
        )
        path = known.values_list("external_id", flat=True).first() or gitlab_connector.DEFAULT_CI_PATH
        shape = {"ci_config_path": path, "web_url": project.get("web_url") or ""}
        record_run(repository, gitlab_connector.pipeline_record(shape, [run]), datetime.now(UTC))

    return _run_recorded(repositories, write)


def gitlab_push(sources: Sources, payload: dict[str, Any]) -> str:
    project = _fields(payload, "project", "", GITLAB_PROJECT)
    if _text(payload, "ref") != f"refs/heads/{project.get('default_branch')}":
        return "ignored: not the default branch"
    sources = _gitlab_sources(sources, project["path_with_namespace"])
    return _resync(sources, project["path_with_namespace"]) if sources else OUTSIDE_GROUP


GITLAB_EVENTS = {"Pipeline Hook": gitlab_pipeline, "Push Hook": gitlab_push}
