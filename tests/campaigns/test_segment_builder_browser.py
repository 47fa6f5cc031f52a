"""The segment builder in a real browser: the script shows a rule's fields and keeps a live count."""

import pytest
from django.contrib.auth.models import User

from campaigns.models import Segment
from tests.notifications.test_browser import SCREENSHOTS, browser_page  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_build_a_segment_with_a_live_count_preview_and_save(browser_page, live_server, customer_factory):  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 1000})
    customer_factory.create_batch(2, language="et")
    customer_factory(language="ru")
    User.objects.create_superuser("boss", "boss@example.com", "a long password 1")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/campaigns/segment/add/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "a long password 1")
    page.click("input[type=submit]")
    page.fill("#id_name", "Estonian speakers")
    languages = page.locator("#id_rule-0-languages")
    assert not languages.is_visible()
    page.select_option("#id_rule-0-kind", "language")
    assert languages.is_visible()  # shown at once, no round trip
    languages.select_option("et")
    page.locator(".segment-live-count").filter(has_text="2 customers now").wait_for()
    page.click("input[name=_preview]")
    page.locator("#segment-preview").filter(has_text="2 customers match").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "segment-builder.png"), full_page=True)
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/campaigns/segment/")
    assert Segment.objects.get().rules == {"languages": ["et"]}
