"""Sending to Slack: ``chat.postMessage`` with a bot token, incoming webhooks, and ``response_url``.

Errors are returned as values (``SendResult``), never raised, and sorted by what a retry can do:

- ``RETRY``: transient (rate limited, Slack's 5xx, ``internal_error``, network errors, unknown codes);
- ``FAILED``: Slack refused this message (``invalid_blocks``, ``msg_too_long``, a webhook's 400);
- ``BROKEN``: the channel itself cannot work (``invalid_auth``, ``channel_not_found``, a webhook's
  403/404/410, the secret's variable unset): it is marked broken until repaired.

slack_sdk's retry handlers retry connection errors, 500/503 and 429 within one call; a 429 whose
``Retry-After`` exceeds ``PORTAL["NOTIFY"]["MAX_INLINE_RETRY_AFTER"]`` is not slept on but returned as
``RETRY`` with ``retry_after``, so a worker is not held for minutes. Specs:
https://docs.slack.dev/reference/methods/chat.postMessage, https://docs.slack.dev/apis/web-api/rate-limits,
https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks (errors: invalid_payload 400,
action_prohibited/invalid_token 403, channel_not_found/no_service/no_team 404, channel_is_archived 410).
"""

from __future__ import annotations

import enum
import logging
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.error import URLError

from django.conf import settings
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10

# chat.postMessage error codes (https://docs.slack.dev/reference/methods/chat.postMessage#errors).
CHANNEL_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "ekm_access_denied",
        "access_denied",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "team_access_not_granted",
    }
)
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
        "org_login_required",
    }
)
MESSAGE_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "too_many_attachments",
        "invalid_arguments",
        "invalid_arg_name",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "markdown_text_conflict",
        "as_user_not_supported",
        "invalid_charset",
        "invalid_form_data",
        "invalid_post_type",
        "missing_post_type",
    }
)
WEBHOOK_CHANNEL_STATUSES = frozenset({403, 404, 410})


class Outcome(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    BROKEN = "broken"


@dataclass(frozen=True)
class SendResult:
    """What one send did: ``outcome``; ``error`` (Slack's code or a description); ``retry_after`` in
    seconds when Slack named one; ``response`` what Slack answered (``channel``, ``ts``) on success."""

    outcome: Outcome
    error: str = ""
    retry_after: float | None = None
    response: dict[str, Any] = field(default_factory=dict)


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (sleeps ``Retry-After``), only for waits up to ``max_wait`` seconds."""

    def __init__(self, max_retry_count: int, max_wait: float):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        wait = _retry_after(response.headers)
        return wait is None or wait <= self.max_wait


def _retry_after(headers) -> float | None:
    """``Retry-After`` in seconds from a header mapping (values may be lists, as slack_sdk gives them)."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None


def retry_handlers() -> list[RetryHandler]:
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
        BoundedRateLimitRetryHandler(
            max_retry_count=3, max_wait=settings.PORTAL["NOTIFY"]["MAX_INLINE_RETRY_AFTER"]
        ),
    ]


def web_client(token: str) -> WebClient:
    return WebClient(
        token=token,
        base_url=settings.PORTAL["NOTIFY"]["SLACK_API_URL"],
        timeout=TIMEOUT_SECONDS,
        retry_handlers=retry_handlers(),
    )


def read_secret(env_name: str) -> str | None:
    """The value of the environment variable ``env_name``, or None when unset or empty."""
    if not env_name:
        return None
    return os.environ.get(env_name) or None


def post_message(token_env: str, channel: str, message: dict[str, Any]) -> SendResult:
    """Post ``message`` (``text``, ``blocks``, optional ``metadata``) to ``channel`` (an id, a #name, or a
    user id for a direct message) with the bot token in the variable ``token_env``, via chat.postMessage."""
    token = read_secret(token_env)
    if token is None:
        return SendResult(Outcome.BROKEN, f"the environment variable {token_env or '(none)'} is not set")
    if not channel:
        return SendResult(Outcome.BROKEN, "no Slack channel is named")
    try:
        answer = web_client(token).chat_postMessage(
            channel=channel,
            text=message.get("text", ""),
            blocks=message.get("blocks"),
            metadata=message.get("metadata"),
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        return _api_error(exc)
    except (TimeoutError, URLError, OSError, SlackRequestError) as exc:
        return SendResult(Outcome.RETRY, f"could not reach Slack: {exc}")
    return SendResult(Outcome.SENT, response={"channel": answer.get("channel"), "ts": answer.get("ts")})


def _api_error(exc: SlackApiError) -> SendResult:
    response = exc.response
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or f"HTTP {response.status_code}")
    if response.status_code == 429 or code in ("ratelimited", "rate_limited"):
        return SendResult(Outcome.RETRY, code, retry_after=_retry_after(response.headers))
    if response.status_code >= 500 or code in TRANSIENT_ERRORS:
        return SendResult(Outcome.RETRY, code)
    if code in CHANNEL_ERRORS:
        return SendResult(Outcome.BROKEN, code)
    if code in MESSAGE_ERRORS:
        return SendResult(Outcome.FAILED, code)
    logger.warning("Slack answered an unknown error %r: retried", code)
    return SendResult(Outcome.RETRY, code)


def post_webhook(url_env: str, message: dict[str, Any]) -> SendResult:
    """Post ``message`` to the incoming-webhook URL held by the variable ``url_env`` (200 ``ok`` is sent)."""
    url = read_secret(url_env)
    if url is None:
        return SendResult(Outcome.BROKEN, f"the environment variable {url_env or '(none)'} is not set")
    return post_json(url, message, channel_statuses=WEBHOOK_CHANNEL_STATUSES)


def post_json(url: str, body: dict[str, Any], *, channel_statuses=WEBHOOK_CHANNEL_STATUSES) -> SendResult:
    """POST ``body`` as JSON to a webhook-style URL (an incoming webhook or an interaction's
    ``response_url``). Statuses in ``channel_statuses`` are BROKEN; other 4xx FAILED; 429 and 5xx RETRY."""
    client = WebhookClient(url, timeout=TIMEOUT_SECONDS, retry_handlers=retry_handlers())
    try:
        answer = client.send_dict(body)
    except (TimeoutError, URLError, OSError, SlackRequestError) as exc:
        return SendResult(Outcome.RETRY, f"could not reach Slack: {exc}")
    error = f"HTTP {answer.status_code}: {(answer.body or '').strip()[:200]}"
    if answer.status_code == 200:
        return SendResult(Outcome.SENT, response={"body": (answer.body or "")[:200]})
    if answer.status_code == 429:
        return SendResult(Outcome.RETRY, error, retry_after=_retry_after(answer.headers))
    if answer.status_code >= 500:
        return SendResult(Outcome.RETRY, error)
    if answer.status_code in channel_statuses:
        return SendResult(Outcome.BROKEN, error)
    return SendResult(Outcome.FAILED, error)
