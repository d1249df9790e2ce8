"""The Backstage export: entity shape, kinds, pages, and a round trip through the portal's own Backstage
descriptor parser (``parse_file``), which follows Backstage's schemas."""

import json

import pytest
import yaml

from catalog.descriptors.backstage import parse_file
from catalog.models import System

pytestmark = pytest.mark.django_db


@pytest.fixture
def exported(catalog, team, member):
    fraud = catalog.team(
        "fraud", title="Fraud", parent=team, email="fraud@example.com", member_refs=["user:default/ghost"]
    )
    catalog.person("ada", title="Ada Lovelace", email="ada@example.com", teams=[fraud])
    System.objects.create(name="payments", owner_ref="group:default/fraud", description="Card payments.")
    catalog.project(
        "alpha",
        owner=fraud,
        title="Alpha",
        tags=["fraud"],
        annotations={"mlflow.org/registered-models": "alpha"},
        links=[{"url": "https://wiki.example.com/alpha", "title": "Wiki"}],
        system_ref="system:default/payments",
    )
    catalog.project("found-repo", type="", lifecycle="", repository=True)  # no type, lifecycle or owner


def walk(client, url):
    entities = []
    while url:
        page = client.get(url).json()
        entities += page["results"]
        url = page["next"]
    return entities


def test_every_entity_reads_back_as_valid_backstage(exported, as_user, member):
    entities = walk(as_user(member), "/api/v1/backstage/entities?limit=2")
    assert [e["kind"] for e in entities] == ["Group"] * 2 + ["User"] * 2 + ["System"] + ["Component"] * 3
    parsed = parse_file(json.dumps(entities[0]), "page.json")  # JSON is YAML: one entity reads back
    assert parsed.errors == () and parsed.entities[0].name == "ml-platform"
    parsed = parse_file(yaml.safe_dump_all(entities), "all.yaml")
    assert parsed.errors == ()
    by_name = {entity.name: entity for entity in parsed.entities}
    assert set(by_name) == {
        "ml-platform",
        "fraud",
        "member",
        "ada",
        "payments",
        "team-model",
        "alpha",
        "found-repo",
    }
    fraud = by_name["fraud"]
    assert fraud.spec["parent"] == "group:default/ml-platform"
    assert fraud.spec["members"] == ["user:default/ada", "user:default/ghost"]
    assert fraud.spec["profile"] == {"displayName": "Fraud", "email": "fraud@example.com"}
    assert by_name["ml-platform"].spec["children"] == ["group:default/fraud"]
    assert by_name["ada"].spec["memberOf"] == ["group:default/fraud"]
    alpha = by_name["alpha"]
    assert alpha.spec == {
        "type": "ml-model",
        "lifecycle": "production",
        "owner": "group:default/fraud",
        "system": "system:default/payments",
    }
    assert alpha.annotations["backstage.io/source-location"] == "url:https://git.example.com/ml/alpha"
    assert alpha.annotations["mlflow.org/registered-models"] == "alpha"
    assert alpha.links == ({"url": "https://wiki.example.com/alpha", "title": "Wiki"},)
    assert by_name["found-repo"].spec == {"type": "unknown", "lifecycle": "unknown", "owner": "unknown"}
    assert by_name["payments"].spec == {"owner": "group:default/fraud"}


def test_yaml_pages_chain_through_locations(exported, as_user, member):
    client = as_user(member)
    url, names, pages = "/api/v1/backstage/entities?format=yaml&limit=3", [], 0
    while url:
        response = client.get(url)
        assert response["Content-Type"].startswith("application/yaml")
        parsed = parse_file(response.content.decode(), "page.yaml")
        assert parsed.errors == ()
        locations = [e for e in parsed.entities if e.kind == "Location"]
        names += [e.name for e in parsed.entities if e.kind != "Location"]
        pages += 1
        url = locations[0].spec["target"] if locations else None
        if url:
            assert url.startswith("http://testserver/api/v1/backstage/entities?") and "format=yaml" in url
    assert pages == 3 and len(names) == 8 == len(set(names))


def test_kind_filter_count_and_bad_parameters(exported, as_user, member):
    client = as_user(member)
    page = client.get("/api/v1/backstage/entities?kind=component,system").json()
    assert page["count"] == 4 and [e["kind"] for e in page["results"]] == ["System"] + ["Component"] * 3
    for query, field in (("kind=api", "kind"), ("limit=0", "limit"), ("cursor=group-x", "cursor")):
        response = client.get(f"/api/v1/backstage/entities?{query}")
        assert response.status_code == 400
        assert set(response.json()["error"]["fields"]) == {field}
