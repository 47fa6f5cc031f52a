"""Public endpoints reached from messages. GET never changes anything (mail scanners prefetch)."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from crm.models import Customer
from notifications.models import ConsentEvent, Topic
from notifications.services import consent_record
from notifications.tokens import read_token


def _resolve(token: str):
    data = read_token("unsubscribe", token)
    if not data:
        return None
    customer = Customer.objects.filter(public_id=data.get("c")).first()
    topic = Topic.objects.filter(code=data.get("t")).first()
    if customer is None or topic is None:
        return None
    return customer, topic, data.get("ch")


def _invalid(request):
    response = render(request, "notifications/link_invalid.html", status=404)
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_http_methods(["GET"])
def unsubscribe(request, token: str):
    resolved = _resolve(token)
    if resolved is None:
        return _invalid(request)
    customer, topic, channel = resolved
    with translation.override(customer.language):
        response = render(request, "notifications/unsubscribe.html", {"topic": topic, "channel": channel})
    response["Referrer-Policy"] = "no-referrer"
    return response


@csrf_exempt  # RFC 8058: the mailbox provider posts without cookies or a CSRF token
@require_http_methods(["POST"])
def unsubscribe_one_click(request, token: str):
    """RFC 8058 one-click: withdraw this topic on this channel at once; 200, no redirect."""
    resolved = _resolve(token)
    if resolved is None:
        return HttpResponse(_("This link is no longer valid."), status=404, content_type="text/plain")
    if request.POST.get("List-Unsubscribe") != "One-Click":
        return HttpResponse(_("Expected List-Unsubscribe=One-Click."), status=400, content_type="text/plain")
    customer, topic, channel = resolved
    consent_record(
        customer=customer,
        channel=channel,
        topic=topic,
        action=ConsentEvent.Action.WITHDRAWN,
        source=ConsentEvent.Source.ONE_CLICK,
        wording="List-Unsubscribe=One-Click",
        ip_address=request.META.get("REMOTE_ADDR"),
        user_agent=request.headers.get("User-Agent", ""),
    )
    return HttpResponse(_("You are unsubscribed."), status=200, content_type="text/plain")
