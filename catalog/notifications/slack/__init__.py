"""Slack: the transport (Web API and incoming webhooks), Block Kit messages and interactions."""
