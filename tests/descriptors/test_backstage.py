"""Tests of catalog.descriptors.backstage: parsing, validation, entity references and Location trees."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from catalog.connectors.records import DescriptorError, EntityRef
from catalog.descriptors.backstage import load_tree, location_targets, parse_file, parse_ref

# The corpus lies in the shared folder beside the checkout (CI puts a copy there).
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "backstage"
PREFIX = "backstage__backstage__packages__catalog-model__examples__"

COMPONENT = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {name}
spec:
  type: service
  lifecycle: production
  owner: team-a
"""


def component(name: str) -> str:
    return COMPONENT.format(name=name)


def system(name: str) -> str:
    return f"apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: {name}\nspec:\n  owner: t\n"


def location(*targets: str, name: str = "loc", extra: str = "") -> str:
    lines = "".join(f'    - "{target}"\n' for target in targets)
    header = f"apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: {name}\n"
    return f"{header}spec:\n{extra}  targets:\n{lines}"


def problems(text: str) -> list[tuple[int | None, str | None]]:
    """(document, field) of every error of a one-file parse."""
    return [(error.document, error.field) for error in parse_file(text, "catalog-info.yaml").errors]


# --- the corpus: real descriptors --------------------------------------------------------------------------

# file -> (entity refs in order, (document, field) of every error)
CORPUS_OUTCOMES = {
    "PagerDuty__backstage-plugin__catalog-info.yaml": (["component:default/backstage-plugin-pagerduty"], []),
    "RoadieHQ__sample-service__catalog-info.yaml": (["component:default/sample-service"], []),
    "backstage__backstage__catalog-info.yaml": (["component:default/backstage-existing"], []),
    PREFIX + "acme__org.yaml": (["group:default/acme-corp", "location:default/example-groups"], []),
    PREFIX + "acme__team-a-group.yaml": (
        [
            "group:default/team-a",
            "user:default/person-1",
            "user:default/person-2",
            "user:default/person-3",
            "user:default/guest",
            "user:development/guest",
        ],
        [],
    ),
    PREFIX + "ai-resources__frontend-design-skill.yaml": (["airesource:default/frontend-design"], []),
    PREFIX + "all.yaml": (["location:default/example-all"], []),
    PREFIX + "apis__petstore-api.yaml": (["api:default/petstore"], []),
    PREFIX + "apis__petstore-webhook-api.yaml": (["api:default/petstore-webhook"], []),
    PREFIX + "components__invalid-component.yaml": ([], [(1, "metadata.name"), (1, "metadata.tags.1")]),
    PREFIX + "domains__artists-domain.yaml": (["domain:default/artists"], []),
    "contentful__node-apps-toolkit__catalog-info.yaml": (["component:default/node-apps-toolkit"], []),
    "elastic__eland__catalog-info.yaml": (
        [
            "component:default/eland",
            "resource:default/eland-pipeline",
            "resource:default/eland-release-docker-pipeline",
        ],
        [],
    ),
    "elastic__elasticsearch-k8s-metrics-adapter__catalog-info.yaml": (
        [
            "component:default/elasticsearch-k8s-metrics-adapter",
            "resource:default/buildkite-pipeline-elasticsearch-k8s-metrics-adapter",
            "resource:default/elasticsearch-k8s-metrics-adapter-tests-pipeline",
        ],
        [],
    ),
}


def corpus(name: str):
    return parse_file((CORPUS / name).read_text(encoding="utf-8"), name)


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir()))
def test_corpus_file_gives_its_entities_or_precise_errors(name):
    assert name in CORPUS_OUTCOMES, f"no expected outcome written down for corpus file {name}"
    refs, errors = CORPUS_OUTCOMES[name]
    parsed = corpus(name)
    assert parsed.path == name
    assert [str(entity.ref) for entity in parsed.entities] == refs
    assert [(error.document, error.field) for error in parsed.errors] == errors
    assert all(error.path == name for error in parsed.errors)
    assert parsed.failed_documents == tuple(sorted({document for document, _ in errors}))
    assert parsed.complete is True
    assert all(entity.path == name for entity in parsed.entities)


def test_corpus_invalid_component_says_what_is_wrong():
    parsed = corpus(PREFIX + "components__invalid-component.yaml")
    name_error, tag_error = parsed.errors
    assert "'invalid component'" in name_error.message
    assert "[a-zA-Z0-9] separated by any of [-_.]" in name_error.message
    assert "'go 1.15.3'" in tag_error.message
    assert str(name_error).startswith(
        f"{PREFIX}components__invalid-component.yaml, document 1, field metadata.name:"
    )


def test_corpus_team_a_users_keep_namespace_profile_and_memberships():
    entities = corpus(PREFIX + "acme__team-a-group.yaml").entities
    group, *users = entities
    assert (group.kind, group.spec["type"], group.spec["parent"], group.spec["children"]) == (
        "Group",
        "team",
        "backstage",
        [],
    )
    assert "displayName" not in group.spec["profile"]
    assert [user.kind for user in users] == ["User"] * 5
    guests = [user for user in users if user.name == "guest"]
    assert [(guest.namespace, guest.document) for guest in guests] == [("default", 5), ("development", 6)]
    # YAML itself drops the trailing space of a plain scalar
    assert guests[0].spec["profile"]["displayName"] == "Guest User"
    assert guests[0].spec["memberOf"] == ["team-a"]
    assert guests[1].spec["memberOf"] == ["group:default/team-a"]
    assert "displayName" not in users[0].spec["profile"]


def test_corpus_eland_nested_implementation_is_spec_not_an_entity():
    parsed = corpus("elastic__eland__catalog-info.yaml")
    assert [entity.kind for entity in parsed.entities] == ["Component", "Resource", "Resource"]
    component_, pipeline, _ = parsed.entities
    assert component_.spec["dependsOn"] == [
        "resource:eland-pipeline",
        "resource:eland-releaser-docker-pipeline",
    ]
    assert component_.spec["owner"] == "group:ml-core"
    assert pipeline.spec["implementation"]["kind"] == "Pipeline"
    assert pipeline.spec["implementation"]["metadata"]["name"] == "Eland"
    assert "lifecycle" not in pipeline.spec
    assert component_.annotations["backstage.io/source-location"] == "url:https://github.com/elastic/eland/"


def test_corpus_all_yaml_is_a_location_with_six_targets():
    (entity,) = corpus(PREFIX + "all.yaml").entities
    assert entity.kind == "Location"
    assert location_targets(entity) == [
        "./all-ai-resources.yaml",
        "./all-apis.yaml",
        "./all-components.yaml",
        "./all-domains.yaml",
        "./all-resources.yaml",
        "./all-systems.yaml",
    ]


def test_corpus_org_group_and_location():
    group, loc = corpus(PREFIX + "acme__org.yaml").entities
    assert group.spec["children"] == ["infrastructure"]
    assert group.spec["descendants"][-1] == "team-d"
    assert len(location_targets(loc)) == 7
    assert location_targets(loc)[0] == "./infrastructure-group.yaml"


def test_corpus_contentful_trailing_space_and_inline_comments():
    (entity,) = corpus("contentful__node-apps-toolkit__catalog-info.yaml").entities
    assert entity.annotations == {
        "github.com/project-slug": "contentful/node-apps-toolkit",
        "contentful.com/service-tier": "unknown",
    }
    assert entity.tags == ("update-me", "sast-disabled", "tier-unknown")
    assert (entity.spec["system"], entity.spec["owner"], entity.spec["lifecycle"]) == (
        "unknown",
        "group:team-tundra",
        "production",
    )


def test_corpus_ai_resource_unknown_kind_is_kept_with_its_spec():
    (entity,) = corpus(PREFIX + "ai-resources__frontend-design-skill.yaml").entities
    assert (entity.kind, entity.api_version) == ("AiResource", "backstage.io/v1alpha1")
    assert entity.spec["agents"] == ["claude-code", "copilot"]
    assert entity.spec["compatibility"] == "Node.js 20+, macOS/Linux"


def test_corpus_api_definitions_string_and_text_substitution():
    (petstore,) = corpus(PREFIX + "apis__petstore-api.yaml").entities
    assert petstore.spec["definition"].startswith('openapi: "3.0.0"\n')
    assert petstore.tags == ("store", "rest")
    (webhook,) = corpus(PREFIX + "apis__petstore-webhook-api.yaml").entities
    assert webhook.spec["definition"] == {"$text": "./petstore-webhook.oas.yaml"}


def test_corpus_links_titles_and_descriptions():
    (backstage,) = corpus("backstage__backstage__catalog-info.yaml").entities
    assert backstage.description.endswith("developer experience first.\n")
    assert backstage.links[0] == {"url": "http://backstage.io", "title": "Website"}
    assert backstage.spec["owner"] == "CNCF"
    (domain,) = corpus(PREFIX + "domains__artists-domain.yaml").entities
    assert domain.title == "Artists"
    assert domain.links == (
        {"url": "http://example.com/domain/artists/", "title": "Domain Readme"},
        {
            "url": "http://example.com/domains/artists/dashboard",
            "title": "Domain Metrics Dashboard",
            "icon": "dashboard",
        },
    )
    (pagerduty,) = corpus("PagerDuty__backstage-plugin__catalog-info.yaml").entities
    assert pagerduty.title == "@pagerduty/backstage-plugin"
    (adapter, *_) = corpus("elastic__elasticsearch-k8s-metrics-adapter__catalog-info.yaml").entities
    assert adapter.links[2]["url"] == (
        "https://overview.aws.staging.foundit.no/app/dashboards#/view/serverless-elasticsearch-k8s-metrics-adapter"
    )
    assert adapter.annotations["pagerduty.com/service-id"] == "PA1IPRT"


# --- entity references -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "kwargs", "expected"),
    [
        ("team-a", {"default_kind": "group"}, ("group", "default", "team-a")),
        ("group:team-a", {}, ("group", "default", "team-a")),
        ("development/guest", {"default_kind": "User"}, ("user", "development", "guest")),
        ("user:development/guest", {}, ("user", "development", "guest")),
        ("Component:Ns/MyService", {}, ("component", "Ns", "MyService")),
        ("  group:team-a \n", {}, ("group", "default", "team-a")),
        ("team-a", {"default_kind": "group", "default_namespace": "ml"}, ("group", "ml", "team-a")),
        ("resource:eland.pipeline_1", {"default_kind": "group"}, ("resource", "default", "eland.pipeline_1")),
        ({"kind": "Group", "namespace": "ml", "name": "team-a"}, {}, ("group", "ml", "team-a")),
        ({"name": "team-a"}, {"default_kind": "group"}, ("group", "default", "team-a")),
    ],
)
def test_parse_ref_valid(ref, kwargs, expected):
    assert parse_ref(ref, **kwargs) == EntityRef(*expected)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("", "not of the form"),
        ("   ", "not of the form"),
        ("a:b:c", "not of the form"),
        ("a/b/c", "not of the form"),
        ("a/b:c", "not of the form"),
        ("a:b/c/d", "not of the form"),
        ("a:b/c:d", "not of the form"),
        (":b/c", "not of the form"),
        ("a:/c", "not of the form"),
        ("a:b/", "not of the form"),
        ("/c", "not of the form"),
        ("b/", "not of the form"),
        (":c", "not of the form"),
        ("a:", "not of the form"),
        ("group:team a", "not of the form"),
        ("team-a", "has no kind"),
        ("default/team-a", "has no kind"),
        (7, "must be a string"),
        (None, "must be a string"),
        ({"namespace": "x"}, "has no name"),
        ({"kind": "", "name": "x"}, "kind must be a non-empty string"),
        ({"kind": "group", "name": "x", "owner": "y"}, "unknown keys: owner"),
        ({"name": "x"}, "has no kind"),
    ],
)
def test_parse_ref_invalid(ref, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_ref(ref)


# --- YAML ---------------------------------------------------------------------------------------------------


def test_syntax_error_in_document_3_of_4_keeps_documents_1_and_2():
    text = (
        component("a")
        + "---\n"
        + component("b")
        + "---\nkind: Component\nmetadata:\n  name: [c\n---\n"
        + component("d")
    )
    parsed = parse_file(text, "catalog-info.yaml")
    assert [entity.name for entity in parsed.entities] == ["a", "b"]
    assert [entity.document for entity in parsed.entities] == [1, 2]
    (error,) = parsed.errors
    assert (error.path, error.document, error.field) == ("catalog-info.yaml", 3, None)
    assert error.message == (
        "invalid YAML at line 22, column 1: did not find expected ',' or ']' (while parsing a flow sequence)"
    )
    assert parsed.failed_documents == (3,)
    assert parsed.complete is False


def test_empty_documents_are_skipped_but_counted():
    text = "---\n# nothing here yet\n---\n" + component("a") + "---\n---\n~\n---\n" + component("b")
    parsed = parse_file(text, "catalog-info.yaml")
    assert [(entity.name, entity.document) for entity in parsed.entities] == [("a", 2), ("b", 5)]
    assert parsed.errors == ()
    assert parsed.complete is True


def test_empty_file_and_comment_only_file():
    assert parse_file("", "a.yaml").entities == ()
    assert parse_file("# TODO: describe this project\n", "a.yaml").errors == ()


def test_duplicate_mapping_key_is_a_yaml_error():
    parsed = parse_file(component("a") + "---\n" + component("b") + "  owner: team-b\n", "catalog-info.yaml")
    assert [entity.name for entity in parsed.entities] == ["a"]
    (error,) = parsed.errors
    assert error.document == 2
    assert (
        error.message
        == "invalid YAML at line 18, column 3: found duplicate key 'owner' (while constructing a mapping)"
    )
    assert parsed.complete is False


def test_control_character_is_located():
    (error,) = parse_file("a: ééé\nb: x\x07y\n", "x.yaml").errors
    assert (
        error.message
        == "invalid YAML at line 2, column 5: control characters are not allowed (character #x0007)"
    )


def test_unsafe_tag_is_refused():
    (error,) = parse_file("a: !!python/object/apply:os.system [ls]\n", "x.yaml").errors
    assert "could not determine a constructor" in error.message


def test_scalars_follow_yaml_1_2_core_schema():
    text = """\
apiVersion: example.com/v1
kind: Thing
metadata:
  name: thing
  annotations:
    example.com/orphan: yes
    example.com/since: 2021-11-10
spec:
  started: 2021-11-10
  enabled: on
  flag: true
  mode: 0755
  octal: 0o17
  hex: 0x1F
  big: 1_000
  ratio: 1.5e3
  nothing: ~
"""
    (entity,) = parse_file(text, "x.yaml").entities
    assert entity.annotations == {"example.com/orphan": "yes", "example.com/since": "2021-11-10"}
    assert entity.spec == {
        "started": "2021-11-10",
        "enabled": "on",
        "flag": True,
        "mode": 755,
        "octal": 15,
        "hex": 31,
        "big": "1_000",
        "ratio": 1500.0,
        "nothing": None,
    }


def test_merge_keys_work_and_own_keys_win():
    text = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\n"
    text += "spec:\n  <<: {type: x, owner: t}\n  lifecycle: p\n  type: y\n"
    (entity,) = parse_file(text, "x.yaml").entities
    assert entity.spec == {"type": "y", "owner": "t", "lifecycle": "p"}


# --- document validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", [(1, None)]),
        ("just a string\n", [(1, None)]),
        (component("a") + "---\n42\n", [(2, None)]),
    ],
)
def test_non_mapping_document(text, expected):
    assert problems(text) == expected
    assert "must be a mapping" in parse_file(text, "x.yaml").errors[0].message


def test_all_problems_of_a_document_are_reported_and_the_rest_of_the_file_imports():
    bad = """\
apiVersion: backstage.io/v1alpha1
kind: Component
status: {}
extra: 1
metadata:
  name: -bad-
  namespace: Dev_Team
  title: 7
  labels: {"a/b/c": x, ok: "not valid!", long: LONG_VALUE}
  annotations: {"example.com/yes": true, "-bad-key": "v"}
  tags: [python, Python, LONG_TAG]
  links: [{title: no url}, "https://x", {url: "relative/path"}, {url: "https://ok", icon: 3}]
spec:
  type: ""
  lifecycle: 3
""".replace("LONG_VALUE", "v" * 64).replace("LONG_TAG", "t" * 64)
    parsed = parse_file(bad + "---\n" + component("good"), "catalog-info.yaml")
    assert [entity.name for entity in parsed.entities] == ["good"]
    assert parsed.failed_documents == (1,)
    assert [error.field for error in parsed.errors] == [
        "extra",
        "metadata.name",
        "metadata.namespace",
        "metadata.title",
        "metadata.labels.a/b/c",
        "metadata.labels.ok",
        "metadata.labels.long",
        "metadata.annotations.example.com/yes",
        "metadata.annotations.-bad-key",
        "metadata.tags.1",
        "metadata.tags.2",
        "metadata.links.0.url",
        "metadata.links.1",
        "metadata.links.2.url",
        "metadata.links.3.icon",
        "spec.type",
        "spec.lifecycle",
        "spec.owner",
    ]
    assert {error.document for error in parsed.errors} == {1}


@pytest.mark.parametrize(
    ("header", "field", "message"),
    [
        ("kind: Component\n", "apiVersion", "is required"),
        ("apiVersion: v1\nkind: Component\n", "apiVersion", "must be <group>/<version>"),
        (
            "apiVersion: backstage.io/v2\nkind: Component\n",
            "apiVersion",
            "backstage.io/v1alpha1 or backstage.io/v1beta1",
        ),
        ("apiVersion: backstage.io/v1alpha1\n", "kind", "is required"),
        ("apiVersion: backstage.io/v1alpha1\nkind: component\n", "kind", "must be spelled 'Component'"),
        ("apiVersion: backstage.io/v1alpha1\nkind: 3D\n", "kind", "letters and digits"),
    ],
)
def test_envelope_errors(header, field, message):
    text = header + "metadata:\n  name: a\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
    (error,) = parse_file(text, "x.yaml").errors
    assert (error.document, error.field) == (1, field)
    assert message in error.message


def test_other_group_version_is_accepted_for_unknown_and_unvalidated_kinds():
    text = "apiVersion: ml.example.com/v1beta2\nkind: ModelCard\nmetadata: {name: m}\n"
    text += "---\napiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\n"
    text += "metadata: {name: t}\nspec: {steps: []}\n"
    parsed = parse_file(text, "x.yaml")
    assert [(e.kind, e.api_version, e.spec) for e in parsed.entities] == [
        ("ModelCard", "ml.example.com/v1beta2", {}),
        ("Template", "scaffolder.backstage.io/v1beta3", {"steps": []}),
    ]


def test_metadata_required_and_spec_must_be_a_mapping():
    assert problems("apiVersion: a.io/v1\nkind: Thing\n") == [(1, "metadata")]
    assert problems("apiVersion: a.io/v1\nkind: Thing\nmetadata: {}\n") == [(1, "metadata.name")]
    assert problems("apiVersion: a.io/v1\nkind: Thing\nmetadata: [a]\n") == [(1, "metadata")]
    assert problems("apiVersion: a.io/v1\nkind: Thing\nmetadata: {name: a}\nspec: [1]\n") == [(1, "spec")]
    assert problems("apiVersion: a.io/v1\nkind: Thing\nmetadata: {name: a, annotations: }\n") == [
        (1, "metadata.annotations")
    ]


def test_valid_metadata_is_returned_as_written_with_stripped_urls_and_annotations():
    text = """\
apiVersion: backstage.io/v1beta1
kind: Component
metadata:
  name: fraud.scorer_v2
  namespace: ml-platform
  title: Fraud scorer
  description: Scores payments.
  labels: {example.com/tier: gold, empty: ""}
  annotations: {mlflow.org/registered-model: "  fraud-scorer  ", backstage.io/techdocs-ref: "dir:."}
  tags: [c++, "c#", "k8s:gpu", ml-model]
  links:
    - url: "  https://mlflow.example.com/#/models/fraud  "
      title: MLflow
      icon: dashboard
      type: registry
      x: 1
spec:
  type: ml-model
  lifecycle: " experimental "
  owner: " group:ml-platform/fraud-team "
  system: payments
  dependsOn: [" resource:feature-store", "component:ml-platform/embedder"]
  providesApis: [scoring]
"""
    (entity,) = parse_file(text, "x.yaml").entities
    assert entity.ref == EntityRef("component", "ml-platform", "fraud.scorer_v2")
    assert (entity.title, entity.description) == ("Fraud scorer", "Scores payments.")
    assert entity.labels == {"example.com/tier": "gold", "empty": ""}
    assert entity.annotations == {
        "mlflow.org/registered-model": "fraud-scorer",
        "backstage.io/techdocs-ref": "dir:.",
    }
    assert entity.tags == ("c++", "c#", "k8s:gpu", "ml-model")
    assert entity.links == (
        {
            "url": "https://mlflow.example.com/#/models/fraud",
            "title": "MLflow",
            "icon": "dashboard",
            "type": "registry",
        },
    )
    assert entity.spec["owner"] == "group:ml-platform/fraud-team"
    assert entity.spec["lifecycle"] == " experimental "
    assert entity.spec["dependsOn"] == ["resource:feature-store", "component:ml-platform/embedder"]


@pytest.mark.parametrize(
    ("kind", "spec", "expected"),
    [
        ("Component", "{}", ["spec.type", "spec.lifecycle", "spec.owner"]),
        ("Component", None, ["spec"]),
        ("Component", "{type: s, lifecycle: p, owner: 7}", ["spec.owner"]),
        ("Component", "{type: s, lifecycle: p, owner: '  '}", ["spec.owner"]),
        ("Component", "{type: s, lifecycle: p, owner: 'a:b:c'}", ["spec.owner"]),
        ("Component", "{type: s, lifecycle: p, owner: t, dependsOn: [feature-store]}", ["spec.dependsOn.0"]),
        ("Component", "{type: s, lifecycle: p, owner: t, providesApis: api:x}", ["spec.providesApis"]),
        (
            "Component",
            "{type: s, lifecycle: p, owner: t, system: {name: x}, subcomponentOf: ''}",
            ["spec.system", "spec.subcomponentOf"],
        ),
        ("System", "{}", ["spec.owner"]),
        ("System", "{owner: t, domain: [d]}", ["spec.domain"]),
        ("Group", "{}", ["spec.type", "spec.children"]),
        (
            "Group",
            "{type: team, children: [], parent: 'a/b/c', members: [ok, 3]}",
            ["spec.parent", "spec.members.1"],
        ),
        (
            "Group",
            "{type: team, children: [], profile: {displayName: '', email: 3}}",
            ["spec.profile.displayName", "spec.profile.email"],
        ),
        ("User", "{}", ["spec.memberOf"]),
        ("User", "{memberOf: team-a, profile: x}", ["spec.profile", "spec.memberOf"]),
        ("Location", "{}", ["spec"]),
        ("Location", "{targets: []}", ["spec"]),
        (
            "Location",
            "{type: '', target: 3, targets: ['', 4]}",
            ["spec.type", "spec.target", "spec.targets.0", "spec.targets.1"],
        ),
    ],
)
def test_kind_specific_spec_errors(kind, spec, expected):
    text = f"apiVersion: backstage.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: x\n"
    if spec is not None:
        text += f"spec: {spec}\n"
    assert [field for _, field in problems(text)] == expected


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("System", "{owner: team-a, domain: artists}"),
        ("Group", "{type: team, children: [], members: [user:jdoe], parent: org, profile: {email: t@x.io}}"),
        ("User", "{memberOf: [], profile: {displayName: 'Jo ', email: jo@x.io}}"),
        ("Location", "{target: ./a.yaml}"),
        ("Location", "{type: url, targets: ['https://x/catalog-info.yaml']}"),
        ("API", "{definition: {$text: ./a.yaml}}"),
        ("Resource", "{type: db}"),
        ("Domain", "{}"),
    ],
)
def test_kind_specific_spec_valid(kind, spec):
    text = f"apiVersion: backstage.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: x\nspec: {spec}\n"
    assert problems(text) == []


def test_duplicate_entity_in_one_file():
    other_namespace = component("b").replace("name: b", "name: b\n  namespace: other")
    text = "---\n".join([component("a"), component("b"), component("A"), system("a"), other_namespace])
    parsed = parse_file(text, "catalog-info.yaml")
    assert [str(entity.ref) for entity in parsed.entities] == [
        "component:default/a",
        "component:default/b",
        "system:default/a",
        "component:other/b",
    ]
    (error,) = parsed.errors
    assert (error.document, error.field) == (3, None)
    assert error.message == "duplicate of document 1: component:default/A is declared twice"
    assert parsed.failed_documents == (3,)


def test_path_is_normalized():
    parsed = parse_file(component("a") + "---\n[]\n", "./ml/../catalog-info.yaml")
    assert parsed.path == "catalog-info.yaml"
    assert parsed.entities[0].path == "catalog-info.yaml"
    assert parsed.errors[0].path == "catalog-info.yaml"


def test_location_targets():
    text = location(" ./b.yaml ", "c.yaml", extra="  target: ' a.yaml'\n")
    (entity,) = parse_file(text, "x.yaml").entities
    assert location_targets(entity) == ["a.yaml", "./b.yaml", "c.yaml"]
    (other,) = parse_file(component("a"), "x.yaml").entities
    with pytest.raises(ValueError, match="not a Location"):
        location_targets(other)


# --- load_tree ----------------------------------------------------------------------------------------------


def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*/|\*|\?)", pattern)
    translated = {"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(translated.get(part, re.escape(part)) for part in parts))


class FakeReader:
    """An in-memory DescriptorReader that records what it was asked."""

    def __init__(self, files: dict[str, str], unreadable: tuple[str, ...] = ()):
        self.files = files
        self.unreadable = unreadable
        self.reads: list[str] = []
        self.globs: list[str] = []

    def read(self, path: str) -> str:
        self.reads.append(path)
        if path in self.unreadable:
            raise PermissionError(13, "Permission denied", path)
        if path not in self.files:
            raise FileNotFoundError(path)
        return self.files[path]

    def glob(self, pattern: str) -> list[str]:
        self.globs.append(pattern)
        regex = _glob_regex(pattern)
        return sorted(path for path in self.files if regex.fullmatch(path))


def test_load_tree_follows_relative_targets_nested_locations_and_globs_reading_each_file_once():
    reader = FakeReader(
        {
            "all.yaml": location("./teams/org.yaml", "components/*.yaml"),
            "teams/org.yaml": system("x")
            + "---\n"
            + location("./team-a.yaml", "../components/c1.yaml", name="teams"),
            "teams/team-a.yaml": component("in-team-a"),
            "components/c1.yaml": component("c1"),
            "components/c2.yaml": component("c2"),
            "components/nested/c3.yaml": component("c3"),
            "unrelated.yaml": component("never"),
        }
    )
    files = load_tree(reader, ["all.yaml"])
    assert [file.path for file in files] == [
        "all.yaml",
        "teams/org.yaml",
        "components/c1.yaml",
        "components/c2.yaml",
        "teams/team-a.yaml",
    ]
    assert all(file.errors == () and file.complete for file in files)
    assert sorted(reader.reads) == sorted({file.path for file in files})
    assert reader.globs == ["components/*.yaml"]
    assert [entity.name for file in files for entity in file.entities] == [
        "loc",
        "x",
        "teams",
        "c1",
        "c2",
        "in-team-a",
    ]


def test_load_tree_recursive_glob():
    reader = FakeReader(
        {
            "catalog-info.yaml": location("./services/**/catalog-info.yaml"),
            "services/catalog-info.yaml": component("top"),
            "services/a/catalog-info.yaml": component("a"),
            "services/a/b/catalog-info.yaml": component("b"),
            "services/a/other.yaml": component("other"),
        }
    )
    files = load_tree(reader, ["catalog-info.yaml"])
    assert [file.path for file in files] == [
        "catalog-info.yaml",
        "services/a/b/catalog-info.yaml",
        "services/a/catalog-info.yaml",
        "services/catalog-info.yaml",
    ]


def test_load_tree_cycles_and_self_references_end():
    reader = FakeReader(
        {
            "a.yaml": location("./b.yaml", "a.yaml", "*.yaml"),
            "b.yaml": location("./a.yaml", "./sub/../b.yaml", name="loc-b"),
        }
    )
    files = load_tree(reader, ["a.yaml", "./b.yaml", "a.yaml"])
    assert [file.path for file in files] == ["a.yaml", "b.yaml"]
    assert all(file.errors == () for file in files)
    assert reader.reads == ["a.yaml", "b.yaml"]


def test_load_tree_errors_go_on_the_location_file():
    reader = FakeReader(
        {
            "catalog/all.yaml": location(
                "../../etc/passwd",
                "/etc/passwd",
                "./missing.yaml",
                "https://github.com/acme/repo/blob/main/catalog-info.yaml",
                "nothing-*.yaml",
                "./secret.yaml",
                "../ok.yaml",
            ),
            "catalog/secret.yaml": component("s"),
            "ok.yaml": component("ok"),
        },
        unreadable=("catalog/secret.yaml",),
    )
    files = load_tree(reader, ["catalog/all.yaml"])
    assert [file.path for file in files] == ["catalog/all.yaml", "ok.yaml"]
    loc = files[0]
    assert [entity.name for entity in loc.entities] == ["loc"]
    assert loc.complete is True
    assert all((error.path, error.document) == ("catalog/all.yaml", 1) for error in loc.errors)
    assert [(error.field, error.message) for error in loc.errors] == [
        ("spec.targets.0", "target '../../etc/passwd' is outside the root directory"),
        ("spec.targets.1", "target '/etc/passwd' is outside the root directory"),
        ("spec.targets.2", "target './missing.yaml' not found (catalog/missing.yaml)"),
        (
            "spec.targets.3",
            "target 'https://github.com/acme/repo/blob/main/catalog-info.yaml': "
            "url locations are not read by this source",
        ),
        ("spec.targets.4", "target 'nothing-*.yaml' matches no file (catalog/nothing-*.yaml)"),
        (
            "spec.targets.5",
            "target './secret.yaml' (catalog/secret.yaml) cannot be read: "
            "[Errno 13] Permission denied: 'catalog/secret.yaml'",
        ),
    ]
    assert "etc/passwd" not in reader.reads
    assert not any(path.startswith(("/", "..", "https")) for path in reader.reads)


def test_load_tree_url_and_other_location_types_are_not_read():
    reader = FakeReader(
        {
            "a.yaml": location("./b.yaml", extra="  type: url\n")
            + "---\n"
            + location("acme-org", name="org", extra="  type: github-org\n"),
            "b.yaml": component("b"),
        }
    )
    (file,) = load_tree(reader, ["a.yaml"])
    assert [(error.document, error.field, error.message) for error in file.errors] == [
        (1, "spec.targets.0", "target './b.yaml': url locations are not read by this source"),
        (
            2,
            "spec.targets.0",
            "target 'acme-org': locations of type 'github-org' are not read by this source",
        ),
    ]
    assert reader.reads == ["a.yaml"]


def test_load_tree_corpus_all_yaml_reports_each_missing_target():
    text = (CORPUS / (PREFIX + "all.yaml")).read_text(encoding="utf-8")
    (file,) = load_tree(FakeReader({"examples/all.yaml": text}), ["examples/all.yaml"])
    assert [error.message for error in file.errors] == [
        f"target './{name}.yaml' not found (examples/{name}.yaml)"
        for name in (
            "all-ai-resources",
            "all-apis",
            "all-components",
            "all-domains",
            "all-resources",
            "all-systems",
        )
    ]


def test_load_tree_stops_at_max_files():
    reader = FakeReader(
        {
            "a.yaml": location("./b.yaml"),
            "b.yaml": location("./c.yaml", "./d.yaml", name="loc-b"),
            "c.yaml": component("c"),
            "d.yaml": component("d"),
        }
    )
    files = load_tree(reader, ["a.yaml"], max_files=3)
    assert [file.path for file in files] == ["a.yaml", "b.yaml", "c.yaml"]
    b = files[1]
    assert b.errors == (
        DescriptorError(
            "b.yaml",
            "target './d.yaml' (d.yaml) not read: the limit of 3 descriptor files was reached",
            1,
            "spec.targets.1",
        ),
    )
    assert b.complete is False
    assert "d.yaml" not in reader.reads


def test_load_tree_roots_missing_unreadable_beyond_limit_and_outside():
    reader = FakeReader(
        {"a.yaml": component("a"), "b.yaml": component("b"), "c.yaml": component("c")}, ("b.yaml",)
    )
    files = load_tree(reader, ["gone.yaml", "./x/../a.yaml", "b.yaml", "c.yaml"], max_files=2)
    assert [(file.path, file.complete, [error.message for error in file.errors]) for file in files] == [
        ("a.yaml", True, []),
        ("b.yaml", False, ["cannot be read: [Errno 13] Permission denied: 'b.yaml'"]),
        ("c.yaml", False, ["the limit of 2 descriptor files was reached"]),
    ]
    with pytest.raises(ValueError, match="outside the root"):
        load_tree(reader, ["../a.yaml"])


def test_load_tree_does_not_follow_an_invalid_location():
    reader = FakeReader(
        {
            "a.yaml": location("./b.yaml").replace("kind: Location", "kind: Location\nextra: 1"),
            "b.yaml": component("b"),
        }
    )
    (file,) = load_tree(reader, ["a.yaml"])
    assert [(error.field, error.document) for error in file.errors] == [("extra", 1)]
    assert file.entities == ()
    assert reader.reads == ["a.yaml"]
