from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from crm.models import Customer
from notifications.models import ConsentEvent, MessageTemplate, Notification, Preference, Topic
from notifications.rendering import RenderError, render
from notifications.selectors import customer_consent_history, customer_notifications


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "urgency", "channels", "alternatives", "counts_against_cap", "is_active"]
    list_filter = ["kind", "urgency", "is_active"]
    search_fields = ["name", "code"]


class PreviewForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.all(), widget=forms.TextInput, label=_("customer id"))


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["topic", "channel", "language", "subject", "updated_at"]
    list_filter = ["channel", "language", "topic"]
    list_select_related = ["topic"]
    search_fields = ["subject", "body"]

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="notifications_template_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk):
        """Render the template for a chosen customer, as it would go out (nothing is sent or saved)."""
        template = MessageTemplate.objects.select_related("topic").get(pk=pk)
        form = PreviewForm(request.GET or None)
        message, error = None, None
        if form.is_valid():
            sample = Notification(
                pk=0,
                customer=form.cleaned_data["customer"],
                topic=template.topic,
                channel=template.channel,
                context={"points": 120, "balance": 560, "days_left": 7, "receipt_id": "R-1", "text": "…"},
            )
            try:
                message = render(sample, template=template, language=template.language)
            except RenderError as exc:
                error = f"{exc.reason}: {exc.detail}"
        context = {
            **self.admin_site.each_context(request),
            "title": _("Preview of %(template)s") % {"template": template},
            "form": form,
            "message": message,
            "error": error,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/notifications/preview.html", context)


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ["customer", "badge", "window_start", "window_end", "paused_until", "updated_at"]
    list_filter = ["badge"]
    search_fields = ["customer__email", "customer__external_id", "customer__last_name"]
    autocomplete_fields = ["customer"]
    list_select_related = ["customer"]
    readonly_fields = ["badge"]
    show_full_result_count = False


@admin.register(ConsentEvent)
class ConsentEventAdmin(admin.ModelAdmin):
    """The consent history: read-only, as evidence must be."""

    list_display = ["created_at", "customer", "channel", "topic", "action", "source", "wording_version"]
    list_filter = ["action", "channel", "source", "topic"]
    search_fields = ["customer__email", "customer__external_id"]
    list_select_related = ["customer", "topic"]
    show_full_result_count = False
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox, and for any customer "why did / didn't they get it": filter by customer."""

    list_display = ["created_at", "customer", "topic", "channel", "status", "reason", "send_at", "sent_at", "attempts"]
    list_filter = ["status", "channel", "reason", "topic"]
    search_fields = ["customer__email", "customer__external_id", "dedupe_key", "provider_message_id"]
    list_select_related = ["customer", "topic"]
    show_full_result_count = False
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("why/<int:customer_id>/", self.admin_site.admin_view(self.why_view), name="notifications_why"),
            path("sent-email/", self.admin_site.admin_view(self.email_outbox_view), name="notifications_email_outbox"),
            *super().get_urls(),
        ]

    def why_view(self, request, customer_id):
        """For one customer: every message, what was decided and why, and their consent history."""
        customer = get_object_or_404(Customer.objects.select_related("preference"), pk=customer_id)
        page = Paginator(customer_notifications(customer), 100).get_page(request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Why did (or didn't) %(customer)s get it?") % {"customer": customer},
            "customer": customer,
            "page": page,
            "consents": customer_consent_history(customer)[:50],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/notifications/why.html", context)

    def email_outbox_view(self, request):
        """The e-mails the default file backend wrote (make run), newest first."""
        folder = Path(getattr(settings, "EMAIL_FILE_PATH", "") or ".")
        files = (
            sorted(folder.glob("*.log"), key=lambda f: f.stat().st_mtime, reverse=True)[:50] if folder.is_dir() else []
        )
        messages = [{"name": f.name, "text": f.read_text(errors="replace")[:20000]} for f in files]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Sent e-mail (file backend)"),
            "messages_sent": messages,
            "backend": settings.EMAIL_BACKEND,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/notifications/email_outbox.html", context)
