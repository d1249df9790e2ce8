"""A tracking server's model-registry REST API, served by pytest-httpserver from plain data.

It answers the three GET endpoints the connector calls in the shapes of a real MLflow 3.17 server (see
shared/corpus/mlflow/): empty lists and absent tokens are left out, timestamps are epoch milliseconds,
``model-versions/search`` carries no ``aliases``. Registered models page ``page_size`` at a time with
opaque tokens; ``empty_pages`` inserts a page with no models but a token before the last page.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request, Response

API = "/api/2.0/mlflow/"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in epoch milliseconds
DAY = 86_400_000


def registered_model(name: str, *, aliases: dict[str, str] | None = None, tags: dict | None = None, **extra):
    body: dict[str, Any] = {
        "name": name,
        "creation_timestamp": T0,
        "last_updated_timestamp": T0 + DAY,
        "description": f"{name} model",
        **extra,
    }
    if tags:
        body["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
    if aliases:
        body["aliases"] = [{"alias": a, "version": v} for a, v in aliases.items()]
    return body


def model_version(name: str, version: int, *, run_id: str = "", stage: str = "None", **extra):
    return {
        "name": name,
        "version": str(version),
        "creation_timestamp": T0 + version * DAY,
        "last_updated_timestamp": T0 + version * DAY,
        "current_stage": stage,
        "description": "",
        "source": f"runs:/{run_id}/model" if run_id else f"s3://models/{name}/{version}",
        "run_id": run_id,
        "status": "READY",
        "tags": [{"key": "framework", "value": "sklearn"}],
        "run_link": "",
        **extra,
    }


def run(run_id: str, *, repo: str = "", commit: str = "", metrics: dict[str, float] | None = None, start=T0):
    tags = [{"key": "mlflow.user", "value": "person-1"}]
    if repo:
        tags.append({"key": "mlflow.source.git.repoURL", "value": repo})
    if commit:
        tags.append({"key": "mlflow.source.git.commit", "value": commit})
    return {
        "run": {
            "info": {
                "run_id": run_id,
                "run_uuid": run_id,
                "experiment_id": "7",
                "run_name": "train",
                "user_id": "person-1",
                "status": "FINISHED",
                "start_time": start,
                "end_time": start + 60_000,
                "artifact_uri": f"mlflow-artifacts:/7/{run_id}/artifacts",
                "lifecycle_stage": "active",
            },
            "data": {
                "metrics": [
                    {"key": k, "value": v, "timestamp": start, "step": 0} for k, v in (metrics or {}).items()
                ],
                "tags": tags,
            },
            "inputs": {},
        }
    }


_NAME_FILTER = re.compile(r"""^name = (?:'(?P<single>[^']*)'|"(?P<double>[^"]*)")$""")


@dataclass
class FakeMLflow:
    """Registry data and the handler that serves it; ``requests`` logs (path, query args) of each call."""

    models: list[dict] = field(default_factory=list)
    versions: dict[str, list[dict]] = field(default_factory=dict)
    runs: dict[str, dict] = field(default_factory=dict)
    page_size: int = 1000
    empty_pages: int = 0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def install(self, httpserver) -> FakeMLflow:
        httpserver.expect_request(re.compile(f"^{API}.*"), method="GET").respond_with_handler(self.handle)
        return self

    def handle(self, request: Request) -> Response:
        args = dict(request.args)
        path = request.path.removeprefix(API)
        self.requests.append((path, args))
        if path == "registered-models/search":
            return self.json(self.page(args))
        if path == "model-versions/search":
            match = _NAME_FILTER.match(args.get("filter", ""))
            if not match:
                return self.json({"error_code": "INVALID_PARAMETER_VALUE", "message": "bad filter"}, 400)
            name = match["single"] if match["single"] is not None else match["double"]
            found = self.versions.get(name, [])
            return self.json({"model_versions": found} if found else {})
        if path == "runs/get":
            body = self.runs.get(args.get("run_id", ""))
            if body is None:
                message = f"Run '{args.get('run_id')}' not found"
                return self.json({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": message}, 404)
            return self.json(body)
        return self.json({"error_code": "ENDPOINT_NOT_FOUND", "message": "No such endpoint"}, 404)

    def page(self, args: dict[str, str]) -> dict:
        token = args.get("page_token", "")
        start = int(token.split("-")[1]) if token.startswith("offset-") else 0
        if token.startswith("empty-"):
            start = int(token.split("-")[1])
            return {"next_page_token": f"offset-{start}"}
        chunk = self.models[start : start + self.page_size]
        body: dict[str, Any] = {"registered_models": chunk} if chunk else {}
        following = start + self.page_size
        if following < len(self.models):
            last_page = following + self.page_size >= len(self.models)
            body["next_page_token"] = (
                f"empty-{following}" if self.empty_pages and last_page else f"offset-{following}"
            )
        return body

    @staticmethod
    def json(body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")
