"""Realistic demo customers for the shops' four countries, written with bulk statements.

The customers only: loyalty and notifications seed their own parts of the demo (a purchase
history, preferences and consent) for the customers this returns; ``manage.py seed_demo`` runs them
in order.
"""

import datetime
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import phonenumbers
from django.db import transaction
from django.utils import timezone

from crm.bulk_load import ids_reserve, moment_text, rows_load
from crm.models import Customer, District, Interaction, Store

DEMO_PREFIX = "DEMO-"


@dataclass(frozen=True)
class CountryProfile:
    code: str
    time_zone: str
    languages: tuple[tuple[str, int], ...]  # (language, weight)
    mobile_prefix: str  # E.164 prefix of a mobile range, followed by 7 subscriber digits
    email_domain: str
    cities: dict[str, tuple[str, ...]]
    first_names: dict[str, tuple[str, ...]]  # gender -> names
    last_names: tuple[str, ...]
    streets: tuple[str, ...]


COUNTRIES = (
    CountryProfile(
        code="EE",
        time_zone="Europe/Tallinn",
        languages=(("et", 70), ("ru", 25), ("en", 5)),
        mobile_prefix="+3725",
        email_domain="example.ee",
        cities={
            "Tallinn": (
                "Kesklinn",
                "Kristiine",
                "Lasnamäe",
                "Mustamäe",
                "Nõmme",
                "Pirita",
                "Põhja-Tallinn",
                "Haabersti",
            ),
            "Tartu": ("Kesklinn", "Annelinn", "Karlova", "Supilinn"),
        },
        first_names={
            "female": ("Mari", "Kadri", "Liis", "Triin", "Kristiina", "Anu", "Katrin", "Helen"),
            "male": ("Jaan", "Andres", "Toomas", "Mart", "Rasmus", "Kristjan", "Tõnu", "Priit"),
        },
        last_names=("Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk", "Rebane", "Ilves", "Pärn", "Koppel"),
        streets=("Narva mnt", "Pärnu mnt", "Tartu mnt", "Vabaduse pst", "Riia"),
    ),
    CountryProfile(
        code="FI",
        time_zone="Europe/Helsinki",
        languages=(("fi", 85), ("sv", 12), ("en", 3)),
        mobile_prefix="+35840",
        email_domain="example.fi",
        cities={
            "Helsinki": ("Kallio", "Kamppi", "Töölö", "Pasila", "Vuosaari", "Kruununhaka"),
            "Espoo": ("Tapiola", "Leppävaara", "Matinkylä"),
        },
        first_names={
            "female": ("Aino", "Anna", "Helmi", "Sofia", "Emilia", "Laura", "Sanna", "Johanna"),
            "male": ("Mikko", "Juha", "Matti", "Jukka", "Antti", "Ville", "Eero", "Onni"),
        },
        last_names=("Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen"),
        streets=("Mannerheimintie", "Hämeentie", "Aleksanterinkatu", "Fredrikinkatu"),
    ),
    CountryProfile(
        code="SE",
        time_zone="Europe/Stockholm",
        languages=(("sv", 92), ("en", 5), ("fi", 3)),
        mobile_prefix="+4670",
        email_domain="example.se",
        cities={
            "Stockholm": ("Södermalm", "Östermalm", "Kungsholmen", "Vasastan", "Norrmalm"),
            "Göteborg": ("Majorna", "Haga", "Linnéstaden"),
        },
        first_names={
            "female": ("Maja", "Alice", "Elsa", "Astrid", "Ebba", "Saga", "Karin", "Ingrid"),
            "male": ("Erik", "Lars", "Karl", "Oskar", "Lucas", "Hugo", "Anders", "Nils"),
        },
        last_names=("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson"),
        streets=("Drottninggatan", "Götgatan", "Sveavägen", "Kungsgatan"),
    ),
    CountryProfile(
        code="RU",
        time_zone="Europe/Moscow",
        languages=(("ru", 97), ("en", 3)),
        mobile_prefix="+7916",
        email_domain="example.ru",
        cities={
            "Москва": ("Арбат", "Тверской", "Хамовники", "Замоскворечье"),
            "Санкт-Петербург": ("Василеостровский", "Петроградский", "Центральный"),
        },
        first_names={
            "female": ("Анна", "Мария", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина"),
            "male": ("Алексей", "Дмитрий", "Сергей", "Андрей", "Иван", "Михаил", "Никита"),
        },
        last_names=("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов"),
        streets=("ул. Ленина", "Невский пр.", "ул. Арбат", "Садовая ул."),
    ),
)

_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya".split(),
        strict=True,
    )
)


def _ascii(text: str) -> str:
    out = []
    for ch in text.lower():
        if ch in _CYRILLIC:
            out.append(_CYRILLIC[ch].strip("-"))
        elif ch in "äå":
            out.append("a")
        elif ch in "öõ":
            out.append("o")
        elif ch == "ü":
            out.append("u")
        elif ch == "é":
            out.append("e")
        elif ch.isascii() and ch.isalnum():
            out.append(ch)
    return "".join(out)


def _female_surname(country: str, last: str) -> str:
    return last + "а" if country == "RU" else last


@transaction.atomic
def seed_places() -> tuple[list[District], list[Store]]:
    """Districts and one or two stores per city; safe to run again."""
    districts, stores = [], []
    for profile in COUNTRIES:
        for city, names in profile.cities.items():
            city_districts = []
            for name in names:
                district, _ = District.objects.get_or_create(country=profile.code, city=city, name=name)
                city_districts.append(district)
            districts.extend(city_districts)
            for number, district in enumerate(city_districts[:2], start=1):
                code = f"{profile.code}-{_ascii(city)[:3].upper()}-{number:02d}"
                store, _ = Store.objects.get_or_create(
                    code=code,
                    defaults={
                        "name": f"{city} {district.name}",
                        "district": district,
                        "address": f"{profile.streets[number % len(profile.streets)]} {10 * number + 1}, {city}",
                        "time_zone": profile.time_zone,
                        "opening_hours": "Mon–Sat 9–21, Sun 10–18",
                    },
                )
                stores.append(store)
    return districts, stores


def _mobile_numbers(profile: CountryProfile) -> Callable[[int], str]:
    """The country's phone number for a serial, checked against its numbering plan.

    The plan's mobile pattern, compiled once, answers what ``phonenumbers.is_valid_number``
    answers for these ranges at a fraction of its cost (tests compare the two).
    """
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(profile.code)
    country = f"+{metadata.country_code}"
    lengths = set(metadata.mobile.possible_length or metadata.general_desc.possible_length)
    plan = re.compile(metadata.mobile.national_number_pattern)

    def mobile(serial: int) -> str:
        while True:
            candidate = f"{profile.mobile_prefix}{serial:07d}"
            national = candidate[len(country) :]
            if len(national) in lengths and plan.fullmatch(national):
                return candidate
            serial += 1_000_000  # stays unique per serial below 10**6 per country

    return mobile


CUSTOMER_FIELDS = (
    "id", "public_id", "external_id", "first_name", "last_name", "email", "phone", "birth_date", "language",
    "time_zone", "home_district", "home_store", "address_line", "postal_code", "city", "country", "gender",
    "created_at", "updated_at",
)  # fmt: skip
JOINED_WITHIN_DAYS = 3 * 365
UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


@dataclass
class _Country:
    """What drawing a customer of one country needs, as sequences to index into."""

    profile: CountryProfile
    cities: list[tuple[str, list[int], list[int]]]  # (city, district ids, store ids)
    languages: list[str]  # one entry per weight unit: a uniform draw is a weighted one
    names: dict[str, tuple[list[str], list[str]]]  # gender -> (first names, last names as spelled for the gender)
    spelled: dict[str, str]  # name -> ASCII spelling for e-mail addresses
    mobile: Callable[[int], str]


def _countries(districts: list[District], stores: list[Store]) -> list[_Country]:
    district_ids: dict[tuple[str, str], list[int]] = defaultdict(list)
    city_of = {}
    for district in districts:
        district_ids[(district.country, district.city)].append(district.pk)
        city_of[district.pk] = (district.country, district.city)
    store_ids: dict[tuple[str, str], list[int]] = defaultdict(list)
    for store in stores:
        store_ids[city_of[store.district_id]].append(store.pk)
    countries = []
    for profile in COUNTRIES:
        lasts = {
            "female": [_female_surname(profile.code, last) for last in profile.last_names],
            "male": list(profile.last_names),
        }
        names = {gender: (list(firsts), lasts[gender]) for gender, firsts in profile.first_names.items()}
        every_name = {name for firsts, lasts_ in names.values() for name in (*firsts, *lasts_)}
        countries.append(
            _Country(
                profile=profile,
                cities=[
                    (city, district_ids[(profile.code, city)], store_ids[(profile.code, city)])
                    for city in profile.cities
                ],
                languages=[language for language, weight in profile.languages for _ in range(weight)],
                names=names,
                spelled={name: _ascii(name) for name in every_name},
                mobile=_mobile_numbers(profile),
            )
        )
    return countries


def _customer_rows(
    *, first_id: int, start: int, count: int, rng: random.Random, now: datetime.datetime
) -> Iterator[tuple]:
    """One tuple per customer (CUSTOMER_FIELDS), drawn from ``rng`` in a fixed order: the same seed, the same rows.

    The places are read before the first row is asked for: the rows are written by a COPY that
    holds the connection while it pulls them.
    """
    return _drawn(first_id=first_id, start=start, count=count, rng=rng, now=now, countries=_countries(*seed_places()))


def _drawn(*, first_id, start, count, rng, now, countries) -> Iterator[tuple]:
    draw, bits = rng.random, rng.getrandbits
    today = now.date()
    # Born 18-80 years ago: the first of this month that many years back, less up to 364 days.
    born_from = today.replace(year=today.year - 80, day=1).toordinal() - 364
    born_until = today.replace(year=today.year - 18, day=1).toordinal()
    birthdays = [datetime.date.fromordinal(day).isoformat() for day in range(born_from, born_until + 1)]
    joined_from = int(now.timestamp()) - JOINED_WITHIN_DAYS * 86400
    span = JOINED_WITHIN_DAYS * 86400
    for i, n in enumerate(range(start, start + count)):
        country = countries[n % len(countries)]
        profile = country.profile
        gender = "female" if draw() < 0.5 else "male"
        firsts, lasts = country.names[gender]
        first = firsts[int(draw() * len(firsts))]
        last = lasts[int(draw() * len(lasts))]
        city, district_ids, store_ids = country.cities[int(draw() * len(country.cities))]
        language = country.languages[int(draw() * len(country.languages))]
        has_email = draw() < 0.85
        has_phone = not has_email or draw() < 0.8
        email = f"{country.spelled[first]}.{country.spelled[last]}.{n}@{profile.email_domain}" if has_email else ""
        joined = moment_text(joined_from + int(draw() * span))
        streets = profile.streets
        yield (
            first_id + i,
            f"{bits(128) & UUID4_CLEAR | UUID4_SET:032x}",  # a version-4 UUID, drawn from the seed
            f"{DEMO_PREFIX}{n:07d}",
            first,
            last,
            email,
            country.mobile(n // len(countries)) if has_phone else "",
            birthdays[int(draw() * len(birthdays))],
            language,
            profile.time_zone,
            district_ids[int(draw() * len(district_ids))],
            store_ids[int(draw() * len(store_ids))],
            f"{streets[int(draw() * len(streets))]} {1 + int(draw() * 120)}-{1 + int(draw() * 60)}",
            str(10000 + int(draw() * 90000)),
            city,
            profile.code,
            gender,
            joined,
            joined,
        )


def seed_customers(*, count: int, seed: int = 1, now: datetime.datetime | None = None) -> range:
    """Add ``count`` demo customers (unique phones, e-mails and card numbers); returns their ids.

    The same seed on the same database gives the same customers (joined and born relative to
    ``now``); a second run continues the numbering and draws anew. COPY on PostgreSQL, multi-row
    INSERTs on SQLite (``crm.bulk_load``).
    """
    now = now or timezone.now()
    with transaction.atomic():
        start = Customer.objects.filter(external_id__startswith=DEMO_PREFIX).count()
        first_id = ids_reserve(Customer, count) if count else 0
        rng = random.Random(f"crm-demo:{seed}:{start}")
        rows = _customer_rows(first_id=first_id, start=start, count=count, rng=rng, now=now)
        rows_load(Customer, CUSTOMER_FIELDS, rows)
        # A little history for the customer page.
        Interaction.objects.bulk_create(
            Interaction(customer_id=customer_id, kind=Interaction.Kind.NOTE, summary="Joined the loyalty programme.")
            for customer_id in range(first_id, first_id + min(count, 200))
        )
    return range(first_id, first_id + count)
