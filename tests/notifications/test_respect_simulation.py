"""The respect benchmark's simulation at a tiny scale: every rule holds for every message sent."""

import pytest
from django.conf import settings

from bench.respect import RULES, VARIANTS, simulate


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_simulated_week_breaks_no_rule(db, variant):
    result = simulate(customers=60, days=7, variant=variant)

    assert result.marketing_sent > 60 and result.service_sent > 0  # the week did happen
    assert result.email_marketing_sent and result.opened and result.planned
    # Spacing between contacts across channels is enforced where CONTACT_MIN_SPACING_HOURS is set.
    checked = [rule for rule in RULES if rule != "spacing" or hasattr(settings, "CONTACT_MIN_SPACING_HOURS")]
    assert {rule: result.violations[rule] for rule in checked} == dict.fromkeys(checked, 0)
    assert result.reach > 0.9
