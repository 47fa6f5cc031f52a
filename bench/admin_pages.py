"""The admin timings of bench_admin.py, in a process of their own (Django is set up here with its own
settings and database; bench/run.py runs every benchmark in one process). See bench_admin.py."""

import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _count(text: str) -> int:
    text = text.strip().lower()
    for suffix, factor in (("m", 1_000_000), ("k", 1_000)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


# BENCH_SCALE (default 100k) sets the customers, and ten outbox rows each: BENCH_SCALE=1m is the
# issue's million customers and ten million notifications. Each scale keeps a database of its own.
SCALE = os.environ.get("BENCH_SCALE", "100k").strip().lower()
DB_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/crm_bench_admin_{SCALE}")
CUSTOMERS = _count(os.environ.get("BENCH_ADMIN_CUSTOMERS", SCALE))
NOTIFICATIONS = _count(os.environ.get("BENCH_ADMIN_NOTIFICATIONS", str(10 * _count(SCALE))))
RUNS = int(os.environ.get("BENCH_ADMIN_RUNS", "20"))
PAGE_BUDGET = float(os.environ.get("BENCH_ADMIN_PAGE_BUDGET", "20"))
TARGET_MS = 300

os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings.local",
    DATABASE_URL=DB_URL,
    DEBUG="false",
    ALLOWED_HOSTS="testserver",
    CELERY_BROKER_URL="memory://",
    LOG_LEVEL="WARNING",
    PUBLIC_BASE_URL="https://crm.example.com",
)
subprocess.run(
    ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {DB_URL.rsplit('/', 1)[1]}"],
    capture_output=True,
)

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from crm.models import Customer, District, Store  # noqa: E402
from loyalty.models import BonusAccount, Tier  # noqa: E402
from notifications.models import Topic  # noqa: E402
from surveys.models import Question, Survey  # noqa: E402

call_command("migrate", "--noinput", verbosity=0)

# Rows per table for the given scale (the outbox and the customers are set above).
C, N = CUSTOMERS, NOTIFICATIONS
BUSY_EVERY = 2000  # every 2000th outbox row belongs to the busy customer (5,000 at 10m)
BUSY_LEDGER_EVERY = 500  # and every 500th ledger line (4,000 at 1m customers)


def _has_rows(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
        return cursor.fetchone()[0]


def _fill(table: str, sql: str, params: dict) -> None:
    if _has_rows(table):
        return
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"  seeded {rows:,} rows into {table} in {time.perf_counter() - started:.0f} s (kept)", flush=True)


def seed() -> None:
    districts = [
        District.objects.get_or_create(country="EE", city="Tallinn", name=f"Bench district {i}")[0].pk
        for i in range(12)
    ]
    stores = [
        Store.objects.get_or_create(
            code=f"BENCH-{i:02d}",
            defaults={"name": f"Bench store {i}", "district_id": districts[i % 12], "address": "Narva mnt 1"},
        )[0].pk
        for i in range(24)
    ]
    tiers = [
        Tier.objects.get_or_create(code=code, defaults={"name": code.title(), "min_spend": spend})[0].pk
        for code, spend in (("silver", 200), ("gold", 1000), ("platinum", 5000))
    ]
    survey, _ = Survey.objects.get_or_create(
        slug="bench-feedback", defaults={"kind": "feedback", "title": "How was it?"}
    )
    questions = [
        Question.objects.get_or_create(survey=survey, position=i, defaults={"kind": "scale", "text": f"Q{i}"})[0].pk
        for i in range(3)
    ]
    staff = get_user_model().objects.filter(
        username="bench-admin"
    ).first() or get_user_model().objects.create_superuser("bench-admin", "bench-admin@example.com", "bench-admin")
    topics = dict(Topic.objects.values_list("code", "pk"))
    # Outbox mix by weight: most rows are service and bonus messages; "thanks" letters are rare.
    topic_mix = (
        ["bonus-credited"] * 30
        + ["bonus-debited"] * 15
        + ["service"] * 15
        + ["promotion"] * 15
        + ["new-products"] * 8
        + ["bonus-expiring"] * 6
        + ["survey-invitation"] * 4
        + ["greeting"] * 3
        + ["store-opening"] * 2
        + ["opening-hours"] * 1
        + ["bonus-expired"] * 1
    )
    params = {
        "c": C,
        "n": N,
        "busy_every": BUSY_EVERY,
        "busy_ledger_every": BUSY_LEDGER_EVERY,
        "districts": districts,
        "stores": stores,
        "tiers": tiers,
        "topics": [topics[code] for code in topic_mix],
        "thanks": topics["thanks"],
        "survey": survey.pk,
        "questions": questions,
        "staff": staff.pk,
    }
    print(f"seeding (once) {C:,} customers and {N:,} notifications into {DB_URL.rsplit('/', 1)[1]} ...", flush=True)
    _fill(
        "crm_customer",
        """
        INSERT INTO crm_customer (public_id, external_id, first_name, last_name, email, phone, birth_date, language,
            time_zone, address_line, postal_code, city, country, gender, is_active, created_at, updated_at,
            home_district_id, home_store_id, token_version)
        SELECT gen_random_uuid(), 'CARD-' || lpad(g::text, 8, '0'),
            (ARRAY['Mari','Kadri','Liis','Jaan','Andres','Aino','Mikko','Anna','Sofia','Olga','Ivan','Erik'])[1 + g %% 12],
            (ARRAY['Tamm','Saar','Sepp','Mägi','Kask','Korhonen','Virtanen','Andersson','Johansson','Ivanov',
                   'Petrov','Laine','Kukk','Rebane','Ilves','Pärn'])[1 + (g / 12) %% 16],
            'c' || g || '@example.com', '+3725' || lpad(g::text, 7, '0'), date '1950-01-01' + (g %% 18000)::int,
            (ARRAY['et','ru','fi','sv','en'])[1 + g %% 5], 'Europe/Tallinn', 'Narva mnt ' || g %% 200, '10115',
            'Tallinn', 'EE', '', g %% 50 <> 0, now() - (%(c)s - g) * interval '20 seconds',
            now() - (%(c)s - g) * interval '20 seconds', (%(districts)s::bigint[])[1 + g %% 12],
            (%(stores)s::bigint[])[1 + g %% 24], 0
        FROM generate_series(1::bigint, %(c)s) g
        """,
        params,
    )
    first = Customer.objects.order_by("pk").values_list("pk", flat=True).first()
    params["first"] = first
    # Row g of a per-customer table belongs to customer first + (g * 7919) % c: spread, not clustered.
    _fill(
        "notifications_preference",
        """
        INSERT INTO notifications_preference (preferred_channels, weekdays, max_per_week, language, badge, updated_at,
            customer_id, messenger, messenger_link_code, telegram_chat_id, ignored_topics, learn_send_time, learned_from)
        SELECT '{}', '[]', '{}', '',
            (ARRAY['full','full','email_only','sms_only','service_only','service_only','none'])[1 + g %% 7], now(),
            %(first)s + g - 1, '', '', '', '{}', true, 0
        FROM generate_series(1::bigint, %(c)s) g
        """,
        params,
    )
    _fill(
        "notifications_notification",
        """
        INSERT INTO notifications_notification (customer_id, topic_id, channel, context, status, reason, detail,
            send_at, deadline, attempts, dedupe_key, provider_message_id, subject, body, sent_at, sms_encoding,
            created_at, updated_at)
        SELECT customer_id, topic_id, channel, '{"points": 120, "balance": 560}', status,
            CASE WHEN status = 'suppressed' AND g %% 100000 = 7 THEN 'no_template'
                WHEN status = 'suppressed' THEN (ARRAY['no_consent','no_consent','no_consent','no_consent','no_consent',
                'no_consent','capped','capped','capped','capped','capped','quiet_hours','quiet_hours','quiet_hours',
                'quiet_hours','no_contact','no_contact','no_contact','coalesced','coalesced','stale','paused',
                'deadline','inactive','suppressed_contact'])[1 + (g / 20) %% 25]
                WHEN status = 'failed' THEN 'provider_error' WHEN status = 'deferred' THEN 'capped' ELSE '' END,
            '', at + interval '1 hour', at + interval '3 days',
            CASE WHEN status IN ('sent', 'delivered', 'failed') THEN 1 ELSE 0 END,
            'bench:' || lpad(g::text, 10, '0'),
            CASE WHEN status IN ('sent', 'delivered') THEN 'msg-' || g ELSE '' END,
            CASE WHEN channel = 'email' THEN 'Corner Shop: 120 points were credited' ELSE '' END,
            CASE WHEN status IN ('sent', 'delivered') THEN 'Hello Mari, 120 points were credited to your account '
                || 'for your purchase at Corner Shop. Your balance is now 560 points. Questions? +372 600 0000.'
                ELSE '' END,
            CASE WHEN status IN ('sent', 'delivered') THEN at + interval '1 hour' END, '', at, at
        FROM (
            SELECT g,
                CASE WHEN g %% %(busy_every)s = 0 THEN %(first)s ELSE %(first)s + (g * 7919) %% %(c)s END AS customer_id,
                CASE WHEN g %% 5000 = 17 THEN %(thanks)s
                    ELSE (%(topics)s::bigint[])[1 + (g * 13) %% 100] END AS topic_id,
                CASE WHEN g %% 5000 = 17 THEN 'postal' ELSE
                    (ARRAY['email','email','email','email','email','email','sms','sms','sms','messenger'])[1 + (g * 7) %% 10]
                    END AS channel,
                CASE WHEN g > %(n)s * 0.97 THEN (CASE WHEN g %% 10 = 0 THEN 'deferred' ELSE 'scheduled' END)
                    WHEN g %% 100000 = 7 THEN 'suppressed'
                    ELSE (ARRAY['sent','sent','sent','sent','sent','sent','sent','sent','sent','sent','sent','sent',
                        'sent','sent','delivered','delivered','delivered','suppressed','suppressed','cancelled'])
                        [1 + (g * 17) %% 20] END AS status0,
                now() - (%(n)s - g) * interval '3 seconds' AS at
            FROM generate_series(1::bigint, %(n)s) g
        ) rows
        CROSS JOIN LATERAL (
            SELECT CASE WHEN status0 = 'sent' AND g %% 97 = 0 THEN 'failed' ELSE status0 END AS status
        ) s
        """,
        params,
    )
    _fill(
        "loyalty_bonusaccount",
        """
        INSERT INTO loyalty_bonusaccount (balance, debt, created_at, updated_at, customer_id, tier_id,
            spend_12m, purchases_12m, last_purchase_at)
        SELECT g %% 900, 0, now(), now(), %(first)s + g - 1,
            CASE WHEN g %% 10 < 7 THEN NULL ELSE (%(tiers)s::bigint[])[1 + g %% 3] END,
            (g %% 3000)::numeric, g %% 40, now() - (g %% 365) * interval '1 day'
        FROM generate_series(1::bigint, %(c)s) g
        """,
        params,
    )
    params["first_account"] = BonusAccount.objects.order_by("pk").values_list("pk", flat=True).first()
    _fill(
        "loyalty_bonustransaction",
        """
        INSERT INTO loyalty_bonustransaction (kind, points, debt_change, source, idempotency_key, occurred_at,
            receipt_id, cashier_id, amount, currency, base_amount, reason, created_at, account_id, staff_id, store_id)
        SELECT kind, CASE WHEN kind IN ('accrual', 'gift') THEN 1 + g %% 200 ELSE -(1 + g %% 100) END, 0, 'pos',
            'bench:' || g, at, 'R-' || g, 'K' || g %% 50, 10 + g %% 300, 'EUR', 10 + g %% 300,
            CASE WHEN kind = 'adjustment' THEN 'bench correction' ELSE '' END, at,
            CASE WHEN g %% %(busy_ledger_every)s = 0 THEN %(first_account)s
                ELSE %(first_account)s + (g * 7919) %% %(c)s END,
            CASE WHEN kind = 'adjustment' THEN %(staff)s END, (%(stores)s::bigint[])[1 + g %% 24]
        FROM (
            SELECT g, now() - (2 * %(c)s - g) * interval '15 seconds' AS at,
                (ARRAY['accrual','accrual','accrual','accrual','accrual','accrual','accrual','accrual','accrual',
                    'accrual','accrual','accrual','redemption','redemption','redemption','redemption','redemption',
                    'expiry','gift','adjustment'])[1 + (g * 17) %% 20] AS kind
            FROM generate_series(1::bigint, 2 * %(c)s) g
        ) rows
        """,
        params,
    )
    _fill(
        "loyalty_bonuslot",
        """
        INSERT INTO loyalty_bonuslot (points, remaining, expires_at, created_at, account_id, credit_id)
        SELECT points, CASE WHEN id %% 2 = 0 THEN points ELSE 0 END, occurred_at + interval '365 days', occurred_at,
            account_id, id
        FROM loyalty_bonustransaction WHERE kind IN ('accrual', 'gift')
        """,
        params,
    )
    _fill(
        "notifications_consentevent",
        """
        INSERT INTO notifications_consentevent (channel, action, source, wording, wording_version, user_agent, reason,
            created_at, customer_id, scope)
        SELECT (ARRAY['email','sms'])[1 + g %% 2], CASE WHEN g %% 9 = 0 THEN 'withdrawn' ELSE 'granted' END,
            CASE WHEN g %% 5000 = 3 THEN 'keyword' ELSE (ARRAY['survey','preference_page','unsubscribe','import'])
                [1 + (g / 2) %% 4] END, 'Yes, send me news and offers',
            'v1', '', '', now() - (%(c)s - g / 2) * interval '20 seconds', %(first)s + (g * 7919) %% %(c)s, 'marketing'
        FROM generate_series(1::bigint, 2 * %(c)s) g
        """,
        params,
    )
    _fill(
        "notifications_deliveryevent",
        """
        INSERT INTO notifications_deliveryevent (provider, channel, event_type, event_key, message_id, recipient, detail,
            occurred_at, payload, processed_at, created_at, notification_id)
        SELECT CASE WHEN channel = 'email' THEN 'ses' ELSE 'twilio' END, channel,
            CASE WHEN id %% 100000 = 4 THEN 'complained' ELSE (ARRAY['delivered','delivered','delivered','delivered',
                'delivered','delivered','delivered','delivered','delivered','delivered','delivered','delivered',
                'opened','opened','opened','opened','opened','clicked','clicked','bounced'])[1 + (id / 4) %% 20] END,
            'bench:' || id, provider_message_id, 'c' || customer_id || '@example.com', '',
            sent_at + interval '1 minute', '{}', sent_at + interval '2 minutes', sent_at + interval '1 minute', id
        FROM notifications_notification WHERE status IN ('sent', 'delivered') AND id %% 4 = 0
        """,
        params,
    )
    _fill(
        "notifications_inboundmessage",
        """
        INSERT INTO notifications_inboundmessage (provider, provider_message_id, channel, sender, body, action, reply,
            created_at, customer_id, payload, processed_at)
        SELECT 'twilio', 'in-' || g, 'sms', '+3725' || lpad(g::text, 7, '0'),
            CASE WHEN g %% 3 = 0 THEN 'STOP' ELSE 'Is the store open on Sunday?' END,
            CASE WHEN g %% 3 = 0 THEN 'stop' ELSE 'other' END, '',
            now() - (%(c)s / 10 - g) * interval '200 seconds', %(first)s + (g * 7919) %% %(c)s, '{}', now()
        FROM generate_series(1::bigint, %(c)s / 10) g
        """,
        params,
    )
    _fill(
        "crm_interaction",
        """
        INSERT INTO crm_interaction (kind, occurred_at, summary, created_at, customer_id, staff_id, store_id)
        SELECT (ARRAY['call','visit','note','message'])[1 + g %% 4], at, 'Asked about the new store opening hours', at,
            CASE WHEN g %% 300 = 0 THEN %(first)s ELSE %(first)s + (g * 7919) %% %(c)s END, %(staff)s,
            (%(stores)s::bigint[])[1 + g %% 24]
        FROM (SELECT g, now() - (%(c)s - g) * interval '20 seconds' AS at FROM generate_series(1::bigint, %(c)s) g) rows
        """,
        params,
    )
    _fill(
        "crm_callback",
        """
        INSERT INTO crm_callback (due_at, subject, notes, status, created_at, assigned_to_id, customer_id)
        SELECT now() + (g - %(c)s / 100) * interval '10 minutes', 'Call back about the refund', '',
            CASE WHEN g > %(c)s / 100 - 500 THEN 'open' ELSE 'done' END, now(), %(staff)s,
            %(first)s + (g * 7919) %% %(c)s
        FROM generate_series(1::bigint, %(c)s / 50) g
        """,
        params,
    )
    _fill(
        "surveys_response",
        """
        INSERT INTO surveys_response (language, completed_at, awaiting_confirmation, created_at, updated_at,
            customer_id, survey_id)
        SELECT 'et', CASE WHEN g %% 4 <> 0 THEN now() - g * interval '30 seconds' END, false,
            now() - g * interval '30 seconds', now() - g * interval '30 seconds', %(first)s + g - 1, %(survey)s
        FROM generate_series(1::bigint, %(c)s / 5) g
        """,
        params,
    )
    _fill(
        "surveys_answer",
        """
        INSERT INTO surveys_answer (value, question_id, response_id)
        SELECT to_jsonb(r.id %% 11), q.id, r.id FROM surveys_response r CROSS JOIN unnest(%(questions)s::bigint[]) q(id)
        """,
        params,
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# A statement that counts rows of a table with no WHERE clause: a full-table count.
FULL_COUNT = re.compile(r'SELECT COUNT\(\*\) AS "__count" FROM "\w+"\s*$', re.IGNORECASE)


def timed(client: Client, name: str, url: str) -> None:
    times: list[float] = []
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (name, url, response.status_code)
    queries = len(captured.captured_queries)
    full_counts = sum(1 for q in captured.captured_queries if FULL_COUNT.match(q["sql"].strip()))
    first = time.perf_counter() - started
    while len(times) < RUNS and (sum(times) + first < PAGE_BUDGET or len(times) < 2):
        began = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - began)
    p95 = percentile(times, 0.95) * 1000
    runs = f"{len(times)} runs" + ("" if len(times) == RUNS else f", stopped after {PAGE_BUDGET:.0f} s")
    print(
        f"admin {name} p95: ours {p95:.0f} ms | target {TARGET_MS} ms | met {'yes' if p95 <= TARGET_MS else 'no'}"
        f"   ({runs}; median {percentile(times, 0.5) * 1000:.0f} ms; {queries} queries; "
        f"full-table counts: {full_counts})",
        flush=True,
    )


def main() -> None:
    seed()
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-admin"))
    busy = Customer.objects.order_by("pk").first()
    account = BonusAccount.objects.get(customer=busy)
    topics = dict(Topic.objects.values_list("code", "pk"))
    tier = Tier.objects.get(code="gold").pk
    survey = Survey.objects.get(slug="bench-feedback").pk
    some = Customer.objects.filter(pk=busy.pk + C // 2).values("email", "external_id").first() or {
        "email": busy.email,
        "external_id": busy.external_id,
    }
    pages = [
        ("customers", "/admin/crm/customer/"),
        ("customers filtered (language)", "/admin/crm/customer/?language__exact=et"),
        ("customers filtered (inactive)", "/admin/crm/customer/?is_active__exact=0"),
        ("customers search (e-mail)", f"/admin/crm/customer/?q={some['email']}"),
        ("customers search (card)", f"/admin/crm/customer/?q={some['external_id']}"),
        ("customers search (name)", "/admin/crm/customer/?q=Tamm"),
        ("customer page (busy customer)", f"/admin/crm/customer/{busy.pk}/change/"),
        ("customer messages why (busy customer)", f"/admin/notifications/notification/why/{busy.pk}/"),
        ("interactions", "/admin/crm/interaction/"),
        ("interactions filtered (kind)", "/admin/crm/interaction/?kind__exact=call"),
        ("interactions of a customer", f"/admin/crm/interaction/?customer__id__exact={busy.pk}"),
        ("callbacks", "/admin/crm/callback/"),
        ("callbacks filtered (open)", "/admin/crm/callback/?status__exact=open"),
        ("bonus accounts", "/admin/loyalty/bonusaccount/"),
        ("bonus accounts filtered (tier)", f"/admin/loyalty/bonusaccount/?tier__id__exact={tier}"),
        ("bonus accounts search (card)", f"/admin/loyalty/bonusaccount/?q={some['external_id']}"),
        ("bonus account page (busy customer)", f"/admin/loyalty/bonusaccount/{account.pk}/change/"),
        ("bonus transactions", "/admin/loyalty/bonustransaction/"),
        ("bonus transactions filtered (gift)", "/admin/loyalty/bonustransaction/?kind__exact=gift"),
        ("bonus transactions filtered (refunds)", "/admin/loyalty/bonustransaction/?kind__exact=reversal"),
        ("bonus transactions search (receipt)", "/admin/loyalty/bonustransaction/?q=R-123457"),
        ("notifications", "/admin/notifications/notification/"),
        ("notifications filtered (failed)", "/admin/notifications/notification/?status__exact=failed"),
        ("notifications filtered (scheduled)", "/admin/notifications/notification/?status__exact=scheduled"),
        ("notifications filtered (printing)", "/admin/notifications/notification/?status__exact=printing"),
        (
            "notifications filtered (topic thanks)",
            f"/admin/notifications/notification/?topic__id__exact={topics['thanks']}",
        ),
        ("notifications filtered (reason stale)", "/admin/notifications/notification/?reason__exact=stale"),
        ("notifications filtered (rare reason)", "/admin/notifications/notification/?reason__exact=no_template"),
        ("notifications filtered (postal)", "/admin/notifications/notification/?channel__exact=postal"),
        ("notifications of a customer", f"/admin/notifications/notification/?customer__id__exact={busy.pk}"),
        ("notifications search (e-mail)", f"/admin/notifications/notification/?q={some['email']}"),
        ("consent events", "/admin/notifications/consentevent/"),
        ("consent events filtered (withdrawn)", "/admin/notifications/consentevent/?action__exact=withdrawn"),
        ("consent events filtered (rare source)", "/admin/notifications/consentevent/?source__exact=keyword"),
        ("consent events search (e-mail)", f"/admin/notifications/consentevent/?q={some['email']}"),
        ("delivery events", "/admin/notifications/deliveryevent/"),
        ("delivery events filtered (bounced)", "/admin/notifications/deliveryevent/?event_type__exact=bounced"),
        ("delivery events filtered (complained)", "/admin/notifications/deliveryevent/?event_type__exact=complained"),
        ("delivery events search (message id)", "/admin/notifications/deliveryevent/?q=msg-123456"),
        ("inbound messages", "/admin/notifications/inboundmessage/"),
        ("inbound messages filtered (stop)", "/admin/notifications/inboundmessage/?action__exact=stop"),
        ("inbound messages search (phone)", "/admin/notifications/inboundmessage/?q=%2B37250012345"),
        ("preferences", "/admin/notifications/preference/"),
        ("preferences filtered (badge)", "/admin/notifications/preference/?badge__exact=sms_only"),
        ("survey responses", "/admin/surveys/response/"),
        ("survey responses filtered (survey)", f"/admin/surveys/response/?survey__id__exact={survey}"),
        # Report pages next to the changelists (aggregates over whole tables by design).
        ("unsubscribe feedback with analytics", "/admin/notifications/unsubscribefeedback/"),
        ("points liability report", "/admin/loyalty/bonusaccount/liability/"),
    ]
    only = [part for part in os.environ.get("BENCH_ADMIN_ONLY", "").split(",") if part]
    print(f"== admin pages at {C:,} customers / {N:,} notifications ({RUNS} runs each)", flush=True)
    for name, url in pages:
        if only and not any(part in name for part in only):
            continue
        timed(client, name, url)


main()
