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
    # A segment with a dot matches no API route: the site's own 404 page.
    assert client.get("/api/v1/people/1.5e-38/").status_code == 404
