"""People's addresses: normalising git e-mails and matching commit authors to the people of the catalog.

A person is found by an address when it is their ``email`` or one of their ``git_emails``, compared
case-insensitively. GitHub's private addresses (``12345+login@users.noreply.github.com``) are ordinary
addresses here: they match when the person lists them. Matching takes one query per ``MATCH_BATCH``
addresses, whatever the number of people.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q, TextField
from django.db.models.functions import Cast, Lower

from catalog.models import Person

MATCH_BATCH = 200  # addresses per query
MAX_GIT_EMAILS = 20
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")  # Slack member ids: U… or W… (Enterprise Grid)


def normalize_email(address: str) -> str:
    """An address as compared and stored: surrounding space removed, lower-cased."""
    return address.strip().lower()


def parse_git_emails(text: str | Iterable[str]) -> list[str]:
    """Git e-mails from a form's text (one per line, or separated by commas or spaces) or a list.

    Returns them normalised (``normalize_email``), each once, in the order given. Raises ValidationError
    naming the first address that is not a valid e-mail address, or when there are more than
    ``MAX_GIT_EMAILS``.
    """
    parts = re.split(r"[\s,;]+", text) if isinstance(text, str) else list(text)
    emails = list(dict.fromkeys(normalize_email(p) for p in parts if p and p.strip()))
    for address in emails:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(f"{address!r} is not a valid e-mail address.", code="invalid") from None
    if len(emails) > MAX_GIT_EMAILS:
        raise ValidationError(f"At most {MAX_GIT_EMAILS} git e-mails, not {len(emails)}.", code="too_many")
    return emails


def normalize_slack_user_id(value: str) -> str:
    """A Slack member id, upper-cased (``U024BE7LH``); '' for none. Raises ValidationError otherwise."""
    value = value.strip().upper()
    if value and not SLACK_USER_ID.match(value):
        raise ValidationError(
            f"{value!r} is not a Slack member id: it starts with U or W followed by letters and digits "
            "(Slack: your profile → ⋮ → Copy member ID).",
            code="invalid",
        )
    return value


def people_by_email(emails: Iterable[str], *, exclude: int | None = None) -> dict[str, Person]:
    """The person of each address in ``emails`` that is someone's ``email`` or git e-mail.

    Keys are the normalised addresses found; a person's ``user`` is selected with it. When two people
    claim one address, the one whose primary ``email`` it is wins, then the oldest. ``exclude`` is a
    person's pk to leave out. One query per ``MATCH_BATCH`` addresses.
    """
    wanted = sorted({normalize_email(e) for e in emails if e and e.strip()})
    found: dict[str, Person] = {}
    people = Person.objects.select_related("user").annotate(
        email_lower=Lower("email"), git_text=Lower(Cast("git_emails", TextField()))
    )
    if exclude is not None:
        people = people.exclude(pk=exclude)
    for start in range(0, len(wanted), MATCH_BATCH):
        batch = wanted[start : start + MATCH_BATCH]
        query = Q(email_lower__in=batch)
        for address in batch:
            # git_emails is a JSON list of strings: a listed address appears quoted in its text; the
            # JSON may escape non-ASCII (SQLite) or not (PostgreSQL's jsonb).
            for needle in {json.dumps(address), json.dumps(address, ensure_ascii=False)}:
                query |= Q(git_text__contains=needle)
        for person in people.filter(query).order_by("pk"):
            listed = {normalize_email(e) for e in person.git_emails if isinstance(e, str)}
            for address in batch:
                primary = person.email_lower == address
                if not (primary or address in listed):
                    continue
                current = found.get(address)
                if current is None or (primary and current.email_lower != address):
                    found[address] = person
    return found


@dataclass(frozen=True)
class MatchedAuthor:
    """A commit author as a page shows them: ``person`` is None when no one in the catalog has the address."""

    name: str
    email: str
    commits: int
    person: Person | None


def match_authors(authors: Iterable[dict]) -> list[MatchedAuthor]:
    """Stored authors (``{"name", "email", "commits"}``, as ``Repository.top_authors``) with their people,
    in the order given. One query (see ``people_by_email``); entries that are not mappings are skipped."""
    rows = [a for a in authors if isinstance(a, dict)]
    people = people_by_email(str(a.get("email") or "") for a in rows)
    return [
        MatchedAuthor(
            name=str(a.get("name") or ""),
            email=str(a.get("email") or ""),
            commits=int(a.get("commits") or 0),
            person=people.get(normalize_email(str(a.get("email") or ""))),
        )
        for a in rows
    ]


def merge_by_person(authors: list[MatchedAuthor]) -> list[MatchedAuthor]:
    """``authors`` with the entries of one person (several addresses) added into their first entry, most
    commits first (ties keep their order); unmatched addresses stay apart."""
    merged: dict[object, MatchedAuthor] = {}
    for author in authors:
        person = author.person
        key = ("person", person.pk) if person else ("address", author.email.lower(), author.name)
        if key in merged:
            first = merged[key]
            merged[key] = MatchedAuthor(first.name, first.email, first.commits + author.commits, first.person)
        else:
            merged[key] = author
    return sorted(merged.values(), key=lambda author: -author.commits)
