"""The OpenAPI 3 schema (drf-spectacular) and the Swagger UI, served without any CDN."""

import pytest
import yaml
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


def test_the_schema_is_valid_openapi_with_auth_errors_and_examples(as_user, member):
    response = as_user(member).get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal or service API token (`mlp_...`), made on the profile page.",
    }
    create = schema["paths"]["/api/v1/projects/"]["post"]
    assert set(create["responses"]) >= {"201", "400", "401", "403"}
    assert create["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert "examples" in create["requestBody"]["content"]["application/json"]
    listing = schema["paths"]["/api/v1/projects/"]["get"]
    parameters = {p["name"] for p in listing["parameters"]}
    assert parameters >= {
        "q",
        "team",
        "owner",
        "lifecycle",
        "type",
        "rule",
        "severity",
        "cursor",
        "limit",
        "ordering",
    }
    page = schema["components"]["schemas"]["PaginatedProjectList"]
    assert page["required"] == ["count", "next", "previous", "results"]


def test_swagger_ui_is_served_from_the_portal(as_user, member):
    response = as_user(member).get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
