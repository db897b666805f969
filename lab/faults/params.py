"""Every fault's parameters as one schema: a model per fault type, and their union keyed by `type`.

The schema is checked where a fault is written (an experiment file, at load, before any container
starts; a dict given to `build`), so a typo such as `direction: sideways` or `probabilty: 2` is one
line naming the field. What a name refers to (a DC, a server, a link) is checked against a topology
by lab.faults.targets; everything else is checked here.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lab.yamlfile import FieldProblem

TC_RATE = re.compile(r"^\d+(\.\d+)?(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$")
LINK = re.compile(r"^\s*[^\s>-][^>]*->[^>]*[^\s>-]\s*$")
# a DC or a server; a server (a DC: its primary); a server that other servers can be cut off from; a DC; a link
Role = Literal["group", "server", "alone", "dc", "link"]


def parse_direction(between: list[str] | tuple[str, str], direction: str) -> str:
    """'both' | 'A->B' | 'B->A' -> 'both' | 'forward' | 'backward' (forward = from between[0] to between[1])."""
    text = direction.replace(" ", "")
    if text == "both":
        return "both"
    if text == f"{between[0]}->{between[1]}":
        return "forward"
    if text == f"{between[1]}->{between[0]}":
        return "backward"
    raise ValueError(f"must be 'both', '{between[0]}->{between[1]}' or '{between[1]}->{between[0]}', got {direction!r}")


def check_link(text: str) -> str:
    if not LINK.match(text):
        raise FieldProblem("", f"{text!r} is not SOURCE->REPLICA", "write e.g. dc1->dc2")
    return text


class FaultParams(BaseModel):
    """Base of every fault's parameters: strict types, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True)
    kind: ClassVar[str] = ""   # the fault class that takes these parameters (lab.faults.base.Fault.registry)
    registry: ClassVar[dict[str, type[FaultParams]]] = {}   # every `type` spelling -> its model (plugins too)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields.get("type")
        if cls.__dict__.get("kind") and field is not None:
            for name in field.annotation.__args__:  # type: ignore[union-attr]
                FaultParams.registry[name] = cls

    def targets(self) -> list[tuple[str, Role, str]]:
        """(field, role, name) of every name this fault refers to, for lab.faults.targets to resolve."""
        return []

    def holds(self) -> list[str]:
        """What this fault holds while active, e.g. `server:dc2`: two faults holding the same thing at the
        same time cannot both take effect, so a timeline may not overlap them."""
        return []


class _Between(FaultParams):
    between: list[str] = Field(description="two DCs or servers: the two sides of the network fault")
    direction: str = Field("both", description="both, or A->B / B->A: which way packets are affected")

    @field_validator("between")
    @classmethod
    def _two(cls, value: list[str]) -> list[str]:
        if len(value) != 2:
            raise ValueError(f"must name exactly two DCs or servers, got {value!r}")
        if value[0] == value[1]:
            raise ValueError(f"must name two different sides, got {value!r}")
        return value

    @model_validator(mode="after")
    def _direction(self) -> _Between:
        try:
            parse_direction(self.between, self.direction)
        except ValueError as exc:
            raise FieldProblem("direction", str(exc)) from None
        return self

    def targets(self) -> list[tuple[str, Role, str]]:
        return [("between", "group", name) for name in self.between]


class PartitionParams(_Between):
    kind: ClassVar[str] = "partition"
    type: Literal["partition"]
    scope: Literal["all", "replication"] | None = Field(
        None, description="all: every packet; replication: only what a server sends its replicas (default for "
                          "one direction)")


class LossParams(_Between):
    kind: ClassVar[str] = "loss"
    type: Literal["loss", "packet_loss"]
    probability: float = Field(gt=0, le=1, description="the chance each packet is dropped, in (0, 1]")
    scope: Literal["all", "replication"] = "all"


class BandwidthParams(_Between):
    kind: ClassVar[str] = "bandwidth"
    type: Literal["bandwidth"]
    rate: str = Field(description="a tc rate: 1mbit, 512kbit, 10mbps", json_schema_extra={"pattern": TC_RATE.pattern})

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        if not TC_RATE.match(value):
            raise FieldProblem("", f"{value!r} is not a tc rate", "write e.g. 1mbit, 512kbit, 10mbps")
        return value


class LatencyParams(_Between):
    kind: ClassVar[str] = "latency"
    type: Literal["latency"]
    delay_ms: float = Field(gt=0, description="one-way delay added in each affected direction")
    jitter_ms: float = Field(0.0, ge=0)
    mechanism: Literal["auto", "netem", "proxy"] = Field("auto", description="auto: netem where the kernel has it")
    seed: int | None = Field(None, description="seed of the jitter")


class _Link(FaultParams):
    link: str = Field(description="SOURCE->REPLICA, each a server or a DC (its primary)",
                      json_schema_extra={"pattern": LINK.pattern})

    _link = field_validator("link")(check_link)

    def targets(self) -> list[tuple[str, Role, str]]:
        return [("link", "link", self.link)]


class StopThreadParams(_Link):
    kind: ClassVar[str] = "stop_thread"
    type: Literal["stop_thread", "stop_io", "stop_sql"]
    thread: Literal["io", "sql"] | None = Field(None, description="io: the receiver; sql: the applier")

    @model_validator(mode="after")
    def _thread(self) -> StopThreadParams:
        implied = {"stop_io": "io", "stop_sql": "sql"}.get(self.type)
        if implied and self.thread not in (None, implied):
            raise FieldProblem("thread", f"a {self.type} fault stops the {implied} thread", "remove `thread`")
        if not implied and self.thread is None:
            raise FieldProblem("thread", "is required for a stop_thread fault", "add thread: io or thread: sql")
        self.thread = self.thread or implied
        return self

    def holds(self) -> list[str]:
        return [f"thread:{self.link.replace(' ', '')}:{self.thread}"]


class DelayParams(_Link):
    kind: ClassVar[str] = "delay"
    type: Literal["delay"]
    seconds: int = Field(ge=0, description="SOURCE_DELAY / MASTER_DELAY")

    def holds(self) -> list[str]:
        return [f"delay:{self.link.replace(' ', '')}"]


class ExecModeParams(_Link):
    kind: ClassVar[str] = "idempotent"
    type: Literal["idempotent", "exec_mode"]
    mode: Literal["IDEMPOTENT", "STRICT"] = "IDEMPOTENT"

    @field_validator("mode", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    def holds(self) -> list[str]:
        return [f"exec_mode:{self.link.replace(' ', '')}"]


class SkipEventParams(_Link):
    kind: ClassVar[str] = "skip_event"
    type: Literal["skip_event"]
    count: int = Field(1, ge=1, description="failing transactions to skip, at most")
    wait_s: float = Field(2.0, ge=0, description="how long to wait for each next failure")


class HoldAppliersParams(FaultParams):
    kind: ClassVar[str] = "hold_appliers"
    type: Literal["hold_appliers"]
    links: list[str] | None = Field(None, description="SOURCE->REPLICA links whose appliers to hold; default: all")

    @field_validator("links")
    @classmethod
    def _links(cls, value: list[str] | None) -> list[str] | None:
        return [check_link(text) for text in value] if value is not None else None

    def targets(self) -> list[tuple[str, Role, str]]:
        return [("links", "link", text) for text in self.links or []]

    def holds(self) -> list[str]:
        return ["appliers"]


class _Server(FaultParams):
    role: ClassVar[Role] = "server"
    server: str | None = Field(None, description="a server, or a DC meaning its primary")
    dc: str | None = Field(None, description="a DC: its primary (give `server` or `dc`)")

    @model_validator(mode="after")
    def _one(self) -> _Server:
        if (self.server is None) == (self.dc is None):
            raise FieldProblem("server", "give exactly one of `server` or `dc`")
        return self

    @property
    def target(self) -> str:
        return str(self.server or self.dc)

    def targets(self) -> list[tuple[str, Role, str]]:
        return [("server" if self.server else "dc", self.role, self.target)]

    def holds(self) -> list[str]:
        return [f"server:{self.target}"]


class CrashParams(_Server):
    kind: ClassVar[str] = "crash"
    type: Literal["crash"]


class RestartParams(_Server):
    kind: ClassVar[str] = "restart"
    type: Literal["restart"]
    timeout_s: float = Field(60.0, gt=0, description="how long to wait for the server to be ready again")


class PauseParams(_Server):
    kind: ClassVar[str] = "pause"
    type: Literal["pause", "pause_server"]


class IsolateParams(_Server):
    """Cut one server off from every other server of the lab (both directions, every packet)."""

    kind: ClassVar[str] = "isolate"
    role: ClassVar[Role] = "alone"   # the topology must have other servers to cut it off from
    type: Literal["isolate"]

    def holds(self) -> list[str]:
        return [f"network:{self.target}"]


class ClockSkewParams(FaultParams):
    kind: ClassVar[str] = "clock_skew"
    type: Literal["clock_skew"]
    dc: str = Field(description="the DC whose application clock moves")
    ms: int = Field(description="milliseconds to add (negative: behind)")

    def targets(self) -> list[tuple[str, Role, str]]:
        return [("dc", "dc", self.dc)]


def fault_union() -> Any:
    """Every registered fault model as one union told apart by `type`: the built-in faults and any a plugin
    (lab.plugins) registered, so an experiment file checks a plugin's fault like a built-in one."""
    models = tuple(dict.fromkeys(FaultParams.registry.values()))
    return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007  (a union built at run time)


def type_names() -> list[str]:
    """Every `type` a fault may be written with (aliases included)."""
    return sorted(FaultParams.registry)
