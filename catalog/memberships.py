"""Team memberships and where each comes from: descriptors, the identity provider, the portal.

A membership (``catalog.models.Membership``) is one row per team and person with one flag per source.
Each source replaces only its own claims: the descriptor sync (``replace_declared``) never removes a
member the identity provider or a portal edit added, a sign-in (``replace_from_idp``) only changes that
person's identity-provider memberships, and portal edits (``add_member`` / ``remove_member``) only their
own. A row goes when no source claims it any more. ``team.members`` reads them all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower

from catalog.models import Membership, Person, Team

log = logging.getLogger(__name__)

DESCRIPTOR, IDP, PORTAL = "descriptor", "idp", "portal"
_FLAG = {DESCRIPTOR: "from_descriptor", IDP: "from_idp", PORTAL: "from_portal"}
_FLAGS = tuple(_FLAG.values())


def _flag(source: str) -> str:
    try:
        return _FLAG[source]
    except KeyError:
        raise ValueError(f"unknown membership source {source!r}; expected one of {sorted(_FLAG)}") from None


@transaction.atomic
def _replace(source: str, wanted: set[tuple[int, int]], universe: Q) -> tuple[int, int]:
    """Make ``source``'s memberships among the rows matching ``universe`` exactly ``wanted`` ((team pk,
    person pk) pairs, all inside ``universe``). Other sources' flags are left alone.

    Returns (added, removed) counts of ``source``'s claims.
    """
    flag = _flag(source)
    rows = {
        (t, p): (pk, dict(zip(_FLAGS, flags, strict=True)))
        for pk, t, p, *flags in Membership.objects.filter(universe).values_list(
            "pk", "team_id", "person_id", *_FLAGS
        )
    }
    gone = [pair for pair, (_, flags) in rows.items() if flags[flag] and pair not in wanted]
    delete = {rows[pair][0] for pair in gone if not any(v for k, v in rows[pair][1].items() if k != flag)}
    clear = [rows[pair][0] for pair in gone if rows[pair][0] not in delete]
    gain = [rows[pair][0] for pair in wanted if pair in rows and not rows[pair][1][flag]]
    new = sorted(pair for pair in wanted if pair not in rows)
    for chunk in _chunks(sorted(delete)):
        Membership.objects.filter(pk__in=chunk).delete()
    for pks, value in ((clear, False), (gain, True)):
        for chunk in _chunks(pks):
            Membership.objects.filter(pk__in=chunk).update(**{flag: value})
    Membership.objects.bulk_create(
        [Membership(team_id=t, person_id=p, **{f: f == flag for f in _FLAGS}) for t, p in new],
        batch_size=_BATCH,
    )
    return len(gain) + len(new), len(gone)


_BATCH = 500


def _chunks(items: list) -> Iterable[list]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def replace_declared(wanted: set[tuple[int, int]]) -> tuple[int, int]:
    """Set the descriptor-sourced memberships of the whole catalog to ``wanted`` ((team pk, person pk)).

    Called by the sync after every run with every membership the stored descriptors declare.
    Returns (added, removed).
    """
    return _replace(DESCRIPTOR, wanted, Q())


def replace_from_idp(person: Person, teams: Iterable[Team]) -> tuple[int, int]:
    """Make ``person``'s identity-provider memberships exactly ``teams`` (on each sign-in).

    Memberships from descriptors or the portal are kept. Returns (added, removed).
    """
    wanted = {(team.pk, person.pk) for team in teams}
    return _replace(IDP, wanted, Q(person_id=person.pk))


@transaction.atomic
def add_member(team: Team, person: Person, source: str = PORTAL) -> Membership:
    """Add ``person`` to ``team`` as ``source`` claims it (default: a portal edit); idempotent."""
    flag = _flag(source)
    membership, created = Membership.objects.select_for_update().get_or_create(
        team=team, person=person, defaults={f: f == flag for f in _FLAGS}
    )
    if not created and not getattr(membership, flag):
        setattr(membership, flag, True)
        membership.save(update_fields=[flag])
    return membership


@transaction.atomic
def remove_member(team: Team, person: Person, source: str = PORTAL) -> bool:
    """Withdraw ``source``'s claim that ``person`` is in ``team``.

    The person stays a member while another source (a descriptor, the identity provider) still claims
    it. Returns whether they are still a member afterwards.
    """
    flag = _flag(source)
    membership = Membership.objects.select_for_update().filter(team=team, person=person).first()
    if membership is None:
        return False
    setattr(membership, flag, False)
    if any(getattr(membership, f) for f in _FLAGS):
        membership.save(update_fields=[flag])
        return True
    membership.delete()
    return False


def teams_for_groups(groups: Iterable[str]) -> list[Team]:
    """The teams that identity-provider group names stand for.

    A name listed in ``PORTAL["OIDC"]["GROUP_TEAMS"]`` (``{"ml-fraud-admins": "group:default/fraud"}``;
    the value is a team reference, ``[group:][namespace/]name``) maps to that team; any other name matches
    a team of that name (case-insensitive, in any namespace, ``default`` first). Names that match no team
    are logged and skipped. Returns the teams sorted by name, without duplicates.
    """
    mapping = {key.lower(): value for key, value in settings.PORTAL["OIDC"]["GROUP_TEAMS"].items()}
    found: dict[int, Team] = {}
    for group in groups:
        if not isinstance(group, str) or not group.strip():
            continue
        target = mapping.get(group.strip().lower())
        team = _team_by_ref(target) if target else _team_by_name(group.strip())
        if team is None:
            log.info("identity-provider group matches no team", extra={"group": group, "mapped_to": target})
            continue
        found[team.pk] = team
    return sorted(found.values(), key=lambda team: (team.name, team.namespace))


def _team_by_ref(ref: str) -> Team | None:
    ref = ref.strip()
    if ref.lower().startswith("group:"):
        ref = ref[len("group:") :]
    namespace, _, name = ref.rpartition("/")
    return (
        Team.objects.annotate(ns=Lower("namespace"), lname=Lower("name"))
        .filter(ns=(namespace or "default").lower(), lname=name.lower())
        .first()
    )


def _team_by_name(name: str) -> Team | None:
    teams = list(Team.objects.annotate(lname=Lower("name")).filter(lname=name.lower()))
    teams.sort(key=lambda team: (team.namespace != "default", team.namespace))
    return teams[0] if teams else None
