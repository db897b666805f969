"""The README and the documentation site: they build, they stay short where promised, the generated reference
covers the whole schema, and the shell examples can be pasted as they are.

No engine is needed: the site is generated from the schemas and the CLI, not from a running lab.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.M | re.S)
SHELL_LANGS = {"sh", "bash", "shell", "console"}


def load_reference() -> Any:
    """docs/hooks/reference.py, the generator the MkDocs hook calls (it is not part of the `lab` package)."""
    spec = importlib.util.spec_from_file_location("docs_reference", ROOT / "docs" / "hooks" / "reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference() -> Any:
    return load_reference()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`mkdocs build --strict` into a temporary directory: a broken link, anchor, nav entry or placeholder fails."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return out


def test_site_builds_strict_with_every_page_of_the_nav(site: Path) -> None:
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def pages(nav: Any) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        if isinstance(nav, dict):
            return [page for value in nav.values() for page in pages(value)]
        return [page for item in nav for page in pages(item)]

    for page in pages(config["nav"]):
        built = site / ("index.html" if page == "index.md" else page.removesuffix(".md") + "/index.html")
        assert built.exists(), f"{page} is in the nav but was not built"


def test_built_experiments_page_holds_the_generated_reference(site: Path) -> None:
    """The hook really ran on the page (the generator alone being right is not enough)."""
    from lab.faults import kinds

    html = (site / "experiments" / "index.html").read_text()
    assert "<!-- lab:" not in html and "&lt;!-- lab:" not in html, "a placeholder was left unreplaced"
    for kind in kinds():
        assert f"<code>{kind}</code>" in html, f"fault type {kind} missing from the built experiments page"
    cli = (site / "cli" / "index.html").read_text()
    assert "Exit codes" in cli and "lab run" in cli


def test_readme_is_short_and_starts_with_the_two_commands() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 250, f"README.md has {len(text.splitlines())} lines; keep it at most 250"
    before = text.partition("```")[0]
    assert [line for line in before.splitlines() if line.strip()] == ["# mysql-replication-lab"], \
        "the README must start with its title, then the two commands"
    lang, body = FENCE.match(text[len(before):]).groups()
    commands = [line.split("#")[0].strip() for line in body.splitlines() if line.strip()]
    assert lang == "sh" and commands == ["make demo", "make test"]
    assert "A Pessimistic Story About Optimistic Locking" in text


def test_readme_demo_output_is_a_real_run_table() -> None:
    """The pasted demo output has the table `lab demo` prints: 18 cells, one row each."""
    text = README.read_text()
    block = next(body for lang, body in FENCE.findall(text) if "lab demo" in body and "| topology" in body)
    rows = [line for line in block.splitlines() if re.match(r"^\| active-(passive|active) ", line)]
    assert len(rows) == 18
    assert re.search(r"report: results/wix-incident-\d{8}T\d{6}Z/report\.md", block)


def fault_sections(text: str) -> dict[str, str]:
    """{type spelling: its section} of the generated fault reference (a section lists its aliases)."""
    sections = {}
    for chunk in text.split("\n### ")[1:]:
        names = re.findall(r"`([a-z_]+)`", chunk.splitlines()[0])
        aliases = re.search(r"Also written as ([^.]+)\.", chunk)
        for name in names + (re.findall(r"`([a-z_]+)`", aliases.group(1)) if aliases else []):
            sections[name] = chunk
    return sections


def test_fault_reference_names_every_fault_type_and_parameter(reference: Any) -> None:
    """Against `lab schema experiment`'s fault union (the editors' schema), not against the generator's own
    reading of the models."""
    from lab.experiments.jsonschema import experiment_schema
    from lab.faults import kinds

    sections = fault_sections("\n" + reference.fault_reference(ROOT))
    assert set(kinds()) <= set(sections), f"missing fault types: {set(kinds()) - set(sections)}"
    union = experiment_schema()["$defs"]["faults"]
    for model in union["$defs"].values():
        spelled = model["properties"]["type"]
        names = [spelled["const"]] if "const" in spelled else spelled["enum"]
        for name in names:
            for field in model["properties"]:
                assert f"| `{field}` |" in sections[name], f"fault {name}: parameter {field} not documented"


def schema_fields(node: Any, definitions: dict[str, Any], seen: set[str]) -> set[str]:
    """Every property name reachable from a JSON Schema node, following $refs (but not into the fault union,
    which the fault reference covers)."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/") and not ref.startswith("#/$defs/faults"):
            name = ref.split("/")[2]
            if name not in seen:
                seen.add(name)
                found |= schema_fields(definitions[name], definitions, seen)
        for key, value in node.items():
            if key == "properties":
                found |= set(value)
            found |= schema_fields(value, definitions, seen)
    elif isinstance(node, list):
        for item in node:
            found |= schema_fields(item, definitions, seen)
    return found


@pytest.mark.parametrize("kind", ["incident", "timeline", "workload"])
def test_experiment_reference_names_every_field_of_its_kind(reference: Any, kind: str) -> None:
    from lab.experiments.jsonschema import experiment_schema

    schema = experiment_schema()
    variant = next(v for v in schema["oneOf"] if v["properties"]["kind"].get("const", v["properties"]["kind"].get(
        "default")) == kind)
    fields = schema_fields(variant, schema["$defs"], set())
    text = reference.experiment_reference(kind)
    missing = sorted(field for field in fields if f"`{field}`" not in text)
    assert not missing, f"{kind}: fields not in the generated reference: {missing}"


def shell_commands(text: str) -> list[str]:
    """The shell input of every shell block, one string per block (a quoted argument may span lines); in
    console blocks only the `$ ` lines, the rest being output."""
    commands = []
    for lang, body in FENCE.findall(text):
        if lang not in SHELL_LANGS:
            continue
        lines = body.splitlines()
        if lang == "console":
            lines = [line[2:] for line in lines if line.startswith("$ ")]
        commands.append("\n".join(lines))
    return commands


def unquoted_operators(command: str) -> list[str]:
    """`--only` values holding an unquoted `|`, and `--expect` values holding an unquoted `>` or `<`.

    shlex with punctuation_chars splits out exactly the characters the shell would treat as pipes and
    redirections when they are not quoted, which a regex cannot tell reliably."""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return [f"cannot parse: {command}"]
    problems = []
    for index, token in enumerate(tokens[:-2]):
        following = tokens[index + 2]
        if token == "--only" and following.startswith("|"):
            problems.append(f"unquoted | in --only {tokens[index + 1]}{following}…")
        if token == "--expect" and following[:1] in "<>":
            problems.append(f"unquoted {following} in --expect {tokens[index + 1]}{following}…")
    return problems


def test_quoting_check_catches_what_the_shell_would_misread() -> None:
    assert unquoted_operators("lab run x --only guard=strict|gte")
    assert unquoted_operators("lab run x --expect stuck_rows>0 --junit j.xml")
    assert unquoted_operators("lab run x --expect stuck_rows<=3")
    assert not unquoted_operators("lab run x --only 'guard=strict|gte' --expect 'stuck_rows>0'")
    assert not unquoted_operators("lab run x --only guard=strict --only guard=gte --expect diverged_after_fix==0")
    assert not unquoted_operators("lab run x --json > run.json")


def test_shell_examples_quote_only_and_expect() -> None:
    documents = [README, *sorted((ROOT / "docs").rglob("*.md"))]
    problems = [f"{path.relative_to(ROOT)}: {problem}" for path in documents
                for command in shell_commands(path.read_text()) for problem in unquoted_operators(command)]
    assert not problems, "\n".join(problems)
    # the check saw the examples it is about (a fence regex that matched nothing would pass vacuously)
    assert sum(c.count("--only") for path in documents for c in shell_commands(path.read_text())) >= 10


def test_reports_point_at_sections_that_exist() -> None:
    """report.md and report.html send readers to a findings section for what each column means."""
    from lab.results.markdown import FINDINGS_PAGE, FINDINGS_SECTIONS

    headings = {line.lstrip("#").strip() for line in (ROOT / FINDINGS_PAGE).read_text().splitlines()
                if line.startswith("#")}
    assert set(FINDINGS_SECTIONS.values()) <= headings
