"""Channels in the admin: a second channel for a team, or a second fallback, is refused by name."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from catalog.models import Channel


def add_form(**fields) -> dict:
    return {
        "team": "",
        "kind": "slack",
        "token_env": "SLACK_BOT_TOKEN",
        "slack_channel": "#ml-alerts",
        "webhook_url_env": "",
        "enabled": "on",
        "digest_enabled": "on",
        "digest_crontab": "",
        **fields,
    }


def test_a_second_fallback_channel_is_refused_naming_the_first(admin_client):
    assert admin_client.post("/admin/catalog/channel/add/", add_form()).status_code == 302
    response = admin_client.post("/admin/catalog/channel/add/", add_form(slack_channel="#other"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "there is already a fallback channel: #ml-alerts (organisation fallback)" in page
    assert "is violated" not in page
    assert Channel.objects.count() == 1


def test_a_second_channel_of_a_team_is_refused_naming_it(team, db):
    Channel.objects.create(team=team, token_env="T", slack_channel="C0PLATFORM")
    with pytest.raises(ValidationError) as raised:
        Channel(team=team, token_env="T", slack_channel="C0OTHER").full_clean()
    assert raised.value.message_dict == {
        "team": ["team ml-platform already has a channel: C0PLATFORM (ml-platform); edit that one instead"]
    }
    # Editing the one channel is not a clash with itself.
    Channel.objects.get().full_clean()
