"""Domain signals: how other apps hear about changes to a customer without crm knowing them.

``crm`` imports no other app; ``notifications`` listens here to re-plan queued messages when a
customer's contact points change.
"""

from django.dispatch import Signal

# Sent by ``crm.services.customer_update`` inside its transaction, after the save, with ``customer``
# (the saved instance) and ``fields`` (a frozenset of the names of the fields whose value changed).
# Receivers write in the same transaction: the change and its consequences commit together.
customer_changed = Signal()

# Sent by bulk writes of many customers (``crm.services.customers_import_write``) inside their
# transaction, once, with ``changes``: {customer: frozenset of the names of its changed fields}.
customers_changed = Signal()
