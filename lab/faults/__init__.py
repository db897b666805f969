"""The fault layer (nemesis): small fault objects with `start()`/`heal()`, recorded in the history.

    from lab.faults import FaultContext, FaultSet

    ctx = FaultContext(lab, history)
    with FaultSet(ctx) as faults:
        faults.start({"type": "partition", "between": ["dc1", "dc2"], "direction": "both"})
        ...                     # every fault is healed when the block exits, however it exits

Kinds: partition, loss, bandwidth, latency (network); stop_thread/stop_io/stop_sql, hold_appliers,
delay, idempotent, skip_event (link); crash, restart, pause (server); clock_skew (application).
`FaultSchedule` starts and heals faults on a timeline.
"""

from lab.faults.application import ClockSkew
from lab.faults.base import Fault, FaultError
from lab.faults.context import FaultContext
from lab.faults.faultset import FaultSet
from lab.faults.links import ExecMode, HoldAppliers, ReplicationDelay, SkipEvent, StopThread
from lab.faults.network import Bandwidth, Isolate, Latency, PacketLoss, Partition
from lab.faults.schedule import FaultSchedule
from lab.faults.servers import Crash, Pause, Restart
from lab.faults.spec import build, kinds
from lab.faults.sweep import sweep

__all__ = [
    "Bandwidth", "ClockSkew", "Crash", "ExecMode", "Fault", "FaultContext", "FaultError", "FaultSchedule", "FaultSet",
    "HoldAppliers", "Isolate", "Latency", "PacketLoss", "Partition", "Pause", "ReplicationDelay", "Restart",
    "SkipEvent", "StopThread", "build", "kinds", "sweep",
]
