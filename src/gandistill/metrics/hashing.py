"""SHA-256 of files; weights files are memoised per (path, size, mtime) so re-hashing 87 MB is free."""
from __future__ import annotations

from pathlib import Path

from ..io.pretrained import file_sha256 as _hash

_MEMO: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | Path, memo: bool = False) -> str:
    """Hex SHA-256 of a file's bytes; ``memo`` only for files that are replaced, never edited in place
    (mtime granularity can be coarser than a quick rewrite)."""
    path = Path(path)
    if not memo:
        return _hash(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _MEMO:
        _MEMO[key] = _hash(path)
    return _MEMO[key]

