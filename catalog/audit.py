"""The audit log: who changed a project's owner, a finding's triage, a source or a transfer request, when,
and from what to what. Stored by django-auditlog (``auditlog.LogEntry``, one row per change with its
before and after values), shown on the project page and in the admin.

Only user actions are recorded: the sync and the rules write through bulk statements that send no model
signals, so auditlog never sees them. Who acted comes from one ContextVar here, set per request by
``AuditMiddleware`` (read when the entry is written, so a user DRF authenticated by token counts) and by
``acting`` in the domain functions (ownership, triage, transfers) for the API, Slack and commands.
auditlog's own ``set_actor`` is not used: nested inside its middleware it leaks a signal receiver per call
(jazzband/django-auditlog#846).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from auditlog.signals import pre_log
from django.db.models import Q
from django.db.models.signals import pre_save
from django.urls import reverse

from catalog.models import Finding, Project, Source, TransferRequest

# Fields whose changes are recorded (sources and transfer requests: all but their id).
PROJECT_FIELDS = ["owner_ref", "owner_team", "owner_person"]
FINDING_FIELDS = ["acknowledged_at", "acknowledged_by", "snoozed_until", "snooze_reason"]
HISTORY_SHOWN = 30
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")

_acting: ContextVar[dict | None] = ContextVar("portal_audit_acting", default=None)


@contextmanager
def acting(user, via: str) -> Iterator[None]:
    """Within the block, audit entries name ``user`` (a Django user; None or anonymous: nobody) as the
    actor and ``via`` (``portal``, ``api``, ``slack``, ``admin``, ``command``) as where it was done."""
    token = _acting.set({"user": user, "via": via})
    try:
        yield
    finally:
        _acting.reset(token)


class AuditMiddleware:
    """Names the request's user as the actor of the audit entries written while it is handled."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _acting.set({"request": request, "via": self.via(request.path)})
        try:
            return self.get_response(request)
        finally:
            _acting.reset(token)

    @staticmethod
    def via(path: str) -> str:
        if path.startswith(reverse("admin:index")):
            return "admin"
        return "api" if path.startswith("/api/") else "portal"


def _stamp(sender, instance: LogEntry, **kwargs) -> None:
    """pre_save of LogEntry: fill in the actor and ``additional_data["via"]`` from the context."""
    context = _acting.get()
    if context is None:
        return
    user = context["user"] if "user" in context else getattr(context["request"], "user", None)
    if instance.actor_id is None and user is not None and user.is_authenticated:
        instance.actor = user
        instance.actor_email = user.email or None
    instance.additional_data = {**(instance.additional_data or {}), "via": context["via"]}


def _triage_only(sender, instance, action, **kwargs) -> bool:
    """pre_log of Finding: only updates are recorded (the rules make and resolve findings, not users)."""
    return action == LogEntry.Action.UPDATE


def _concrete_fields(model, *, exclude: tuple[str, ...]) -> list[str]:
    # Without include_fields auditlog also lists reverse relations (a source's sync runs, ...).
    return [field.name for field in model._meta.concrete_fields if field.name not in exclude]


def register() -> None:
    """Register the audited models with auditlog and connect the actor stamp (from AppConfig.ready)."""
    auditlog.register(Project, include_fields=PROJECT_FIELDS)
    auditlog.register(Finding, include_fields=FINDING_FIELDS)
    auditlog.register(Source, include_fields=_concrete_fields(Source, exclude=("id", "created_at")))
    auditlog.register(TransferRequest, include_fields=_concrete_fields(TransferRequest, exclude=("id",)))
    pre_save.connect(_stamp, sender=LogEntry, dispatch_uid="catalog.audit.stamp")
    pre_log.connect(_triage_only, sender=Finding, dispatch_uid="catalog.audit.triage_only")


def record_sync_trigger(source: Source, *, by, trigger: str, via: str) -> LogEntry:
    """Record that ``by`` (a user, or None when unknown: a command) queued or ran a sync of ``source``.

    An UPDATE entry on the source whose change is ``sync: ["", trigger]`` and whose ``additional_data``
    holds ``{"event": "sync", "trigger": ..., "via": ...}``.
    """
    with acting(by, via):
        return LogEntry.objects.log_create(
            source,
            force_log=True,
            action=LogEntry.Action.UPDATE,
            changes={"sync": ["", f"queued ({trigger})"]},
            additional_data={"event": "sync", "trigger": trigger},
        )


def project_history(project: Project, limit: int = HISTORY_SHOWN) -> list[LogEntry]:
    """The newest ``limit`` audit entries of ``project``, its findings and its transfer requests, newest
    first, each with ``actor`` loaded, a one-line ``summary`` and its ``rows`` of changes
    (``changes_of``). One query, plus one per kind of subject listed (findings, transfer requests)."""
    findings = Finding.objects.filter(project=project).values("pk")
    transfers = TransferRequest.objects.filter(project=project).values("pk")
    # Content types by name through a join, not by id: no content type query, cached or not.
    entries = list(
        LogEntry.objects.filter(
            Q(content_type__app_label="catalog")
            & (
                Q(content_type__model="project", object_id=project.pk)
                | Q(content_type__model="finding", object_id__in=findings)
                | Q(content_type__model="transferrequest", object_id__in=transfers)
            )
        )
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")[:limit]
    )
    kinds = {"project": "project", "finding": "finding", "transferrequest": "transfer"}
    wanted = {"finding": set(), "transfer": set()}
    for entry in entries:
        entry.kind = kinds[entry.content_type.model]
        if entry.kind in wanted:
            wanted[entry.kind].add(entry.object_id)
    rules = dict(Finding.objects.filter(pk__in=wanted["finding"]).values_list("pk", "rule"))
    teams = dict(TransferRequest.objects.filter(pk__in=wanted["transfer"]).values_list("pk", "to_team__name"))
    for entry in entries:
        entry.rows = changes_of(entry)
        if entry.kind == "transfer" and entry.action == LogEntry.Action.CREATE:
            entry.rows = [row for row in entry.rows if row[0] in ("from ref", "reason")]
        entry.summary = _summary(entry, rules.get(entry.object_id, ""), teams.get(entry.object_id, ""))
    return entries


def _summary(entry: LogEntry, rule: str, team: str) -> str:
    """One line saying what ``entry`` did, in the portal's words."""
    changes = entry.changes_dict or {}
    after = {field: values[1] for field, values in changes.items() if isinstance(values, list | tuple)}
    if entry.kind == "project":
        if entry.action == LogEntry.Action.CREATE:
            return f"made the project, owned by {after.get('owner_ref') or 'nobody'}"
        if "owner_ref" not in changes:
            return "changed the project"
        before = changes["owner_ref"][0]
        owner = after["owner_ref"] or "nobody"
        return f"made {owner} the owner" if before not in ("", "None") else f"claimed it for {owner}"
    if entry.kind == "finding":
        if "snoozed_until" in after:
            if after["snoozed_until"] in ("", "None"):
                return f"ended the snooze of {rule}"
            return f"snoozed {rule} until {after['snoozed_until'][:10]}"
        if "acknowledged_at" in after:
            if after["acknowledged_at"] in ("", "None"):
                return f"took back the acknowledgement of {rule}"
            return f"acknowledged {rule}"
        return f"changed the triage of {rule}"
    if entry.action == LogEntry.Action.CREATE:
        return f"asked that {team} owns it"
    status = after.get("status", "")
    return {
        "accepted": f"accepted the transfer to {team}",
        "declined": f"declined the transfer to {team}",
        "cancelled": f"cancelled the request for {team}",
    }.get(status, f"changed the request for {team}")


def _shown(value) -> str:
    """A recorded value as shown: "" for none, a datetime (auditlog stores naive UTC) to the minute."""
    if value in (None, "None"):
        return ""
    value = str(value)
    return f"{value[:16]} UTC" if _DATETIME.match(value) else value


def changes_of(entry: LogEntry) -> list[tuple[str, str, str]]:
    """``entry``'s changes as ``(field, before, after)``, empty values as "" (auditlog writes "None").

    On a project, the owner's reference stands for the owner's foreign keys when it changed too.
    """
    changes = entry.changes_dict or {}
    if "owner_ref" in changes:
        changes = {k: v for k, v in changes.items() if k not in ("owner_team", "owner_person")}
    rows = []
    for field, values in changes.items():
        if not isinstance(values, list | tuple) or len(values) != 2:
            continue
        before, after = (_shown(value) for value in values)
        rows.append((field.replace("_", " "), before, after))
    return rows
