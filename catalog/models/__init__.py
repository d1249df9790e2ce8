"""The domain model, one module per part (DESIGN.md)."""

from catalog.models.findings import Finding, RuleConfig, Severity
from catalog.models.people import Person
from catalog.models.projects import Lifecycle, Project, System
from catalog.models.repositories import Repository
from catalog.models.sources import DescriptorFile, Source, SyncRun
from catalog.models.teams import Team

__all__ = [
    "DescriptorFile",
    "Finding",
    "Lifecycle",
    "Person",
    "Project",
    "Repository",
    "RuleConfig",
    "Severity",
    "Source",
    "SyncRun",
    "System",
    "Team",
]
