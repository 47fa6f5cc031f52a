"""The customer pages of notifications: the preference centre, unsubscribe as a conversation, RFC 8058 one-click,
"why am I getting this?" and the live offer page (an e-mail's offer block as it is when opened).

What every customer page needs (token, rate limit, CSRF, no referrer, language) is ``crm.links``;
only the RFC 8058 one-click endpoint is exempt from the CSRF check.
"""

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from crm.links.pages import invalid_link, page_language, private_page, render_page, token_page
from crm.links.ratelimit import client_ip, rate_limited
from crm.links.tokens import customer_token, make_token, read_customer_token, read_token
from notifications.consent.book import MARKETING_CHANNELS, ConsentBook
from notifications.consent.services import Evidence, consent_record
from notifications.delivery.freshness import offer_now
from notifications.models import Channel, ConsentEvent, Notification, OfferState, Preference, Topic
from notifications.outbox.planning import contact_point
from notifications.preferences.services import messenger_link_start
from notifications.public import forms
from notifications.public.preference_centre import (
    preferences_save,
    standing_state,
    topic_wanted,
    unsubscribe_apply,
    what_we_send,
    why_facts,
)
from notifications.selectors import marketing_topics


def _reachable_channels(customer, preference) -> list[str]:
    return [c for c in MARKETING_CHANNELS if contact_point(customer, c, preference)]


@token_page("preferences")
def preferences(request, token: str):
    resolved = read_customer_token("preferences", token)
    if resolved is None:
        return invalid_link(request)
    customer, _data = resolved
    # GET never writes: a customer without preferences sees the defaults of an unsaved instance.
    preference = Preference.objects.filter(customer=customer).first() or Preference(customer=customer)
    language = page_language(request, customer, chosen=preference.language)
    channels = _reachable_channels(customer, preference)
    topics = list(marketing_topics())
    telegram_available = bool(settings.TELEGRAM_BOT_USERNAME) and not preference.telegram_chat_id
    with translation.override(language):
        wordings = forms.consent_wordings(settings.BRAND_NAME)
        book = ConsentBook.for_customers([customer.pk])
        initial = {f"marketing_{c}": book.marketing_on(customer.pk, c) for c in channels}
        initial["topics"] = [t.code for t in topics if topic_wanted(book, customer.pk, t)]
        window = settings.NOTIFICATION_DEFAULT_WINDOW
        caps = {**settings.NOTIFICATION_DEFAULT_MAX_PER_WEEK, **(preference.max_per_week or {})}
        initial.update(
            bonus_channel=(preference.preferred_channels or {}).get("bonus-credited", ""),
            window_start=(preference.window_start or forms.datetime.time.fromisoformat(window[0])).isoformat(),
            window_end=(preference.window_end or forms.datetime.time.fromisoformat(window[1])).isoformat(),
            weekdays=preference.weekdays or [],
            max_email=caps.get("email"),
            max_sms=caps.get("sms"),
            language=preference.language or customer.language,
            paused_until=preference.paused_until,
            districts=list(preference.districts.all()) if preference.pk else [],
        )
        # The Telegram button posts on its own: the one-time link code is a write, so never on GET.
        connecting = request.method == "POST" and request.POST.get("connect") == "telegram"
        form = forms.PreferenceForm(
            None if connecting else (request.POST or None),
            initial=initial,
            customer=customer,
            preference=preference,
            channels=channels,
            topics=topics,
            wordings=wordings,
        )
        changes = None
        telegram_link = ""
        if connecting and telegram_available:
            telegram_link = messenger_link_start(customer=customer)
        elif request.method == "POST" and form.is_valid():
            changes = preferences_save(
                customer=customer,
                data=form.cleaned_data,
                evidence=Evidence.from_request(request, ConsentEvent.Source.PREFERENCE_PAGE),
                wordings=wordings,
                preference=preference,
                book=book,
                topics=topics,
            )
            language = form.cleaned_data["language"]
            if changes:
                book = ConsentBook.for_customers([customer.pk])
    return render_page(
        request,
        "notifications/public/preferences.html",
        {
            "form": form,
            "changes": changes,
            "customer": customer,
            "summary": what_we_send(customer, preference=preference, book=book),
            "standing": standing_state(customer, preference=preference, book=book),
            "telegram_available": telegram_available,
            "telegram_link": telegram_link,
            "token": token,  # for links to other pages under this one (a copy of the customer's data)
        },
        language,
    )


def _resolve_unsubscribe(token: str):
    resolved = read_customer_token("unsubscribe", token)
    if resolved is None:
        return None
    customer, data = resolved
    channel = data.get("ch")
    if channel not in Channel.values:
        return None
    # The message with its topic in one read; the topic on its own only when the message is gone.
    notification = Notification.objects.select_related("topic").filter(pk=data.get("n"), customer=customer).first()
    if notification is not None and notification.topic.code == data.get("t"):
        topic = notification.topic
    else:
        topic = Topic.objects.filter(code=data.get("t")).first()
    if topic is None:
        return None
    return customer, topic, channel, notification


@token_page("unsubscribe")
def unsubscribe(request, token: str):
    resolved = _resolve_unsubscribe(token)
    if resolved is None:
        return invalid_link(request)
    customer, topic, channel, notification = resolved
    preference = Preference.objects.filter(customer=customer).first()
    language = page_language(request, customer, chosen=preference.language if preference else "")
    others = [c for c in _reachable_channels(customer, preference) if c != channel]
    with translation.override(language):
        form = forms.UnsubscribeForm(
            request.POST or None, topic=topic, channel=channel, other_channels=others, language=language
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            chosen = dict(form.fields["choice"].choices)[data["choice"]]
            feedback = unsubscribe_apply(
                customer=customer,
                topic=topic,
                channel=channel,
                choice=data["choice"],
                switch_to=data["switch_to"],
                reason=data["reason"],
                free_text=data["free_text"],
                notification=notification,
                evidence=Evidence.from_request(request, ConsentEvent.Source.UNSUBSCRIBE),
                wording=str(chosen),
            )
            book = ConsentBook.for_customers([customer.pk])
            return render_page(
                request,
                "notifications/public/unsubscribed.html",
                {
                    "feedback": feedback,
                    "chosen": chosen,
                    "summary": what_we_send(customer, preference=preference, book=book),
                    "standing": standing_state(customer, preference=preference, book=book),
                    "customer": customer,
                },
                language,
            )
    return render_page(
        request,
        "notifications/public/unsubscribe.html",
        {
            "form": form,
            "topic": topic,
            "channel_label": Channel(channel).label,
            "customer": customer,
            "standing": standing_state(customer, preference=preference, book=ConsentBook.for_customers([customer.pk])),
        },
        language,
    )


@token_page("why")
def why(request, token: str):
    """ "Why am I getting this?": the consent, the rule or campaign and the date behind one message,
    with one-click ways to get fewer (at most one a week on this channel) or none (this topic or
    all news on this channel). GET shows, POST (with CSRF) changes; no JavaScript needed."""
    data = read_token("why", token) or {}
    notification = (
        Notification.objects.select_related("customer", "topic").filter(pk=data.get("n")).first()
        if isinstance(data.get("n"), int)
        else None
    )
    customer = notification.customer if notification else None
    if customer is None or not customer.is_active or data.get("v", 0) != customer.token_version:
        return invalid_link(request)
    topic, channel = notification.topic, notification.channel
    preference = Preference.objects.filter(customer=customer).first()
    language = page_language(request, customer, chosen=preference.language if preference else "")
    chosen = None
    with translation.override(language):
        choices = forms.why_choices(topic=topic, channel=channel)
        if request.method == "POST":
            choice = request.POST.get("choice", "")
            if choice not in choices:
                return render_page(request, "notifications/public/why.html", {
                    **why_facts(customer, topic, channel, notification), "choices": choices,
                    "error": _("Choose one of the buttons."), "customer": customer,
                }, language, status=400)  # fmt: skip
            unsubscribe_apply(
                customer=customer,
                topic=topic,
                channel=channel,
                choice=choice,
                notification=notification,
                evidence=Evidence.from_request(request, ConsentEvent.Source.WHY_PAGE),
                wording=str(choices[choice]),
            )
            chosen = choices[choice]
        facts = why_facts(customer, topic, channel, notification)
    return render_page(
        request,
        "notifications/public/why.html",
        {**facts, "choices": choices, "chosen": chosen, "customer": customer},
        language,
    )


@token_page("offer")
def offer(request, token: str):
    """The offer block of an e-mail as it is now: the current price, in stock or sold out, the end in
    the customer's zone, or "this offer has ended". It only reads, whatever the method (mail scanners
    prefetch links, so opening it is not counted as a click); a bad or revoked link shows the
    invalid-link page like every other."""
    data = read_token("offer", token) or {}
    notification = (
        Notification.objects.select_related("customer", "topic").filter(pk=data.get("n")).first()
        if isinstance(data.get("n"), int)
        else None
    )
    customer = notification.customer if notification else None
    offer_fields = (notification.context.get("offer") or {}) if notification else {}
    if (
        customer is None
        or not customer.is_active
        or data.get("v", 0) != customer.token_version
        or not isinstance(offer_fields, dict)
        or not offer_fields.get("key")
    ):
        return invalid_link(request)
    state = OfferState.objects.filter(key=str(offer_fields["key"])).first()
    preference = Preference.objects.filter(customer=customer).first()
    language = page_language(request, customer, chosen=preference.language if preference else "")
    context = notification.context
    return render_page(
        request,
        "notifications/public/offer.html",
        {
            **offer_now(context, state, now=timezone.now()),
            "title": context.get("title") or offer_fields.get("title") or notification.topic.name,
            "text": context.get("text") or offer_fields.get("text") or "",
            "currency": settings.LOYALTY_BASE_CURRENCY,
            "zone": customer.zone,
            "customer": customer,
            "preferences_url": reverse("preferences", args=[customer_token("preferences", customer)]),
            "why_url": reverse("why", args=[make_token("why", n=notification.pk, v=customer.token_version)]),
        },
        language,
    )


@csrf_exempt  # RFC 8058: the mailbox provider posts without cookies or a CSRF token
@require_http_methods(["POST"])
@private_page
@rate_limited("unsubscribe")
def unsubscribe_one_click(request, token: str):
    """RFC 8058 one-click: withdraw this topic on this channel at once; 200, no redirect.

    Idempotent: mailbox providers retry and prefetch, so a withdrawal already in force records
    nothing new (the first one is the evidence).
    """
    resolved = _resolve_unsubscribe(token)
    if resolved is None:
        return HttpResponse(_("This link is no longer valid."), status=404, content_type="text/plain")
    if request.POST.get("List-Unsubscribe") != "One-Click":
        return HttpResponse(_("Expected List-Unsubscribe=One-Click."), status=400, content_type="text/plain")
    customer, topic, channel, _notification = resolved
    if ConsentBook.for_customers([customer.pk]).allows(customer.pk, channel, topic):
        consent_record(
            customer=customer,
            channel=channel,
            topic=topic,
            action=ConsentEvent.Action.WITHDRAWN,
            source=ConsentEvent.Source.ONE_CLICK,
            wording="List-Unsubscribe=One-Click",
            ip_address=client_ip(request) or None,
            user_agent=request.headers.get("User-Agent", ""),
        )
    return HttpResponse(_("You are unsubscribed."), status=200, content_type="text/plain")
