"""The ``mlflow`` connector: registered models, their versions and training runs, through MLflow's REST API.

Config (a plain dict, from the source's JSON)::

    {"tracking_uri": "https://mlflow.example.com",   # required: the tracking server's http(s) address
     "auth": {"type": "basic", "username_env": "MLFLOW_USER", "password_env": "MLFLOW_PASSWORD"},
          #  or {"type": "bearer", "token_env": "MLFLOW_TOKEN"}; optional. Names of environment variables.
     "metrics": ["rmse", "accuracy"],   # run metrics kept per version (default: all, at most MAX_METRICS)
     "timeout": 30,                     # seconds per request
     "retries": 3,                      # extra attempts on connection errors, 429 and 5xx answers
     "workers": 8}                      # requests in flight at once (model versions and runs)

Calls (REST API 2.0, https://mlflow.org/docs/latest/api_reference/rest-api.html), all GET:

- ``registered-models/search?max_results=1000[&page_token=...]``: every registered model with its tags and
  alias map (``aliases: [{"alias", "version"}]``, MLflow >= 2.3);
- ``model-versions/search?filter=name='<model>'&max_results=10000[&page_token=...]``, once per model:
  its versions (this answer has no ``aliases``: they come from the registered model);
- ``runs/get?run_id=...``, once per distinct run: the tags ``mlflow.source.git.repoURL`` /
  ``mlflow.source.git.commit``, start time and latest metrics.

A page that carries a ``next_page_token`` is never the last, even when it lists nothing; MLflow leaves
empty lists and absent tokens out of its answers. Timestamps are epoch milliseconds (read as aware UTC).
Tags come as a list of ``{"key", "value"}`` (REST) or as a mapping (MLflow's export format): both are read.

Failures: when the model listing cannot be read (server down after retries, 401, a page that is not JSON)
or the server stops answering midway, the snapshot holds no models and ``complete=False``, so the catalog
keeps its last good data. A malformed registered model is left out with an error naming the request and
the field, and the snapshot is marked incomplete (nothing is taken as gone). A model whose versions cannot
be read (a failed request, a malformed version) is a record with ``error``; a run that cannot be read
leaves its version with ``run_error`` (a run deleted for good, 404, is no error). Errors never hold
credentials: they travel in headers, and a tracking URI with user info is refused.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

import httpx
import stamina
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from catalog.connectors.http import retry_after_seconds
from catalog.connectors.records import (
    ModelVersionRecord,
    RegisteredModelRecord,
    RunRecord,
    SourceSnapshot,
)
from catalog.env_names import env_name_problem

__all__ = ["MLflowClient", "MLflowConfig", "MLflowConnector", "MLflowError", "parse_config"]

API = "/api/2.0/mlflow/"
MODELS_PAGE_SIZE = 1000  # registered-models/search refuses more
VERSIONS_PAGE_SIZE = 10000  # MLflow's default for model-versions/search, and Databricks' maximum
MAX_METRICS = 20  # metrics kept per version when the config names none
BACKOFF = 0.5  # seconds before the first retry; doubles each time, at most MAX_BACKOFF
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 30.0  # seconds: a worker does not wait longer for one request
STOP_AFTER = 5  # item requests failing in a row (429, 5xx) after which the server is taken as down
GIT_REPO_TAG = "mlflow.source.git.repoURL"
GIT_COMMIT_TAG = "mlflow.source.git.commit"
PROMPT_TAG = "mlflow.prompt.is_prompt"


class MLflowError(Exception):
    """A request to the tracking server failed. ``status`` is the HTTP status, None when none came back."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# Config


class _Auth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["basic", "bearer"]
    username_env: str = ""
    password_env: str = ""
    token_env: str = ""


class MLflowConfig(BaseModel):
    """A validated ``mlflow`` source config (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tracking_uri: str
    auth: _Auth | None = None
    metrics: list[str] | None = None
    timeout: float = Field(default=30, gt=0, le=600)
    retries: int = Field(default=3, ge=0, le=10)
    workers: int = Field(default=8, ge=1, le=32)

    @field_validator("tracking_uri")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = httpx.URL(value.strip())
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http:// or https:// address")
        if url.userinfo:
            raise ValueError("must not hold credentials: name environment variables in 'auth' instead")
        return str(url).rstrip("/")


def parse_config(config: dict[str, Any]) -> MLflowConfig:
    """Validate an ``mlflow`` source config; raise ValueError naming the bad key."""
    if not isinstance(config, dict):
        raise ValueError(f"mlflow source config must be a JSON object, not {type(config).__name__}")
    try:
        return MLflowConfig.model_validate(config)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        raise ValueError(f"mlflow source config: {where!r}: {first['msg']}") from None


def _auth(auth: _Auth | None) -> httpx.Auth | None:
    """The httpx auth for ``auth``, read from the environment; ValueError names a variable that is unset."""
    if auth is None:
        return None

    def secret(field: str) -> str:
        name = getattr(auth, field)
        if not name:
            raise ValueError(f"mlflow source config: 'auth.{field}' is required for {auth.type} auth")
        problem = env_name_problem(name)
        if problem:  # a row saved before validation may hold the secret: never echo it
            raise ValueError(f"mlflow source config: 'auth.{field}' {problem}")
        value = os.environ.get(name)
        if not value:
            raise ValueError(f"mlflow source config: environment variable {name} (auth.{field}) is not set")
        return value

    if auth.type == "basic":
        return httpx.BasicAuth(secret("username_env"), secret("password_env"))
    return _BearerAuth(secret("token_env"))


class _BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request):
        request.headers["Authorization"] = self._header
        yield request


# HTTP


class _Retryable(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response


def _retry_backoff(exc: Exception) -> bool | float:
    """stamina's hook: retry failures without an answer, 429 and 5xx; a short ``Retry-After`` is waited
    for as the server asks, a longer one (over ``MAX_RETRY_AFTER``) ends the retries at once."""
    if isinstance(exc, httpx.TransportError):
        return True
    if not isinstance(exc, _Retryable):
        return False
    wait = retry_after_seconds(exc.response)
    if wait is None:
        return True
    return wait if wait <= MAX_RETRY_AFTER else False


class MLflowClient:
    """GET requests to a tracking server's REST API: timeouts, retries with backoff, errors that name the
    URL and the status. Safe to share between threads.
    """

    def __init__(
        self, base_url: str, *, auth: httpx.Auth | None = None, timeout: float = 30, retries: int = 3
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + API,
            auth=auth,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": "ml-portal"},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )
        self.retries = retries

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """The JSON object MLflow answers to ``GET <api>/<path>?<params>``.

        Retries connection errors, timeouts, 429 and 5xx answers ``retries`` times with exponential
        backoff, or after the answer's ``Retry-After`` when it names up to 30 seconds. Raises MLflowError
        naming the URL and the status (with MLflow's ``error_code`` and ``message``) for an error answer,
        and naming the URL for an answer that is not a JSON object.
        """
        url = self.http.build_request("GET", path, params=params).url
        try:
            for attempt in stamina.retry_context(
                on=_retry_backoff,
                attempts=self.retries + 1,
                timeout=None,
                wait_initial=BACKOFF,
                wait_max=MAX_BACKOFF,
                wait_jitter=BACKOFF,
            ):
                with attempt:
                    response = self.http.get(path, params=params)
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _Retryable(response)
        except _Retryable as exc:
            response = exc.response
        except httpx.TransportError as exc:
            tries = self.retries + 1
            raise MLflowError(
                f"GET {url}: {exc.__class__.__name__}: {exc or 'no answer'} ({tries} attempts)"
            ) from None
        if response.has_redirect_location:  # never followed: a redirect could point the reads elsewhere
            raise MLflowError(
                f"GET {url}: HTTP {response.status_code} redirect to {response.headers['location'][:200]}: "
                "not followed (set tracking_uri to the server's own address)",
                status=response.status_code,
            )
        if response.status_code >= 400:
            raise MLflowError(
                f"GET {url}: HTTP {response.status_code}{_explain(response)}", status=response.status_code
            )
        try:
            body = response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type")
            raise MLflowError(
                f"GET {url}: the answer is not JSON ({kind})", status=response.status_code
            ) from None
        if not isinstance(body, dict):
            raise MLflowError(
                f"GET {url}: the answer is a JSON {type(body).__name__}, not an object",
                status=response.status_code,
            )
        return body

    def pages(self, path: str, params: dict[str, Any], key: str) -> Iterator[list[Any]]:
        """The ``key`` list of each page of a paginated search, following ``next_page_token``.

        Raises MLflowError as ``get`` does, when ``key`` is not a list, or when the server hands out a
        token it gave before (its pagination would loop).
        """
        seen: set[str] = set()
        token = ""
        where = f"GET {self.http.base_url}{path}"
        while True:
            body = self.get(path, {**params, "page_token": token} if token else params)
            items = body.get(key, [])
            if not isinstance(items, list):
                raise MLflowError(f"{where}: {key!r} is a {type(items).__name__}, not a list", status=200)
            yield items
            token = body.get("next_page_token") or ""
            if not isinstance(token, str):
                raise MLflowError(f"{where}: 'next_page_token' is not a string: {token!r}", status=200)
            if not token:
                return
            if token in seen:
                raise MLflowError(f"{where}: the server repeated the page token {token!r}", status=200)
            seen.add(token)


def _explain(response: httpx.Response) -> str:
    """``: ERROR_CODE: message`` from MLflow's error answer, or the start of a body that is not one."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return f": {text[:200]}" if text else ""
    if isinstance(body, dict) and ("error_code" in body or "message" in body):
        return f": {body.get('error_code', '')}: {body.get('message', '')}".rstrip(": ")
    return ""


# Answers (lenient where MLflow versions differ, strict where a wrong type would store nonsense)


def _text(value: Any) -> Any:
    """Numbers as strings (version "3" or 3), null as ''."""
    if value is None:
        return ""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _millis(value: Any) -> Any:
    """Epoch milliseconds (a number, or a string as proto3 JSON writes int64) -> aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("must be epoch milliseconds, not a boolean")
    try:
        seconds, millis = divmod(int(value), 1000)  # exact: no float rounding of the milliseconds
        return datetime.fromtimestamp(seconds, UTC) + timedelta(milliseconds=millis)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ValueError(f"must be epoch milliseconds, not {value!r}") from None


def _tags(value: Any) -> Any:
    """``[{"key", "value"}]`` (REST) or ``{key: value}`` (exports) -> ``{key: value}``."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): _text(v) for k, v in value.items()}
    if isinstance(value, list):
        tags = {}
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                raise ValueError(f"each tag must be an object with a string 'key', not {item!r}")
            tags[item["key"]] = _text(item.get("value"))
        return tags
    raise ValueError(f"must be a list of {{key, value}} or an object, not {type(value).__name__}")


Text = Annotated[str, BeforeValidator(_text)]
Millis = Annotated[datetime | None, BeforeValidator(_millis)]
Tags = Annotated[dict[str, str], BeforeValidator(_tags)]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Alias(_Answer):
    alias: str
    version: Text


class _RegisteredModel(_Answer):
    name: str = Field(min_length=1)
    description: Text = ""
    creation_timestamp: Millis = None
    last_updated_timestamp: Millis = None
    tags: Tags = {}
    aliases: list[_Alias] = []


class _ModelVersion(_Answer):
    name: str
    version: Text = Field(min_length=1)
    creation_timestamp: Millis = None
    last_updated_timestamp: Millis = None
    current_stage: Text = ""
    description: Text = ""
    source: Text = ""
    run_id: Text = ""
    status: Text = ""
    status_message: Text = ""
    user_id: Text = ""
    tags: Tags = {}


class _Metric(_Answer):
    key: str
    value: float | None = None


class _RunInfo(_Answer):
    run_id: Text = ""
    run_uuid: Text = ""
    experiment_id: Text = ""
    status: Text = ""
    start_time: Millis = None
    end_time: Millis = None


class _RunData(_Answer):
    metrics: list[_Metric] = []
    tags: Tags = {}


class _Run(_Answer):
    info: _RunInfo
    data: _RunData = _RunData()


def _problem(exc: ValidationError, what: str) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{what}: field {where!r}: {first['msg']}{more}"


# The connector


class MLflowConnector:
    """Reads the registered models of an ``mlflow`` source (see the module docstring)."""

    kind = "mlflow"

    def fetch(self, config: dict[str, Any], *, workdir: Path) -> SourceSnapshot:
        """Read every registered model, its versions and their runs; models sorted by name.

        ``workdir`` is not used (nothing is cached between runs). Raises ValueError for a bad config or an
        unset auth variable; every failure of the server is reported in the snapshot (module docstring).
        """
        settings = parse_config(config)
        client = MLflowClient(
            settings.tracking_uri,
            auth=_auth(settings.auth),
            timeout=settings.timeout,
            retries=settings.retries,
        )
        try:
            return _Reader(client, settings).read()
        except MLflowError as exc:
            return SourceSnapshot(errors=(str(exc),), complete=False)
        finally:
            client.close()


class _Reader:
    """One fetch: lists models, then their versions and runs through a pool of ``workers`` threads.

    A request that gets no answer means the server is down: the fetch stops (MLflowError with no status).
    So does a run of ``STOP_AFTER`` item requests in a row failing with 429 or 5xx after their retries;
    fewer fail only their item (one broken run must not keep every other model out of the catalog).
    """

    def __init__(self, client: MLflowClient, settings: MLflowConfig) -> None:
        self.client, self.settings = client, settings
        self.base = settings.tracking_uri
        self.errors: list[str] = []
        self.stop = threading.Event()  # set when the server stops answering: the other requests give up
        self.lock = threading.Lock()
        self.failures_in_row = 0

    def read(self) -> SourceSnapshot:
        models = self.list_models()
        with ThreadPoolExecutor(max_workers=self.settings.workers) as pool:
            versions = list(pool.map(self.guard(self.list_versions), models))
            run_ids = sorted({v.run_id for found, _ in versions for v in found if v.run_id})
            runs = dict(zip(run_ids, pool.map(self.guard(self.read_run), run_ids), strict=True))
        records = [
            self.model_record(model, found, error, runs)
            for model, (found, error) in zip(models, versions, strict=True)
        ]
        return SourceSnapshot(
            registered_models=tuple(sorted(records, key=lambda r: r.name)),
            errors=tuple(self.errors),
            complete=not self.errors,
        )

    def guard(self, job: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Run ``job`` unless the server already stopped answering; a lost server stops every job."""

        def guarded(item: Any) -> Any:
            if self.stop.is_set():
                raise MLflowError("skipped: the tracking server stopped answering")
            try:
                return job(item)
            except MLflowError as exc:
                if exc.status is None:
                    self.stop.set()
                raise

        return guarded

    def item_failed(self, exc: MLflowError) -> str:
        """The message of one item's failed request; raises when the server is to be taken as down."""
        if exc.status is None:
            raise exc
        with self.lock:
            transient = exc.status >= 500 or exc.status == 429
            self.failures_in_row = self.failures_in_row + 1 if transient else 0
            if self.failures_in_row >= STOP_AFTER:
                raise MLflowError(f"{exc}; {STOP_AFTER} requests in a row failed so: stopped") from None
        return str(exc)

    def item_read(self) -> None:
        with self.lock:
            self.failures_in_row = 0

    def list_models(self) -> list[_RegisteredModel]:
        models: dict[str, _RegisteredModel] = {}
        path = "registered-models/search"
        for page in self.client.pages(path, {"max_results": MODELS_PAGE_SIZE}, "registered_models"):
            for index, item in enumerate(page):
                try:
                    model = _RegisteredModel.model_validate(item)
                except ValidationError as exc:
                    url = self.client.http.base_url.join(path)
                    self.errors.append(_problem(exc, f"GET {url}: registered_models[{index}]"))
                    continue
                if model.tags.get(PROMPT_TAG, "").lower() == "true":
                    continue  # a prompt of MLflow's prompt registry (2.21+), not a model
                models[model.name] = model  # a model seen twice (the listing moved) counts once
        return list(models.values())

    def list_versions(self, model: _RegisteredModel) -> tuple[list[_ModelVersion], str | None]:
        """The versions of ``model``, or ``([], error)`` when they cannot all be read (a failed request, a
        malformed version); raises MLflowError when the server is lost.
        """
        path = "model-versions/search"
        params = {"filter": _name_filter(model.name), "max_results": VERSIONS_PAGE_SIZE}
        found: dict[str, _ModelVersion] = {}
        try:
            for page in self.client.pages(path, params, "model_versions"):
                for index, item in enumerate(page):
                    if isinstance(item, dict) and item.get("name") != model.name:
                        continue  # a LIKE filter (names with both quote characters) matches more
                    try:
                        version = _ModelVersion.model_validate(item)
                    except ValidationError as exc:
                        url = self.client.http.base_url.join(path)
                        where = f"GET {url} for model {model.name!r}: model_versions[{index}]"
                        return [], _problem(exc, where)
                    found[version.version] = version
        except MLflowError as exc:
            return [], self.item_failed(exc)
        self.item_read()
        return list(found.values()), None

    def read_run(self, run_id: str) -> RunRecord | str | None:
        """The run, an error message, or None for a run that no longer exists (deleted for good)."""
        try:
            body = self.client.get("runs/get", {"run_id": run_id})
        except MLflowError as exc:
            return None if exc.status == 404 else self.item_failed(exc)
        self.item_read()
        try:
            run = _Run.model_validate(body.get("run"))
        except ValidationError as exc:
            return _problem(exc, f"GET {self.client.http.base_url}runs/get?run_id={run_id}: run")
        return RunRecord(
            run_id=run_id,
            status=run.info.status,
            started_at=run.info.start_time,
            ended_at=run.info.end_time,
            git_repo_url=run.data.tags.get(GIT_REPO_TAG, "").strip(),
            git_commit=run.data.tags.get(GIT_COMMIT_TAG, "").strip(),
            metrics=self.metrics(run.data.metrics),
            url=(
                f"{self.base}/#/experiments/{quote(run.info.experiment_id, safe='')}/runs/{quote(run_id)}"
                if run.info.experiment_id
                else ""
            ),
        )

    def metrics(self, metrics: list[_Metric]) -> dict[str, float | None]:
        wanted = self.settings.metrics
        values = {
            m.key: (m.value if m.value is not None and math.isfinite(m.value) else None) for m in metrics
        }
        if wanted is not None:
            return {key: values[key] for key in wanted if key in values}
        return {key: values[key] for key in sorted(values)[:MAX_METRICS]}

    def model_record(
        self,
        model: _RegisteredModel,
        versions: list[_ModelVersion],
        error: str | None,
        runs: dict[str, RunRecord | str | None],
    ) -> RegisteredModelRecord:
        aliases = {a.alias: a.version for a in model.aliases}
        by_version: dict[str, list[str]] = {}
        for alias, version in sorted(aliases.items()):
            by_version.setdefault(version, []).append(alias)
        url = f"{self.base}/#/models/{quote(model.name, safe='')}"
        records = []
        for v in versions:
            run = runs.get(v.run_id) if v.run_id else None
            records.append(
                ModelVersionRecord(
                    version=v.version,
                    registered_at=v.creation_timestamp,
                    last_updated_at=v.last_updated_timestamp,
                    aliases=tuple(by_version.get(v.version, ())),
                    stage="" if v.current_stage in ("", "None") else v.current_stage,
                    status=v.status,
                    status_message=v.status_message,
                    description=v.description,
                    source=v.source,
                    run_id=v.run_id,
                    user_id=v.user_id,
                    tags=v.tags,
                    url=f"{url}/versions/{quote(v.version, safe='')}",
                    run=run if isinstance(run, RunRecord) else None,
                    run_error=run if isinstance(run, str) else None,
                )
            )
        return RegisteredModelRecord(
            name=model.name,
            description=model.description,
            tags=model.tags,
            aliases=aliases,
            registered_at=model.creation_timestamp,
            last_updated_at=model.last_updated_timestamp,
            url=url,
            versions=tuple(sorted(records, key=_version_order)),
            error=error,
        )


def _name_filter(name: str) -> str:
    """An MLflow search filter matching the model ``name`` (exactly, or with LIKE when no quoting can).

    MLflow's filter strings take '...' or "..." literals and have no escape: a name holding both quote
    characters is matched with LIKE, its quotes as ``_`` wildcards (the caller drops other names).
    """
    if "'" not in name:
        return f"name = '{name}'"
    if '"' not in name:
        return f'name = "{name}"'
    return "name LIKE '" + name.replace("'", "_") + "'"


def _version_order(record: ModelVersionRecord) -> tuple[int, int, str]:
    return (0, int(record.version), "") if record.version.isdigit() else (1, 0, record.version)


connector = MLflowConnector()
