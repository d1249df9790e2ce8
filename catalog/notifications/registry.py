"""The channel kinds, by name: how each sends a message. Adding a kind touches only this registry.

A ``Target`` is the plain record a transport needs (no ORM): the kind, the NAME of the environment
variable holding the secret, and the address (a Slack channel or user id; empty for webhooks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from catalog.models import Channel, Notification
from catalog.notifications.slack import transport
from catalog.notifications.slack.transport import SendResult


@dataclass(frozen=True)
class Target:
    kind: str
    secret_env: str
    address: str = ""


Sender = Callable[[Target, dict[str, Any]], SendResult]

SENDERS: dict[str, Sender] = {
    Channel.Kind.SLACK: lambda target, message: transport.post_message(
        target.secret_env, target.address, message
    ),
    Channel.Kind.SLACK_WEBHOOK: lambda target, message: transport.post_webhook(target.secret_env, message),
}


def channel_target(channel: Channel) -> Target:
    return Target(channel.kind, channel.secret_env, channel.address)


def target_of(notification: Notification) -> Target:
    """Where ``notification`` goes: its channel, or a direct message through the workspace's bot token."""
    if notification.channel_id is not None:
        return channel_target(notification.channel)
    return Target(
        Channel.Kind.SLACK,
        settings.PORTAL["NOTIFY"]["SLACK_BOT_TOKEN_ENV"],
        notification.person.slack_user_id,
    )


def send(target: Target, message: dict[str, Any]) -> SendResult:
    """Send ``message`` to ``target`` with its kind's transport. Raises KeyError for an unknown kind."""
    return SENDERS[target.kind](target, message)
