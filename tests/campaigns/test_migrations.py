"""Segments moved from crm to campaigns: an installation with segments keeps them, and their permissions."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("crm", "0012_roles_message_controls"), ("campaigns", None)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_installation_with_segments_keeps_them_and_marketing_keeps_its_rights():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)  # segments in crm, as before the move
    old = executor.loader.project_state([BEFORE[0]]).apps
    old.get_model("crm", "Segment").objects.create(name="Old Tallinn", rules={"languages": ["et"]})
    group = old.get_model("auth", "Group").objects.get(name="marketing")
    assert group.permissions.filter(content_type__app_label="crm", codename="view_segment").exists()

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)

    from django.contrib.auth.models import Group, Permission

    from campaigns.models import Segment

    assert list(Segment.objects.values_list("name", "rules")) == [("Old Tallinn", {"languages": ["et"]})]
    marketing = set(Group.objects.get(name="marketing").permissions.values_list("content_type__app_label", "codename"))
    assert {("campaigns", "view_segment"), ("campaigns", "launch_campaign")} <= marketing
    assert not Permission.objects.filter(content_type__app_label="crm", codename__endswith="_segment").exists()
