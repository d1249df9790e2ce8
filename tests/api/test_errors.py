"""Every error is JSON of one shape: {"error": {"code", "message", "fields"}}, naming the field at fault."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "code", "fields"),
    [
        ("get", "/api/v1/projects/999999/", None, 404, "not_found", set()),
        ("delete", "/api/v1/projects/{project}/", None, 405, "method_not_allowed", set()),
        ("get", "/api/v1/projects/?cursor=garbage", None, 404, "not_found", set()),
        ("get", "/api/v1/findings/?severity=7", None, 400, "invalid", {"severity"}),
        ("post", "/api/v1/projects/", "{not json", 400, "parse_error", set()),
        ("post", "/api/v1/projects/", {"name": "x", "tags": "one"}, 400, "invalid", {"tags"}),
        ("post", "/api/v1/projects/", {"name": "x", "links": [{"url": 5}]}, 400, "invalid", {"links"}),
        ("post", "/api/v1/projects/{project}/facts/", {"value": 1}, 400, "invalid", {"name"}),
        ("get", "/api/v1/sources/", None, 403, "permission_denied", set()),
    ],
)
def test_error_shape(as_user, member, method, url, body, status, code, fields):
    from catalog.models import Project

    client = as_user(member)
    url = url.format(project=Project.objects.get(name="team-model").pk)
    if isinstance(body, str):
        response = client.generic(method.upper(), url, body, content_type="application/json")
    else:
        response = getattr(client, method)(url, body, format="json")
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    assert set(error["fields"]) == fields
    assert error["message"]
    for field in fields:
        assert error["message"].startswith(f"{field}: ") or f"; {field}: " in error["message"]


def test_unauthenticated_errors_carry_the_scheme(api):
    response = api.get("/api/v1/teams/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_malformed_id_is_a_404(as_user, member):
    client = as_user(member)
    assert client.get("/api/v1/teams/x/").json()["error"]["code"] == "not_found"
    assert client.post("/api/v1/findings/-1/acknowledge/").json()["error"]["code"] == "not_found"
    # A segment with a dot matches no API route: Django's 404, in the API's shape.
    response = client.get("/api/v1/people/1.5e-38/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("url", ["/api/v1/nope/", "/api/nope", "/api/v1/projects/1/nope/"])
def test_unknown_api_paths_answer_json(api, url):
    response = api.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "code": "not_found",
            "message": f"no API endpoint at {url}; see /api/schema/ for the endpoints",
            "fields": {},
        }
    }


def test_unknown_page_paths_keep_the_html_page(as_user, member, client):
    client.force_login(member)
    response = client.get("/nope/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_crash_under_the_api_answers_json(rf):
    import json

    from catalog.api.errors import server_error

    response = server_error(rf.get("/api/v1/projects/"))
    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "server_error"
    assert server_error(rf.get("/projects/"))["Content-Type"].startswith("text/html")


def _cursor(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "query",
    [
        "projects/?ordering=-id&cursor=" + _cursor("o=1&p=x"),
        "projects/?ordering=-id&cursor=" + _cursor("p=" + "9" * 400),
        "projects/?ordering=-updated_at&cursor=" + _cursor("p=2025-13-45"),
        "projects/?ordering=-updated_at&cursor=" + _cursor("p=2025-01-01 00:00:00"),  # no time zone
        "projects/?ordering=name&cursor=" + _cursor("p=a%00b"),
        "teams/?ordering=-id&cursor=" + _cursor("p=x"),
        "findings/?cursor=" + _cursor("p=yesterday"),
        "model-versions/?cursor=cD14",  # p=x, on the default ordering -id
        "pipeline-runs/?cursor=" + _cursor("p=1.5"),
    ],
)
def test_a_tampered_cursor_is_an_invalid_cursor(as_user, member, query):
    response = as_user(member).get(f"/api/v1/{query}")
    assert response.status_code == 404, response.content
    assert response.json()["error"] == {"code": "not_found", "message": "Invalid cursor", "fields": {}}


def test_a_well_formed_cursor_still_pages(as_user, member, catalog):
    for name in ("alpha", "beta", "gamma"):
        catalog.project(name)
    client = as_user(member)
    first = client.get("/api/v1/projects/?ordering=-updated_at&limit=1").json()
    assert first["next"]
    second = client.get(first["next"]).json()
    assert second["results"] and second["results"][0]["id"] != first["results"][0]["id"]
    name_page = client.get("/api/v1/projects/?ordering=name&limit=1").json()
    assert client.get(name_page["next"]).status_code == 200


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", "\u0661"])
def test_a_bad_limit_is_a_400_naming_limit(as_user, member, limit):
    response = as_user(member).get("/api/v1/projects/", {"limit": limit})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"limit"}


def test_a_limit_above_the_maximum_is_clamped(as_user, member):
    response = as_user(member).get("/api/v1/projects/?limit=100000")
    assert response.status_code == 200


def test_an_unknown_ordering_is_a_400_naming_the_allowed_values(as_user, member):
    response = as_user(member).get("/api/v1/projects/?ordering=nonexistent")
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error["fields"]) == {"ordering"}
    assert error["message"] == (
        "ordering: unknown ordering 'nonexistent'; allowed: name, -name, created_at, -created_at, "
        "updated_at, -updated_at, id, -id"
    )
    assert as_user(member).get("/api/v1/projects/?ordering=-name,id").status_code == 200


@pytest.mark.parametrize("query", ["ordering=nonexistent", "limit=0", "cursor=cD14"])
def test_bad_list_parameters_in_the_browsable_api_are_not_a_500(as_user, member, query):
    response = as_user(member).get(f"/api/v1/model-versions/?{query}", HTTP_ACCEPT="text/html")
    assert response.status_code in (400, 404)
