"""A stand-in for Slack on pytest-httpserver: the Web API's chat.postMessage, incoming webhooks and
interactions' response_url, answering as Slack documents them, with a log of every request.

- ``POST /api/chat.postMessage`` (JSON, ``Authorization: Bearer <token>``): ``{"ok": true, "channel",
  "ts", "message"}``; ``{"ok": false, "error": "invalid_auth"}`` for another token, ``channel_not_found``
  for a channel not in ``channels`` (ids, ``#names`` and user ids).
- ``POST /hooks/<path>``: 200 ``ok``, or what ``webhook_errors[path]`` says (e.g. 404 ``no_service``).
- ``POST /respond/<id>``: a ``response_url``; 200 ``{"ok": true}``.
- ``script[path]``: Responses served (and consumed) first, e.g. a 429 with ``Retry-After``.
Spec: https://docs.slack.dev/reference/methods/chat.postMessage,
https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass

from werkzeug import Request, Response

TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"


@dataclass
class Received:
    path: str
    body: dict
    headers: dict

    @property
    def dedup_key(self) -> str:
        return self.body.get("metadata", {}).get("event_payload", {}).get("dedup_key", "")


def json_response(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json", headers=headers or {})


class SlackStandIn:
    def __init__(self, server, *, token: str = TOKEN):
        self.server = server
        self.token = token
        self.channels = {"C0PLATFORM", "#ml-platform", "C0FALLBACK", "#ml-portal", "U0ADA", "C0WORKER"}
        self.webhook_errors: dict[str, tuple[int, str]] = {}
        self.script: dict[str, list[Response]] = defaultdict(list)
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        server.expect_request(re.compile(".*"), method="POST").respond_with_handler(self.handle)

    @property
    def api_url(self) -> str:
        return self.server.url_for("/api/")

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def posted(self, path: str = "/api/chat.postMessage") -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def counts_by_key(self) -> Counter:
        with self._lock:
            return Counter(r.dedup_key for r in self.received)

    def handle(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            body = {"raw": request.get_data(as_text=True)}
        with self._lock:
            self.received.append(Received(request.path, body, dict(request.headers)))
            scripted = self.script[request.path].pop(0) if self.script[request.path] else None
        if scripted is not None:
            return scripted
        if request.path.startswith("/api/"):
            return self.web_api(request, body)
        if request.path.startswith("/hooks/"):
            status, text = self.webhook_errors.get(request.path, (200, "ok"))
            return Response(text, status=status, content_type="text/html")
        if request.path.startswith("/respond/"):
            return json_response({"ok": True})
        return Response("not found", status=404)

    def web_api(self, request: Request, body: dict) -> Response:
        if request.path != "/api/chat.postMessage":
            return json_response({"ok": False, "error": "unknown_method"}, status=404)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return json_response({"ok": False, "error": "invalid_auth"})
        channel = body.get("channel")
        if channel not in self.channels:
            return json_response({"ok": False, "error": "channel_not_found"})
        ts = f"1503435956.{next(self._ts):06d}"
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": body.get("text", ""),
            "ts": ts,
            "bot_id": "B19LU7CSY",
            "blocks": body.get("blocks", []),
        }
        return json_response(
            {"ok": True, "channel": channel.lstrip("#").upper(), "ts": ts, "message": message}
        )
