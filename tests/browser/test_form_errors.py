"""A form that htmx posts and the portal refuses (400) shows its error in place: htmx's default leaves a 4xx
unswapped, so the user would see nothing happen (base.html's responseHandling)."""

import pytest

from catalog.models import Severity

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refused_snooze_shows_why_in_place(page, live_server, sign_in, catalog, django_user_model):
    team = catalog.team("platform")
    sign_in("carol", home=False)
    catalog.person("carol", user=django_user_model.objects.get(username="carol"), teams=[team])
    project = catalog.project("feature-store", owner=team)
    finding = catalog.finding(
        project, "stale-code", severity=Severity.ERROR, message="No commit for 300 days."
    )

    page.goto(f"{live_server.url}/projects/default/feature-store/")
    triage = page.locator(f"#triage-{finding.pk}")
    triage.get_by_label("Snooze until").fill("")
    with page.expect_response(lambda r: "/triage/" in r.url) as answer:
        triage.get_by_role("button", name="Snooze").click()

    assert answer.value.status == 400
    assert "until: say until when" in page.locator(f"#triage-{finding.pk} [role=alert]").inner_text()
    finding.refresh_from_db()
    assert finding.snoozed_until is None
