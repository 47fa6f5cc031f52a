"""A marketer in a real browser (Playwright, Debian's Chromium): segment, campaign, forecast, launch, report."""

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign
from crm import roles
from tests.campaigns.factories import marketing_consent
from tests.crm.factories import CustomerFactory
from tests.notifications.test_browser import browser_page  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_marketer_builds_a_segment_forecasts_launches_and_reads_the_report(
    browser_page,  # noqa: F811
    live_server,
    tmp_path,
):
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    customers = CustomerFactory.create_batch(6, language="et")
    marketing_consent(customers)
    marketing_consent(CustomerFactory.create_batch(2, language="ru"))
    user = User.objects.create_user("mia", password="a long marketing password", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.MARKETING))

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "mia")
    page.fill("#id_password", "a long marketing password")
    page.click("input[type=submit]")

    # A segment: Estonian speakers.
    page.goto(f"{live_server.url}/admin/campaigns/segment/add/")
    page.fill("#id_name", "Estonian speakers")
    page.select_option("#id_rule-0-kind", "language")  # the builder: a rule row, no JSON
    page.locator("#id_rule-0-languages").select_option("et")
    page.locator(".segment-live-count").filter(has_text="6 customers now").wait_for()
    page.screenshot(path=str(tmp_path / "segment.png"), full_page=True)
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/campaigns/segment/")

    # A campaign: an SMS teaser and the e-mail with the detail, one occasion.
    deadline = timezone.localtime() + datetime.timedelta(days=10)
    page.goto(f"{live_server.url}/admin/campaigns/campaign/add/")
    page.fill("#id_name", "Winter boots")
    page.select_option("#id_topic", label="New products")
    page.select_option("#id_segment", label="Estonian speakers")
    page.fill("#id_deadline_0", deadline.strftime("%Y-%m-%d"))
    page.fill("#id_deadline_1", "12:00:00")
    page.select_option("#id_contents-0-channel", "sms")
    page.select_option("#id_contents-0-language", "et")
    page.fill("#id_contents-0-body", "Talvesaapad on poes. Vaata e-kirja!")
    page.select_option("#id_contents-1-channel", "email")
    page.select_option("#id_contents-1-language", "et")
    page.fill("#id_contents-1-subject", "Talvesaapad")
    page.fill("#id_contents-1-body", "Tere {{ customer.first_name }}, talvesaapad saabusid.")
    page.screenshot(path=str(tmp_path / "campaign.png"), full_page=True)
    page.click("input[name=_continue]")
    campaign = Campaign.objects.get(name="Winter boots")

    # The forecast, then launch from it.
    page.get_by_role("link", name="forecast").click()
    summary = page.locator("#forecast-summary").inner_text()
    assert "6 customers in the segment now" in summary
    assert page.locator("svg").count() >= 1
    page.screenshot(path=str(tmp_path / "forecast.png"), full_page=True)
    page.get_by_role("button", name="Launch").click()
    page.locator("#progress").wait_for()
    assert page.locator("#campaign-status").inner_text() == "running"
    page.screenshot(path=str(tmp_path / "progress.png"), full_page=True)
    campaign.refresh_from_db()
    rows = services.campaign_rows(campaign)
    assert rows.count() == 2 * campaign.recipients and campaign.recipients + campaign.holdout == 6

    # The report.
    page.goto(f"{live_server.url}/admin/campaigns/campaign/{campaign.pk}/report/")
    page.locator("#report").wait_for()
    assert page.locator("#holdout").count() == 1  # recipients against the holdout
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "campaign.png", "forecast.png", "progress.png", "report.png", "segment.png",
    ]  # fmt: skip
