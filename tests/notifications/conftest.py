"""Fixtures: the Slack stand-in wired into the settings, a team channel and the fallback channel."""

from __future__ import annotations

import copy

import pytest

from catalog.models import Channel
from portal.celery import app
from tests.notifications.slack_standin import TOKEN, SlackStandIn

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture(autouse=True)
def no_leftover_broker_pool():
    """Forget the broker pool an eager task made. Celery acquires a producer even for an eager task, so
    the first ``delay`` of a test session pins its pools to the default broker (none is set here); a later
    test with a real worker would then send its tasks there and never to Redis."""
    yield
    if not app.conf.broker_url:  # its connections were never opened: nothing to close
        app._pool = None
        app.amqp._producer_pool = None


def notify_settings(settings, **values) -> None:
    """Override keys of ``settings.PORTAL["NOTIFY"]`` for one test (pytest-django restores PORTAL)."""
    portal = copy.deepcopy(settings.PORTAL)
    portal["NOTIFY"].update(values)
    settings.PORTAL = portal


@pytest.fixture
def slack(httpserver, settings, monkeypatch) -> SlackStandIn:
    standin = SlackStandIn(httpserver)
    notify_settings(settings, SLACK_API_URL=standin.api_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("PLATFORM_SLACK_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    return standin


@pytest.fixture
def team_channel(team, slack) -> Channel:
    return Channel.objects.create(team=team, token_env="PLATFORM_SLACK_TOKEN", slack_channel="C0PLATFORM")


@pytest.fixture
def fallback(slack) -> Channel:
    return Channel.objects.create(team=None, token_env="PLATFORM_SLACK_TOKEN", slack_channel="#ml-portal")
