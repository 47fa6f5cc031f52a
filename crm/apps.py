from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Customers")

    def ready(self):
        from django.db.models.signals import post_migrate

        from crm.roles import roles_sync_after_migrate

        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="crm.roles_sync_after_migrate")
        from django.contrib.postgres.indexes import OpClass
        from django.db.models import OrderBy
        from django.db.models.functions import Collate
        from django.db.models.indexes import IndexExpression

        from crm.dashboard import register_crm_panels
        from crm.timeline import register_crm_sources

        register_crm_sources()
        register_crm_panels()

        from django.db.models import Field, ForeignObject

        from config.sql import AnyOf

        # field__any=[...]: one array parameter instead of a placeholder per value (foreign keys keep
        # their own list of lookups).
        Field.register_lookup(AnyOf)
        ForeignObject.register_lookup(AnyOf)

        # An operator class is written after its index expression, not inside its parentheses
        # (crm.models.PrefixSearchIndex): what django.contrib.postgres registers when installed.
        IndexExpression.register_wrappers(OrderBy, OpClass, Collate)
