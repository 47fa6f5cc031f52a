"""Migration operations that add an index to a busy table without stopping its writers."""

from django.db import migrations


class AddIndexOnline(migrations.AddIndex):
    """AddIndex that PostgreSQL builds CONCURRENTLY: the outbox, the tills and the provider webhooks
    keep writing while it reads the table (a plain CREATE INDEX would hold their writes for the
    tens of seconds ten million rows take). Elsewhere (SQLite for ``make run``) a plain AddIndex.

    Its migration must be non-atomic (``atomic = False``): PostgreSQL builds concurrently only
    outside a transaction.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)
