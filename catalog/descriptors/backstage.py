"""Backstage descriptor files (``catalog-info.yaml``): parsing, validation, entity references, Locations.

Spec: https://backstage.io/docs/features/software-catalog/descriptor-format and the rules of Backstage's
catalog-model: ``schema/kinds/*.schema.json``, ``KubernetesValidatorFunctions``, ``makeValidator`` (tags),
``FieldFormatEntityPolicy`` and ``NoForeignRootFieldsEntityPolicy``; entity references per
https://backstage.io/docs/features/software-catalog/references.

Where this module differs from a plain reading, on purpose:

- YAML scalars follow the YAML 1.2 core schema, as Backstage's reader does: ``2021-11-10``, ``yes`` and ``on``
  stay strings (PyYAML's YAML 1.1 defaults would turn them into dates and booleans). A duplicate mapping key
  is a YAML error, as in Backstage.
- Surrounding whitespace is stripped from ``metadata.links[].url``, annotation values, the entity references
  in the spec of the validated kinds (Component, System, Group, User) and Location targets. Every other value
  is kept as written (a ``displayName`` with a trailing space keeps it).
- The spec of Component, System, Group, User and Location is validated against Backstage's schemas; the spec
  of other kinds (API, Resource, Domain, Template, unknown kinds such as ``AiResource``) only has to be a
  mapping. A known kind spelled in another case (``kind: component``) is an error, since Backstage's schemas
  do not accept it either. A Location must name at least one target.
"""

from __future__ import annotations

import posixpath
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Protocol

import yaml

from catalog.connectors.records import DescriptorError, DescriptorFile, Entity, EntityRef

DEFAULT_NAMESPACE = "default"

# --- YAML -------------------------------------------------------------------------------------------------

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LIBYAML = _SafeLoader is not yaml.SafeLoader
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(_SafeLoader):
    """libyaml's safe loader with YAML 1.2 core-schema scalars and no duplicate mapping keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key_node.value!r}",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    value = loader.construct_scalar(node)
    try:
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value, 10)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"invalid integer {value!r}", node.start_mark
        ) from None


# https://yaml.org/spec/1.2.2/#1032-tag-resolution (core schema); ints come before floats: first match wins.
_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("null", r"(?:~|null|Null|NULL|)\Z", ["~", "n", "N", ""]),
    ("bool", r"(?:true|True|TRUE|false|False|FALSE)\Z", list("tTfF")),
    ("int", r"(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z", list("-+0123456789")),
    (
        "float",
        r"(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z",
        list("-+.0123456789"),
    ),
    ("merge", r"<<\Z", ["<"]),
):
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), _first)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _yaml_problem(exc: Exception, text: str) -> str:
    """One line for a YAML error: what is wrong and where (1-based line and column), when known."""
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = f"{exc.problem} ({exc.context})" if exc.context else str(exc.problem)
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
        return f"invalid YAML: {problem}"
    if isinstance(exc, yaml.reader.ReaderError):
        # libyaml counts bytes of the UTF-8 text, PyYAML's own reader characters
        before = text.encode()[: exc.position].decode(errors="replace") if _LIBYAML else text[: exc.position]
        line = before.count("\n") + 1
        column = len(before) - before.rfind("\n")
        return f"invalid YAML at line {line}, column {column}: {exc.reason} (character #x{exc.character:04x})"
    return f"invalid YAML: {exc}"


# --- field rules (Backstage's KubernetesValidatorFunctions and makeValidator) ------------------------------

_OBJECT_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_LABEL = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TAG = re.compile(r"[a-z0-9:+#]+(?:-[a-z0-9:+#]+)*")
_KIND = re.compile(r"[a-zA-Z][a-zA-Z0-9]*")
_VERSION = re.compile(r"[a-zA-Z0-9]+")
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:\S")
_REF = re.compile(r"(?:([^:/\s]+):)?(?:([^:/\s]+)/)?([^:/\s]+)")

_NAME_RULE = "1-63 characters of [a-zA-Z0-9] separated by any of [-_.]"
_DNS_RULE = "1-63 characters of [a-z0-9] separated by [-]"
_KEY_RULE = "an optional DNS subdomain prefix and '/', then " + _NAME_RULE
_TAG_RULE = "1-63 characters of [a-z0-9:+#] separated by [-]"

_KNOWN_API_VERSIONS = ("backstage.io/v1alpha1", "backstage.io/v1beta1")
_BACKSTAGE_KINDS = {
    kind.lower(): kind
    for kind in ("API", "Component", "Domain", "Group", "Location", "Resource", "System", "Template", "User")
}
_ROOT_FIELDS = frozenset({"apiVersion", "kind", "metadata", "spec", "relations", "status"})
_LINK_FIELDS = ("title", "icon", "type")
_PROFILE_FIELDS = ("displayName", "email", "picture")
_GLOB_CHARS = re.compile(r"[*?]")
_URL_TARGET = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")
_MISSING = object()

_Problems = list[tuple[str | None, str]]


def _is_object_name(value: str) -> bool:
    return len(value) <= 63 and _OBJECT_NAME.fullmatch(value) is not None


def _is_dns_label(value: str) -> bool:
    return len(value) <= 63 and _DNS_LABEL.fullmatch(value) is not None


def _is_dns_subdomain(value: str) -> bool:
    return 1 <= len(value) <= 253 and all(_is_dns_label(label) for label in value.split("."))


def _is_key(value: str) -> bool:
    """A label or annotation key: ``[dns-subdomain/]object-name``."""
    prefix, slash, name = value.rpartition("/")
    if not slash:
        return _is_object_name(value)
    return "/" not in prefix and _is_dns_subdomain(prefix) and _is_object_name(name)


def _is_api_version(value: str) -> bool:
    group, slash, version = value.partition("/")
    return (
        bool(slash) and _is_dns_subdomain(group) and len(version) <= 63 and bool(_VERSION.fullmatch(version))
    )


def _what(value: object) -> str:
    """How a wrong value reads in a message: ``a list``, ``a number``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"{value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


# --- entity references -------------------------------------------------------------------------------------


def parse_ref(
    ref: str | Mapping[str, Any],
    *,
    default_kind: str | None = None,
    default_namespace: str = DEFAULT_NAMESPACE,
) -> EntityRef:
    """Parse an entity reference ``[<kind>:][<namespace>/]<name>`` or the legacy ``{kind, namespace, name}``.

    Surrounding whitespace is ignored; the kind is lowercased, namespace and name are kept as written. Raises
    ``ValueError`` on a malformed reference (empty part, extra ``:`` or ``/``, whitespace inside) or when it
    names no kind and ``default_kind`` is None.
    Spec: https://backstage.io/docs/features/software-catalog/references
    """
    if isinstance(ref, Mapping):
        kind, namespace, name = _parse_ref_mapping(ref)
    elif isinstance(ref, str):
        match = _REF.fullmatch(ref.strip())
        if match is None:
            raise ValueError(f"entity reference {ref!r} is not of the form [<kind>:][<namespace>/]<name>")
        kind, namespace, name = match.groups()
    else:
        raise ValueError(f"an entity reference must be a string, found {_what(ref)}")
    kind = kind or default_kind
    if not kind:
        raise ValueError(
            f"entity reference {ref!r} has no kind and no default kind applies here (write <kind>:{name})"
        )
    return EntityRef(kind.lower(), namespace or default_namespace, name)


def _parse_ref_mapping(ref: Mapping[str, Any]) -> tuple[str | None, str | None, str]:
    unknown = sorted(str(key) for key in ref if key not in ("kind", "namespace", "name"))
    if unknown:
        raise ValueError(f"entity reference {dict(ref)!r} has unknown keys: {', '.join(unknown)}")
    parts = []
    for key in ("kind", "namespace", "name"):
        value = ref.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"entity reference {dict(ref)!r}: {key} must be a non-empty string")
        parts.append(value.strip() if value is not None else None)
    kind, namespace, name = parts
    if name is None:
        raise ValueError(f"entity reference {dict(ref)!r} has no name")
    return kind, namespace, name


# --- documents -------------------------------------------------------------------------------------------


def parse_file(text: str, path: str) -> DescriptorFile:
    """Parse and validate a (multi-document) ``catalog-info.yaml``.

    ``path`` is the file's posix path relative to its root (normalized: ``./a/../b.yaml`` is ``b.yaml``).
    Empty documents are skipped. Each other document becomes an ``Entity`` or, when invalid, the
    ``DescriptorError``s of all its problems (field named as a dotted path, document 1-based) and its index in
    ``failed_documents``; a second entity with the same kind, namespace and name in the file is an error.
    Invalid YAML stops the reading: the documents before it are kept, the error names the document, line
    and column, and ``complete`` is False. Never raises on bad content.
    """
    path = _normalize(path)
    entities: list[Entity] = []
    errors: list[DescriptorError] = []
    failed: list[int] = []
    declared: dict[tuple[str, str, str], int] = {}
    complete = True
    documents = yaml.load_all(text, Loader=_Loader)
    index = 0
    while True:
        try:
            document = next(documents)
        except StopIteration:
            break
        except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
            errors.append(DescriptorError(path, _yaml_problem(exc, text), index + 1))
            failed.append(index + 1)
            complete = False
            break
        index += 1
        if document is None:
            continue
        problems: _Problems = []
        entity = _read_entity(document, path, index, problems)
        if entity is not None:
            identity = (entity.kind.lower(), entity.namespace.lower(), entity.name.lower())
            first = declared.setdefault(identity, index)
            if first != index:
                problems.append((None, f"duplicate of document {first}: {entity.ref} is declared twice"))
        if problems:
            errors.extend(DescriptorError(path, message, index, field) for field, message in problems)
            failed.append(index)
        else:
            entities.append(entity)
    return DescriptorFile(path, tuple(entities), tuple(errors), tuple(failed), complete)


def _read_entity(document: object, path: str, index: int, problems: _Problems) -> Entity | None:
    """The entity of one YAML document, or None; every problem found is appended to ``problems``."""
    if not isinstance(document, dict):
        problems.append((None, f"a document must be a mapping (an entity), found {_what(document)}"))
        return None
    for key in document:
        if key not in _ROOT_FIELDS:
            problems.append(
                (str(key), "unknown root field; allowed: apiVersion, kind, metadata, spec, relations, status")
            )

    api_version = document.get("apiVersion")
    kind = document.get("kind")
    checker = _SPEC_CHECKERS.get(kind) if isinstance(kind, str) else None
    if api_version is None:
        problems.append(("apiVersion", "is required"))
    elif not isinstance(api_version, str) or not _is_api_version(api_version):
        problems.append(
            (
                "apiVersion",
                f"must be <group>/<version> such as backstage.io/v1alpha1, found {_what(api_version)}",
            )
        )
    elif checker is not None and api_version not in _KNOWN_API_VERSIONS:
        expected = " or ".join(_KNOWN_API_VERSIONS)
        problems.append(("apiVersion", f"must be {expected} for kind {kind}, found {api_version!r}"))

    if kind is None:
        problems.append(("kind", "is required"))
    elif not isinstance(kind, str) or len(kind) > 63 or not _KIND.fullmatch(kind):
        problems.append(
            ("kind", f"must be 1-63 letters and digits starting with a letter, found {_what(kind)}")
        )
    elif _BACKSTAGE_KINDS.get(kind.lower(), kind) != kind:
        problems.append(("kind", f"must be spelled {_BACKSTAGE_KINDS[kind.lower()]!r}, found {kind!r}"))

    metadata = document.get("metadata")
    if isinstance(metadata, dict):
        fields = _read_metadata(metadata, problems)
    else:
        found = "is required" if metadata is None else f"must be a mapping, found {_what(metadata)}"
        problems.append(("metadata", found))
        fields = {}

    spec = document.get("spec", _MISSING)
    if spec is _MISSING:
        if checker is not None:
            problems.append(("spec", "is required"))
        spec = {}
    elif not isinstance(spec, dict):
        problems.append(("spec", f"must be a mapping, found {_what(spec)}"))
        spec = {}
    elif checker is not None:
        checker(spec, problems)

    if problems:
        return None
    return Entity(api_version=api_version, kind=kind, path=path, document=index, spec=spec, **fields)


def _read_metadata(metadata: dict[str, Any], problems: _Problems) -> dict[str, Any]:
    """The ``Entity`` fields read from ``metadata``."""
    return {
        "name": _read_name(metadata, problems),
        "namespace": _read_namespace(metadata, problems),
        "title": _read_text(metadata, "title", problems),
        "description": _read_text(metadata, "description", problems),
        "labels": _read_labels(metadata, problems),
        "annotations": _read_annotations(metadata, problems),
        "tags": _read_tags(metadata, problems),
        "links": _read_links(metadata, problems),
    }


def _read_name(metadata: dict[str, Any], problems: _Problems) -> str:
    name = metadata.get("name")
    if name is None:
        problems.append(("metadata.name", "is required"))
        return ""
    if not isinstance(name, str) or not _is_object_name(name):
        problems.append(("metadata.name", f"must be {_NAME_RULE}, found {_what(name)}"))
        return ""
    return name


def _read_namespace(metadata: dict[str, Any], problems: _Problems) -> str:
    namespace = metadata.get("namespace", _MISSING)
    if namespace is _MISSING:
        return DEFAULT_NAMESPACE
    if not isinstance(namespace, str) or not _is_dns_label(namespace):
        problems.append(("metadata.namespace", f"must be {_DNS_RULE}, found {_what(namespace)}"))
        return DEFAULT_NAMESPACE
    return namespace


def _read_text(metadata: dict[str, Any], key: str, problems: _Problems) -> str:
    value = metadata.get(key, "")
    if not isinstance(value, str):
        problems.append((f"metadata.{key}", f"must be a string, found {_what(value)}"))
        return ""
    return value


def _read_mapping(metadata: dict[str, Any], key: str, problems: _Problems) -> dict[Any, Any]:
    value = metadata.get(key, _MISSING)
    if value is _MISSING:
        return {}
    if not isinstance(value, dict):
        problems.append((f"metadata.{key}", f"must be a mapping, found {_what(value)}"))
        return {}
    return value


def _read_labels(metadata: dict[str, Any], problems: _Problems) -> dict[str, str]:
    labels = _read_mapping(metadata, "labels", problems)
    for key, value in labels.items():
        field = f"metadata.labels.{key}"
        if not isinstance(key, str) or not _is_key(key):
            problems.append((field, f"key must be {_KEY_RULE}"))
        if not isinstance(value, str) or (value and not _is_object_name(value)):
            problems.append((field, f"value must be empty or {_NAME_RULE}, found {_what(value)}"))
    return dict(labels)


def _read_annotations(metadata: dict[str, Any], problems: _Problems) -> dict[str, str]:
    annotations = _read_mapping(metadata, "annotations", problems)
    result = {}
    for key, value in annotations.items():
        field = f"metadata.annotations.{key}"
        if not isinstance(key, str) or not _is_key(key):
            problems.append((field, f"key must be {_KEY_RULE}"))
        if not isinstance(value, str):
            problems.append((field, f"value must be a string (quote it in YAML), found {_what(value)}"))
            continue
        result[key] = value.strip()
    return result


def _read_tags(metadata: dict[str, Any], problems: _Problems) -> tuple[str, ...]:
    tags = metadata.get("tags", _MISSING)
    if tags is _MISSING:
        return ()
    if not isinstance(tags, list):
        problems.append(("metadata.tags", f"must be a list, found {_what(tags)}"))
        return ()
    for i, tag in enumerate(tags):
        if not isinstance(tag, str) or len(tag) > 63 or not _TAG.fullmatch(tag):
            problems.append((f"metadata.tags.{i}", f"must be {_TAG_RULE}, found {_what(tag)}"))
    return tuple(tags)


def _read_links(metadata: dict[str, Any], problems: _Problems) -> tuple[dict[str, str], ...]:
    """``metadata.links`` as ``{url, title?, icon?, type?}`` dicts (url stripped, other keys dropped)."""
    links = metadata.get("links", _MISSING)
    if links is _MISSING:
        return ()
    if not isinstance(links, list):
        problems.append(("metadata.links", f"must be a list, found {_what(links)}"))
        return ()
    result = []
    for i, link in enumerate(links):
        field = f"metadata.links.{i}"
        if not isinstance(link, dict):
            problems.append((field, f"must be a mapping with a url, found {_what(link)}"))
            continue
        url = link.get("url")
        if url is None:
            problems.append((f"{field}.url", "is required"))
            continue
        if not isinstance(url, str) or not _URL.match(url.strip()):
            problems.append((f"{field}.url", f"must be an absolute URL, found {_what(url)}"))
            continue
        clean = {"url": url.strip()}
        for key in _LINK_FIELDS:
            value = link.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                problems.append((f"{field}.{key}", f"must be a string, found {_what(value)}"))
                continue
            clean[key] = value
        result.append(clean)
    return tuple(result)


# --- spec of the kinds the portal imports (Backstage's schema/kinds/*.v1alpha1.schema.json) -----------------


def _check_text(spec: dict[str, Any], key: str, problems: _Problems, *, required: bool = False) -> None:
    value = spec.get(key, _MISSING)
    if value is _MISSING:
        if required:
            problems.append((f"spec.{key}", "is required"))
    elif not isinstance(value, str) or not value.strip():
        problems.append((f"spec.{key}", f"must be a non-empty string, found {_what(value)}"))


def _check_ref_value(value: object, field: str, default_kind: str | None, problems: _Problems) -> object:
    """The reference stripped, after checking it; a wrong value is returned unchanged."""
    if not isinstance(value, str) or not value.strip():
        problems.append((field, f"must be an entity reference such as group:team-a, found {_what(value)}"))
        return value
    value = value.strip()
    try:
        parse_ref(value, default_kind=default_kind)
    except ValueError as exc:
        problems.append((field, str(exc)))
    return value


def _check_ref(
    spec: dict[str, Any], key: str, default_kind: str | None, problems: _Problems, *, required: bool = False
) -> None:
    value = spec.get(key, _MISSING)
    if value is _MISSING:
        if required:
            problems.append((f"spec.{key}", "is required"))
        return
    spec[key] = _check_ref_value(value, f"spec.{key}", default_kind, problems)


def _check_refs(
    spec: dict[str, Any], key: str, default_kind: str | None, problems: _Problems, *, required: bool = False
) -> None:
    value = spec.get(key, _MISSING)
    if value is _MISSING:
        if required:
            problems.append((f"spec.{key}", "is required (it may be an empty list)"))
        return
    if not isinstance(value, list):
        problems.append((f"spec.{key}", f"must be a list of entity references, found {_what(value)}"))
        return
    spec[key] = [
        _check_ref_value(item, f"spec.{key}.{i}", default_kind, problems) for i, item in enumerate(value)
    ]


def _check_profile(spec: dict[str, Any], problems: _Problems) -> None:
    profile = spec.get("profile", _MISSING)
    if profile is _MISSING:
        return
    if not isinstance(profile, dict):
        problems.append(("spec.profile", f"must be a mapping, found {_what(profile)}"))
        return
    for key in _PROFILE_FIELDS:
        value = profile.get(key, _MISSING)
        if value is not _MISSING and (not isinstance(value, str) or not value):
            problems.append((f"spec.profile.{key}", f"must be a non-empty string, found {_what(value)}"))


def _check_component(spec: dict[str, Any], problems: _Problems) -> None:
    _check_text(spec, "type", problems, required=True)
    _check_text(spec, "lifecycle", problems, required=True)
    _check_ref(spec, "owner", "group", problems, required=True)
    _check_ref(spec, "system", "system", problems)
    _check_ref(spec, "subcomponentOf", "component", problems)
    _check_refs(spec, "providesApis", "api", problems)
    _check_refs(spec, "consumesApis", "api", problems)
    _check_refs(spec, "dependsOn", None, problems)
    _check_refs(spec, "dependencyOf", None, problems)


def _check_system(spec: dict[str, Any], problems: _Problems) -> None:
    _check_ref(spec, "owner", "group", problems, required=True)
    _check_ref(spec, "domain", "domain", problems)


def _check_group(spec: dict[str, Any], problems: _Problems) -> None:
    _check_text(spec, "type", problems, required=True)
    _check_profile(spec, problems)
    _check_ref(spec, "parent", "group", problems)
    _check_refs(spec, "children", "group", problems, required=True)
    _check_refs(spec, "members", "user", problems)


def _check_user(spec: dict[str, Any], problems: _Problems) -> None:
    _check_profile(spec, problems)
    _check_refs(spec, "memberOf", "group", problems, required=True)


def _check_location(spec: dict[str, Any], problems: _Problems) -> None:
    _check_text(spec, "type", problems)
    _check_text(spec, "target", problems)
    targets = spec.get("targets", [])
    if not isinstance(targets, list):
        problems.append(("spec.targets", f"must be a list of strings, found {_what(targets)}"))
        return
    for i, target in enumerate(targets):
        if not isinstance(target, str) or not target.strip():
            problems.append((f"spec.targets.{i}", f"must be a non-empty string, found {_what(target)}"))
    if "target" not in spec and not targets:
        problems.append(("spec", "a Location needs a target or a non-empty list of targets"))


_SPEC_CHECKERS = {
    "Component": _check_component,
    "System": _check_system,
    "Group": _check_group,
    "User": _check_user,
    "Location": _check_location,
}


# --- Locations and trees of descriptor files ---------------------------------------------------------------


def location_targets(entity: Entity) -> list[str]:
    """The targets of a Location entity, ``spec.target`` first then ``spec.targets``, stripped.

    Raises ``ValueError`` when the entity is not a Location.
    """
    return [target for _, target in _location_targets(entity)]


def _location_targets(entity: Entity) -> list[tuple[str, str]]:
    """``(field, target)`` pairs of a Location entity."""
    if entity.kind != "Location":
        raise ValueError(f"{entity.ref} is not a Location")
    pairs = []
    if isinstance(entity.spec.get("target"), str):
        pairs.append(("spec.target", entity.spec["target"].strip()))
    for i, target in enumerate(entity.spec.get("targets") or ()):
        pairs.append((f"spec.targets.{i}", target.strip()))
    return pairs


class DescriptorReader(Protocol):
    """Read access to a tree of descriptor files; paths are posix paths relative to the tree's root."""

    def read(self, path: str) -> str:
        """The text of the file; raises ``FileNotFoundError`` when there is none."""
        ...

    def glob(self, pattern: str) -> list[str]:
        """The files matching ``pattern`` (``*``, ``?``, ``**`` for any number of directories), sorted."""
        ...


def load_tree(
    reader: DescriptorReader, root_paths: Iterable[str], *, max_files: int = 1000
) -> list[DescriptorFile]:
    """Read the descriptor files ``root_paths`` and, through their Location entities, every file they target.

    Returns one ``DescriptorFile`` per file read (Location files included), each root followed by the files
    it leads to. A root that does not exist is skipped. Location targets of type ``file`` (the default) are
    resolved against the directory of the Location's file and may be globs; each file is read once. A target
    that is a URL, of another type, outside the root, missing, or beyond ``max_files`` files gives an error on
    the Location's file; when ``max_files`` stops the reading, that file is marked incomplete so that the
    entities of the files not read are not taken as gone. A root that cannot be read (or is beyond the limit)
    gives an incomplete ``DescriptorFile`` holding the error. Raises ``ValueError`` for a root outside the
    root directory.
    """
    files: list[DescriptorFile] = []
    seen: set[str] = set()
    for root in root_paths:
        path = _normalize(root)
        if _escapes(path):
            raise ValueError(f"descriptor root {root!r} is outside the root directory")
        if path in seen:
            continue
        if len(seen) >= max_files:
            files.append(
                DescriptorFile(
                    path, errors=(DescriptorError(path, _limit_message(max_files)),), complete=False
                )
            )
            continue
        try:
            text = reader.read(path)
        except FileNotFoundError:
            continue
        except (OSError, UnicodeError) as exc:
            seen.add(path)
            files.append(
                DescriptorFile(
                    path, errors=(DescriptorError(path, f"cannot be read: {exc}"),), complete=False
                )
            )
            continue
        seen.add(path)
        queue = deque([(path, text)])
        while queue:
            files.append(_follow(reader, *queue.popleft(), seen, queue, max_files))
    return files


def _follow(
    reader: DescriptorReader,
    path: str,
    text: str,
    seen: set[str],
    queue: deque[tuple[str, str]],
    max_files: int,
) -> DescriptorFile:
    """Parse one file, read the files its Locations target into ``queue``; their errors go on this file."""
    parsed = parse_file(text, path)
    problems: list[DescriptorError] = []
    truncated = False
    directory = posixpath.dirname(path)
    for entity in parsed.entities:
        if entity.kind != "Location":
            continue
        kind = entity.spec.get("type", "file").strip()
        for field, target in _location_targets(entity):
            matches, message = _resolve_target(reader, directory, kind, target)
            if message:
                problems.append(DescriptorError(path, message, entity.document, field))
            for match in matches:
                if match in seen:
                    continue
                if len(seen) >= max_files:
                    truncated = True
                    message = f"target {target!r} ({match}) not read: {_limit_message(max_files)}"
                else:
                    message = _enqueue(reader, match, target, seen, queue)
                if message:
                    problems.append(DescriptorError(path, message, entity.document, field))
    if not problems:
        return parsed
    return replace(parsed, errors=parsed.errors + tuple(problems), complete=parsed.complete and not truncated)


def _resolve_target(
    reader: DescriptorReader, directory: str, kind: str, target: str
) -> tuple[list[str], str | None]:
    """The files a Location target stands for, and the error that keeps some or all from being read."""
    if kind == "url" or _URL_TARGET.match(target):
        return [], f"target {target!r}: url locations are not read by this source"
    if kind != "file":
        return [], f"target {target!r}: locations of type {kind!r} are not read by this source"
    resolved = _normalize(posixpath.join(directory, target))
    if target.startswith("/") or _escapes(resolved):
        return [], f"target {target!r} is outside the root directory"
    if not _GLOB_CHARS.search(resolved):
        return [resolved], None
    matches = [_normalize(match) for match in reader.glob(resolved)]
    if not matches:
        return [], f"target {target!r} matches no file ({resolved})"
    return matches, None


def _enqueue(
    reader: DescriptorReader, path: str, target: str, seen: set[str], queue: deque[tuple[str, str]]
) -> str | None:
    """Read a target file into ``queue``; the error message when it cannot be read."""
    try:
        text = reader.read(path)
    except FileNotFoundError:
        return f"target {target!r} not found ({path})"
    except (OSError, UnicodeError) as exc:
        return f"target {target!r} ({path}) cannot be read: {exc}"
    seen.add(path)
    queue.append((path, text))
    return None


def _limit_message(max_files: int) -> str:
    return f"the limit of {max_files} descriptor files was reached"


def _normalize(path: str) -> str:
    """A relative posix path without ``.``, ``..`` (where it can be resolved) or doubled slashes."""
    return posixpath.normpath(path)


def _escapes(path: str) -> bool:
    """Whether a normalized path leaves the root (``..`` first, or absolute)."""
    return path == ".." or path.startswith(("../", "/"))
