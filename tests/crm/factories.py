import factory

from crm.models import Customer, District, Interaction, Store


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        django_get_or_create = ("country", "city", "name")

    name = factory.Sequence(lambda n: f"District {n}")
    city = "Tallinn"
    country = "EE"


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    code = factory.Sequence(lambda n: f"TLN-{n:03d}")
    name = factory.Sequence(lambda n: f"Store {n}")
    district = factory.SubFactory(DistrictFactory)
    address = "Narva mnt 1, Tallinn"
    time_zone = "Europe/Tallinn"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = factory.Sequence(lambda n: f"+3725{n:07d}")
    external_id = factory.Sequence(lambda n: f"CARD-{n:07d}")
    language = "en"
    time_zone = "Europe/Tallinn"


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    kind = Interaction.Kind.NOTE
    summary = "Asked about the new store."
