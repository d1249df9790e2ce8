"""The catalog as Backstage entities: Component (projects), Group (teams), User (people), System.

The inverse of ``catalog.sync._entity_values``: each function returns one entity as the plain mapping of
Backstage's descriptor format (``apiVersion``, ``kind``, ``metadata``, ``spec``; references as strings
``kind:namespace/name``), which ``catalog.descriptors.backstage.parse_file`` reads back. Spec:
https://backstage.io/docs/features/software-catalog/descriptor-format

Backstage requires some spec fields the portal may lack for an entity it found or that was made in the
portal: ``unknown`` stands in for a Component's missing type, lifecycle or owner and a System's owner.
"""

from __future__ import annotations

from typing import Any

import yaml

from catalog.models import Person, Project, System, Team

API_VERSION = "backstage.io/v1alpha1"
UNKNOWN = "unknown"
SOURCE_LOCATION = "backstage.io/source-location"


def _metadata(entity) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": entity.name, "namespace": entity.namespace}
    for key in ("title", "description"):
        if getattr(entity, key):
            metadata[key] = getattr(entity, key)
    for key in ("labels", "annotations"):
        if isinstance(getattr(entity, key), dict) and getattr(entity, key):
            metadata[key] = dict(getattr(entity, key))
    if isinstance(entity.tags, list) and entity.tags:
        metadata["tags"] = list(entity.tags)
    if isinstance(entity.links, list) and entity.links:
        metadata["links"] = [dict(link) for link in entity.links]
    return metadata


def _profile(entity) -> dict[str, str]:
    profile = {}
    if entity.title:
        profile["displayName"] = entity.title
    if entity.email:
        profile["email"] = entity.email
    return profile


def component_entity(project: Project) -> dict[str, Any]:
    """``project`` as a Component; its repository's web URL (if any) as ``backstage.io/source-location``.

    Reads ``project.repository`` (select it with the project).
    """
    metadata = _metadata(project)
    repository = project.repository if project.repository_id else None
    if repository and repository.url.startswith(("https://", "http://")):
        annotations = metadata.setdefault("annotations", {})
        annotations.setdefault(SOURCE_LOCATION, f"url:{repository.url}")
    spec: dict[str, Any] = {
        "type": project.type or UNKNOWN,
        "lifecycle": project.lifecycle or UNKNOWN,
        "owner": project.owner_ref or UNKNOWN,
    }
    if project.system_ref:
        spec["system"] = project.system_ref
    return {"apiVersion": API_VERSION, "kind": "Component", "metadata": metadata, "spec": spec}


def system_entity(system: System) -> dict[str, Any]:
    spec = {"owner": system.owner_ref or UNKNOWN}
    return {"apiVersion": API_VERSION, "kind": "System", "metadata": _metadata(system), "spec": spec}


def group_entity(team: Team) -> dict[str, Any]:
    """``team`` as a Group. Reads ``team.parent``, ``team.children.all()`` and ``team.members.all()``
    (prefetch them); members are the declared references plus the members added in the portal."""
    spec: dict[str, Any] = {"type": team.type or "team"}
    profile = _profile(team)
    if profile:
        spec["profile"] = profile
    parent = team.parent_ref or (team.parent.ref.lower() if team.parent_id else "")
    if parent:
        spec["parent"] = parent
    spec["children"] = sorted(child.ref.lower() for child in team.children.all())
    members = set(team.member_refs or ()) | {person.ref.lower() for person in team.members.all()}
    if members:
        spec["members"] = sorted(members)
    return {"apiVersion": API_VERSION, "kind": "Group", "metadata": _metadata(team), "spec": spec}


def user_entity(person: Person) -> dict[str, Any]:
    """``person`` as a User. Reads ``person.teams.all()`` (prefetch it)."""
    spec: dict[str, Any] = {}
    profile = _profile(person)
    if profile:
        spec["profile"] = profile
    spec["memberOf"] = sorted(
        set(person.member_of_refs or ()) | {team.ref.lower() for team in person.teams.all()}
    )
    return {"apiVersion": API_VERSION, "kind": "User", "metadata": _metadata(person), "spec": spec}


def location_entity(name: str, target: str) -> dict[str, Any]:
    """A Location of type ``url`` pointing at ``target`` (an absolute URL)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Location",
        "metadata": {"name": name},
        "spec": {"type": "url", "target": target},
    }


def dump_entities(entities: list[dict[str, Any]]) -> str:
    """Entities as a multi-document YAML file (``---`` between documents), as Backstage reads one."""
    return yaml.safe_dump_all(entities, sort_keys=False, allow_unicode=True, default_flow_style=False)
