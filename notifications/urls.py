from django.urls import include, path

from notifications.inbound import webhooks

urlpatterns = [
    path("", include("notifications.public.urls")),
    path("webhooks/sms/twilio/", webhooks.twilio_inbound_sms, name="twilio-sms-inbound"),
    path("webhooks/sms/twilio/status/", webhooks.twilio_sms_status, name="twilio-sms-status"),
    path("webhooks/telegram/", webhooks.telegram_webhook, name="telegram-webhook"),
    path("webhooks/whatsapp/", webhooks.whatsapp_webhook, name="whatsapp-webhook"),
]
