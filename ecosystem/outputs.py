"""Output folders and atomic writes: aieco never deletes or half-writes what it did not write.

Every command that writes results uses this module:

* :func:`check_out_dir` before any work: refuses (one-line :class:`OutputError`, exit 2) a path that
  is a file, the current folder or one of its parents, a filesystem root, the home folder, a
  folder that cannot be written, and a non-empty folder that is not an aieco output unless
  ``overwrite`` is given.
* :func:`write_dir` writes a whole output: a writer fills a temporary folder beside the target,
  then it is moved into place. An existing aieco output is replaced; with ``overwrite`` a foreign
  folder keeps every file aieco did not write (only aieco's own files are replaced).
* :func:`atomic_file` / :func:`write_text` / :func:`write_bytes` / :func:`write_parquet` write
  one file under a temporary name beside it and ``os.replace`` it into place, so a reader never
  sees half a file.
* :func:`mark` records, in ``.aieco-output.json``, that a folder is an aieco output and which
  files aieco wrote there (commands that fill a folder incrementally, e.g. sweeps, call it).

An aieco output is a folder holding ``.aieco-output.json``, or (written before the marker existed)
a ``manifest.json`` with aieco's ``versions`` and ``git_revision`` keys.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from ecosystem.scenario import ScenarioError

MARKER = ".aieco-output.json"


class OutputError(ScenarioError):
    """An output path aieco refuses; ``str()`` is one line: option, path and why."""


# --------------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------------
def read_marker(path: Path) -> dict | None:
    """The marker of an aieco output folder, or None if ``path`` is not one."""
    path = Path(path)
    marker = path / MARKER
    try:
        if marker.is_file():
            data = json.loads(marker.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("files"), list):
                return data
        manifest = path / "manifest.json"
        if manifest.is_file():
            data = json.loads(manifest.read_text(encoding="utf-8"))
            if isinstance(data, dict) and {"versions", "git_revision"} <= set(data):
                return {"kind": "legacy", "files": []}
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return None


def is_aieco_output(path: str | Path) -> bool:
    return read_marker(Path(path)) is not None


def _protected(resolved: Path) -> str | None:
    """Why a resolved folder may never be an output folder, or None."""
    cwd = Path.cwd().resolve()
    home = Path.home().resolve()
    if resolved == Path(resolved.anchor):
        return "is a filesystem root; choose a new folder"
    if resolved == cwd:
        return "is the current folder; choose a new folder"
    if resolved in cwd.parents:
        return "contains the current folder; choose a new folder"
    if resolved == home or resolved in home.parents:
        return "is the home folder or above it; choose a new folder"
    return None


def check_out_dir(
    path: str | Path,
    overwrite: bool = False,
    option: str = "--out",
    foreign: str = "choose another or pass --overwrite (which replaces only aieco's files there)",
) -> Path:
    """Check an output folder before any work; return it. Raises :class:`OutputError`.

    ``foreign`` is the advice given for a non-empty folder aieco did not write (commands without
    ``--overwrite``, such as sweeps, say "choose another --out")."""
    out = Path(path).expanduser()
    text = str(path)
    if text.strip() == "":
        raise OutputError(option, text, "needs a folder name")
    resolved = out.resolve()
    why = _protected(resolved)
    if why:
        raise OutputError(option, text, why)
    if out.is_symlink():
        raise OutputError(option, text, "is a symbolic link; give the folder itself")
    if out.exists() and not out.is_dir():
        raise OutputError(option, text, "exists and is not a folder; choose a folder")
    parent = resolved.parent
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(option, text, f"{existing} is a file, not a folder")
    if out.is_dir():
        if not os.access(out, os.W_OK | os.X_OK) or not can_create_in(out):
            raise OutputError(option, text, "is not writable; choose a folder you can write to")
        try:
            entries = any(out.iterdir())
        except OSError as exc:
            raise OutputError(option, text, f"cannot be read ({exc.strerror})") from None
        if entries and not is_aieco_output(out) and not overwrite:
            raise OutputError(
                option, text, f"is a non-empty folder that aieco did not write; {foreign}"
            )
    if not os.access(existing, os.W_OK | os.X_OK) or not can_create_in(existing):
        raise OutputError(option, text, f"cannot create it: {existing} is not writable")
    return out


def can_create_in(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (``os.access`` says yes to root everywhere)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".aieco-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


def write_dir(
    path: str | Path,
    writer: Callable[[Path], None],
    kind: str,
    overwrite: bool = False,
    option: str = "--out",
) -> Path:
    """Write an output folder: ``writer(tmp)`` fills a temporary folder beside ``path``, which is
    then moved into place (see the module docstring). Returns ``path``."""
    out = check_out_dir(path, overwrite=overwrite, option=option)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        raise OutputError(
            option, str(path), f"{out.parent} is not writable ({exc.strerror})"
        ) from None
    try:
        tmp.chmod(0o755)
        writer(tmp)
        files = sorted(p.name for p in tmp.iterdir())
        _write_marker(tmp, kind, files)
        _publish(tmp, out)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT):
            raise
        raise OutputError(option, str(path), f"cannot write there ({exc.strerror})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _publish(tmp: Path, out: Path) -> None:
    """Move a filled temporary folder to ``out``, replacing only aieco's files there."""
    entries = {p.name for p in out.iterdir()} if out.exists() else set()
    if not entries:
        os.replace(tmp, out)  # a missing or empty folder: one rename
        return
    old = read_marker(out)
    new = {p.name for p in tmp.iterdir()}
    ours = new | set(old["files"] if old else []) | {MARKER}
    if old is not None and entries <= ours:
        # Nothing foreign inside: swap the folders (two renames), then drop the old one.
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, trash / out.name)
        os.replace(tmp, out)
        shutil.rmtree(trash, ignore_errors=True)
        return
    # A folder holding files aieco did not write: replace aieco's own files one by one, leave
    # the rest, and write the marker last.
    for name in sorted(entries & (ours - new)):
        _remove(out / name)
    for name in sorted(new - {MARKER}):
        target = out / name
        if target.is_dir() and not target.is_symlink():
            _remove(target)
        os.replace(tmp / name, target)
    os.replace(tmp / MARKER, out / MARKER)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _write_marker(folder: Path, kind: str, files: Iterable[str]) -> None:
    data = {
        "aieco_output": kind,
        "kind": kind,
        "files": sorted(set(files) - {MARKER}),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_text(folder / MARKER, json.dumps(data, indent=2) + "\n")


def mark(folder: str | Path, kind: str, files: Iterable[str]) -> None:
    """Record that ``folder`` is an aieco output and which top-level entries aieco wrote there
    (for commands that fill a folder in place, e.g. sweeps). Merges with an existing marker."""
    folder = Path(folder)
    old = read_marker(folder)
    _write_marker(folder, kind, set(files) | set(old["files"] if old else []))


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename, on
    error it is removed and ``path`` is untouched."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_parquet(table, path: str | Path) -> Path:
    """A pandas DataFrame (without its index) or an Arrow table, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def write_csv(df, path: str | Path) -> Path:
    with atomic_file(path) as tmp:
        df.to_csv(tmp, index=False)
    return Path(path)
