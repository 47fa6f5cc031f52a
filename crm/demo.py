"""Realistic demo data for the shops' four countries, written with bulk statements."""

import datetime
import random
from dataclasses import dataclass

import phonenumbers
from django.db import transaction

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


def _mobile(profile: CountryProfile, serial: int) -> str:
    while True:
        candidate = f"{profile.mobile_prefix}{serial:07d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            return candidate
        serial += 1_000_000  # stays unique per serial below 10**6 per country


def seed_customers(*, count: int, seed: int = 1, batch_size: int = 5000) -> int:
    """Add ``count`` demo customers (unique phones, e-mails and card numbers) with bulk inserts."""
    districts, stores = seed_places()
    rng = random.Random(seed)
    by_city: dict[tuple[str, str], list[District]] = {}
    for district in districts:
        by_city.setdefault((district.country, district.city), []).append(district)
    stores_by_city: dict[str, list[Store]] = {}
    for store in stores:
        stores_by_city.setdefault(store.district.city, []).append(store)
    start = Customer.objects.filter(external_id__startswith=DEMO_PREFIX).count()
    today = datetime.date.today()
    created = 0
    batch: list[Customer] = []
    with transaction.atomic():
        for n in range(start, start + count):
            profile = COUNTRIES[n % len(COUNTRIES)]
            serial = n // len(COUNTRIES)
            gender = rng.choice(("female", "male"))
            first = rng.choice(profile.first_names[gender])
            last = rng.choice(profile.last_names)
            if gender == "female":
                last = _female_surname(profile.code, last)
            city = rng.choice(tuple(profile.cities))
            district = rng.choice(by_city[(profile.code, city)])
            language = rng.choices([lang for lang, _ in profile.languages], [w for _, w in profile.languages])[0]
            has_email = rng.random() < 0.85
            has_phone = not has_email or rng.random() < 0.8
            batch.append(
                Customer(
                    external_id=f"{DEMO_PREFIX}{n:07d}",
                    first_name=first,
                    last_name=last,
                    email=f"{_ascii(first)}.{_ascii(last)}.{n}@{profile.email_domain}" if has_email else "",
                    phone=_mobile(profile, serial) if has_phone else "",
                    birth_date=today.replace(year=today.year - rng.randint(18, 80), day=1)
                    - datetime.timedelta(days=rng.randint(0, 364)),
                    language=language,
                    time_zone=profile.time_zone,
                    home_district=district,
                    home_store=rng.choice(stores_by_city[city]),
                    address_line=f"{rng.choice(profile.streets)} {rng.randint(1, 120)}-{rng.randint(1, 60)}",
                    postal_code=f"{rng.randint(10000, 99999)}",
                    city=city,
                    country=profile.code,
                    gender=gender,
                )
            )
            if len(batch) >= batch_size:
                Customer.objects.bulk_create(batch)
                created += len(batch)
                batch = []
        if batch:
            Customer.objects.bulk_create(batch)
            created += len(batch)
        # A little history for the customer page.
        first_ids = (
            Customer.objects.filter(external_id__startswith=DEMO_PREFIX)
            .order_by("id")
            .values_list("id", flat=True)[start : start + min(count, 200)]
        )
        Interaction.objects.bulk_create(
            Interaction(customer_id=customer_id, kind=Interaction.Kind.NOTE, summary="Joined the loyalty programme.")
            for customer_id in first_ids
        )
    return created
