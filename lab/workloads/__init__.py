"""workloads (the generator): application models that use optimistic locking, and the traffic they issue.

    users      the incident's versioned table: guarded read-modify-writes (plus inserts and guarded deletes)
    tickets    unique consecutive ticket numbers handed out by insert-retry
    documents  PUT/PATCH on entities with `metadata.version` (counter or timestamp)
    orders     an order state machine (cancel/refund vs approve) and product variants (colour vs size)
    guards     the WHERE condition an optimistic-locking UPDATE adds (strict, gte, lww, none)
    plan, keys, shift
               seeded traffic plans: which client issues which operation on which key, and when

Each workload module defines one `Workload` subclass; importing this package registers them all.
"""

from lab.workloads import documents, orders, tickets, users
from lab.workloads.base import Invariant, Settings, Slot, Snapshot, Table, Violation, Workload

__all__ = ["Invariant", "Settings", "Slot", "Snapshot", "Table", "Violation", "Workload", "documents", "orders",
           "tickets", "users"]
