"""`lab doctor`: what this host can run: the engine, images, flavors, labs, host capabilities, fault types.

The facts come from lab.faults.probes (measured, about 1 s) and the verdicts from lab.faults.capabilities;
this module only gathers, decides the exit code and prints. It answers with the engine down too: the
host rows are still measured, and the fault rows that need the engine say so.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from dataclasses import asdict
from typing import Any

import click

from lab.cli import tables
from lab.cli.common import emit_json, friendly_errors, json_option
from lab.cli.run import demo
from lab.db import engine, labels, state
from lab.errors import LabError
from lab.faults import capabilities, probes
from lab.faults.capabilities import Fact, Verdict

EXIT_OK, EXIT_MISSING = 0, 1
EXIT_CODES_DOCTOR = ("Exit codes: 0 the demo can run here (engine up, its flavor's image ready, pullable or buildable "
                     "offline) and every fault type works, directly or via a fallback; 1 something is missing (the "
                     "tables say what, and how to fix it); 2 bad input or lab error (one line on stderr); "
                     "130 interrupted.")
USABLE = ("ready", "pullable", "buildable offline")
VERDICT_TEXT = {"works": "works", "fallback": "works via fallback", "unknown": "unknown", "no": "does not work"}


def demo_flavor() -> str:
    """The flavor `lab demo` runs by default (read from its option, so the two cannot disagree)."""
    return str(next(p.default for p in demo.params if p.name == "flavor"))


def flavor_rows(images: list[dict[str, str]] | None, facts: dict[str, Fact]) -> list[dict[str, str]]:
    """Each offline-buildable flavor: ready (local), pullable, buildable offline, or missing; None: engine down."""
    from lab.db.images import offline

    local = {row["image"] for row in images or []}
    rows = []
    for recipe in offline.RECIPES.values():
        if images is None:
            status = "unknown: the engine is down"
        elif recipe.tag in local or f"{recipe.flavor}:{recipe.version}" in local:
            status = "ready"
        elif facts["registry"].ok:
            status = "pullable"
        elif facts["debootstrap"].ok:
            status = "buildable offline"
        else:
            status = "missing: no registry, and no debootstrap or root to build it offline"
        rows.append({"flavor": recipe.flavor_text, "status": status,
                     "offline_recipe": f"Debian {recipe.suite}: {' '.join(recipe.packages)}"})
    return rows


def lab_rows(names: list[str]) -> list[dict[str, Any]]:
    """Every lab with a state file or labelled containers; a lab with only one of the two is left over."""
    found = engine.client().containers.list(all=True, filters={"label": labels.LAB})
    counts = Counter(c.labels.get(labels.LAB, "?") for c in found)
    running = Counter(c.labels.get(labels.LAB, "?") for c in found if c.status == "running")
    rows = []
    for name in sorted(set(names) | set(counts)):
        leftover = (name in names) != (name in counts)
        rows.append({"lab": name, "containers": counts[name], "running": running[name], "state_file": name in names,
                     "note": f"left over: `lab down --lab {name}`" if leftover else "up"})
    return rows


def smallest_image(images: list[dict[str, str]]) -> str | None:
    """The lightest local server image: the scratch container only needs `sleep` from it."""
    return min(images, key=lambda row: float(row["size_mb"]))["image"] if images else None


def plugin_fact() -> Fact:
    """Load the installed plugins, so their fault kinds get a row; a broken one is a finding, not a crash."""
    from importlib.metadata import entry_points

    from lab import plugins

    try:
        plugins.load()
    except LabError as exc:
        return Fact(False, str(exc), "fix or uninstall that plugin package")
    found = [f"{group}:{point.name}" for group in plugins.GROUPS for point in entry_points(group=group)]
    return Fact(True, ", ".join(found) or "none installed")


def gather() -> dict[str, Any]:
    """Every fact doctor reports, measured now."""
    from lab.db.images.resolve import local_lab_images

    began = time.monotonic()
    registry: list[Fact] = []
    reaching = threading.Thread(target=lambda: registry.append(probes.registry_fact()), daemon=True)
    reaching.start()
    shown, facts = probes.engine_facts()
    facts.update(probes.host_facts())
    images = local_lab_images() if facts["engine"].ok else None
    facts.update(probes.container_facts(smallest_image(images or []), facts))
    facts["plugins"] = plugin_fact()
    reaching.join()
    facts["registry"] = registry[0]
    facts = {**{name: facts[name] for name in capabilities.FACTS if name in facts}, **facts}
    names = state.all_names()
    return {"engine": shown, "images": images or [], "facts": facts,
            "flavors": flavor_rows(images, facts), "labs": names,
            "lab_rows": lab_rows(names) if facts["engine"].ok else [],
            "verdicts": capabilities.verdicts(facts), "took_s": round(time.monotonic() - began, 2)}


def exit_code(facts: dict[str, Fact], flavors: list[dict[str, str]], verdicts: list[Verdict], demo: str) -> int:
    """0 when the demo can run and every fault type the lab ships works (a fallback counts; a plugin's kind,
    whose needs the lab cannot know, does not count); 1 when anything is missing."""
    demo_ok = any(row["flavor"] == demo and row["status"] in USABLE for row in flavors)
    faults_ok = all(v.status in ("works", "fallback") or capabilities.routes_for(v.kind) is None for v in verdicts)
    return EXIT_OK if facts["engine"].ok and demo_ok and faults_ok else EXIT_MISSING


def _fact_text(ok: bool | None) -> str:
    return {True: "yes", False: "NO", None: "not checked"}[ok]


def as_document(report: dict[str, Any], code: int) -> dict[str, Any]:
    """The JSON form: the same facts, keyed by name."""
    aliases = capabilities.aliases()
    containers = sum(row["containers"] for row in report["lab_rows"])
    return {"engine": report["engine"], "images": report["images"], "flavors": report["flavors"],
            "lab_containers": containers, "labs": report["labs"], "lab_rows": report["lab_rows"],
            "host": {name: asdict(fact) for name, fact in report["facts"].items()},
            "faults": {v.kind: {**asdict(v), "aliases": aliases.get(v.kind, [])} for v in report["verdicts"]},
            "demo_flavor": demo_flavor(), "exit_code": code, "took_s": report["took_s"]}


def show(report: dict[str, Any], code: int) -> None:
    engine_facts = report["engine"]
    if engine_facts["reachable"]:
        tables.show([{"fact": k, "value": v} for k, v in engine_facts.items()], title="Docker engine")
        tables.show(report["images"] or [{"image": "(none yet)", "id": "", "size_mb": ""}],
                    title="Server images on this engine")
    else:
        tables.show([{"fact": "reachable", "value": f"NO: engine down at {engine_facts['endpoint']}"},
                     {"fact": "error", "value": engine_facts["error"]}, {"fact": "fix", "value": engine_facts["fix"]}],
                    title="Docker engine")
    tables.show(report["flavors"], title="Flavors (any other official image works when it is local or pullable)")
    if report["lab_rows"]:
        tables.show(report["lab_rows"], title="Labs on this engine")
    facts: dict[str, Fact] = report["facts"]
    tables.show([{"check": name, "ok": _fact_text(f.ok), "detail": f.detail, "fix": "" if f.ok else f.fix}
                 for name, f in facts.items()], title=f"Host capabilities (probed in {report['took_s']} s)")
    aliases = capabilities.aliases()
    tables.show([{"fault": v.kind + (f" ({', '.join(aliases[v.kind])})" if aliases.get(v.kind) else ""),
                  "verdict": VERDICT_TEXT[v.status], "how / why not": v.how} for v in report["verdicts"]],
                title="Fault types on this host")
    tables.console.print(summary(report, code), markup=False)


def summary(report: dict[str, Any], code: int) -> str:
    """The last line: all good, or what is missing first."""
    if code == EXIT_OK:
        return "exit 0: the demo and every fault type the lab ships can run on this host"
    engine_fact: Fact = report["facts"]["engine"]
    if not engine_fact.ok:
        return f"exit {code}: the Docker engine is down ({engine_fact.fix})"
    broken = [v.kind for v in report["verdicts"] if v.status not in ("works", "fallback")]
    demo = next((row for row in report["flavors"] if row["flavor"] == demo_flavor()), None)
    missing = [f"the demo's flavor {demo_flavor()} ({demo['status'] if demo else 'no recipe, not local'})"] \
        if not demo or demo["status"] not in USABLE else []
    missing += [f"fault types that do not work here: {', '.join(broken)}"] if broken else []
    return f"exit {code}: missing {'; '.join(missing)}"


@click.command(epilog=EXIT_CODES_DOCTOR)
@json_option
@friendly_errors
def doctor(as_json: bool) -> None:
    """Check the whole host: the engine, server images, flavors, labs, host capabilities and which fault types
    work here (directly, via a fallback, or not, and why). Still answers when the engine is down."""
    report = gather()
    code = exit_code(report["facts"], report["flavors"], report["verdicts"], demo_flavor())
    if as_json:
        emit_json(as_document(report, code))
    else:
        show(report, code)
    if code != EXIT_OK:
        sys.exit(code)
