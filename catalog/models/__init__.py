"""The domain model, one module per part (DESIGN.md)."""

from catalog.models.facts import ProjectFact
from catalog.models.findings import Finding, RuleConfig, Severity, of_project
from catalog.models.http_cache import HttpCacheEntry
from catalog.models.notifications import Channel, Notification
from catalog.models.people import Person
from catalog.models.pipelines import Pipeline, PipelineRun, PortalStatus
from catalog.models.projects import Lifecycle, Project, System
from catalog.models.registry import ModelVersion, ModelVersionEvent, RegisteredModel
from catalog.models.repositories import Repository
from catalog.models.scorecards import (
    ProjectLevel,
    Scorecard,
    ScorecardCheck,
    ScorecardExemption,
    ScorecardResult,
)
from catalog.models.sources import DescriptorFile, Source, SyncRun
from catalog.models.teams import Membership, Team
from catalog.models.tokens import APIToken
from catalog.models.transfers import TransferRequest
from catalog.models.trends import RuleSnapshot, TeamSnapshot
from catalog.models.webhooks import WebhookDelivery

__all__ = [
    "APIToken",
    "Channel",
    "DescriptorFile",
    "Finding",
    "HttpCacheEntry",
    "Lifecycle",
    "Membership",
    "ModelVersion",
    "ModelVersionEvent",
    "Notification",
    "Person",
    "Pipeline",
    "PipelineRun",
    "PortalStatus",
    "Project",
    "ProjectFact",
    "ProjectLevel",
    "RegisteredModel",
    "Repository",
    "RuleConfig",
    "RuleSnapshot",
    "Scorecard",
    "ScorecardCheck",
    "ScorecardExemption",
    "ScorecardResult",
    "Severity",
    "Source",
    "SyncRun",
    "System",
    "Team",
    "TeamSnapshot",
    "TransferRequest",
    "WebhookDelivery",
    "of_project",
]
