"""Slack messages in Block Kit: alerts, nags, digests, tests, and the updates after an action.

A message is ``{"text": fallback, "blocks": [...], "metadata": {...}}`` as chat.postMessage takes it
(https://docs.slack.dev/reference/block-kit/blocks). Each finding is one section (subject linked to its
portal page, rule, severity, the one-sentence reason, its evidence) followed, where it can be acted on, by
an actions block ``finding:<id>`` with the buttons Snooze 30 days (``snooze``), I'll take it (``claim``)
and Open (a link). Limits kept: header 150 characters, section text 3000, 50 blocks a message.
``metadata`` carries the notification's dedup key (``event_type`` ``portal_notification``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from catalog.models import Finding, Severity
from catalog.templatetags.portal import evidence_items

HEADER_MAX = 150
SECTION_MAX = 3000
MAX_BLOCKS = 50
SNOOZE = "snooze"
CLAIM = "claim"
OPEN = "open"
SEVERITY_EMOJI = {
    Severity.CRITICAL: ":red_circle:",
    Severity.ERROR: ":large_orange_circle:",
    Severity.WARNING: ":large_yellow_circle:",
    Severity.INFO: ":white_circle:",
}

Block = dict[str, Any]


def escape(text: str) -> str:
    """Escape mrkdwn's control characters (https://docs.slack.dev/messaging/formatting-message-text)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, text: str) -> str:
    return f"<{url}|{escape(text).replace('|', '/')}>" if url else escape(text)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def portal_url(path: str) -> str:
    return settings.PORTAL["BASE_URL"] + path


def subject_of(finding: Finding) -> tuple[str, str, str]:
    """The finding's subject as (name, absolute portal URL, owner), from a routed queryset's row."""
    if finding.project_id is not None:
        project = finding.project
        url = reverse("project-detail", args=[project.namespace, project.name])
        return str(project), portal_url(url), project.owner_ref or "no owner"
    if finding.team_id is not None:
        team = finding.team
        return str(team), portal_url(reverse("team-detail", args=[team.namespace, team.name])), str(team)
    model = finding.registered_model
    url = portal_url(reverse("model-detail", args=[model.source.name, model.name]))
    owner = model.project.owner_ref if model.project_id and model.project.owner_ref else "no project"
    return f"model {model.name}", url, owner


def evidence_line(finding: Finding) -> str:
    parts = []
    for item in evidence_items(finding.evidence, finding.message):
        value = link(item["href"], item["text"]) if item["href"] else escape(item["text"])
        parts.append(f"_{escape(item['label'])}_ {value}")
    return " · ".join(parts)


def finding_section(finding: Finding, *, mention: str = "") -> Block:
    name, url, owner = subject_of(finding)
    severity = Severity(finding.severity)
    emoji = SEVERITY_EMOJI.get(severity, "")
    lines = [
        f"{emoji} *{link(url, name)}* · `{escape(finding.rule)}` · {severity.label}",
        escape(finding.message),
    ]
    if evidence := evidence_line(finding):
        lines.append(evidence)
    since = f"open since {finding.first_seen_at:%Y-%m-%d} · owner {escape(owner)}"
    lines.append(f"{since} · {mention}" if mention else since)
    return {
        "type": "section",
        "block_id": f"finding:{finding.pk}:text",
        "text": {"type": "mrkdwn", "text": clip("\n".join(lines), SECTION_MAX)},
    }


def finding_actions(finding: Finding) -> Block:
    _, url, _ = subject_of(finding)
    days = settings.PORTAL["NOTIFY"]["SNOOZE_DAYS"]
    return {
        "type": "actions",
        "block_id": f"finding:{finding.pk}",
        "elements": [
            {
                "type": "button",
                "action_id": SNOOZE,
                "text": {"type": "plain_text", "text": f"Snooze {days} days"},
                "value": str(finding.pk),
            },
            {
                "type": "button",
                "action_id": CLAIM,
                "style": "primary",
                "text": {"type": "plain_text", "text": "I'll take it"},
                "value": str(finding.pk),
            },
            {
                "type": "button",
                "action_id": OPEN,
                "text": {"type": "plain_text", "text": "Open"},
                "url": url,
                "value": str(finding.pk),
            },
        ],
    }


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_MAX), "emoji": True}}


def message(text: str, blocks: list[Block], *, kind: str, dedup_key: str) -> dict[str, Any]:
    return {
        "text": clip(text, 3000),
        "blocks": blocks[:MAX_BLOCKS],
        "metadata": {
            "event_type": "portal_notification",
            "event_payload": {"kind": kind, "dedup_key": dedup_key},
        },
    }


def alert_message(finding: Finding, *, dedup_key: str) -> dict[str, Any]:
    """One finding that opened (or rose) at or above the alert severity."""
    name, _, _ = subject_of(finding)
    title = f"Needs maintenance: {name}"
    blocks = [header(title), finding_section(finding), finding_actions(finding)]
    return message(f"{title}: {finding.message}", blocks, kind="alert", dedup_key=dedup_key)


def findings_list(findings: Iterable[Finding], *, actions: bool, mentions: dict[int, str] | None = None):
    blocks = []
    for finding in findings:
        blocks.append(finding_section(finding, mention=(mentions or {}).get(finding.pk, "")))
        if actions:
            blocks.append(finding_actions(finding))
    return blocks


def summary_message(findings: Sequence[Finding], *, shown: int, dedup_key: str) -> dict[str, Any]:
    """Alerts over the per-run limit, in one message: the first ``shown`` listed, the rest counted."""
    title = f"{len(findings)} more findings need maintenance"
    blocks = [header(title), *findings_list(findings[:shown], actions=False)]
    if len(findings) > shown:
        maintenance = link(portal_url(reverse("maintenance")), "see the maintenance view")
        blocks.append(context(f"and {len(findings) - shown} more: {maintenance}"))
    return message(title, blocks, kind="alert", dedup_key=dedup_key)


def context(text: str, block_id: str | None = None) -> Block:
    block = {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_MAX)}]}
    if block_id:
        block["block_id"] = block_id
    return block


def nag_message(
    findings: Sequence[Finding], *, after_days: int, dedup_key: str, mentions: dict[int, str]
) -> dict[str, Any]:
    """A reminder of findings open ``after_days`` days or more, oldest first, each with its buttons
    (two blocks each: 20 findings at most fit beside the header)."""
    title = (
        f"Reminder: {len(findings)} finding{'s' if len(findings) != 1 else ''} open for {after_days}+ days"
    )
    shown = list(findings[: (MAX_BLOCKS - 2) // 2])
    blocks = [header(title), *findings_list(shown, actions=True, mentions=mentions)]
    if len(findings) > len(shown):
        blocks.append(context(f"and {len(findings) - len(shown)} more in the portal"))
    return message(title, blocks, kind="nag", dedup_key=dedup_key)


def digest_message(
    *,
    audience: str,
    top: Sequence[Finding],
    open_total: int,
    by_severity: dict[int, int],
    by_rule: dict[str, int],
    fixed: Sequence[Finding],
    since: datetime,
    dedup_key: str,
) -> dict[str, Any]:
    """The periodic digest: counts, the top items, and what got fixed since ``since``."""
    title = f"Maintenance digest: {audience}"
    severities = ", ".join(
        f"{by_severity[s.value]} {s.label}"
        for s in sorted(Severity, reverse=True)
        if by_severity.get(s.value)
    )
    summary = f"*{open_total}* open finding{'s' if open_total != 1 else ''}" + (
        f" ({severities})" if severities else ""
    )
    blocks = [header(title), {"type": "section", "text": {"type": "mrkdwn", "text": summary}}]
    if by_rule:
        fields = [
            {"type": "mrkdwn", "text": f"`{escape(rule)}`: {count}"}
            for rule, count in sorted(by_rule.items(), key=lambda item: (-item[1], item[0]))[:10]
        ]
        blocks.append(
            {
                "type": "section",
                "block_id": "by-rule",
                "text": {"type": "mrkdwn", "text": "*By rule*"},
                "fields": fields,
            }
        )
    if top:
        blocks.append({"type": "divider"})
        blocks.append(context(f"*Top {len(top)}*"))
        blocks.extend(findings_list(top, actions=False))
    fixed_text = f"*Fixed since {since:%Y-%m-%d}:* {len(fixed)}"
    if fixed:
        names = ", ".join(f"{escape(subject_of(f)[0])} (`{escape(f.rule)}`)" for f in fixed[:10])
        fixed_text += f" — {names}" + (f" and {len(fixed) - 10} more" if len(fixed) > 10 else "")
    blocks.append({"type": "divider"})
    blocks.append(
        {
            "type": "section",
            "block_id": "fixed",
            "text": {"type": "mrkdwn", "text": clip(fixed_text, SECTION_MAX)},
        }
    )
    return message(
        f"{title}: {open_total} open, {len(fixed)} fixed", blocks, kind="digest", dedup_key=dedup_key
    )


def test_message(destination: str, *, dedup_key: str) -> dict[str, Any]:
    text = f"Test message from the ML portal to {destination}: notifications reach this channel."
    blocks = [
        header("ML portal: test message"),
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(text)}},
    ]
    return message(text, blocks, kind="test", dedup_key=dedup_key)


def replace_actions(blocks: list[Block], finding_id: int, note: str) -> list[Block]:
    """``blocks`` (a message as Slack sent it back) with finding ``finding_id``'s buttons replaced by
    ``note`` (mrkdwn), under a new block id as Slack asks of updated blocks."""
    updated = []
    for block in blocks:
        if block.get("block_id") in (f"finding:{finding_id}", f"finding:{finding_id}:done"):
            updated.append(context(note, block_id=f"finding:{finding_id}:done"))
        else:
            updated.append(block)
    return updated
