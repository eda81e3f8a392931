"""``metadata.jsonl``: one JSON object per line with ``file_name`` and extra fields (``text``,
``audio_file_name``, ``label_file_name``, ...), as in the common "imagefolder" convention."""
from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from ..errors import DataError

METADATA_FILE = "metadata.jsonl"


def is_file_field(key: str) -> bool:
    """Fields whose value is a path relative to the dataset root (``file_name``, ``audio_file_name``, ...)."""
    return key == "file_name" or key.endswith("_file_name")


def _relative(path: Path, lineno: int, key: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise DataError(f"{path} line {lineno}: \"{key}\" must be a non-empty string path; fix the line")
    rel = PurePosixPath(value.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts:
        raise DataError(
            f"{path} line {lineno}: \"{key}\" is {value!r}; paths must be relative to the dataset folder "
            "and stay inside it"
        )
    return rel.as_posix()


def read_metadata(root: str | Path) -> dict[str, dict]:
    """Rows of ``root/metadata.jsonl`` keyed by normalised ``file_name`` ({} if the file is absent)."""
    path = Path(root) / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}; it must be UTF-8 JSON lines") from None
    rows: dict[str, dict] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} line {lineno} is not valid JSON ({exc.msg}); fix or delete the line") from None
        if not isinstance(row, dict) or "file_name" not in row:
            raise DataError(
                f"{path} line {lineno} has no \"file_name\"; every line must be an object like "
                '{"file_name": "images/0001.png", "text": "..."}'
            )
        for key in [k for k in row if is_file_field(k)]:
            row[key] = _relative(path, lineno, key, row[key])
        name = row["file_name"]
        if name in rows:
            raise DataError(f"{path} line {lineno}: \"{name}\" is listed twice; keep one line per image")
        rows[name] = row
    return rows
