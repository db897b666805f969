"""Workloads: application models that use optimistic locking in different shapes.

    tickets    unique consecutive ticket numbers handed out by insert-retry
    documents  PUT/PATCH on entities with `metadata.version` (counter or timestamp)
    orders     an order state machine (cancel/refund vs approve) and product variants (colour vs size)

Each module defines one `Workload` subclass; importing this package registers them all.
"""

from lab.workloads import documents, orders, tickets
from lab.workloads.base import Invariant, Settings, Slot, Snapshot, Table, Violation, Workload

__all__ = ["Invariant", "Settings", "Slot", "Snapshot", "Table", "Violation", "Workload", "documents", "orders",
           "tickets"]
