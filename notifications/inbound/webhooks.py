"""Provider webhooks for SMS (Twilio): inbound replies and delivery status. Signatures are checked."""

import hmac
import json

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from notifications.inbound.events import delivery_event_record
from notifications.inbound.replies import inbound_sms_handle, telegram_update_handle

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Twilio error codes that mean the number cannot take SMS at all (unknown number, landline).
PERMANENT_SMS_ERRORS = {"30005", "30006", "21211", "21614"}


def _signed(request) -> bool:
    if not settings.TWILIO_AUTH_TOKEN:
        return False
    url = settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, request.POST.dict(), signature)


@csrf_exempt
@require_POST
def twilio_inbound_sms(request):
    if not _signed(request):
        return HttpResponseBadRequest("invalid signature")
    sid, sender = request.POST.get("MessageSid", ""), request.POST.get("From", "")
    if not sid or not sender:
        return HttpResponseBadRequest("MessageSid and From are required")
    inbound_sms_handle(provider="twilio", message_id=sid, sender=sender, body=request.POST.get("Body", ""))
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def twilio_sms_status(request):
    if not _signed(request):
        return HttpResponseBadRequest("invalid signature")
    sid, status = request.POST.get("MessageSid", ""), request.POST.get("MessageStatus", "")
    if not sid or not status:
        return HttpResponseBadRequest("MessageSid and MessageStatus are required")
    error = request.POST.get("ErrorCode", "")
    kind = {"delivered": "delivered", "undelivered": "failed", "failed": "failed"}.get(status, status)
    if kind == "failed" and error in PERMANENT_SMS_ERRORS:
        kind = "bounced"
    delivery_event_record(
        provider="twilio",
        channel="sms",
        event_type=kind,
        occurred_at=timezone.now(),
        event_id=f"{sid}:{status}",
        message_id=sid,
        recipient=request.POST.get("To", ""),
        detail=f"{status} {error}".strip(),
        payload=request.POST.dict(),
    )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def telegram_webhook(request):
    """Telegram Bot API updates; the secret token set with setWebhook proves they come from Telegram."""
    secret = settings.TELEGRAM_WEBHOOK_SECRET
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not secret or not hmac.compare_digest(secret, given):
        return HttpResponseBadRequest("invalid secret token")
    try:
        update = json.loads(request.body)
    except ValueError:
        return HttpResponseBadRequest("not JSON")
    if not isinstance(update, dict):
        return HttpResponseBadRequest("not an update")
    telegram_update_handle(update)
    return HttpResponse(status=200)
