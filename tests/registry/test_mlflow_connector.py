"""The mlflow connector against a local HTTP server: answers in MLflow's shapes, pagination, auth, outages
and malformed answers (no database).
"""

from __future__ import annotations

import base64
import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from werkzeug import Response

from catalog.connectors import get_connector, mlflow
from catalog.connectors.mlflow import parse_config
from tests.registry.fake_mlflow import API, T0, FakeMLflow, model_version, registered_model, run

_SHARED = next(
    (p for p in (Path(__file__).resolve().parents[3] / "shared", Path("/work/shared")) if p.is_dir()), None
)
RUN = "3ed2155e741b4c7083bf391be6f53224"


def corpus(name: str) -> dict:
    path = _SHARED / "corpus" / "mlflow" / name if _SHARED else None
    if path is None or not path.exists():
        pytest.skip(f"shared/corpus/mlflow/{name} is not here")
    return json.loads(path.read_text())


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(mlflow, "BACKOFF", 0)


def fetch(httpserver, **config):
    config = {"tracking_uri": httpserver.url_for("/"), **config}
    return get_connector("mlflow").fetch(config, workdir=Path("/nonexistent"))


def test_reads_the_answers_of_a_real_mlflow_3_server(httpserver):
    models = corpus("mlflow-server-3.17__registered-models-search.json")
    versions = corpus("mlflow-server-3.17__model-versions-search.json")
    fake = FakeMLflow(
        models=models["registered_models"],
        versions={"churn-classifier": versions["model_versions"]},
        runs={RUN: run(RUN, repo="git@github.com:acme/churn.git", commit="c" * 40, metrics={"auc": 0.91})},
    ).install(httpserver)

    snapshot = fetch(httpserver)

    assert snapshot.complete and snapshot.errors == ()
    assert [m.name for m in snapshot.registered_models] == [
        "churn-classifier",
        "fraud-detector",
        "source-probe",
    ]
    churn = snapshot.registered_models[0]
    assert churn.aliases == {"champion": "2"}
    assert churn.tags == {"team": "ml-platform", "owner": "alice"}
    assert churn.registered_at == datetime(2026, 11, 29, 14, 35, 59, 272000, tzinfo=UTC)  # 1795962959272 ms
    assert churn.url == f"{httpserver.url_for('/').rstrip('/')}/#/models/churn-classifier"
    v2, v1 = sorted(churn.versions, key=lambda v: v.version, reverse=True)
    assert (v2.version, v2.aliases, v2.stage, v2.status, v2.run_id) == ("2", ("champion",), "", "READY", RUN)
    assert v2.tags == {"framework": "xgboost", "validated": "true"}
    assert v2.run.git_repo_url == "git@github.com:acme/churn.git" and v2.run.git_commit == "c" * 40
    assert v2.run.metrics == {"auc": 0.91} and v2.run.started_at == datetime.fromtimestamp(T0 / 1000, UTC)
    assert v2.run.url.endswith(f"/#/experiments/7/runs/{RUN}")
    assert (v1.version, v1.aliases, v1.run_id, v1.run, v1.run_error) == ("1", (), "", None, None)
    assert v1.source == "s3://fake-bucket/models/churn/1" and v1.description == "v1 dummy s3 source, no run"
    # a model without tags, aliases or description (MLflow leaves them out) has empty ones
    probe = snapshot.registered_models[2]
    assert (probe.tags, probe.aliases, probe.description, probe.versions) == ({}, {}, "", ())
    # one versions search per model, filtered by name; one runs/get per run
    calls = [(path, args.get("filter")) for path, args in fake.requests]
    assert ("model-versions/search", "name = 'churn-classifier'") in calls
    assert [path for path, _ in fake.requests].count("runs/get") == 1


def test_reads_the_export_format_with_tags_as_a_mapping(httpserver):
    export = corpus("mlflow__mlflow-export-import__samples__oss_mlflow__single__models__basic__model.json")
    model = export["mlflow"]["registered_model"]
    FakeMLflow(models=[model], versions={model["name"]: model["latest_versions"]}).install(httpserver)

    snapshot = fetch(httpserver)

    (record,) = snapshot.registered_models
    assert record.tags == {"info": "Skearn Wine Quality model"}  # a list of {key, value}
    (version,) = record.versions
    assert version.tags == {"registered_version_info": "v1 Production"}  # a mapping
    assert (version.stage, version.status, version.run_id) == (
        "Production",
        "READY",
        model["latest_versions"][0]["run_id"],
    )
    # the run of the export is not on this server: a deleted run is no error
    assert version.run is None and version.run_error is None and snapshot.complete


def test_follows_page_tokens_through_an_empty_page(httpserver):
    names = [f"model-{i:02d}" for i in range(7)]
    fake = FakeMLflow(models=[registered_model(n) for n in names], page_size=3, empty_pages=1).install(
        httpserver
    )

    snapshot = fetch(httpserver)

    assert [m.name for m in snapshot.registered_models] == names and snapshot.complete
    pages = [args for path, args in fake.requests if path == "registered-models/search"]
    assert [p.get("page_token") for p in pages] == [None, "offset-3", "empty-6", "offset-6"]
    assert all(p["max_results"] == "1000" for p in pages)


def test_follows_page_tokens_of_model_versions(httpserver):
    first = {"model_versions": [model_version("m", 3)], "next_page_token": "v2"}
    empty = {"next_page_token": "v3"}
    last = {"model_versions": [model_version("m", 2), model_version("m", 1)]}
    httpserver.expect_request(f"{API}registered-models/search").respond_with_json(
        {"registered_models": [registered_model("m")]}
    )
    search = f"{API}model-versions/search"
    base = {"filter": "name = 'm'", "max_results": "10000"}
    httpserver.expect_request(search, query_string=base).respond_with_json(first)
    httpserver.expect_request(search, query_string={**base, "page_token": "v2"}).respond_with_json(empty)
    httpserver.expect_request(search, query_string={**base, "page_token": "v3"}).respond_with_json(last)

    snapshot = fetch(httpserver)

    assert [v.version for v in snapshot.registered_models[0].versions] == ["1", "2", "3"]


def test_a_repeated_page_token_stops_the_listing(httpserver):
    httpserver.expect_request(f"{API}registered-models/search").respond_with_json(
        {"registered_models": [registered_model("m")], "next_page_token": "same"}
    )

    snapshot = fetch(httpserver)

    assert not snapshot.complete and snapshot.registered_models == ()
    assert "repeated the page token 'same'" in snapshot.errors[0]


@pytest.mark.parametrize(
    ("auth", "environ", "expected"),
    [
        (
            {"type": "basic", "username_env": "MLF_USER", "password_env": "MLF_PASS"},
            {"MLF_USER": "portal", "MLF_PASS": "s3cret:pass"},
            "Basic " + base64.b64encode(b"portal:s3cret:pass").decode(),
        ),
        ({"type": "bearer", "token_env": "MLF_TOKEN"}, {"MLF_TOKEN": "tok-123"}, "Bearer tok-123"),
    ],
)
def test_sends_credentials_from_the_environment(httpserver, monkeypatch, auth, environ, expected):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    httpserver.expect_request(
        f"{API}registered-models/search", headers={"Authorization": expected}
    ).respond_with_json({"registered_models": [registered_model("m")]})
    httpserver.expect_request(
        f"{API}model-versions/search", headers={"Authorization": expected}
    ).respond_with_json({})

    snapshot = fetch(httpserver, auth=auth)

    assert [m.name for m in snapshot.registered_models] == ["m"] and snapshot.complete


def test_refused_credentials_name_the_url_and_status(httpserver, monkeypatch):
    monkeypatch.setenv("MLF_TOKEN", "wrong")
    httpserver.expect_request(f"{API}registered-models/search").respond_with_json(
        {"error_code": "UNAUTHENTICATED", "message": "Invalid token"}, status=401
    )

    snapshot = fetch(httpserver, auth={"type": "bearer", "token_env": "MLF_TOKEN"})

    assert not snapshot.complete and snapshot.registered_models == ()
    (error,) = snapshot.errors
    assert "registered-models/search" in error and "HTTP 401: UNAUTHENTICATED: Invalid token" in error
    assert "wrong" not in error
    assert len(httpserver.log) == 1  # a 401 is not retried


def test_an_unset_credential_variable_is_a_config_error_naming_it(httpserver, monkeypatch):
    monkeypatch.delenv("MLF_TOKEN", raising=False)
    with pytest.raises(ValueError, match="environment variable MLF_TOKEN"):
        fetch(httpserver, auth={"type": "bearer", "token_env": "MLF_TOKEN"})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "'tracking_uri'"),
        ({"tracking_uri": "ftp://x"}, "http:// or https://"),
        ({"tracking_uri": "https://u:p@mlflow.example.com"}, "must not hold credentials"),
        ({"tracking_uri": "https://x", "auth": {"type": "digest"}}, "'auth.type'"),
        ({"tracking_uri": "https://x", "workers": 0}, "'workers'"),
        ({"tracking_uri": "https://x", "token": "abc"}, "'token'"),
    ],
)
def test_bad_configs_are_refused_naming_the_key(config, message):
    with pytest.raises(ValueError, match=message):
        parse_config(config)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_gives_an_incomplete_snapshot_naming_the_url():
    url = f"http://127.0.0.1:{unused_port()}"

    snapshot = get_connector("mlflow").fetch({"tracking_uri": url, "retries": 1}, workdir=Path("/x"))

    assert not snapshot.complete and snapshot.registered_models == ()
    assert f"GET {url}/api/2.0/mlflow/registered-models/search" in snapshot.errors[0]
    assert "ConnectError" in snapshot.errors[0] and "2 attempts" in snapshot.errors[0]


def test_server_errors_are_retried(httpserver):
    search = f"{API}registered-models/search"
    httpserver.expect_ordered_request(search).respond_with_data("upstream down", status=503)
    httpserver.expect_ordered_request(search).respond_with_json(
        {"registered_models": [registered_model("m")]}
    )
    httpserver.expect_request(f"{API}model-versions/search").respond_with_json({})

    snapshot = fetch(httpserver)

    assert [m.name for m in snapshot.registered_models] == ["m"] and snapshot.complete


def test_a_server_error_that_persists_names_the_status(httpserver):
    httpserver.expect_request(f"{API}registered-models/search").respond_with_json(
        {"error_code": "INTERNAL_ERROR", "message": "database is locked"}, status=500
    )

    snapshot = fetch(httpserver, retries=2)

    assert "HTTP 500: INTERNAL_ERROR: database is locked" in snapshot.errors[0]
    assert len(httpserver.log) == 3


def test_an_answer_that_is_not_json_is_an_error_naming_the_url(httpserver):
    httpserver.expect_request(f"{API}registered-models/search").respond_with_data(
        "<html>Sign in</html>", content_type="text/html"
    )

    snapshot = fetch(httpserver)

    assert not snapshot.complete and snapshot.registered_models == ()
    assert "registered-models/search" in snapshot.errors[0] and "not JSON (text/html)" in snapshot.errors[0]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"creation_timestamp": T0}, "'name'"),  # no name
        ({"name": "x", "tags": "team=risk"}, "'tags'"),
        ({"name": "x", "creation_timestamp": "yesterday"}, "'creation_timestamp'"),
        ({"name": "x", "aliases": [{"alias": "champion"}]}, "'aliases.0.version'"),
        ("just a string", "registered_models[1]"),
    ],
)
def test_a_malformed_registered_model_is_left_out_and_nothing_is_taken_as_gone(httpserver, bad, field):
    FakeMLflow(models=[registered_model("good"), bad, registered_model("other")]).install(httpserver)

    snapshot = fetch(httpserver)

    assert [m.name for m in snapshot.registered_models] == ["good", "other"]
    assert not snapshot.complete
    (error,) = snapshot.errors
    assert "registered-models/search: registered_models[1]" in error and field in error


@pytest.mark.parametrize(
    "answer",
    [
        {"model_versions": {"name": "m"}},  # an object, not a list
        {"model_versions": [{"name": "m", "creation_timestamp": T0}]},  # no version
        {"model_versions": [{"name": "m", "version": "1", "last_updated_timestamp": [1]}]},
    ],
)
def test_malformed_versions_fail_their_model_only(httpserver, answer):
    httpserver.expect_request(f"{API}registered-models/search").respond_with_json(
        {"registered_models": [registered_model("m"), registered_model("n")]}
    )
    search = f"{API}model-versions/search"
    httpserver.expect_request(
        search, query_string={"filter": "name = 'm'", "max_results": "10000"}
    ).respond_with_json(answer)
    httpserver.expect_request(
        search, query_string={"filter": "name = 'n'", "max_results": "10000"}
    ).respond_with_json({"model_versions": [model_version("n", 1)]})

    snapshot = fetch(httpserver)

    m, n = snapshot.registered_models
    assert m.error and "model-versions/search" in m.error and m.versions == ()
    assert n.error is None and [v.version for v in n.versions] == ["1"]
    assert snapshot.complete  # the models were all listed: only m's versions are unknown


def test_a_run_that_cannot_be_read_leaves_a_run_error(httpserver):
    runs = {"ok": run("ok", repo="https://github.com/acme/m", commit="a" * 40), "bad": {"run": {"data": {}}}}
    fake = FakeMLflow(
        models=[registered_model("m")],
        versions={"m": [model_version("m", 1, run_id="ok"), model_version("m", 2, run_id="bad")]},
        runs=runs,
    ).install(httpserver)

    snapshot = fetch(httpserver)

    v1, v2 = snapshot.registered_models[0].versions
    assert v1.run.git_commit == "a" * 40 and v1.run_error is None
    assert v2.run is None and "runs/get?run_id=bad" in v2.run_error and "'info'" in v2.run_error
    assert snapshot.complete and len(fake.requests) == 4


def test_metrics_are_the_configured_ones_and_non_finite_values_are_none(httpserver):
    body = run("r", metrics={"rmse": 0.5, "mae": 0.25, "r2": 0.1})
    body["run"]["data"]["metrics"].append({"key": "loss", "value": "NaN", "timestamp": T0, "step": 3})
    FakeMLflow(
        models=[registered_model("m")], versions={"m": [model_version("m", 1, run_id="r")]}, runs={"r": body}
    ).install(httpserver)

    everything = fetch(httpserver).registered_models[0].versions[0].run.metrics
    chosen = (
        fetch(httpserver, metrics=["rmse", "loss", "absent"]).registered_models[0].versions[0].run.metrics
    )

    assert everything == {"loss": None, "mae": 0.25, "r2": 0.1, "rmse": 0.5}
    assert chosen == {"rmse": 0.5, "loss": None}


def test_names_with_quotes_are_searched_exactly(httpserver):
    names = ["it's", """both ' and " quotes""", "plain"]
    seen = []

    def versions(request):
        seen.append(request.args["filter"])
        body = {
            "model_versions": [model_version(n, 1) for n in names]  # a LIKE filter matches more than one
            if "LIKE" in request.args["filter"]
            else [model_version(request.args["filter"].split("=", 1)[1].strip()[1:-1], 1)]
        }
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request(f"{API}registered-models/search").respond_with_json(
        {"registered_models": [registered_model(n) for n in names]}
    )
    httpserver.expect_request(f"{API}model-versions/search").respond_with_handler(versions)

    snapshot = fetch(httpserver, workers=1)

    assert sorted(seen) == sorted(['name = "it\'s"', "name LIKE 'both _ and \" quotes'", "name = 'plain'"])
    for record in snapshot.registered_models:
        assert [(record.name, v.version) for v in record.versions] == [(record.name, "1")]


def test_a_server_that_fails_every_item_stops_the_fetch(httpserver):
    names = [f"m{i}" for i in range(12)]
    httpserver.expect_request(f"{API}registered-models/search").respond_with_json(
        {"registered_models": [registered_model(n) for n in names]}
    )
    httpserver.expect_request(f"{API}model-versions/search").respond_with_data("bad gateway", status=502)

    snapshot = fetch(httpserver, retries=0, workers=2)

    assert not snapshot.complete and snapshot.registered_models == ()
    assert "HTTP 502" in snapshot.errors[0] and "5 requests in a row" in snapshot.errors[0]
    assert len(httpserver.log) < 1 + len(names)


def test_prompts_of_the_prompt_registry_are_not_models(httpserver):
    prompt = registered_model("summarize", tags={"mlflow.prompt.is_prompt": "true"})
    FakeMLflow(models=[registered_model("m"), prompt]).install(httpserver)

    assert [m.name for m in fetch(httpserver).registered_models] == ["m"]


def test_a_429_is_retried_after_the_wait_the_server_names(httpserver):
    search = f"{API}registered-models/search"
    httpserver.expect_ordered_request(search).respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request(search).respond_with_json({"registered_models": []})
    httpserver.expect_request(f"{API}model-versions/search").respond_with_json({})

    snapshot = fetch(httpserver)

    assert snapshot.complete and len(httpserver.log) >= 2


def test_a_429_asking_for_minutes_is_not_waited_for(httpserver):
    httpserver.expect_request(f"{API}registered-models/search").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "600"}
    )

    snapshot = fetch(httpserver, retries=3)

    assert not snapshot.complete and "HTTP 429" in snapshot.errors[0]
    assert len(httpserver.log) == 1  # no retry: a worker never sleeps for minutes


@pytest.mark.parametrize(
    ("status", "headers", "backoff"),
    [
        (429, {"Retry-After": "2"}, 2.0),
        (503, {"Retry-After": "31"}, False),
        (503, {}, True),
        (429, {"Retry-After": "soon"}, True),
    ],
)
def test_the_backoff_follows_retry_after(status, headers, backoff):
    from catalog.connectors.mlflow import _retry_backoff, _Retryable

    assert _retry_backoff(_Retryable(httpx.Response(status, headers=headers))) == backoff
