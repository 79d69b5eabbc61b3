"""Reading playbook files: the one place playbooks touch the file system.

``load_library`` reads a file or a directory of ``*.yaml`` / ``*.yml`` files and reports the
problems of every file at once (and playbook names defined twice across files) in one PlaybookError.
``check_against_catalog`` then checks what only the catalog knows: the services, dimensions, flags
and variations a library names.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.domain.catalog import Catalog, Service
from orchestrator.domain.playbook import Playbook, PlaybookLibrary, check_playbook_text
from orchestrator.domain.templating import contains_template
from orchestrator.errors import PlaybookError

PLAYBOOK_SUFFIXES = (".yaml", ".yml")
VARIATION_ARGS = ("variation", "expect")
"""Arguments of ``flag.*`` actions whose value is a variation of the step's ``flag``."""


def _read(path: Path) -> tuple[str | None, list[str]]:
    try:
        return path.read_text(encoding="utf-8"), []
    except UnicodeDecodeError as exc:
        return None, [f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]
    except OSError as exc:
        return None, [f"{path}: cannot read: {exc.strerror or exc}"]


def playbook_paths(path: Path) -> tuple[list[Path], list[str]]:
    """The playbook files at ``path`` (a file, or a directory's ``*.yaml``/``*.yml`` by name)."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in PLAYBOOK_SUFFIXES)
        if not files:
            return [], [f"{path}: no playbook files (*.yaml, *.yml) in this directory"]
        return files, []
    if path.is_file():
        return [path], []
    return [], [f"{path}: no such file or directory"]


def _check_files(path: Path) -> tuple[list[Playbook], list[str]]:
    files, problems = playbook_paths(path)
    playbooks: list[Playbook] = []
    defined_in: dict[str, Path] = {}
    for file in files:
        text, read_problems = _read(file)
        problems += read_problems
        if text is None:
            continue
        playbook, file_problems = check_playbook_text(text, str(file))
        problems += file_problems
        if playbook is None:
            continue
        first = defined_in.setdefault(playbook.name, file)
        if first != file:
            problems.append(
                f"{file}: name: playbook {playbook.name!r} is already defined in {first}"
            )
            continue
        playbooks.append(playbook)
    return playbooks, problems


def load_playbook_file(path: Path) -> Playbook:
    """Read and validate one playbook file; PlaybookError listing every problem."""
    text, problems = _read(path)
    if text is None:
        raise PlaybookError("\n".join(problems))
    playbook, problems = check_playbook_text(text, str(path))
    if playbook is None:
        raise PlaybookError("\n".join(problems))
    return playbook


def load_library(path: Path) -> PlaybookLibrary:
    """Read a playbook file or directory into a library; one PlaybookError for every problem."""
    playbooks, problems = _check_files(path)
    if problems:
        raise PlaybookError("\n".join(problems))
    return PlaybookLibrary(playbooks=tuple(playbooks))


def validate_path(path: Path) -> list[str]:
    """Every problem of the playbooks at ``path``, one line each; empty when all are valid."""
    return _check_files(path)[1]


def _services_for(playbook: Playbook, catalog: Catalog) -> list[Service]:
    """The catalog services the playbook can run for: those it names, or (when it names none)
    every service with an SLO in one of its dimensions."""
    if playbook.match.services:
        known = {s.name for s in catalog.services}
        return [catalog.service(n) for n in playbook.match.services if n in known]
    dims = set(playbook.match.dimensions)
    return [s for s in catalog.services if any(slo.dimension in dims for slo in s.slos)]


def _match_problems(playbook: Playbook, catalog: Catalog) -> list[str]:
    where = f"playbook {playbook.name!r}: match"
    known = [s.name for s in catalog.services]
    lines = [
        f"{where}.services: unknown service {name!r} (catalog has: {', '.join(known)})"
        for name in playbook.match.services
        if name not in known
    ]
    dims = ", ".join(catalog.dimensions)
    lines += [
        f"{where}.dimensions: unknown dimension {dim!r} (catalog has: {dims})"
        for dim in playbook.match.dimensions
        if dim not in catalog.dimensions
    ]
    return lines


def _flag_problems(playbook: Playbook, services: list[Service]) -> list[str]:
    lines = []
    for i, step in enumerate(playbook.steps):
        flag_key = step.args.get("flag")
        if not step.action.startswith("flag.") or not isinstance(flag_key, str):
            continue
        if contains_template(flag_key):
            continue
        where = f"playbook {playbook.name!r}: steps[{i}] ({step.id}).args"
        for service in services:
            flag = service.flag(flag_key)
            if flag is None:
                lines.append(f"{where}.flag: service {service.name} declares no flag {flag_key!r}")
                continue
            for arg in VARIATION_ARGS:
                value = step.args.get(arg)
                literal = isinstance(value, str) and not contains_template(value)
                if literal and value not in flag.variations:
                    lines.append(
                        f"{where}.{arg}: {value!r} is not a variation of {flag_key}"
                        f" (variations: {', '.join(flag.variations)})"
                    )
    return lines


def check_against_catalog(library: PlaybookLibrary, catalog: Catalog) -> list[str]:
    """What the catalog contradicts in the library, one line each; empty when all agree.

    Matched services and dimensions must exist; every literal ``flag`` of a ``flag.*`` step must be
    declared by each service the playbook can run for, and literal ``variation``/``expect`` values
    must be among that flag's variations. Templated values are checked when the step runs.
    """
    lines = []
    for playbook in library.playbooks:
        lines += _match_problems(playbook, catalog)
        lines += _flag_problems(playbook, _services_for(playbook, catalog))
    return lines
