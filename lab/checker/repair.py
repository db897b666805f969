"""Repair: SQL that makes every DC equal to a winner, key by key, and the two ways to run it.

Winner policies (per diverged key):
- `dc=NAME`         the named DC's state wins, including its absence (then the row is deleted);
- `version=COLUMN`  the DC whose row has the highest COLUMN wins;
- `timestamp=COLUMN` the DC whose row has the latest COLUMN wins.
With version/timestamp a present row always beats an absent one (without tombstones, absence
cannot be told apart from never-replicated), and ties go to the earlier DC in the check's order.

Ways to apply:
- local: on every DC that differs, with `sql_log_bin=0`, its own DELETE/UPDATE/INSERT statements.
  Works in any topology; nothing is replicated (read replicas behind a DC are not fixed).
- source: on one DC, with the binary log on and `binlog_format=STATEMENT` for the session,
  idempotent statements (INSERT ... ON DUPLICATE KEY UPDATE with the winner's values, DELETE for
  rows the winner lacks). They change the source itself as needed and, replayed as statements,
  every DC downstream; in ROW format a no-op on the source would log nothing, hence STATEMENT.
  Use it when replication from that DC reaches every other DC.
TIMESTAMP values were read in UTC, so both set `time_zone = '+00:00'` first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from lab.checker.divergences import Divergence
from lab.checker.literals import literal
from lab.checker.result import CheckResult
from lab.checker.rows import same_row
from lab.checker.schema import TableRef, quote
from lab.db.sql import Endpoint
from lab.errors import LabError

PolicyKind = Literal["dc", "version", "timestamp"]
Mode = Literal["local", "source"]
Action = Literal["delete", "update", "insert"]
ACTION_ORDER: dict[str, int] = {"delete": 0, "update": 1, "insert": 2}


@dataclass(frozen=True)
class Policy:
    kind: PolicyKind
    value: str

    @classmethod
    def parse(cls, text: str) -> Policy:
        """'dc=dc1', 'version=COLUMN' or 'timestamp=COLUMN'."""
        kind, _, value = text.partition("=")
        kind = kind.strip().lower()
        if kind not in ("dc", "version", "timestamp") or not value.strip():
            raise LabError(f"winner {text!r}: expected dc=NAME, version=COLUMN or timestamp=COLUMN")
        return cls(cast(PolicyKind, kind), value.strip())

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


def winner(divergence: Divergence, policy: Policy, dcs: Sequence[str]) -> str:
    """The DC whose state of this key every other DC should take."""
    if policy.kind == "dc":
        return policy.value
    present = [dc for dc in dcs if divergence.rows.get(dc) is not None]
    best = present[0]
    for dc in present[1:]:
        mine, theirs = divergence.rows[dc][policy.value], divergence.rows[best][policy.value]
        try:
            if mine is not None and (theirs is None or mine > theirs):
                best = dc
        except TypeError:
            raise LabError(f"{policy}: cannot order {mine!r} and {theirs!r}") from None
    return best


def _tied(divergence: Divergence, column: str, best: str, columns: Sequence[str]) -> bool:
    """Does another DC hold the winner's version/timestamp with a different row?"""
    wanted = divergence.rows[best]
    return any(row is not None and dc != best and row[column] == wanted[column] and not same_row(row, wanted, columns)
               for dc, row in divergence.rows.items())


@dataclass(frozen=True)
class Fix:
    """One change on one DC: make `key` there what it is on `winner`."""

    key: tuple
    target: str
    winner: str
    action: Action
    row: Mapping[str, Any] | None                 # the winner's row (None for delete)
    columns: tuple[str, ...] = ()   # what an update changes


@dataclass
class RepairPlan:
    table: str                      # as reported by the check (the reference DC's name)
    tables: dict[str, str]          # dc -> schema.table there
    key_columns: list[str]
    columns: list[str]
    dcs: list[str]
    policy: Policy
    fixes: list[Fix] = field(default_factory=list)
    winners: dict[tuple, str] = field(default_factory=dict)   # key -> winning DC
    wanted: dict[tuple, Mapping[str, Any] | None] = field(default_factory=dict)  # key -> row every DC should have
    # keys whose winning version/timestamp is held by several DCs with different rows: the policy cannot
    # tell which write is newer (a version collision), so the earlier DC wins by order alone
    ties: list[tuple] = field(default_factory=list)

    def tie_warning(self) -> str:
        if not self.ties:
            return ""
        shown = ", ".join("|".join(str(v) for v in key) for key in self.ties[:10])
        more = f" and {len(self.ties) - 10} more" if len(self.ties) > 10 else ""
        return (f"{len(self.ties)} key(s) tie on {self.policy.value} with different rows on different DCs "
                f"({shown}{more}); the first DC in check order wins them, which says nothing about which write "
                "is newer")

    # --- SQL ---------------------------------------------------------------------------------
    def _name(self, dc: str) -> str:
        return TableRef.parse(self.tables.get(dc, self.table)).sql

    def _where(self, key: tuple) -> str:
        return " AND ".join(f"{quote(c)} = {literal(v)}" for c, v in zip(self.key_columns, key, strict=True))

    def _values(self, row: Mapping[str, Any]) -> str:
        return ", ".join(literal(row[c]) for c in self.columns)

    def _column_list(self) -> str:
        return ", ".join(quote(c) for c in self.columns)

    def statement(self, fix: Fix) -> str:
        name = self._name(fix.target)
        if fix.action == "delete" or fix.row is None:
            return f"DELETE FROM {name} WHERE {self._where(fix.key)}"
        if fix.action == "update":
            sets = ", ".join(f"{quote(c)} = {literal(fix.row[c])}" for c in fix.columns)
            return f"UPDATE {name} SET {sets} WHERE {self._where(fix.key)}"
        return f"INSERT INTO {name} ({self._column_list()}) VALUES ({self._values(fix.row)})"

    def local_statements(self) -> dict[str, list[str]]:
        """Per DC that differs: deletes first (they may free a key), then updates, then inserts."""
        result: dict[str, list[str]] = {}
        for fix in sorted(self.fixes, key=lambda f: ACTION_ORDER[f.action]):
            result.setdefault(fix.target, []).append(self.statement(fix))
        return {dc: result[dc] for dc in self.dcs if dc in result}

    def source_statements(self, through: str) -> list[str]:
        """Idempotent statements that leave every DC they reach with the winner's state of each key."""
        name = self._name(through)
        deletes, upserts = [], []
        value_columns = [c for c in self.columns if c not in self.key_columns]
        for key, row in self.wanted.items():
            if row is None:
                deletes.append(f"DELETE FROM {name} WHERE {self._where(key)}")
                continue
            updates = ", ".join(f"{quote(c)} = {literal(row[c])}" for c in value_columns) or \
                f"{quote(self.key_columns[0])} = {quote(self.key_columns[0])}"
            upserts.append(f"INSERT INTO {name} ({self._column_list()}) VALUES ({self._values(row)}) "
                           f"ON DUPLICATE KEY UPDATE {updates}")
        return deletes + upserts

    def render(self, mode: Mode, through: str | None = None) -> str:
        """The SQL script, with comments saying where and how it runs."""
        lines = [f"-- lab repair of {self.table}: winner {self.policy}; {len(self.wanted)} key(s), "
                 f"{len(self.fixes)} change(s) on {', '.join(sorted({f.target for f in self.fixes})) or 'no DC'}"]
        if self.ties:
            lines.append(f"-- WARNING: {self.tie_warning()}")
        if not self.fixes:
            return lines[0] + "\n-- nothing to do\n"
        if mode == "local":
            lines.append("-- mode: local, on each DC with sql_log_bin=0 (nothing replicates)")
            for dc, statements in self.local_statements().items():
                lines += [f"-- on {dc}:", "SET SESSION sql_log_bin = 0;", "SET SESSION time_zone = '+00:00';",
                          "START TRANSACTION;", *(s + ";" for s in statements), "COMMIT;"]
        else:
            lines += [f"-- mode: through the source {through}, binary log on, binlog_format=STATEMENT "
                      "(replicates to every DC downstream)",
                      f"-- on {through}:", "SET SESSION binlog_format = 'STATEMENT';",
                      "SET SESSION time_zone = '+00:00';", "START TRANSACTION;",
                      *(s + ";" for s in self.source_statements(through or self.dcs[0])), "COMMIT;"]
        return "\n".join(lines) + "\n"


def plan(result: CheckResult, policy: Policy) -> RepairPlan:
    """Decide a winner for every diverged key and the changes that bring the other DCs to it."""
    if policy.kind == "dc" and policy.value not in result.dcs:
        raise LabError(f"winner {policy}: no DC {policy.value!r} in this check ({', '.join(result.dcs)})")
    if policy.kind != "dc" and policy.value not in result.columns:
        raise LabError(f"winner {policy}: {result.table} has no column {policy.value!r}")
    repair = RepairPlan(result.table, dict(result.tables), result.key_columns, result.columns, result.dcs, policy)
    value_columns = [c for c in result.columns if c not in result.key_columns]
    for divergence in result.divergences:
        best = winner(divergence, policy, result.dcs)
        wanted = divergence.rows.get(best)
        if policy.kind != "dc" and wanted is not None and _tied(divergence, policy.value, best, result.columns):
            repair.ties.append(divergence.key)
        repair.winners[divergence.key] = best
        repair.wanted[divergence.key] = wanted
        for dc in result.dcs:
            have = divergence.rows.get(dc)
            if dc == best or (have is None and wanted is None):
                continue
            if wanted is None:
                repair.fixes.append(Fix(divergence.key, dc, best, "delete", None))
            elif have is None:
                repair.fixes.append(Fix(divergence.key, dc, best, "insert", wanted))
            elif not same_row(have, wanted, result.columns):
                changed = tuple(c for c in value_columns if not same_row(have, wanted, [c]))
                repair.fixes.append(Fix(divergence.key, dc, best, "update", wanted, changed or tuple(value_columns)))
    return repair


# --- applying ------------------------------------------------------------------------------------
def _session(endpoint: Endpoint) -> Any:
    connection = endpoint.connect(database="", autocommit=False, read_timeout=600)
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION time_zone = '+00:00'")
        cursor.execute("SET SESSION sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')")
    return connection


def _run(dc: str, endpoint: Endpoint, setup: list[str], statements: list[str]) -> int:
    import pymysql

    try:
        connection = _session(endpoint)
    except pymysql.err.MySQLError as exc:
        raise LabError(f"repair on {dc}: cannot connect: {exc.args[-1]}") from None
    try:
        with connection.cursor() as cursor:
            for statement in setup:
                cursor.execute(statement)
            connection.begin()
            for statement in statements:
                cursor.execute(statement)
        connection.commit()
        return len(statements)
    except pymysql.err.MySQLError as exc:
        connection.rollback()
        raise LabError(f"repair on {dc} failed, rolled back: {exc.args[-1]}") from None
    finally:
        connection.close()


def apply(repair: RepairPlan, endpoints: Mapping[str, Endpoint], mode: Mode, through: str | None = None) -> int:
    """Execute the plan; returns the number of statements run."""
    if mode == "local":
        return sum(_run(dc, endpoints[dc], ["SET SESSION sql_log_bin = 0"], statements)
                   for dc, statements in repair.local_statements().items())
    if through not in endpoints:
        raise LabError(f"repair through {through!r}: not one of {', '.join(endpoints)}")
    if not repair.fixes:
        return 0
    return _run(through, endpoints[through], ["SET SESSION binlog_format = 'STATEMENT'"],
                repair.source_statements(through))
