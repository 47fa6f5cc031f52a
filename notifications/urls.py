from django.urls import path

from notifications import views, webhooks

urlpatterns = [
    path("p/<str:token>/", views.preferences, name="preferences"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("d/<str:token>/", views.dispute, name="dispute"),
    path("u/<str:token>/one-click/", views.unsubscribe_one_click, name="unsubscribe-one-click"),
    path("webhooks/sms/twilio/", webhooks.twilio_inbound_sms, name="twilio-sms-inbound"),
    path("webhooks/sms/twilio/status/", webhooks.twilio_sms_status, name="twilio-sms-status"),
    path("webhooks/telegram/", webhooks.telegram_webhook, name="telegram-webhook"),
]
