"""The permission matrix of the pages: every URL pattern, every kind of user, every write action.

Users (STYLE.md, tests/conftest.py): ``anonymous``; ``outsider`` (signed in, owns nothing, in no team);
``member`` (in team ml-platform, which owns project team-model); ``owner`` (owns project owner-notebook
himself and is in ml-platform too); ``staff``. Rules (catalog/permissions.py): signed-in users read
everything, anonymous users are sent to sign in (or read, with ``PORTAL["ANONYMOUS_READ"]``); a
project's owners and staff change it; people edit their own profile; staff edit everything.

``ROUTES`` declares, per URL pattern name, what a GET answers each user and each write action's answer
and effect. One test runs each cell on a fresh database; ``test_every_url_pattern_is_in_the_matrix``
walks Django's URL resolver, so a page added without its row fails. The REST API (``/api/``) has its own
matrix in tests/api/test_permissions.py, checked against the OpenAPI schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from catalog.models import (
    APIToken,
    Finding,
    Person,
    Project,
    Scorecard,
    Severity,
    TransferRequest,
)

ROLES = ("anonymous", "outsider", "member", "owner", "staff")
LOGIN = "login"  # an expected answer: a redirect to the sign-in page

# Patterns with no row, and why.
EXCLUDED_PREFIXES = {
    "api/": "the REST API has its own matrix (tests/api/test_permissions.py), checked against its schema",
    "admin/": "Django's admin checks is_staff itself; its index is checked here (admin:index)",
}


@dataclass(frozen=True)
class Write:
    """A write action: POST ``data(world)`` (as htmx when ``htmx``); ``expect`` is each role's status and
    ``effect(world)`` says whether it took effect (it must for 2xx/3xx answers of allowed roles only)."""

    data: Callable[[Any], dict]
    expect: dict[str, int | str]
    effect: Callable[[Any], bool] | None
    allowed: tuple[str, ...] = ()
    htmx: bool = False
    env: dict[str, str] = field(default_factory=dict)  # environment variables set for the request
    csrf: bool = True  # False for machine endpoints authenticated by a signature (webhooks, Slack)


@dataclass(frozen=True)
class Route:
    """One URL pattern: its arguments from the world, each role's GET answer, its write actions.

    ``ROUTES`` keys are URL pattern names; ``name/variant`` is another row of the same pattern.
    """

    args: Callable[[Any], list] = lambda w: []
    get: dict[str, int | str] = field(default_factory=dict)
    anonymous_read: int | str | None = None  # the anonymous GET with ANONYMOUS_READ on (None: as anonymous)
    writes: dict[str, Write] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # Django settings overridden for the row


def read(ok: int | str = 200) -> dict[str, int | str]:
    """A page signed-in users read (anonymous users sign in first)."""
    return {"anonymous": LOGIN, "outsider": ok, "member": ok, "owner": ok, "staff": ok}


def post_only() -> dict[str, int | str]:
    """A POST-only endpoint behind sign-in: GET is 405 once signed in."""
    return {"anonymous": LOGIN, "outsider": 405, "member": 405, "owner": 405, "staff": 405}


def everyone(status: int | str) -> dict[str, int | str]:
    return dict.fromkeys(ROLES, status)


def owners_only(ok: int, refused: int = 403) -> tuple[dict[str, int | str], tuple[str, ...]]:
    """The project's owners (member, owner: both in ml-platform) and staff; outsiders refused."""
    allowed = ("member", "owner", "staff")
    return {"anonymous": LOGIN, "outsider": refused, **dict.fromkeys(allowed, ok)}, allowed


def write(data, effect, expect_allowed, htmx: bool = False) -> Write:
    expect, allowed = expect_allowed
    return Write(data=data, expect=expect, effect=effect, allowed=allowed, htmx=htmx)


# --- the world every cell starts from -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(catalog, team, owner, member, outsider, staff):
    """The catalog the matrix runs on; every row takes its arguments from it."""
    other = catalog.team("data-science", title="Data Science")
    asker = catalog.person("asker", email="asker@example.com", teams=[other])
    intern = catalog.person("intern", teams=[team])
    team_model = Project.objects.get(name="team-model")
    ds_model = catalog.project("ds-model", owner=other)
    unowned = catalog.project("unowned", owner=None)
    finding = catalog.finding(team_model, "stale-code", severity=Severity.WARNING)
    notebook_finding = catalog.finding(Project.objects.get(name="owner-notebook"), "no-descriptor")
    transfer = TransferRequest.objects.create(
        project=team_model, to_team=other, from_ref=team_model.owner_ref
    )
    scorecard = Scorecard.objects.create(name="basics", title="Basics", levels=[])
    model = catalog.registered_model("fraud/scorer", project=team_model)
    run = catalog.sync_run()
    tokens = {
        user.username: APIToken.objects.issue(user, f"{user.username}'s token")[0]
        for user in (owner, member, outsider, staff)
    }
    return SimpleNamespace(
        team=team,
        other=other,
        asker=asker,
        intern=intern,
        owner_person=Person.objects.get(user=owner),
        team_model=team_model,
        ds_model=ds_model,
        unowned=unowned,
        finding=finding,
        notebook_finding=notebook_finding,
        transfer=transfer,
        scorecard=scorecard,
        model=model,
        run=run,
        tokens=tokens,
        users={"owner": owner, "member": member, "outsider": outsider, "staff": staff},
    )


def ref(entity) -> list[str]:
    return [entity.namespace, entity.name]


# --- the matrix ---------------------------------------------------------------------------------------------

ROUTES: dict[str, Route] = {
    # Pages to read.
    "maintenance": Route(get=read(), anonymous_read=200),
    "project-list": Route(get=read(), anonymous_read=200),
    "project-detail": Route(args=lambda w: ref(w.team_model), get=read(), anonymous_read=200),
    "team-list": Route(get=read(), anonymous_read=200),
    "team-detail": Route(args=lambda w: ref(w.team), get=read(), anonymous_read=200),
    "person-list": Route(get=read(), anonymous_read=200),
    "person-detail": Route(args=lambda w: ref(w.owner_person), get=read(), anonymous_read=200),
    "scorecard-list": Route(get=read(), anonymous_read=200),
    "scorecard-detail": Route(args=lambda w: [w.scorecard.name], get=read(), anonymous_read=200),
    "syncrun-list": Route(get=read(), anonymous_read=200),
    "syncrun-detail": Route(args=lambda w: [w.run.pk], get=read(), anonymous_read=200),
    "source-list": Route(get=read(), anonymous_read=200),
    "model-list": Route(get=read(), anonymous_read=200),
    "model-detail": Route(args=lambda w: [w.model.source.name, w.model.name], get=read(), anonymous_read=200),
    "my-work": Route(get=read(), anonymous_read=LOGIN),  # about the signed-in user: never anonymous
    "login": Route(
        get=everyone(200),
        writes={
            "wrong password": Write(
                data=lambda w: {"username": "owner", "password": "wrong"}, expect=everyone(200), effect=None
            )
        },
    ),
    "admin:index": Route(
        get={"anonymous": 302, "outsider": 302, "member": 302, "owner": 302, "staff": 200}, anonymous_read=302
    ),
    # A person's own profile.
    "person-edit": Route(
        args=lambda w: ref(w.owner_person),
        get={"anonymous": LOGIN, "outsider": 403, "member": 403, "owner": 200, "staff": 200},
        anonymous_read=LOGIN,
        writes={
            "set git e-mails": Write(
                data=lambda w: {"git_emails": "matrix@example.com", "slack_user_id": "U0MATRIX"},
                expect={"anonymous": LOGIN, "outsider": 403, "member": 403, "owner": 302, "staff": 302},
                effect=lambda w: Person.objects.filter(
                    pk=w.owner_person.pk, slack_user_id="U0MATRIX"
                ).exists(),
                allowed=("owner", "staff"),
            )
        },
    ),
    # API tokens: everyone signed in makes their own.
    "profile-tokens": Route(
        get=read(),
        anonymous_read=LOGIN,
        writes={
            "make a token": Write(
                data=lambda w: {"name": "matrix token", "kind": "personal"},
                expect={"anonymous": LOGIN, "outsider": 201, "member": 201, "owner": 201, "staff": 201},
                effect=lambda w: APIToken.objects.filter(name="matrix token").exists(),
                allowed=("outsider", "member", "owner", "staff"),
            )
        },
    ),
    "profile-token-revoke": Route(
        args=lambda w: [w.tokens["owner"].pk],
        get=post_only(),
        anonymous_read=LOGIN,
        writes={
            "revoke the owner's token": Write(
                data=lambda w: {},
                expect={"anonymous": LOGIN, "outsider": 404, "member": 404, "owner": 200, "staff": 404},
                effect=lambda w: APIToken.objects.filter(
                    pk=w.tokens["owner"].pk, revoked_at__isnull=False
                ).exists(),
                allowed=("owner",),
            )
        },
    ),
    # Triage of a finding of team-model.
    "finding-triage": Route(
        args=lambda w: [w.finding.pk],
        get=post_only(),
        anonymous_read=LOGIN,
        writes={
            "acknowledge": write(
                lambda w: {"action": "acknowledge"},
                lambda w: Finding.objects.filter(pk=w.finding.pk, acknowledged_at__isnull=False).exists(),
                owners_only(200),
                htmx=True,
            )
        },
    ),
    # The same, for a project its owner owns himself: the team's members are outsiders there.
    "finding-triage/owner-notebook": Route(
        args=lambda w: [w.notebook_finding.pk],
        get=post_only(),
        anonymous_read=LOGIN,
        writes={
            "acknowledge": Write(
                data=lambda w: {"action": "acknowledge"},
                expect={"anonymous": LOGIN, "outsider": 403, "member": 403, "owner": 200, "staff": 200},
                effect=lambda w: Finding.objects.filter(
                    pk=w.notebook_finding.pk, acknowledged_at__isnull=False
                ).exists(),
                allowed=("owner", "staff"),
                htmx=True,
            )
        },
    ),
    # Ownership: claim, ask for a transfer, decide.
    "project-claim": Route(
        args=lambda w: ref(w.unowned),
        get=post_only(),
        anonymous_read=LOGIN,
        writes={
            "claim for ml-platform": Write(
                data=lambda w: {"team": w.team.pk},
                # Anyone may claim an unowned project, but only for a team of theirs (staff: any).
                expect={"anonymous": LOGIN, "outsider": 403, "member": 200, "owner": 200, "staff": 200},
                effect=lambda w: Project.objects.filter(pk=w.unowned.pk, owner_team=w.team).exists(),
                allowed=("member", "owner", "staff"),
                htmx=True,
            )
        },
    ),
    "project-transfer-request": Route(
        args=lambda w: ref(w.ds_model),
        get=post_only(),
        anonymous_read=LOGIN,
        writes={
            "ask ds-model for ml-platform": Write(
                data=lambda w: {"team": w.team.pk, "reason": "we run it now"},
                expect={"anonymous": LOGIN, "outsider": 403, "member": 200, "owner": 200, "staff": 200},
                effect=lambda w: TransferRequest.objects.filter(project=w.ds_model, to_team=w.team).exists(),
                allowed=("member", "owner", "staff"),
                htmx=True,
            )
        },
    ),
    "transfer-decide": Route(
        args=lambda w: [w.transfer.pk],
        get=post_only(),
        anonymous_read=LOGIN,
        writes={
            "decline the request for team-model": write(
                lambda w: {"decision": "decline"},
                lambda w: TransferRequest.objects.filter(pk=w.transfer.pk, status="declined").exists(),
                owners_only(200),
                htmx=True,
            )
        },
    ),
    # Teams made in the portal.
    "team-create": Route(
        get={"anonymous": LOGIN, "outsider": 403, "member": 200, "owner": 200, "staff": 200},
        anonymous_read=LOGIN,
        writes={
            "make a team": Write(
                data=lambda w: {"name": "new-team", "title": "New"},
                # People known to the portal make teams; an account with no person does not.
                expect={"anonymous": LOGIN, "outsider": 403, "member": 302, "owner": 302, "staff": 302},
                effect=lambda w: w.team.__class__.objects.filter(name="new-team").exists(),
                allowed=("member", "owner", "staff"),
            )
        },
    ),
    "team-edit": Route(
        args=lambda w: ref(w.team),
        get={"anonymous": LOGIN, "outsider": 403, "member": 200, "owner": 200, "staff": 200},
        anonymous_read=LOGIN,
        writes={
            "retitle ml-platform": write(
                lambda w: {"name": "ml-platform", "title": "Renamed"},
                lambda w: w.team.__class__.objects.filter(pk=w.team.pk, title="Renamed").exists(),
                owners_only(302),
            )
        },
    ),
    "team-member-add": Route(
        args=lambda w: ref(w.team),
        get=post_only(),
        anonymous_read=LOGIN,
        writes={
            "add asker to ml-platform": write(
                lambda w: {"person": "asker"},
                lambda w: w.team.members.filter(pk=w.asker.pk).exists(),
                owners_only(302),
            )
        },
    ),
    "team-member-remove": Route(
        args=lambda w: [*ref(w.team), w.intern.pk],
        get=post_only(),
        anonymous_read=LOGIN,
        writes={
            "remove intern from ml-platform": write(
                lambda w: {},
                lambda w: not w.team.members.filter(pk=w.intern.pk).exists(),
                owners_only(302),
            )
        },
    ),
    # Sign-out, webhooks and Slack: no user rights involved.
    "logout": Route(
        get=everyone(405), writes={"sign out": Write(data=lambda w: {}, expect=everyone(302), effect=None)}
    ),
    "webhook-github": Route(
        get=everyone(405),
        writes={"unsigned delivery": Write(data=lambda w: {}, expect=everyone(401), effect=None, csrf=False)},
    ),
    "webhook-gitlab": Route(
        get=everyone(405),
        writes={"unsigned delivery": Write(data=lambda w: {}, expect=everyone(401), effect=None, csrf=False)},
    ),
    "slack-interactions": Route(
        get=everyone(405),
        writes={
            # With the signing secret set (else 503: interactions off); a browser session counts for nothing.
            "unsigned interaction": Write(
                data=lambda w: {},
                expect=everyone(401),
                effect=None,
                env={"SLACK_SIGNING_SECRET": "s3cret"},
                csrf=False,
            )
        },
    ),
}

# Single sign-on on, with a provider that is never reached (the cells stop before the provider is asked).
SSO_ON = {
    "SOCIALACCOUNT_PROVIDERS": {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Test IdP",
                    "client_id": "portal",
                    "secret": "not-used",
                    "settings": {"server_url": "http://127.0.0.1:9/", "scope": ["openid"]},
                }
            ]
        }
    }
}
SIGN_IN = {  # single sign-on's pages (django-allauth, catalog/sso.py): the same for every user
    "openid_connect_login": Route(args=lambda w: ["sso"], get=everyone(200), settings=SSO_ON),
    "openid_connect_callback": Route(args=lambda w: ["sso"], get=everyone(403), settings=SSO_ON),
    # allauth sends a signed-in user on from its login page, and an anonymous one from its logout page.
    "account_login": Route(get={**everyone(302), "anonymous": 200}, settings=SSO_ON),
    "account_logout": Route(get={**everyone(200), "anonymous": 302}, settings=SSO_ON),
    "account_inactive": Route(get=everyone(200), settings=SSO_ON),
    "socialaccount_login_cancelled": Route(get=everyone(200), settings=SSO_ON),
    "socialaccount_login_error": Route(get=everyone(401), settings=SSO_ON),  # allauth's error page
    "socialaccount_signup": Route(get=everyone(302), settings=SSO_ON),
    "socialaccount_connections": Route(get=read(), settings=SSO_ON),
}
ROUTES.update(SIGN_IN)

EXCLUDED_NAMES = {
    "api-schema": EXCLUDED_PREFIXES["api/"],
    "api-docs": EXCLUDED_PREFIXES["api/"],
}


# --- running the cells --------------------------------------------------------------------------------------


def client_for(client, world, role: str):
    if role != "anonymous":
        client.force_login(world.users[role])
    return client


def check_status(answer, expected: int | str, what: str) -> None:
    if expected == LOGIN:
        assert answer.status_code == 302, f"{what}: {answer.status_code}, not a redirect to sign in"
        login = reverse(django_settings.LOGIN_URL)
        assert answer["Location"].startswith(login), f"{what}: redirected to {answer['Location']}"
    else:
        assert answer.status_code == expected, f"{what}: {answer.status_code}, expected {expected}"


GET_CELLS = [(name, role) for name, route in ROUTES.items() for role in ROLES if role in route.get]
WRITE_CELLS = [
    (name, action, role) for name, route in ROUTES.items() for action in route.writes for role in ROLES
]


@pytest.mark.parametrize(("name", "role"), GET_CELLS, ids=[f"{n}-{r}" for n, r in GET_CELLS])
def test_get(client, world, settings, name, role):
    route = ROUTES[name]
    for key, value in route.settings.items():
        setattr(settings, key, value)
    url = reverse(name.split("/")[0], args=route.args(world))
    answer = client_for(client, world, role).get(url)
    check_status(answer, route.get[role], f"GET {url} as {role}")


ANONYMOUS_READ_CELLS = [name for name, route in ROUTES.items() if route.get.get("anonymous") is not None]


@pytest.mark.parametrize("name", ANONYMOUS_READ_CELLS)
def test_get_with_anonymous_read(client, world, settings, name):
    settings.PORTAL = {**settings.PORTAL, "ANONYMOUS_READ": True}
    route = ROUTES[name]
    for key, value in route.settings.items():
        setattr(settings, key, value)
    url = reverse(name.split("/")[0], args=route.args(world))
    expected = route.anonymous_read if route.anonymous_read is not None else route.get["anonymous"]
    check_status(client.get(url), expected, f"GET {url} anonymously with ANONYMOUS_READ")


@pytest.mark.parametrize(
    ("name", "action", "role"), WRITE_CELLS, ids=[f"{n}-{a}-{r}" for n, a, r in WRITE_CELLS]
)
def test_write(client, world, settings, monkeypatch, name, action, role):
    route, write = ROUTES[name], ROUTES[name].writes[action]
    for key, value in route.settings.items():
        setattr(settings, key, value)
    for variable, value in write.env.items():
        monkeypatch.setenv(variable, value)
    url = reverse(name.split("/")[0], args=route.args(world))
    headers = {"HX-Request": "true"} if write.htmx else {}
    assert write.effect is None or not write.effect(world), f"{action}: done before the request"

    answer = client_for(client, world, role).post(url, write.data(world), headers=headers)

    check_status(answer, write.expect[role], f"POST {url} ({action}) as {role}")
    if write.effect is not None:
        done = write.effect(world)
        assert done == (role in write.allowed), f"{action} as {role}: {'done' if done else 'not done'}"


ANONYMOUS_WRITES = [(name, action) for name, route in ROUTES.items() for action in route.writes]


@pytest.mark.parametrize(("name", "action"), ANONYMOUS_WRITES, ids=[f"{n}-{a}" for n, a in ANONYMOUS_WRITES])
def test_write_with_anonymous_read_still_needs_sign_in(client, world, settings, monkeypatch, name, action):
    settings.PORTAL = {**settings.PORTAL, "ANONYMOUS_READ": True}
    route, write = ROUTES[name], ROUTES[name].writes[action]
    for key, value in route.settings.items():
        setattr(settings, key, value)
    for variable, value in write.env.items():
        monkeypatch.setenv(variable, value)
    url = reverse(name.split("/")[0], args=route.args(world))
    headers = {"HX-Request": "true"} if write.htmx else {}
    check_status(client.post(url, write.data(world), headers=headers), write.expect["anonymous"], url)
    assert write.effect is None or not write.effect(world)


CSRF_CELLS = [
    (name, action) for name, route in ROUTES.items() for action, w in route.writes.items() if w.csrf
]


@pytest.mark.parametrize(("name", "action"), CSRF_CELLS, ids=[f"{n}-{a}" for n, a in CSRF_CELLS])
def test_writes_need_the_csrf_token(world, settings, name, action):
    """Every write of a browser session is refused without the CSRF token (the test client skips the
    check unless asked), even for staff, and does nothing."""
    from django.test import Client

    route, write = ROUTES[name], ROUTES[name].writes[action]
    for key, value in route.settings.items():
        setattr(settings, key, value)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["staff"])
    url = reverse(name.split("/")[0], args=route.args(world))
    headers = {"HX-Request": "true"} if write.htmx else {}
    assert client.post(url, write.data(world), headers=headers).status_code == 403
    assert write.effect is None or not write.effect(world)


# --- completeness -------------------------------------------------------------------------------------------


def url_patterns(resolver=None, prefix: str = "", namespace: str = "") -> list[tuple[str, str]]:
    """(route, name) of every URL pattern Django resolves, names with their namespace (``admin:index``)."""
    resolver = resolver or get_resolver()
    found = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += url_patterns(entry, route, inner)
        elif isinstance(entry, URLPattern):
            found.append((route, f"{namespace}{entry.name}" if entry.name else ""))
    return found


def excluded(route: str, name: str) -> bool:
    if name in EXCLUDED_NAMES or name in ROUTES:
        return name in EXCLUDED_NAMES
    return any(route.startswith(prefix) for prefix in EXCLUDED_PREFIXES)


def test_every_url_pattern_is_in_the_matrix():
    patterns = url_patterns()
    missing = sorted(
        f"{route} ({name or 'unnamed'})"
        for route, name in patterns
        if name not in ROUTES and not excluded(route, name)
    )
    assert not missing, f"URL patterns with no row in ROUTES (add one, with each role's answer): {missing}"
    names = {name for _, name in patterns}
    stale = sorted({row.split("/")[0] for row in ROUTES} - names)
    assert not stale, f"rows for URL patterns that no longer exist: {stale}"
