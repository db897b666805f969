"""pt-table-checksum + pt-table-sync --print as a peer of the checker (bench_checker.py, bench_checker_curves.py).

Debian bookworm's 3.2.1 runs against MariaDB but not MySQL 9.7 (SHOW MASTER STATUS); sid's 3.7.1
runs against MySQL 9.7 but not Debian's MariaDB (it reads @@version_comment).
`LAB_BENCH_TOOLS=1 bash scripts/setup.sh` installs the first and unpacks the second under .lab/tools/.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from checker_common import TABLE, binlog_off, primaries

from lab.db.lab import Lab
from lab.db.sql import Endpoint

# sid's toolkit, for MySQL 9.7, as `LAB_BENCH_TOOLS=1 bash scripts/setup.sh` unpacks it (the default there)
SID_TOOLKIT = Path(__file__).resolve().parents[1] / ".lab" / "tools" / "percona-sid" / "usr" / "bin"
PT_TIMEOUT = 120  # seconds; pt-table-checksum waits forever on a replica it believes stopped


# --- (d) pt-table-checksum + pt-table-sync ---------------------------------------------------------
def _dsn(endpoint: Endpoint) -> str:
    return f"h={endpoint.host},P={endpoint.port},u={endpoint.user},p={endpoint.password}"


def _flagged_chunks(endpoint: Endpoint) -> list[dict]:
    """The chunks pt-table-checksum found different on dc2 (3.7 renamed the master_* columns source_*)."""
    with endpoint.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'percona' "
                       "AND TABLE_NAME = 'checksums' AND COLUMN_NAME = 'source_crc'")
        side = "source" if cursor.fetchone()["n"] else "master"
        cursor.execute("SELECT chunk, lower_boundary AS lo, upper_boundary AS hi FROM percona.checksums "
                       f"WHERE db = 'lab' AND tbl = '{TABLE}' AND (this_crc <> {side}_crc OR this_cnt <> {side}_cnt "
                       f"OR ISNULL({side}_crc) <> ISNULL(this_crc)) ORDER BY chunk")
        return list(cursor.fetchall())


def merge_chunks(chunks: list[dict]) -> list[dict]:
    """Runs of consecutive flagged chunks as one range each (one pt-table-sync run per run of chunks, not per chunk).

    A NULL boundary (pt-table-checksum's open-ended chunks below and above the table) stays open.
    """
    merged: list[dict] = []
    for chunk in chunks:
        if merged and chunk["chunk"] == merged[-1]["chunk"] + 1 and None not in (merged[-1]["hi"], chunk["lo"]):
            merged[-1] = {**merged[-1], "chunk": chunk["chunk"], "hi": chunk["hi"]}
        else:
            merged.append(dict(chunk))
    return merged


def _where(chunk: dict) -> str:
    """pt-table-checksum's chunk boundaries (inclusive) as a WHERE clause on the single-column key."""
    parts = []
    if chunk["lo"] is not None:
        parts.append(f"id >= {int(chunk['lo'])}")
    if chunk["hi"] is not None:
        parts.append(f"id <= {int(chunk['hi'])}")
    return " AND ".join(parts) or "1=1"


def _printed_keys(text: str) -> set[int]:
    """Keys of the statements pt-table-sync --print wrote: WHERE `id`='N' or the first value of an INSERT."""
    keys = set()
    for line in text.splitlines():
        if line.startswith(("INSERT", "REPLACE")) and "VALUES (" in line:
            keys.add(int(line.split("VALUES (", 1)[1].split(",", 1)[0].strip("'")))
        elif "`id`='" in line:
            keys.add(int(line.rsplit("`id`='", 1)[1].split("'", 1)[0]))
    return keys


def _last_line(text: str | bytes | None, default: str = "no output") -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return ((text or "").strip().splitlines() or [default])[-1][:160]


def _prepare_percona(lab: Lab) -> None:
    """The DSN table pt-table-checksum finds dc2 by; on MySQL also the EXPLAIN format that gives it row estimates."""
    dc1, dc2 = lab.primary("dc1"), lab.primary("dc2")
    if dc1.dialect.name == "mysql":  # 8.0.32+ defaults to TREE: no row estimate, so one chunk for the whole table
        binlog_off(primaries(lab), ["SET GLOBAL explain_format = 'TRADITIONAL'"])
    with dc1.endpoint.connect() as connection, connection.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS percona")
        cursor.execute("CREATE DATABASE percona")
        cursor.execute("CREATE TABLE percona.dsns (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT NULL, "
                       "dsn VARCHAR(255) NOT NULL)")
        cursor.execute("INSERT INTO percona.dsns (dsn) VALUES (%s)", (_dsn(dc2.endpoint),))
    lab.catch_up()


def percona(lab: Lab, bin_dir: str | None = None, timeout: float = PT_TIMEOUT) -> dict:
    """pt-table-checksum on dc1 (its checksum queries replicate to dc2), then pt-table-sync --print per run of
    flagged chunks. `bin_dir` holds the toolkit to use (default: the one on PATH); both tools together get
    `timeout` seconds.

    pt-table-sync --replicate would find the flagged chunks itself, but 3.2.1 cannot use a DSN table
    to find replicas (its dsn recursion is broken) and --sync-to-master needs the source's in-network
    host name; comparing dc1 with dc2 directly on the flagged ranges does the same work.
    """
    if bin_dir is None and lab.primary("dc1").dialect.name == "mysql" and SID_TOOLKIT.is_dir():
        bin_dir = str(SID_TOOLKIT)
    checksum_tool = shutil.which("pt-table-checksum", path=bin_dir)
    sync_tool = shutil.which("pt-table-sync", path=bin_dir)
    if not checksum_tool or not sync_tool:
        return {"ran": False, "why": "percona-toolkit not installed (LAB_BENCH_TOOLS=1 bash scripts/setup.sh)"}
    version = subprocess.run([checksum_tool, "--version"], capture_output=True, text=True).stdout.strip()
    dc1, dc2 = lab.primary("dc1").endpoint, lab.primary("dc2").endpoint
    _prepare_percona(lab)
    started = time.monotonic()
    try:
        checksum = subprocess.run([checksum_tool, "--no-version-check", "--recursion-method=dsn=D=percona,t=dsns",
                                   "--replicate=percona.checksums", "--databases=lab", f"--tables={TABLE}",
                                   "--no-check-binlog-format", "--no-check-replication-filters", _dsn(dc1)],
                                  capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as stalled:
        return {"ran": False, "version": version, "timed_out": True,
                "why": f"stalled, gave up after {timeout:.0f}s: {_last_line(stalled.stderr)}"}
    checksum_seconds = time.monotonic() - started
    lines = checksum.stdout.strip().splitlines()
    if not lines or not lines[-1].rstrip().endswith(f"lab.{TABLE}"):
        return {"ran": False, "version": version, "why": _last_line(checksum.stderr, "?")}
    lab.catch_up()
    sync_help = subprocess.run([sync_tool, "--help"], capture_output=True, text=True).stdout
    not_replica = "--no-check-replica" if "check-replica" in sync_help else "--no-check-slave"  # 3.7.1 names it so
    started = time.monotonic()
    chunks = _flagged_chunks(dc2)
    found: set[int] = set()
    errors = []
    for run in merge_chunks(chunks):
        left = timeout - checksum_seconds - (time.monotonic() - started)  # `timeout` is for both tools together
        try:
            sync = subprocess.run([sync_tool, "--no-version-check", "--print", not_replica,
                                   f"--where={_where(run)}", f"{_dsn(dc1)},D=lab,t={TABLE}",
                                   f"{_dsn(dc2)},D=lab,t={TABLE}"],
                                  capture_output=True, text=True, timeout=max(1.0, left))
        except subprocess.TimeoutExpired:
            return {"ran": True, "version": version, "checksum_seconds": checksum_seconds, "sync_timed_out": True,
                    "sync_seconds": time.monotonic() - started, "keys": sorted(found), "chunks_flagged": len(chunks),
                    "summary": lines[-1].split(), "sync_error": f"gave up after {timeout:.0f}s in all"}
        if sync.returncode not in (0, 1, 2):
            errors.append(_last_line(sync.stderr, "?"))
        found.update(_printed_keys(sync.stdout))
    sync_seconds = time.monotonic() - started
    return {"ran": True, "version": version, "checksum_seconds": checksum_seconds, "sync_seconds": sync_seconds,
            "keys": sorted(found), "chunks_flagged": len(chunks), "summary": lines[-1].split(),
            "sync_error": "; ".join(sorted(set(errors))), "sync_timed_out": False}
