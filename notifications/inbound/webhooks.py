"""Provider webhooks: SMS (Twilio) replies and delivery status, Telegram and WhatsApp messages. Signatures are checked."""

import hashlib
import hmac
import json

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from twilio.request_validator import RequestValidator

from notifications.inbound.events import delivery_event_record
from notifications.inbound.replies import inbound_sms_handle, telegram_update_handle, whatsapp_message_handle

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


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request):
    """WhatsApp Cloud API: GET answers Meta's subscription check; POSTs are signed with the app secret
    (X-Hub-Signature-256) and carry the customers' messages, which are stored, then acted on."""
    if request.method == "GET":
        verify = settings.WHATSAPP_VERIFY_TOKEN
        given = request.GET.get("hub.verify_token", "")
        if request.GET.get("hub.mode") == "subscribe" and verify and hmac.compare_digest(verify, given):
            return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
        return HttpResponse(status=403)
    secret = settings.WHATSAPP_APP_SECRET.encode()
    expected = "sha256=" + hmac.new(secret, request.body, hashlib.sha256).hexdigest()
    if not secret or not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
        return HttpResponseBadRequest("invalid signature")
    try:
        update = json.loads(request.body)
    except ValueError:
        return HttpResponseBadRequest("not JSON")
    for entry in update.get("entry") or [] if isinstance(update, dict) else []:
        for change in entry.get("changes") or []:
            for message in (change.get("value") or {}).get("messages") or []:
                text = (message.get("text") or {}).get("body") or (message.get("button") or {}).get("text") or ""
                if message.get("id") and message.get("from"):
                    whatsapp_message_handle(
                        message_id=message["id"], sender=message["from"], body=text, payload=message
                    )
    return HttpResponse(status=200)
