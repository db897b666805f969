"""`lab up`, `lab status`, `lab down` and `lab doctor`: labs on the engine, and the engine itself."""

from __future__ import annotations

from typing import Any

import click

from lab.cli import tables
from lab.cli.common import emit_json, friendly_errors, json_option, only_lab_name, progress, with_options
from lab.db import cleanup, engine, labels, state
from lab.db import topology as topo

topology_overrides = [
    click.option("--flavor", help="Override every server's flavor, e.g. mysql:9.7 or mariadb:10.11."),
    click.option("--binlog-format", type=click.Choice(["STATEMENT", "ROW", "MIXED"], case_sensitive=False),
                 help="Override every server's binlog_format."),
]


@click.command()
@click.argument("topology_file")
@click.option("--name", help="Lab name (default: the topology's name). Several labs can run at once.")
@with_options(topology_overrides)
@friendly_errors
def up(topology_file: str, name: str | None, flavor: str | None, binlog_format: str | None) -> None:
    """Start a topology, form its replication (links, a group, a cluster) and wait until it is caught up."""
    from lab.db.lab import Lab

    resolved = topo.load(topo.find(topology_file), flavor=flavor, binlog_format=binlog_format)
    lab = Lab.up(resolved, name=name, progress=progress)
    lab.remember_overrides({"flavor": flavor, "binlog_format": binlog_format})
    show_lab(lab)
    progress(f"`lab status {lab.name}` to watch, `lab down {lab.name}` to remove")


def show_lab(lab: Any, full: bool = False) -> None:
    """The servers, then the links (asynchronous designs) and the members' state (a group, a cluster, semi-sync)."""
    from lab.db import status

    tables.show(status.server_rows(lab), title=f"lab {lab.name}: servers")
    if lab.topology.links:
        tables.show(status.link_rows(lab, full=full), title=f"lab {lab.name}: replication links")
    members = lab.design.members(lab)
    if members:
        tables.show(members, title=f"lab {lab.name}: {lab.design.name} members")


@click.command(name="status")
@click.argument("name", required=False)
@click.option("--full", is_flag=True, help="Do not shorten errors and GTID sets.")
@json_option
@friendly_errors
def status_command(name: str | None, full: bool, as_json: bool) -> None:
    """Per-link IO/SQL state, lag, last error and executed GTIDs or positions."""
    from lab.db import status
    from lab.db.lab import Lab

    lab = Lab.attach(only_lab_name(name))
    if as_json:
        emit_json({"lab": lab.name, "design": lab.design.name, "servers": status.server_rows(lab),
                   "links": status.link_rows(lab, full=True), "members": lab.design.members(lab)})
        return
    show_lab(lab, full)


@click.command()
@click.argument("name", required=False)
@click.option("--all", "everything", is_flag=True, help="Remove every container and network the lab ever labelled.")
@friendly_errors
def down(name: str | None, everything: bool) -> None:
    """Remove a lab's containers and network (or, with --all, every lab leftover)."""
    target = None if everything else only_lab_name(name)
    containers, networks = cleanup.remove_lab(target)
    progress(f"removed {containers} container(s) and {networks} network(s)")


@click.command()
@json_option
@friendly_errors
def doctor(as_json: bool) -> None:
    """Report the Docker engine, the server images and the flavors available."""
    from lab.db.images import offline
    from lab.db.images.resolve import local_lab_images

    facts = engine.describe()
    images = local_lab_images()
    local = {row["image"] for row in images}
    flavors = []
    for recipe in offline.RECIPES.values():
        available = recipe.tag in local or f"{recipe.flavor}:{recipe.version}" in local
        flavors.append({"flavor": recipe.flavor_text, "status": "ready" if available else "buildable offline",
                        "offline_recipe": f"Debian {recipe.suite}: {' '.join(recipe.packages)}"})
    leftovers = engine.client().containers.list(all=True, filters={"label": labels.LAB})
    if as_json:
        emit_json({"engine": facts, "images": images, "flavors": flavors, "lab_containers": len(leftovers),
                   "labs": state.all_names()})
        return
    tables.show([{"fact": k, "value": v} for k, v in facts.items()], title="Docker engine")
    tables.show(images or [{"image": "(none yet)", "id": "", "size_mb": ""}], title="Server images on this engine")
    tables.show(flavors, title="Flavors (any other official image works when it is local or pullable)")
    progress(f"{len(leftovers)} lab container(s) exist; running labs: {', '.join(state.all_names()) or 'none'}")
