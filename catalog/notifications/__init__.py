"""Notifications: an outbox of messages about findings, delivered to Slack by Celery workers.

``outbox`` writes alerts in the transaction that opens a finding; ``nags`` and ``digests`` write reminders
and weekly summaries; ``delivery`` claims and sends due rows; ``registry`` names the channel kinds, each a
folder (``slack/``) with its transport, message blocks and interactions.
"""
