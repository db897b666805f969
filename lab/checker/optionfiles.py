"""MySQL option files (my.cnf) read as the mysql client reads them, for the [client] group only.

Only [client] is read, not [mysql]: [client] is the group every client program shares, and it is the one
pt-table-checksum/pt-table-sync (DBD::mysql with mysql_read_default_group=client) and PyMySQL
(read_default_group) read; [mysql] holds the mysql shell's own settings (pager, prompt), which other
programs never read. Without --defaults-file only the user's ~/.my.cnf is read (where people keep client
credentials); the mysql client and DBD::mysql also read the global /etc/my.cnf and /etc/mysql/my.cnf, but
those describe this machine's own server install, not the servers a check reaches. With --defaults-file
only that file is read, as `mysql --defaults-file` and pt-toolkit's F=FILE do. ~/.mylogin.cnf (obfuscated
by mysql_config_editor) is not read.

configparser parses groups and keys; these mysql conventions it lacks are handled here:
- `#` starts a comment anywhere outside quotes (quote a value that holds `#`); `;` only at a line's start;
- a value inside matching single or double quotes loses them; escapes \\n \\t \\r \\b \\s \\\\ \\" \\' decode;
- a key without a value (`skip-ssl`) is a flag (value None); dashes and underscores are the same; a
  `loose-` prefix is dropped; leading spaces are ignored (configparser would read them as a continuation);
- `!include FILE` and `!includedir DIR` (its *.cnf files, sorted) are followed where they stand, at most
  MAX_DEPTH files deep; a later value wins.
Errors name the file and line, never the line's text: it may hold a password.
"""

from __future__ import annotations

import configparser
from pathlib import Path

from lab.errors import LabError

GROUP = "client"
MAX_DEPTH = 10
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "s": " ", "\\": "\\", '"': '"', "'": "'"}
Options = dict[str, "str | None"]


def user_file() -> Path:
    """The per-user option file the mysql client reads (HOME decides, as for the client)."""
    return Path.home() / ".my.cnf"


def read_client_group(path: Path, *, required: bool) -> Options:
    """The [client] options of `path` and of the files it includes: {key: value, or None for a flag}.

    A missing file is an error when `required` (a file named with --defaults-file), else no options.
    """
    if not path.exists():
        if required:
            raise LabError(f"--defaults-file {path}: no such file")
        return {}
    options: Options = {}
    _read(path, options, ())
    return options


def key_name(key: str) -> str:
    """mysql option names: case and dash/underscore do not matter, `loose-` only silences unknown ones."""
    name = key.strip().lower().replace("_", "-")
    return name.removeprefix("loose-")


def _read(path: Path, options: Options, chain: tuple[Path, ...]) -> None:
    if len(chain) >= MAX_DEPTH or path.resolve() in chain:
        raise LabError(f"{chain[-1]}: !include of {path} loops or nests deeper than {MAX_DEPTH} files")
    chain = (*chain, path.resolve())
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise LabError(f"option file {path}: cannot read it: {exc.strerror}") from None
    group: str | None = None
    segment: list[str] = []   # the lines since the last include, starting with the group they are in
    start_group: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = strip_comment(raw).strip()
        if not line or line.startswith(";"):
            continue
        directive, *target = line.split(None, 1)
        if directive in ("!include", "!includedir"):
            _parse(segment, start_group, path, options)
            for included in _included(directive, "".join(target).strip(), path, number):
                _read(included, options, chain)
            segment, start_group = [], group
            continue
        if line.startswith("["):
            if not line.endswith("]") or not line[1:-1].strip():
                raise LabError(f"option file {path} line {number}: a group header looks like [client]")
            group = line[1:-1].strip().lower()
            line = f"[{group}]"
        elif group is None:
            raise LabError(f"option file {path} line {number}: option outside any group (add [client] above it)")
        elif line.startswith("="):
            raise LabError(f"option file {path} line {number}: `=` without an option name before it")
        segment.append(line)
    _parse(segment, start_group, path, options)


def _included(directive: str, target: str, path: Path, number: int) -> list[Path]:
    where = f"option file {path} line {number}: {directive} {target}"
    if not target:
        raise LabError(f"option file {path} line {number}: {directive} needs a path")
    found = Path(target)
    if directive == "!include":
        if not found.is_file():
            raise LabError(f"{where}: no such file")
        return [found]
    if not found.is_dir():
        raise LabError(f"{where}: no such directory")
    return sorted(p for p in found.iterdir() if p.suffix == ".cnf" and p.is_file())


def _parse(lines: list[str], group: str | None, path: Path, options: Options) -> None:
    """One run of lines (between includes) through configparser; its [client] values win over earlier ones."""
    if not lines:
        return
    parser = configparser.ConfigParser(allow_no_value=True, delimiters=("=",), comment_prefixes=(";", "#"),
                                       inline_comment_prefixes=None, strict=False, interpolation=None,
                                       empty_lines_in_values=False, default_section="lab-no-default-section")
    parser.optionxform = key_name  # type: ignore[assignment,method-assign]
    header = [f"[{group}]"] if group is not None and not lines[0].startswith("[") else []
    try:
        parser.read_string("\n".join(header + lines), source=str(path))
    except configparser.Error:   # its messages quote the line, which may hold a password
        raise LabError(f"option file {path}: not a valid option file") from None
    if parser.has_section(GROUP):
        for key, value in parser.items(GROUP, raw=True):
            options[key] = None if value is None else unquote(value)


def strip_comment(line: str) -> str:
    """The line up to its first `#` outside quotes (a backslash inside quotes escapes the next character)."""
    quote, escaped = "", False
    for index, char in enumerate(line):
        if char in "'\"" and not escaped:
            quote = "" if quote == char else (quote or char)
        elif char == "#" and not quote:
            return line[:index]
        escaped = bool(quote) and char == "\\" and not escaped
    return line


def unquote(value: str) -> str:
    """Drop one pair of matching quotes, then decode the mysql escapes (an unknown one keeps its backslash)."""
    value = value.strip()
    if len(value) >= 2 and value[0] in "'\"" and value[-1] == value[0]:
        value = value[1:-1]
    out, index = [], 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            following = value[index + 1]
            out.append(ESCAPES.get(following, "\\" + following))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)
