"""Model directories record version and lineage; a child/parent mismatch is refused."""
import json

import pytest
import torch

from gandistill import __version__
from gandistill.errors import CheckpointError
from gandistill.io.pretrained import check_parent, model_hash
from gandistill.teacher import Generator, StyleGAN2Config, Teacher
from gandistill.teacher.presets import preset_model

TINY = preset_model("tiny")


def test_version_hash_and_parent_check(tmp_path):
    torch.manual_seed(0)
    teacher, other = Teacher(TINY), Teacher(TINY)
    teacher.save_pretrained(tmp_path / "teacher")
    other.save_pretrained(tmp_path / "other")
    teacher = Teacher.from_pretrained(tmp_path / "teacher")
    child = Generator(TINY)
    child.save_pretrained(tmp_path / "child", parents={"teacher": teacher.source_hash})
    meta = json.loads((tmp_path / "child" / "config.json").read_text())
    assert meta["gandistill_version"] == __version__
    assert meta["parents"]["teacher"] == model_hash(tmp_path / "teacher")
    check_parent(tmp_path / "child", tmp_path / "teacher")  # the right pair passes
    check_parent(Generator.from_pretrained(tmp_path / "child"), teacher)
    with pytest.raises(CheckpointError, match="was made from a teacher"):
        check_parent(tmp_path / "child", tmp_path / "other")
    with pytest.raises(CheckpointError, match="pass the teacher it was made from"):
        check_parent(Generator.from_pretrained(tmp_path / "child"), Teacher.from_pretrained(tmp_path / "other"))
    check_parent(tmp_path / "other", tmp_path / "teacher")  # no recorded parent: accepted


def test_file_sha256_memo_is_keyed_on_path_size_and_mtime(tmp_path):
    """One file hash for io, downloads and the metrics; ``memo`` skips re-reading an unchanged file."""
    import hashlib
    import os

    from gandistill.io.pretrained import file_sha256

    path = tmp_path / "weights.bin"
    path.write_bytes(b"a" * 3_000_000)  # more than one read chunk
    first = file_sha256(path, memo=True)
    assert first == hashlib.sha256(b"a" * 3_000_000).hexdigest() == file_sha256(path)
    stamp = path.stat().st_mtime_ns
    path.write_bytes(b"b" * 3_000_000)  # same size, edited in place: only the mtime tells
    os.utime(path, ns=(stamp, stamp))
    assert file_sha256(path, memo=True) == first  # memoised: the file was not read again
    assert file_sha256(path) == hashlib.sha256(b"b" * 3_000_000).hexdigest()
    os.utime(path, ns=(stamp + 1_000_000_000, stamp + 1_000_000_000))
    assert file_sha256(path, memo=True) == file_sha256(path)  # a new mtime is a new key
