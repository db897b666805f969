"""The pure parts of benchmarks/bench_driver_ceiling.py, without an engine or sysbench: reading sysbench's
summary, the verdict against the 0.90 target, the halves of the keys, the driver's plans and rate window,
and what sysbench is given (the password only in its config file).

The benchmark is a script, not part of the package, so it is imported by path (as a user runs it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from conftest import load_benchmark

ROOT = Path(__file__).resolve().parents[2]

# A `sysbench guarded_update.lua ... run` summary as sysbench 1.0.20 prints it (shortened after the latency).
SUMMARY = """sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)

Running the test with following options:
Number of threads: 2
Initializing random number generator from current time


Initializing worker threads...

Threads started!

SQL statistics:
    queries performed:
        read:                            2891
        write:                           2890
        other:                           0
        total:                           5781
    transactions:                        2891   (962.32 per sec.)
    queries:                             5781   (1924.64 per sec.)
    ignored errors:                      1      (0.33 per sec.)
    reconnects:                          0      (0.00 per sec.)

General statistics:
    total time:                          3.0020s
    total number of events:              2891
"""


@pytest.fixture(scope="module")
def ceiling() -> ModuleType:
    return load_benchmark("bench_driver_ceiling")


def test_parses_the_summary(ceiling: ModuleType) -> None:
    run = ceiling.parse_sysbench(SUMMARY)
    assert (run.reads, run.writes, run.seconds, run.ignored_errors) == (2891, 2890, 3.002, 1)
    assert run.updates_per_s == pytest.approx(2890 / 3.002)


def test_a_failed_run_is_an_error_that_quotes_sysbench(ceiling: ModuleType) -> None:
    failed = ("Initializing worker threads...\n\nFATAL: unable to connect to MySQL server on host '127.0.0.1'\n"
              "FATAL: error 2026: TLS/SSL error: No such file or directory (2)\n")
    with pytest.raises(ValueError, match="error 2026"):
        ceiling.parse_sysbench(failed)


def test_verdict_against_the_target(ceiling: ModuleType) -> None:
    assert ceiling.verdict(0.95) == "met"
    assert ceiling.verdict(0.90) == "met"
    assert ceiling.verdict(0.63) == "missed by 0.27"
    assert ceiling.verdict(None) == "no ceiling"


def test_cores_are_cpu_seconds_over_wall(ceiling: ModuleType) -> None:
    assert ceiling.cores(4.0, 8.0).startswith("0.50 of ")
    assert ceiling.cores(None, 8.0) == ""
    assert ceiling.cores(1.0, 0.0) == ""


def test_halves_split_every_key_once(ceiling: ModuleType) -> None:
    assert ceiling.key_halves(10_000, ["dc1", "dc2"]) == {"dc1": (1, 5000), "dc2": (5001, 10_000)}
    assert ceiling.key_halves(7, ["a", "b"]) == {"a": (1, 3), "b": (4, 7)}


def test_driver_plans_stay_in_their_dc_half(ceiling: ModuleType) -> None:
    halves = ceiling.key_halves(100, ["dc1", "dc2"])
    plans = ceiling.driver_plans(halves, clients=3, budget=50)
    assert sorted(plans) == [f"{dc}-c{n}" for dc in ("dc1", "dc2") for n in range(3)]
    for client, operations in plans.items():
        low, high = halves[client.split("-")[0]]
        assert len(operations) == 50
        assert all(op.kind == "rmw" and op.client == client and low <= op.key <= high for op in operations)
    assert plans == ceiling.driver_plans(halves, clients=3, budget=50)   # seeded: the same keys every run


def test_rate_window_starts_when_every_client_has_started(ceiling: ModuleType) -> None:
    operations = [{"client": "dc1-c0", "start": 10.0}, {"client": "dc1-c0", "start": 10.5},
                  {"client": "dc2-c0", "start": 10.4}, {"client": "dc2-c0", "start": 11.0}]
    assert ceiling.steady_window(operations, 18.0) == (10.4, 18.0)
    assert ceiling.steady_window([], 18.0) == (18.0, 18.0)


def test_sysbench_gets_the_password_only_in_its_config_file(ceiling: ModuleType, tmp_path: Path) -> None:
    endpoint = SimpleNamespace(host="127.0.0.1", port=32790, user="lab", password="s3cret")
    config = ceiling.sysbench_config(SimpleNamespace(endpoint=endpoint), tls=True)
    assert config.splitlines() == ["mysql-host=127.0.0.1", "mysql-port=32790", "mysql-user=lab",
                                   "mysql-password=s3cret", "mysql-db=lab", "mysql-ssl=on"]
    command = ceiling.sysbench_command(tmp_path / "sysbench.cfg", (5001, 10_000), threads=4, seconds=8.0)
    assert "s3cret" not in " ".join(command)
    assert command[1].endswith("guarded_update.lua") and command[-1] == "run"
    assert {"--key-low=5001", "--key-high=10000", "--threads=4", "--time=8", "--report-interval=0"} <= set(command)


def test_each_tool_starts_a_round_in_turn(ceiling: ModuleType) -> None:
    """The rounds' order (checker_common.interleaved, rotating): each run's results stay its own, in round order."""
    calls: list[str] = []

    def tool(name: str) -> Callable[[], tuple[float, str]]:
        def run() -> tuple[float, str]:
            calls.append(name)
            return float(len(calls)), f"{name}#{len(calls)}"
        return run

    measured = ceiling.interleaved([tool("sysbench"), tool("driver"), tool("no file")], 4, rotate=True)
    assert calls == ["sysbench", "driver", "no file", "driver", "no file", "sysbench",
                     "no file", "sysbench", "driver", "sysbench", "driver", "no file"]
    assert measured[0] == ([1.0, 6.0, 8.0, 10.0], ["sysbench#1", "sysbench#6", "sysbench#8", "sysbench#10"])
    assert measured[2][1] == ["no file#3", "no file#5", "no file#7", "no file#12"]
    calls.clear()
    ceiling.interleaved([tool("a"), tool("b")], 2)   # without rotate: the same order every round
    assert calls == ["a", "b", "a", "b"]
    assert ceiling.interleaved([], 3, rotate=True) == []


def test_a_point_is_the_median_of_its_rounds_with_the_pairs_range(ceiling: ModuleType) -> None:
    summary = ceiling.summarise([1000.0, 2000.0, 1500.0], [900.0, 1200.0, 1500.0])
    assert (summary.sysbench, summary.driver) == (1500.0, 1200.0)
    assert summary.ratio == pytest.approx(0.8)
    assert (summary.lowest, summary.highest) == (pytest.approx(0.6), pytest.approx(1.0))
    nothing = ceiling.summarise([0.0], [5.0])
    assert nothing.ratio is None and nothing.lowest is None


def test_rounds_pool_into_median_rates_and_summed_cpu(ceiling: ModuleType) -> None:
    runs = [ceiling.Measured({"dc1": rate, "dc2": rate * 2}, cpu=1.0, wall=6.0, servers_cpu=servers, ran_dry=dry)
            for rate, servers, dry in ((100.0, 3.0, 0), (300.0, 4.0, 1), (200.0, 5.0, 0))]
    pooled = ceiling.pooled(runs)
    assert pooled.per_s == {"dc1": 200.0, "dc2": 400.0}
    assert (pooled.cpu, pooled.wall, pooled.servers_cpu, pooled.ran_dry) == (3.0, 18.0, 12.0, 1)
    unreadable = ceiling.pooled([runs[0], ceiling.Measured({"dc1": 1.0, "dc2": 1.0}, 1.0, 6.0, None)])
    assert unreadable.servers_cpu is None
