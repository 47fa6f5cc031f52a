from collections import defaultdict
from pathlib import Path

from anymail.signals import EventType
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib import messages as admin_messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy

from audit.admin import AuditedAdminMixin
from audit.models import AuditEntry
from audit.services import audit_record, audit_record_many
from crm.access import StoreScopedMixin, store_scoped
from crm.admin import CustomerSearchMixin, ReadOnlyModelAdmin
from crm.admin_scale import LargeTableAdmin, index_prefix_filter
from crm.models import Customer, Language, Store
from crm.normalization import phone_or_none
from crm.selectors import customer_ids_matching
from notifications import occasions
from notifications.delivery.letters import batch_pdf, letter_batch_mark_posted
from notifications.delivery.rendering import RenderError, render
from notifications.greetings import upcoming_holidays
from notifications.models import (
    Channel,
    ConsentEvent,
    ContactSuppression,
    DeliveryEvent,
    HolidayGreeting,
    InboundMessage,
    LetterBatch,
    MessageTemplate,
    Notification,
    OfferState,
    Preference,
    SenderIdentity,
    Topic,
    UnsubscribeFeedback,
    UnsubscribeReason,
)
from notifications.outbox import controls
from notifications.outbox.replan import PREFERENCE_CHANGE, queued_notifications_replan
from notifications.preferences.services import PLANNING_FIELDS
from notifications.selectors import customer_consent_history, customer_notifications, unsubscribe_analytics

WHY_PERMISSION = "notifications.view_why"
SENT_EMAIL_PERMISSION = "notifications.view_sent_email"
PRINT_PERMISSION = "notifications.print_letterbatch"

# Anymail's event kinds: what the delivery webhooks record.
EVENT_TYPES = sorted(value for name, value in vars(EventType).items() if name.isupper())


@admin.register(Topic)
class TopicAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "kind",
        "urgency",
        "channels",
        "alternatives",
        "counts_against_cap",
        "coalesce",
        "is_active",
    ]
    list_filter = ["kind", "urgency", "is_active"]
    search_fields = ["name", "code"]

    def get_urls(self):
        return [
            path("announce/", self.admin_site.admin_view(self.announce_view), name="notifications_announce"),
            *super().get_urls(),
        ]

    def announce_view(self, request):
        """A store's opening-hours change (the day before, its customers) or opening (its district and neighbours).

        "Check" plans it in a transaction that is rolled back: the counts are exactly what
        "Announce" would do, and nothing is written.
        """
        if not request.user.has_perm(ANNOUNCE_PERMISSION):
            raise PermissionDenied
        form = AnnounceForm(request.POST or None)
        result = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            texts = {language: data[f"text_{language}"] for language in Language.values}
            try:
                with transaction.atomic():
                    if data["occasion"] == AnnounceForm.HOURS:
                        result = occasions.opening_hours_change_announce(
                            store=data["store"], day=data["day"], texts=texts
                        )
                    else:
                        result = occasions.store_opening_announce(store=data["store"], texts=texts)
                    if "announce" not in request.POST:
                        transaction.set_rollback(True)  # a check: counted, not written
            except ValueError:
                form.add_error("day", _("That day has begun: an opening-hours change is announced the day before."))
                result = None
            if result is not None and "announce" in request.POST:
                audit_record(
                    request=request,
                    action=AuditEntry.Action.CHANGE,
                    obj=data["store"],
                    changes={"announced": [None, data["occasion"]]},
                )
                self.message_user(
                    request,
                    _("Announced: %(queued)d of %(customers)d customers will get it.")
                    % {"queued": result.queued, "customers": result.customers},
                    admin_messages.SUCCESS,
                )
        reasons = dict(Notification.Reason.choices)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Announce for a store"),
            "form": form,
            "result": result,
            "suppressed": [
                (reasons.get(reason, reason), count) for reason, count in (result.suppressed if result else {}).items()
            ],
            "languages": [
                (dict(Language.choices)[code], count)
                for code, count in (result.by_language if result else {}).items()
                if count
            ],
        }
        return TemplateResponse(request, "admin/notifications/announce.html", context)


ANNOUNCE_PERMISSION = "notifications.announce_store"


class AnnounceForm(forms.Form):
    HOURS, OPENING = "hours", "opening"
    occasion = forms.ChoiceField(
        label=_("occasion"),
        choices=[
            (HOURS, _("opening-hours change: SMS the day before, to the store's customers")),
            (OPENING, _("store opening: news to its district and the neighbouring ones")),
        ],
    )
    store = forms.ModelChoiceField(queryset=Store.objects.filter(is_active=True), label=_("store"))
    day = forms.DateField(label=_("day of the change"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    text_en = forms.CharField(label=_("text in English"), widget=forms.Textarea(attrs={"rows": 2}), max_length=480)
    text_et = forms.CharField(
        label=_("text in Estonian"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=480
    )
    text_fi = forms.CharField(
        label=_("text in Finnish"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=480
    )
    text_ru = forms.CharField(
        label=_("text in Russian"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=480
    )
    text_sv = forms.CharField(
        label=_("text in Swedish"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=480
    )

    def clean(self):
        data = super().clean()
        if data.get("occasion") == self.HOURS and not data.get("day"):
            self.add_error("day", _("Which day do the opening hours change?"))
        return data


class PreviewForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.all(), widget=forms.TextInput, label=_("customer id"))


@admin.register(MessageTemplate)
class MessageTemplateAdmin(AuditedAdminMixin, admin.ModelAdmin):
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
        """Render the template for a chosen customer, as it would go out (nothing is sent or saved).

        The customer's data is on the page: it takes the right to see customers, and only those.
        """
        if not (self.has_view_or_change_permission(request) and request.user.has_perm("crm.view_customer")):
            raise PermissionDenied
        template = get_object_or_404(MessageTemplate.objects.select_related("topic"), pk=pk)
        form = PreviewForm(request.GET or None)
        form.fields["customer"].queryset = store_scoped(Customer.objects.all(), request.user)
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
class PreferenceAdmin(AuditedAdminMixin, StoreScopedMixin, CustomerSearchMixin, LargeTableAdmin):
    list_display = ["customer", "badge", "window_start", "window_end", "paused_until", "updated_at"]
    list_filter = ["badge"]
    search_fields = ["customer"]  # see CustomerSearchMixin
    autocomplete_fields = ["customer"]
    list_select_related = ["customer"]
    readonly_fields = ["badge"]
    ordering = ["-id"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if set(form.changed_data) & PLANNING_FIELDS:
            # As when the customer changes it: the queued messages follow at once.
            queued_notifications_replan(customers=[obj.customer], cause=PREFERENCE_CHANGE)


@admin.register(ConsentEvent)
class ConsentEventAdmin(StoreScopedMixin, CustomerSearchMixin, ReadOnlyModelAdmin):
    """The consent history: read-only, as evidence must be. Latest first (append-only: id order)."""

    list_display = ["created_at", "customer", "channel", "scope", "topic", "action", "source", "wording_version"]
    # notif_consent_admin_idx is (action, scope, channel, source); a topic has its own index.
    list_filter = [
        "action",
        ("scope", index_prefix_filter(admin.ChoicesFieldListFilter, action=ConsentEvent.Action.values)),
        (
            "channel",
            index_prefix_filter(
                admin.ChoicesFieldListFilter, action=ConsentEvent.Action.values, scope=ConsentEvent.Scope.values
            ),
        ),
        (
            "source",
            index_prefix_filter(
                admin.ChoicesFieldListFilter,
                action=ConsentEvent.Action.values,
                scope=ConsentEvent.Scope.values,
                channel=Channel.values,
            ),
        ),
        "topic",
    ]
    search_fields = ["customer"]  # see CustomerSearchMixin
    list_select_related = ["customer", "topic"]
    ordering = ["-id"]


STATUSES = Notification.Status.values


def topic_ids() -> list[int]:
    return list(Topic.objects.values_list("pk", flat=True))


@admin.register(Notification)
class NotificationAdmin(StoreScopedMixin, CustomerSearchMixin, LargeTableAdmin):
    """The outbox, and for any customer "why did / didn't they get it": search for them, or see
    "Messages: why (not)?" on their page.

    Newest first by id (rows are appended: id order is creation order). A common value of a filter
    is met at once walking the primary key newest first; a rare one is looked up in an index.
    """

    list_display = ["created_at", "customer", "topic", "channel", "status", "reason", "send_at", "sent_at", "attempts"]
    # notif_admin_idx is (status, topic, channel): a topic or a channel is looked up in it under
    # every status (and topic); a reason in notif_reason_idx.
    list_filter = [
        "status",
        ("channel", index_prefix_filter(admin.ChoicesFieldListFilter, status=STATUSES, topic=topic_ids)),
        "reason",
        ("topic", index_prefix_filter(admin.RelatedFieldListFilter, status=STATUSES)),
    ]
    search_fields = ["customer", "dedupe_key", "provider_message_id"]  # see get_search_results
    search_help_text = _(
        "The customer's name, e-mail, card or phone; an occasion (the beginning of a dedupe key); "
        "or a provider's message id"
    )
    list_select_related = ["customer", "topic"]
    ordering = ["-id"]
    readonly_fields = [f.name for f in Notification._meta.fields]
    actions = ["cancel_queued", "send_now", "resend_failed"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _control(self, request, queryset, control, done: str, none: str) -> None:
        before = {row.pk: row for row in queryset.only("pk", "status", "send_at", "customer", "topic", "channel")}
        count = control(list(before), staff=request.user.get_username())
        after = Notification.objects.filter(pk__in=list(before)).values_list("pk", "status", "send_at")
        changed = defaultdict(list)  # (status before, status after) → the rows that changed so
        for pk, status, send_at in after:
            if (status, send_at) != (before[pk].status, before[pk].send_at):
                changed[(before[pk].status, status)].append(before[pk])
        for (old, new), rows in changed.items():
            audit_record_many(
                request=request, action=AuditEntry.Action.CHANGE, objects=rows, changes={"status": [old, new]}
            )
        if count:
            self.message_user(request, done % {"count": count, "selected": len(before)}, admin_messages.SUCCESS)
        else:
            self.message_user(request, none, admin_messages.WARNING)

    @admin.action(description=_("Cancel the selected queued messages"), permissions=["change"])
    def cancel_queued(self, request, queryset):
        self._control(
            request,
            queryset,
            controls.queued_cancel,
            ngettext_lazy(
                "%(count)s of %(selected)s selected message cancelled (the others were not queued).",
                "%(count)s of %(selected)s selected messages cancelled (the others were not queued).",
                "selected",
            ),
            _("None of the selected messages is queued: nothing was cancelled."),
        )

    @admin.action(
        description=_("Send the selected queued messages now (the rules still apply)"), permissions=["change"]
    )
    def send_now(self, request, queryset):
        self._control(
            request,
            queryset,
            controls.queued_send_now,
            ngettext_lazy(
                "%(count)s of %(selected)s selected message is due now; consent, quiet hours and caps still apply.",
                "%(count)s of %(selected)s selected messages are due now; consent, quiet hours and caps still apply.",
                "selected",
            ),
            _("None of the selected messages is queued: nothing to send now."),
        )

    @admin.action(description=_("Resend the selected failed messages"), permissions=["change"])
    def resend_failed(self, request, queryset):
        self._control(
            request,
            queryset,
            controls.failed_resend,
            ngettext_lazy(
                "%(count)s of %(selected)s selected message queued again (the others had not failed).",
                "%(count)s of %(selected)s selected messages queued again (the others had not failed).",
                "selected",
            ),
            _("None of the selected messages failed: nothing was resent."),
        )

    def search_also(self, term):
        # notif_dedupe_key_once serves the prefix; the provider's id is looked up through the delivery
        # events' index (the outbox keeps no index on it: every index slows its writes).
        by_provider_id = DeliveryEvent.objects.filter(message_id=term, notification__isnull=False)
        return Q(dedupe_key__startswith=term) | Q(
            pk__in=list(by_provider_id.values_list("notification_id", flat=True)[:100])
        )

    def get_urls(self):
        return [
            path("why/<int:customer_id>/", self.admin_site.admin_view(self.why_view), name="notifications_why"),
            path("sent-email/", self.admin_site.admin_view(self.email_outbox_view), name="notifications_email_outbox"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_see_sent_email": request.user.has_perm(SENT_EMAIL_PERMISSION)}
        return super().changelist_view(request, extra_context)

    def why_view(self, request, customer_id):
        """For one customer: every message, what was decided and why, and their consent history."""
        if not request.user.has_perm(WHY_PERMISSION):
            raise PermissionDenied
        customers = store_scoped(Customer.objects.select_related("preference"), request.user)
        customer = get_object_or_404(customers, pk=customer_id)
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
        if not request.user.has_perm(SENT_EMAIL_PERMISSION):
            raise PermissionDenied
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


class EventTypeFilter(admin.SimpleListFilter):
    """The event kinds providers report (anymail's, which the SMS webhooks map to), listed without
    reading the table for its distinct values."""

    title = _("event")
    parameter_name = "event_type__exact"

    def lookups(self, request, model_admin):
        return [(kind, kind) for kind in EVENT_TYPES]

    def queryset(self, request, queryset):
        return queryset.filter(event_type=self.value()) if self.value() else queryset


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(StoreScopedMixin, ReadOnlyModelAdmin):
    customer_path = "notification__customer"
    list_display = ["occurred_at", "provider", "channel", "event_type", "recipient", "notification", "processed_at"]
    list_filter = ["channel", EventTypeFilter]
    search_fields = ["message_id", "recipient"]  # see get_search_results
    search_help_text = _("A provider's message id, or the customer's name, e-mail, card or phone")
    list_select_related = ["notification__topic"]
    ordering = ["-id"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # The customer's latest messages, as ids: with the message id's index, an OR of two index scans.
        messages = Notification.objects.filter(customer_id__in=customer_ids_matching(term, limit=100))
        ids = list(messages.order_by("-pk").values_list("pk", flat=True)[:5000])
        return queryset.filter(Q(message_id=term) | Q(notification_id__in=ids)), False


@admin.register(ContactSuppression)
class ContactSuppressionAdmin(AuditedAdminMixin, StoreScopedMixin, admin.ModelAdmin):
    """Staff may lift a suppression (delete) after the customer fixed the address; nothing else does."""

    list_display = ["created_at", "channel", "address", "reason", "customer"]
    list_filter = ["channel", "reason"]
    search_fields = ["address"]
    list_select_related = ["customer"]
    readonly_fields = ["channel", "address", "reason", "customer", "event", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(StoreScopedMixin, CustomerSearchMixin, ReadOnlyModelAdmin):
    list_display = ["created_at", "sender", "body", "action", "topic", "customer", "reply_sent_at"]
    list_filter = ["action", "channel"]
    search_fields = ["customer", "sender"]  # see CustomerSearchMixin
    search_help_text = _("The sender's number, or the customer's name, e-mail, card or phone")
    list_select_related = ["customer", "topic"]
    ordering = ["-id"]

    def search_also(self, term):
        return Q(sender=phone_or_none(term) or term)


@admin.register(LetterBatch)
class LetterBatchAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["day", "letter_count", "posted_at", "posted_by", "pdf_link"]
    readonly_fields = ["day", "posted_at", "posted_by"]
    actions = ["mark_posted"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("posted_by").annotate(letter_count=Count("letters"))

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if request.user.has_perm(PRINT_PERMISSION) else [name for name in shown if name != "pdf_link"]

    @admin.display(description=_("letters"), ordering="letter_count")
    def letter_count(self, obj):
        return obj.letter_count

    @admin.display(description=_("print"))
    def pdf_link(self, obj):
        return format_html('<a href="{}">PDF</a>', reverse("admin:notifications_letterbatch_pdf", args=[obj.pk]))

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="notifications_letterbatch_pdf"),
            *super().get_urls(),
        ]

    def pdf_view(self, request, pk):
        if not request.user.has_perm(PRINT_PERMISSION):
            raise PermissionDenied
        batch = get_object_or_404(LetterBatch, pk=pk)
        response = HttpResponse(batch_pdf(batch), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="letters-{batch.day}.pdf"'
        return response

    @admin.action(description=_("Mark posted: the letters were sent"), permissions=["change"])
    def mark_posted(self, request, queryset):
        batches = list(queryset)
        counts = [letter_batch_mark_posted(batch=batch, staff=request.user) for batch in batches]
        total = sum(counts)
        audit_record_many(
            request=request,
            action=AuditEntry.Action.POSTED,
            objects=[batch for batch, count in zip(batches, counts, strict=True) if count],
        )
        self.message_user(
            request,
            ngettext("%(count)s letter marked sent.", "%(count)s letters marked sent.", total) % {"count": total},
            admin_messages.SUCCESS,
        )


@admin.register(UnsubscribeReason)
class UnsubscribeReasonAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["label", "code", "position", "is_active"]
    list_editable = ["position", "is_active"]


@admin.register(UnsubscribeFeedback)
class UnsubscribeFeedbackAdmin(ReadOnlyModelAdmin):
    """Every unsubscribe conversation, with the analysis above the list.

    Not limited to a store's customers: marketing analyses every reason (by topic, channel,
    campaign, time), and no store-scoped role may open it (crm.roles).
    """

    list_display = [
        "created_at",
        "customer",
        "topic",
        "channel",
        "choice",
        "switch_to",
        "reason",
        "campaign",
        "free_text",
    ]
    list_filter = ["choice", "channel", "reason", "topic", "campaign"]
    search_fields = ["free_text", "campaign", "customer__email"]
    list_select_related = ["customer", "topic", "reason"]
    show_full_result_count = False
    date_hierarchy = "created_at"

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "analytics": unsubscribe_analytics()}
        return super().changelist_view(request, extra_context)


class HolidayGreetingForm(forms.ModelForm):
    class Meta:
        model = HolidayGreeting
        fields = ["country", "holiday", "with_gift", "is_active"]

    def clean(self):
        """The holiday must be one the country's calendar knows, or it would never come."""
        data = super().clean()
        country, holiday = (data.get("country") or "").upper(), data.get("holiday") or ""
        if not country or not holiday:
            return data
        try:
            upcoming = upcoming_holidays(country)
        except NotImplementedError:
            self.add_error(
                "country", _("There is no holiday calendar for the country “%(country)s”.") % {"country": country}
            )
            return data
        names = sorted({name for _day, name in upcoming})
        if holiday not in names:
            self.add_error(
                "holiday",
                _("“%(holiday)s” is not a holiday in %(country)s. Its holidays: %(names)s.")
                % {"holiday": holiday, "country": country, "names": ", ".join(names)},
            )
        data["country"] = country
        return data


@admin.register(HolidayGreeting)
class HolidayGreetingAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The holidays greeted early on the day in each customer's zone (birthdays are always greeted)."""

    form = HolidayGreetingForm
    list_display = ["holiday", "country", "next_date", "with_gift", "is_active"]
    list_filter = ["country", "is_active"]

    @admin.display(description=_("next date"))
    def next_date(self, obj):
        try:
            dates = [day for day, name in upcoming_holidays(obj.country) if name == obj.holiday]
        except NotImplementedError:
            dates = []
        return dates[0] if dates else "—"


@admin.register(SenderIdentity)
class SenderIdentityAdmin(admin.ModelAdmin):
    list_display = ["sender_name", "country", "store", "sms_sender_id", "support_phone", "contact_email"]
    list_filter = ["country"]
    list_select_related = ["store"]
    autocomplete_fields = ["store"]
    search_fields = ["sender_name", "country", "store__code", "store__name"]


@admin.register(OfferState)
class OfferStateAdmin(admin.ModelAdmin):
    list_display = ["key", "price", "in_stock", "valid_until", "updated_at"]
    list_filter = ["in_stock"]
    search_fields = ["key"]
