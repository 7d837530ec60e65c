"""The archive of decided comments: rotated JSON Lines files written before retention removes them.

Optional per deployment (``MODERATION_ARCHIVE_DIR``). One file per site and UTC day of the
decision, ``<dir>/<site>/<YYYY-MM-DD>.jsonl``, one comment per line. Files are only ever
appended to, except by erasure (:meth:`Archive.forget`), which rewrites a file without the
author's records and swaps it in with a rename.

The files hold personal data (email, IP): each is ``0600`` and each site's folder ``0700``
(the archive's own folder too when this module creates it). An erasure's rewrite keeps
``0600`` (it is created that way, not with the umask's ``0644``), and an append tightens a
file or site folder left more open by an older version.

Appends and rewrites of one file take an exclusive ``flock`` on it; an appender that waited
while a rewrite replaced the file sees a different inode under the path and reopens, so no
line is written into a file that was just swapped out. The retention sweep writes a batch
here before its Lua script removes the comments from Redis, so a crash between the two
writes the batch again on the next sweep (at least once: an ``id`` can repeat, never be lost).
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec

_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.jsonl$")
_encoder = msgspec.json.Encoder()
# Owner only: the records hold emails and IP addresses.
FILE_MODE = 0o600
DIR_MODE = 0o700


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    day: date
    path: Path
    size: int


def day_of(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def _author_email(record: Mapping[str, Any]) -> str:
    comment = record.get("comment")
    if not isinstance(comment, dict):
        return ""
    return str(comment.get("author_email") or "").casefold()


def _names_author(record: Mapping[str, Any], email: str) -> bool:
    if _author_email(record) == email:
        return True
    # A document the sweep could not read was archived as stored (retention.archive_record).
    raw = record.get("stored_doc")
    return isinstance(raw, str) and email in raw.casefold()


def _user_ip(record: Mapping[str, Any]) -> str:
    comment = record.get("comment")
    ip = comment.get("user_ip") if isinstance(comment, dict) else None
    return ip if isinstance(ip, str) else ""


@dataclass(slots=True)
class Forgotten:
    """What :meth:`Archive.forget` removed: the records, and the IP addresses they held
    (erasure looks for those in the block list)."""

    records: int = 0
    ips: set[str] = field(default_factory=set)


def _private_dir(path: Path) -> None:
    """``path`` as a folder only its owner can enter (created so, or tightened)."""
    path.mkdir(mode=DIR_MODE, exist_ok=True)
    if path.stat().st_mode & 0o077:
        os.chmod(path, DIR_MODE)


class Archive:
    def __init__(self, root: Path) -> None:
        self.root = root

    def site_dir(self, site: str) -> Path:
        # Site ids match auth.SITE_ID_RE ([a-z0-9_-]), so they are safe as one path component.
        return self.root / site

    def append(self, site: str, records: Sequence[tuple[int, Mapping[str, Any]]]) -> int:
        """Append ``(decided_ms, record)`` pairs to their day files, durably (fsync). Returns lines written."""
        by_day: dict[date, list[bytes]] = {}
        for decided_ms, record in records:
            by_day.setdefault(day_of(decided_ms), []).append(_encoder.encode(record) + b"\n")
        if not by_day:
            return 0
        if not self.root.exists():
            self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        directory = self.site_dir(site)
        _private_dir(directory)
        for day, lines in sorted(by_day.items()):
            self._append_file(directory / f"{day.isoformat()}.jsonl", b"".join(lines))
        return sum(len(lines) for lines in by_day.values())

    @staticmethod
    def _append_file(path: Path, data: bytes) -> None:
        while True:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    current = os.stat(path)
                except FileNotFoundError:
                    current = None
                if current is None or current.st_ino != os.fstat(fd).st_ino:
                    continue  # swapped by a rewrite while we waited: write to the new file
                if current.st_mode & 0o077:
                    os.fchmod(fd, FILE_MODE)  # left readable by an older version
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
                return
            finally:
                os.close(fd)  # closing releases the flock

    def files(self, site: str, start: date | None = None, end: date | None = None) -> list[ArchiveFile]:
        """The site's day files (oldest first), limited to ``start``..``end`` inclusive when given."""
        directory = self.site_dir(site)
        if not directory.is_dir():
            return []
        out: list[ArchiveFile] = []
        for path in directory.iterdir():
            m = _DAY_FILE.match(path.name)
            if m is None:
                continue
            day = date.fromisoformat(m.group(1))
            if (start is not None and day < start) or (end is not None and day > end):
                continue
            out.append(ArchiveFile(day, path, path.stat().st_size))
        return sorted(out, key=lambda f: f.day)

    def export(self, site: str, start: date | None = None, end: date | None = None) -> Iterator[bytes]:
        """Every archived line (with its newline) of the days ``start``..``end``."""
        for f in self.files(site, start, end):
            with f.path.open("rb") as fh:
                fcntl.flock(fh.fileno(), fcntl.LOCK_SH)
                yield from fh

    def forget(self, site: str, email: str) -> Forgotten:
        """Drop every record of ``email`` (case-insensitive) from the site's files."""
        target = email.casefold()
        out = Forgotten()
        for f in self.files(site):
            self._rewrite_without(f.path, target, out)
        return out

    @staticmethod
    def _rewrite_without(path: Path, email: str, out: Forgotten) -> None:
        with path.open("rb") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            kept: list[bytes] = []
            removed = 0
            for line in fh:
                try:
                    record = msgspec.json.decode(line)
                except msgspec.DecodeError:
                    kept.append(line)  # not ours to judge; keep it as it was
                    continue
                if isinstance(record, dict) and _names_author(record, email):
                    removed += 1
                    if ip := _user_ip(record):
                        out.ips.add(ip)
                else:
                    kept.append(line)
            if removed:
                tmp = path.with_name(path.name + ".forget")
                # Created 0600 (O_EXCL after removing a leftover of a crashed rewrite), not
                # with the umask's mode: the copy holds every other author's records.
                tmp.unlink(missing_ok=True)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
                with os.fdopen(fd, "wb") as new:
                    new.writelines(kept)
                    new.flush()
                    os.fsync(new.fileno())
                # Still holding the lock on the old inode: appenders wait, then see the new one.
                tmp.replace(path)
            out.records += removed
