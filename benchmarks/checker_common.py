"""What the checker benchmarks share (bench_checker.py, bench_checker_curves.py): the lab, the generated table,
seeding differences and undoing them, the floor, and timing helpers.

Rows are generated identically on each DC by the servers (SHA2/CRC32 of the row number), with
sql_log_bin=0, which is much faster than replicating a million rows and yields the same state.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import checker_children as children  # noqa: E402
from checker_children import TABLE  # noqa: E402

from lab.checker import schema as tables  # noqa: E402
from lab.checker import sqlgen  # noqa: E402
from lab.db import topology  # noqa: E402
from lab.db.lab import Lab  # noqa: E402
from lab.db.server import Server  # noqa: E402
from lab.db.sql import Endpoint  # noqa: E402

DDL = f"""CREATE TABLE lab.{TABLE} (
  id BIGINT NOT NULL PRIMARY KEY, k INT NOT NULL, c VARCHAR(120) NOT NULL, pad CHAR(60) NOT NULL,
  amount DECIMAL(12,2) NULL, updated_at DATETIME(6) NOT NULL, note VARCHAR(64) NULL, KEY k (k)
) COLLATE utf8mb4_general_ci"""
# n runs over offset..offset+999,999 as a.n*1000 + b.n + offset; the row's id is n+1. Deterministic, identical on
# every DC, and a function of the id alone, so `restore` can put any seeded row back as it was.
GENERATE = """WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 999)
SELECT r + 1, CRC32(r) % 100000, SHA2(r, 256), LEFT(SHA2(r + 7, 256), 60),
       IF(r % 7 = 0, NULL, (r % 100000) / 100), TIMESTAMP('2024-01-01') + INTERVAL r SECOND,
       IF(r % 3 = 0, NULL, IF(r % 3 = 1, '', CONCAT('note ', r % 1000)))
FROM (SELECT a.n * 1000 + b.n + {offset} AS r FROM d a, d b) numbers WHERE {where}"""
BLOCK = 1_000_000  # rows one GENERATE statement can make


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def timed(function: Callable[[], object]) -> Callable[[], tuple[float, object]]:
    """`function` made to return (seconds it took, its result)."""
    def run() -> tuple[float, object]:
        started = time.monotonic()
        result = function()
        return time.monotonic() - started, result

    return run


# --- data ------------------------------------------------------------------------------------
def open_lab(flavor: str, name: str, attach: str | None) -> Lab:
    """A 2-DC active-active lab in ROW format (started), or the running lab `attach`."""
    if attach:
        return Lab.attach(attach)
    resolved = topology.load(str(ROOT / "topologies/active-active.yaml"), flavor=flavor, binlog_format="ROW")
    lab = Lab.up(resolved, name=name, progress=say)
    lab.remember_overrides({"flavor": flavor, "binlog_format": "ROW"})
    return lab


def binlog_off(servers: list[Server], statements: list[str]) -> None:
    """Run the statements on each server with the binary log off (nothing replicates), servers in parallel."""
    def one(server: Server) -> None:
        with server.connect(read_timeout=600) as connection, connection.cursor() as cursor:
            cursor.execute("SET SESSION sql_log_bin = 0")
            for statement in statements:
                cursor.execute(statement)

    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        list(pool.map(one, servers))


def primaries(lab: Lab) -> list[Server]:
    return [lab.primary(dc) for dc in lab.topology.dcs]


def generate_sql(rows: int, ids: list[int] | None = None) -> list[str]:
    """INSERTs making rows 1..`rows` (or only `ids` of them), in blocks of BLOCK rows."""
    statements = []
    for offset in range(0, rows, BLOCK):
        where = f"r < {min(rows, offset + BLOCK)}"
        if ids is not None:
            block = [i - 1 for i in ids if offset <= i - 1 < offset + BLOCK]
            if not block:
                continue
            where += f" AND r IN ({','.join(map(str, block))})"
        statements.append(f"INSERT INTO lab.{TABLE} " + GENERATE.format(offset=offset, where=where))
    return statements


def load(lab: Lab, rows: int) -> None:
    started = time.monotonic()
    binlog_off(primaries(lab), [f"DROP TABLE IF EXISTS lab.{TABLE}", DDL, *generate_sql(rows)])
    say(f"loaded {rows} rows on each DC in {time.monotonic() - started:.1f}s")


def _in(ids: list[int]) -> str:
    return ",".join(map(str, ids))


def seed(lab: Lab, rows: int, diverged: int, spread: str) -> dict[str, set[int]]:
    """Make `diverged` keys differ on dc2 (spread "random" or "clustered": one contiguous key range).

    Includes changes that cancel under BIT_XOR(CRC32): pairs of rows swapping their non-key values,
    and rows whose `c` gets the same appended character (equal-length rows changed alike).
    Returns the keys by kind of change; `restore` undoes it.
    """
    rng = random.Random(7)
    if spread == "clustered":
        start = rows // 3
        ids = list(range(start, start + diverged))
    else:
        ids = rng.sample(range(1, rows + 1), diverged)
    extra_count = missing_count = diverged // 10
    extra = [rows + 1 + i for i in range(extra_count)]
    missing = ids[:missing_count]
    changed = ids[missing_count:diverged - extra_count]
    swaps = changed[:min(100, len(changed)) // 2 * 2]   # up to 50 pairs swap their non-key values
    same_delta = changed[len(swaps):len(swaps) + 100]  # up to 100 rows: `c` gets the same change
    plain = changed[len(swaps) + len(same_delta):]
    statements = []
    if missing:
        statements.append(f"DELETE FROM lab.{TABLE} WHERE id IN ({_in(missing)})")
    if plain:
        statements.append(f"UPDATE lab.{TABLE} SET k = k + 1 WHERE id IN ({_in(plain)})")
    if same_delta:
        statements.append(f"UPDATE lab.{TABLE} SET c = CONCAT(c, 'x') WHERE id IN ({_in(same_delta)})")
    for a, b in zip(swaps[0::2], swaps[1::2], strict=True):
        statements.append(f"UPDATE lab.{TABLE} x JOIN lab.{TABLE} y ON x.id = {a} AND y.id = {b} "
                          "SET x.k = y.k, y.k = x.k, x.c = y.c, y.c = x.c")
    if extra:
        values = ",".join(f"({i}, 1, 'extra', 'pad', NULL, '2030-01-01', NULL)" for i in extra)
        statements.append(f"INSERT INTO lab.{TABLE} VALUES {values}")
    binlog_off([lab.primary("dc2")], statements)
    return {"missing": set(missing), "extra": set(extra), "plain update": set(plain), "swapped pair": set(swaps),
            "same change": set(same_delta)}


def restore(lab: Lab, rows: int, groups: dict[str, set[int]]) -> None:
    """Undo `seed` on dc2: delete every seeded key, then regenerate those of the table as loaded."""
    seeded = sorted(set().union(*groups.values()))
    if not seeded:
        return
    statements = [f"DELETE FROM lab.{TABLE} WHERE id IN ({_in(seeded)})",
                  *generate_sql(rows, [i for i in seeded if i <= rows])]
    binlog_off([lab.primary("dc2")], statements)


# --- (b) the floor ---------------------------------------------------------------------------------
def floor_query(endpoint: Endpoint) -> str:
    from lab.checker.session import DCSession

    session = DCSession.open("probe", endpoint, read_timeout=600)
    try:
        ref = tables.TableRef("lab", TABLE)
        schema = tables.from_rows(ref, session.run(tables.columns_sql(ref)), session.run(tables.key_sql(ref)), "dc")
        return sqlgen.table_hash_sql(schema, ref)
    finally:
        session.close()


def floor(endpoints: dict[str, Endpoint], sql: str) -> list:
    def one(endpoint: Endpoint) -> dict:
        with endpoint.connect(read_timeout=600) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()

    with ThreadPoolExecutor(max_workers=len(endpoints)) as pool:
        return list(pool.map(one, endpoints.values()))


def endpoints_json(endpoints: dict[str, Endpoint]) -> dict[str, dict]:
    return {dc: ep.__dict__ for dc, ep in endpoints.items()}


def in_subprocess(flag: str, payload: dict, timeout: float | None = None) -> dict:
    """Run `checker_children.py flag` with `payload` as JSON on stdin and return the JSON it prints: the figures
    of one measurement taken in a process of its own, so that its peak RSS is its own. TimeoutExpired on timeout."""
    done = subprocess.run([sys.executable, str(Path(children.__file__)), flag], input=json.dumps(payload),
                          capture_output=True, text=True, check=False, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError((done.stderr.strip().splitlines() or ["no output"])[-1][:200])
    return json.loads(done.stdout)


def interleaved(runs: Sequence[Callable[[], tuple[float, object]]], repeat: int, *,
                rotate: bool = False) -> list[tuple[list[float], list[object]]]:
    """`repeat` rounds of every run in turn, so that background load hits each alike. Each returns (seconds,
    result), as `timed` makes it (or seconds of its own measuring); returns per run its seconds and results,
    in round order. With `rotate`, round r starts with run r (mod the runs), so that no run always comes first
    (round 0 keeps the given order: a later run may depend on what the first one measured)."""
    measured: list[tuple[list[float], list[object]]] = [([], []) for _ in runs]
    for number in range(repeat):
        start = number % len(runs) if rotate and runs else 0
        for index in [*range(start, len(runs)), *range(start)]:
            seconds, result = runs[index]()
            measured[index][0].append(seconds)
            measured[index][1].append(result)
    return measured
