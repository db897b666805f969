"""MkDocs hook: replaces `<!-- lab:NAME ARGS -->` placeholders in the docs with text generated from the lab.

Placeholders (a misspelt one fails the build, it is never left out silently):

    <!-- lab:faults -->                 every fault type and its parameters (from the fault schema)
    <!-- lab:experiment KIND -->        every field of an experiment kind: incident, timeline, workload
    <!-- lab:topology-fields -->        every field of a topology file
    <!-- lab:topologies -->             a table of the shipped topologies/
    <!-- lab:guards -->                 the update guards
    <!-- lab:flavors -->                the offline image recipes
    <!-- lab:include PATH [LANG] -->    a repository file verbatim (e.g. a shipped experiment)
    <!-- lab:cli -->                    `lab --help` and every command's --help
    <!-- lab:api -->                    mkdocstrings blocks for every name of `lab.__all__`

The text comes from `reference.py` next to this file, which a unit test imports (tests/unit/test_docs.py).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # next to this hook: MkDocs loads hooks by path, not as a package

PLACEHOLDER = re.compile(r"<!--\s*lab:([a-z-]+)((?:\s+[^\s>]+)*)\s*-->")
ROOT = Path(__file__).resolve().parents[2]


def cli_reference() -> str:
    """The help of `lab` and of every command and subcommand, as click prints it."""
    import click

    from lab.cli import main

    out: list[str] = []

    def walk(command: click.Command, path: str, parent: click.Context | None) -> None:
        ctx = click.Context(command, info_name=path.rsplit(" ", 1)[-1], parent=parent, terminal_width=100,
                            max_content_width=100)
        out.extend([f"## `{path}`", "", "```text", ctx.get_help(), "```", ""])
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                walk(command.commands[name], f"{path} {name}", ctx)

    walk(main, "lab", None)
    return "\n".join(out)


def api_reference() -> str:
    """One mkdocstrings block per public name, under the name users import it by (`lab.load_topology`)."""
    import lab

    blocks = []
    for name in lab.__all__:
        target = getattr(lab, name)
        path = f"{target.__module__}.{target.__qualname__}"
        blocks.append(f"::: {path}\n    options:\n      heading: \"lab.{name}\"\n      toc_label: \"{name}\"\n")
    return "\n".join(blocks)


def render(name: str, args: list[str]) -> str:
    if name == "faults":
        return reference.fault_reference(ROOT)
    if name == "experiment" and len(args) == 1:
        return reference.experiment_reference(args[0])
    if name == "topology-fields":
        return reference.topology_reference()
    if name == "topologies":
        return reference.shipped_topologies(ROOT)
    if name == "guards":
        return reference.guard_reference()
    if name == "flavors":
        return reference.flavor_recipes()
    if name == "include" and 1 <= len(args) <= 2:
        return reference.include(ROOT, *args)
    if name == "cli":
        return cli_reference()
    if name == "api":
        return api_reference()
    raise KeyError(name)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        name, args = match.group(1), match.group(2).split()
        try:
            return render(name, args)
        except (KeyError, FileNotFoundError) as exc:
            raise PluginError(f"{page.file.src_path}: placeholder {match.group(0)!r}: {exc}") from None

    return PLACEHOLDER.sub(replace, markdown)
