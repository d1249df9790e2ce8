"""Scorecards made in the admin: checks inline, their parameters validated; exemptions record their maker."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from catalog.models import Scorecard, ScorecardCheck, ScorecardExemption


def test_a_check_is_validated_like_the_file(db):
    scorecard = Scorecard.objects.create(name="basics", levels=["ok"])
    check = ScorecardCheck(
        scorecard=scorecard, code="cov", title="Coverage", level="ok", kind="fact", params={}
    )
    with pytest.raises(ValidationError) as raised:
        check.full_clean()
    assert raised.value.message_dict == {"params": ["name: Field required"]}
    check.params = {"name": "coverage"}
    with pytest.raises(ValidationError) as raised:
        check.full_clean()
    assert raised.value.message_dict == {"params": ["params: give min, max or both"]}
    check.level, check.kind, check.params = "gold", "has-owner", {"colour": 1}
    with pytest.raises(ValidationError) as raised:
        check.full_clean()
    assert raised.value.message_dict == {
        "level": ["one of the scorecard's levels: ok"],
        "params": ["colour: Extra inputs are not permitted"],
    }
    check.level, check.kind, check.params = "ok", "lifecycle", {"in": ["production"]}
    check.full_clean()
    with pytest.raises(ValidationError, match="each level is named once"):
        Scorecard(name="twice", levels=["a", "a"]).full_clean()


def test_the_admin_pages(admin_client, admin_user, catalog):
    client = admin_client
    scorecard = Scorecard.objects.create(name="basics", levels=["ok"])
    check = ScorecardCheck.objects.create(
        scorecard=scorecard, code="owned", title="Owned", level="ok", kind="has-owner"
    )
    project = catalog.project("alpha")
    for name in ("scorecard", "scorecardexemption", "scorecardresult", "projectlevel"):
        assert client.get(reverse(f"admin:catalog_{name}_changelist")).status_code == 200
    assert client.get(reverse("admin:catalog_scorecard_change", args=[scorecard.pk])).status_code == 200
    response = client.post(
        reverse("admin:catalog_scorecardexemption_add"),
        {
            "check_ref": check.pk,
            "project": project.pk,
            "reason": "being rewritten",
            "expires_at_0": "2030-01-01",
            "expires_at_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    exemption = ScorecardExemption.objects.get()
    assert (exemption.created_by, exemption.reason) == (admin_user, "being rewritten")
    assert client.get(reverse("admin:catalog_scorecardresult_add")).status_code == 403
