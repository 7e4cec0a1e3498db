"""Atomic file writes that leave no debris and the usual permissions.

``atomic_write(path, write)`` writes to a temporary file beside ``path``, flushes it to disk
and renames it over ``path``: a crash mid-save never leaves a broken file where a good one
was. The temporary file is removed on any exception. A process killed mid-save cannot
remove its own, so each temporary name carries its writer's process id
(``.model.svk.<pid>.<random>.tmp``) and the next save to the same path removes those whose
process no longer runs, or that are over an hour old (process ids are reused).

The file gets the permissions ``open(path, "w")`` would give: those of the file it replaces,
or ``0o666`` less the umask for a new one (``tempfile.mkstemp`` would make every save 0600).

>>> import os, tempfile
>>> d = tempfile.mkdtemp()
>>> atomic_write(os.path.join(d, "a.txt"), lambda f: f.write(b"hello"))
>>> os.listdir(d)
['a.txt']
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import time
from pathlib import Path

STALE_AFTER_S = 3600
_OURS = re.compile(r"(?P<pid>\d+)\.[0-9a-f]{16}")  # between ".{name}." and ".tmp"
_MKSTEMP = re.compile(r"[a-z0-9_]{8}")  # earlier versions used tempfile.mkstemp


def _running(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would end the process there: rely on the age alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    return True


def remove_stale_temps(path) -> list[str]:
    """Remove the temporary files of saves to ``path`` whose writer was killed; their names."""
    path = Path(path)
    prefix, removed = f".{path.name}.", []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        middle = name[len(prefix):-len(".tmp")]
        ours, theirs = _OURS.fullmatch(middle), _MKSTEMP.fullmatch(middle)
        if not (ours or theirs):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S
            if old or (ours and not _running(int(ours["pid"]))):
                os.unlink(entry.path)
                removed.append(name)
        except OSError:  # gone already, or not ours to remove
            continue
    return removed


def atomic_write(path, write) -> None:
    """Call ``write(binary_file)`` on a temporary file beside ``path``, then rename it over
    ``path`` (see the module docstring)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = None  # a new file: 0o666 less the umask, applied by os.open
    while True:
        tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                with contextlib.suppress(OSError):
                    os.chmod(tmp, mode)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
