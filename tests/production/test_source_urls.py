"""Sources read only http(s), ssh and git URLs (and local paths where allowed), and no connector follows a
redirect to another host: checked on save (admin, ``source_add``), at sync time, and in each connector."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from pytest_httpserver import HTTPServer
from werkzeug import Response

from catalog.connectors import git as git_connector
from catalog.connectors import mlflow as mlflow_connector
from catalog.connectors.http import ApiClient, HttpError
from catalog.models import Source, SyncRun
from catalog.sync import sync_source


def problems(kind: str, config: dict) -> list[str]:
    try:
        source = Source(name="s", kind=kind, config=config)
        source.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return exc.message_dict.get("config", [])
    return []


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("git", {"urls": ["https://github.com/acme/ml.git", "ssh://git@gitlab.example.com:2222/ml/a.git"]}),
        (
            "git",
            {"urls": ["git@github.com:acme/ml.git", "git://git.example.com/ml.git", "http://10.0.0.5/x"]},
        ),
        ("git", {"urls": ["https://oauth2@gitlab.example.com/ml/a.git"]}),  # a user name alone is no secret
        ("github", {"org": "acme", "api_url": "https://github.example.com/api/v3", "token_env": "GH_TOKEN"}),
        ("mlflow", {"tracking_uri": "http://mlflow.internal:5000"}),
        ("git", {"paths": ["/srv/repos"], "urls": ["file:///srv/mirror.git"]}),  # the laptop allows paths
        ("file", {"paths": ["/srv/catalog/all.yaml"]}),
    ],
)
def test_allowed_addresses(kind, config):
    assert problems(kind, config) == []


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        (
            "git",
            {"urls": ["ftp://files.example.com/a.git"]},
            "config.urls[0]: 'ftp://files.example.com/a.git' must be",
        ),
        ("git", {"urls": ["https://x/a.git", "ext::sh -c touch% /tmp/pwned"]}, "config.urls[1]: 'ext::sh"),
        (
            "git",
            {"urls": ["https://bot:hunter2@github.com/a.git"]},
            "'https://bot:***@github.com/a.git' holds a password",
        ),
        ("github", {"org": "acme", "api_url": "gopher://github.example.com/"}, "config.api_url: 'gopher:"),
        ("mlflow", {"tracking_uri": "javascript:alert(1)"}, "config.tracking_uri: "),
        ("mlflow", {"tracking_uri": "https:///no-host"}, "has no host"),
        (
            "gitlab",
            {"group": "ml", "api_url": "git@gitlab.example.com:ml"},
            "config.api_url: ",
        ),  # scp-like: git only
    ],
)
def test_refused_addresses(kind, config, message):
    found = problems(kind, config)
    assert len(found) == 1 and message in found[0], found
    assert "hunter2" not in found[0]


def test_local_paths_are_refused_where_not_allowed(settings):
    settings.PORTAL = {**settings.PORTAL, "ALLOW_LOCAL_PATHS": False}
    found = problems("git", {"paths": ["/srv/repos"], "urls": ["file:///srv/mirror.git", "https://h/a.git"]})
    assert found == [
        "config.paths[0]: '/srv/repos': local paths are not allowed here (PORTAL_ALLOW_LOCAL_PATHS is off): "
        "name a remote URL instead",
        "config.urls[0]: 'file:///srv/mirror.git' is a local file URL (PORTAL_ALLOW_LOCAL_PATHS is off)",
    ]
    assert problems("file", {"paths": ["/srv/catalog/all.yaml"]})
    assert problems("git", {"urls": ["https://h/a.git"]}) == []


@pytest.mark.django_db
def test_source_add_refuses_local_paths_in_production(settings, tmp_path):
    settings.PORTAL = {**settings.PORTAL, "ALLOW_LOCAL_PATHS": False}
    with pytest.raises(CommandError, match="local paths are not allowed"):
        call_command("source_add", "laptop", str(tmp_path))
    assert not Source.objects.exists()


@pytest.mark.django_db
def test_admin_form_names_the_bad_url(admin_client):
    response = admin_client.post(
        "/admin/catalog/source/add/",
        {
            "name": "bad",
            "kind": "git",
            "config": '{"urls": ["ftp://files.example.com/a.git"]}',
            "enabled": "on",
            "sync_interval_minutes": "60",
        },
    )
    assert response.status_code == 200  # the form again
    assert (
        "config.urls[0]: &#x27;ftp://files.example.com/a.git&#x27; must be a URL" in response.content.decode()
    )
    assert not Source.objects.filter(name="bad").exists()


@pytest.mark.django_db
def test_a_source_saved_before_the_policy_fails_its_sync(settings, tmp_path):
    source = Source.objects.create(name="old", kind=Source.Kind.GIT, config={"paths": [str(tmp_path)]})
    settings.PORTAL = {**settings.PORTAL, "ALLOW_LOCAL_PATHS": False}
    run = sync_source(source)
    assert run.status == SyncRun.Status.FAILED
    assert "local paths are not allowed here" in run.errors[0]["message"]


# Redirects


@pytest.fixture
def elsewhere():
    """A second server, standing for another host; the test checks that nothing reached it."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/", method="GET").respond_with_json({"stolen": True})
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def redirect_to(url: str) -> Response:
    return Response(status=302, headers={"Location": url})


def test_api_client_follows_a_redirect_on_the_same_host(httpserver):
    httpserver.expect_request("/repos/acme/old-name").respond_with_response(redirect_to("/repositories/42"))
    httpserver.expect_request("/repositories/42").respond_with_json({"id": 42})
    with ApiClient(httpserver.url_for("/")) as client:
        assert client.get("repos/acme/old-name") == {"id": 42}


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])  # another name, or the same name on another port
def test_api_client_refuses_a_redirect_to_another_host(httpserver, elsewhere, host):
    target = f"http://{host}:{elsewhere.port}/"
    httpserver.expect_request("/orgs/acme/repos").respond_with_response(redirect_to(target))
    client = ApiClient(httpserver.url_for("/"), headers={"Authorization": "Bearer tok"})
    with (
        client,
        pytest.raises(HttpError, match=f"redirected to http://{host}:{elsewhere.port}, another host"),
    ):
        client.get("orgs/acme/repos")
    assert elsewhere.log == []


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_a_next_page_named_on_another_host_is_read_from_the_api_host(httpserver, elsewhere, host):
    """A ``Link`` naming another server (an alias of the API's host, or a hostile answer) keeps its path
    and query, and is read from the API's own host: the token never goes elsewhere."""
    httpserver.expect_request("/orgs/acme/repos", query_string="per_page=100").respond_with_json(
        [{"id": 1}], headers={"Link": f'<http://{host}:{elsewhere.port}/orgs/acme/repos?page=2>; rel="next"'}
    )
    httpserver.expect_request("/orgs/acme/repos", query_string="page=2").respond_with_json([{"id": 2}])
    with ApiClient(httpserver.url_for("/"), headers={"Authorization": "Bearer tok"}) as client:
        assert list(client.paginate("orgs/acme/repos")) == [{"id": 1}, {"id": 2}]
    assert elsewhere.log == []


def test_mlflow_connector_does_not_follow_redirects(httpserver, elsewhere, tmp_path):
    httpserver.expect_request("/api/2.0/mlflow/registered-models/search").respond_with_response(
        redirect_to(f"http://localhost:{elsewhere.port}/")
    )
    snapshot = mlflow_connector.connector.fetch(
        {"tracking_uri": httpserver.url_for("/").rstrip("/"), "retries": 0}, workdir=tmp_path
    )
    [error] = snapshot.errors
    assert f"HTTP 302 redirect to http://localhost:{elsewhere.port}/: not followed" in error
    assert elsewhere.log == []


def test_git_connector_does_not_follow_redirects(httpserver, elsewhere, tmp_path):
    httpserver.expect_request("/acme/ml.git/info/refs").respond_with_response(
        redirect_to(f"http://localhost:{elsewhere.port}/acme/ml.git/info/refs?service=git-upload-pack")
    )
    snapshot = git_connector.connector.fetch({"urls": [httpserver.url_for("/acme/ml.git")]}, workdir=tmp_path)
    [record] = snapshot.repositories
    assert "The requested URL returned error: 302" in record.error, record.error
    assert elsewhere.log == []
