"""Checkpoint import by URL / Hub reference through the download cache, and ``teacher export``.

Every download is served by a local HTTP server on 127.0.0.1 (in a thread) that counts requests,
can cut a response short, can ignore Range, and redirects Hub ``resolve`` URLs as the Hub does.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from gandistill.cli.main import main
from gandistill.errors import CheckpointError, DownloadError
from gandistill.io.download import fetch, hub_url, parse_remote
from gandistill.importers import import_checkpoint
from gandistill.importers.rosinality import read_checkpoint
from gandistill.teacher import Generator, StyleGAN2Config, Teacher

FIXTURES = Path(__file__).parent / "fixtures"
CKPT = FIXTURES / "rosinality_sg2_32px.pt"
CKPT_SHA256 = "ac235255474de1b8c3bdb68c9ff7e61ac10554518701e140a8772e0163c3e872"
PAYLOAD = random.Random(0).randbytes(300_000)


class FileServer:
    """Files by URL path; ``requests`` logs (path, headers) of every GET."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}
        self.drop_at: dict[str, int] = {}  # path → bytes to send before hanging up (next response only)
        self.range_support = True
        self.delay = 0.0  # seconds before each answer
        self.requests: list[tuple[str, dict[str, str]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                owner.requests.append((self.path, dict(self.headers)))
                time.sleep(owner.delay)
                if self.path in owner.redirects:
                    self.send_response(302)
                    self.send_header("Location", owner.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = owner.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                etag = '"%s"' % hashlib.sha256(data).hexdigest()[:16]
                start, status = 0, 200
                m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
                if_range = self.headers.get("If-Range")
                if m and owner.range_support and if_range in (None, etag):
                    start, status = int(m.group(1)), 206
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                body = data[start:]
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                cut = owner.drop_at.pop(self.path, None)
                self.wfile.write(body if cut is None else body[:cut])
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = FileServer()
    yield srv
    srv.close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GANDISTILL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def cache_files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file()) if cache.exists() else []


def get(ref: str, **kw) -> Path:
    return fetch(ref, progress=False, retry_wait=0, **kw)


# --- cache ------------------------------------------------------------------------------------
def test_url_import_downloads_once_then_uses_cache(server, cache, tmp_path, capsys):
    server.files["/models/sg2.pt"] = CKPT.read_bytes()
    url = server.url("/models/sg2.pt")
    assert main(["teacher", "import", url, "--out", str(tmp_path / "a")]) == 0
    assert "downloading" in capsys.readouterr().out
    assert len(server.requests) == 1
    assert main(["teacher", "import", url, "--out", str(tmp_path / "b")]) == 0
    assert "using cached" in capsys.readouterr().out
    assert len(server.requests) == 1  # the second import made no request at all
    cached = parse_remote(url).cache_path
    assert cache_files(cache) == [cached] and cached.name == "sg2.pt" and cached.read_bytes() == CKPT.read_bytes()
    meta = json.loads((tmp_path / "b" / "config.json").read_text())
    assert meta["extra"]["imported_from"] == url and meta["extra"]["source_sha256"] == CKPT_SHA256
    a, b = Teacher.from_pretrained(tmp_path / "a"), Teacher.from_pretrained(tmp_path / "b")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_same_file_name_from_two_urls_does_not_collide(server, cache):
    server.files["/a/ffhq.pkl"], server.files["/b/ffhq.pkl"] = b"first", b"second"
    assert get(server.url("/a/ffhq.pkl")).read_bytes() == b"first"
    assert get(server.url("/b/ffhq.pkl")).read_bytes() == b"second"


def test_concurrent_fetches_download_once(server, cache):
    server.files["/w.pt"] = PAYLOAD
    server.delay = 0.3
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(get(server.url("/w.pt")).read_bytes()))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == [PAYLOAD] * 3 and len(server.requests) == 1  # the others waited on the lock


# --- hashes -----------------------------------------------------------------------------------
def test_hash_mismatch_deletes_the_download(server, cache):
    server.files["/w.pt"] = PAYLOAD
    url, wrong = server.url("/w.pt"), "0" * 64
    with pytest.raises(DownloadError, match="sha256 mismatch") as exc:
        get(url, sha256=wrong)
    msg = str(exc.value)
    assert "\n" not in msg and "deleted" in msg and wrong in msg and hashlib.sha256(PAYLOAD).hexdigest() in msg
    assert cache_files(cache) == []  # no data, no part file, no folder
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        get(f"{url}#sha256={wrong}")  # the fragment form
    assert cache_files(cache) == []


def test_hash_from_fragment_or_option_is_accepted(server, cache):
    server.files["/w.pt"] = PAYLOAD
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    path = get(server.url("/w.pt") + f"#sha256={digest.upper()}")
    assert path.read_bytes() == PAYLOAD and path == parse_remote(server.url("/w.pt")).cache_path
    assert get(server.url("/w.pt"), sha256=digest) == path and len(server.requests) == 1  # checked hit
    with pytest.raises(DownloadError, match="contradicts"):
        get(server.url("/w.pt") + f"#sha256={digest}", sha256="1" * 64)
    with pytest.raises(DownloadError, match="64 hexadecimal digits"):
        get(server.url("/w.pt"), sha256="abc")
    with pytest.raises(DownloadError, match="unsupported URL fragment"):
        get(server.url("/w.pt") + "#md5=00")


def test_cached_file_with_other_hash_is_fetched_again(server, cache):
    server.files["/w.pt"] = PAYLOAD
    path = get(server.url("/w.pt"))
    path.write_bytes(b"damaged")  # bit rot, or a file someone replaced
    assert get(server.url("/w.pt"), sha256=hashlib.sha256(PAYLOAD).hexdigest()).read_bytes() == PAYLOAD
    assert len(server.requests) == 2


def test_local_file_hash_is_checked_and_file_kept(tmp_path):
    assert fetch(CKPT, sha256=CKPT_SHA256) == CKPT
    copy = tmp_path / "copy.pt"
    copy.write_bytes(CKPT.read_bytes()[:-1])
    with pytest.raises(CheckpointError, match="left untouched"):
        import_checkpoint(copy, sha256=CKPT_SHA256)
    assert copy.exists()


# --- interrupted downloads --------------------------------------------------------------------
def test_interrupted_download_resumes_with_range(server, cache):
    server.files["/big.pkl"] = PAYLOAD
    server.drop_at["/big.pkl"] = 100_000
    url = server.url("/big.pkl")
    dest = parse_remote(url).cache_path
    with pytest.raises(DownloadError, match="interrupted") as exc:
        get(url, retries=0)
    assert "run the same command again to resume" in str(exc.value) and "\n" not in str(exc.value)
    part = dest.with_name(dest.name + ".part")
    assert not dest.exists() and part.read_bytes() == PAYLOAD[:100_000]
    assert get(url).read_bytes() == PAYLOAD
    path, headers = server.requests[-1]
    assert headers["Range"] == "bytes=100000-" and headers["If-Range"].startswith('"')
    assert cache_files(cache) == [dest]  # part file and its validator are gone


def test_retries_resume_within_one_call(server, cache):
    server.files["/big.pkl"] = PAYLOAD
    server.drop_at["/big.pkl"] = 123_456
    assert get(server.url("/big.pkl"), retries=1).read_bytes() == PAYLOAD
    assert [h.get("Range") for _, h in server.requests] == [None, "bytes=123456-"]


def test_server_without_range_support_restarts(server, cache):
    server.files["/big.pkl"] = PAYLOAD
    server.range_support = False
    server.drop_at["/big.pkl"] = 100_000
    with pytest.raises(DownloadError, match="interrupted"):
        get(server.url("/big.pkl"), retries=0)
    path = get(server.url("/big.pkl"))
    assert server.requests[-1][1]["Range"] == "bytes=100000-"  # asked, got 200 with the whole file
    assert path.read_bytes() == PAYLOAD  # restarted from zero, not appended


def test_file_changed_on_server_restarts(server, cache):
    server.files["/big.pkl"] = PAYLOAD
    server.drop_at["/big.pkl"] = 100_000
    with pytest.raises(DownloadError, match="interrupted"):
        get(server.url("/big.pkl"), retries=0)
    server.files["/big.pkl"] = new = PAYLOAD[::-1]  # new ETag: If-Range makes the server send it all
    assert get(server.url("/big.pkl")).read_bytes() == new


def test_complete_part_file_is_finished_without_data(server, cache):
    server.files["/w.pt"] = PAYLOAD
    dest = parse_remote(server.url("/w.pt")).cache_path
    dest.parent.mkdir(parents=True)
    dest.with_name(dest.name + ".part").write_bytes(PAYLOAD)  # crashed between the last byte and the rename
    assert get(server.url("/w.pt")).read_bytes() == PAYLOAD
    assert server.requests[0][1]["Range"] == f"bytes={len(PAYLOAD)}-"  # answered 416, nothing re-sent


# --- no network, HTTP errors ------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_error_names_url_and_cache_path(cache, tmp_path, capsys):
    url = f"http://127.0.0.1:{_closed_port()}/stylegan2-ffhq-256.pkl"
    assert main(["teacher", "import", url, "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err.strip()
    dest = parse_remote(url).cache_path
    assert "\n" not in err and err.startswith("error: cannot download")
    assert url in err and str(dest) in err and "connection refused" in err
    assert "pass the local file's path" in err
    assert cache_files(cache) == [] and not (tmp_path / "t").exists()
    assert dest.parent.is_dir()  # the folder the message names exists: saving the file there is enough


def test_silent_server_times_out(cache):
    with socket.socket() as listener:  # accepts connections (kernel backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/x.pt"
        with pytest.raises(DownloadError, match=r"no answer within 0\.5 s") as exc:
            get(url, timeout=0.5)
    assert str(parse_remote(url).cache_path) in str(exc.value)


def test_http_404_says_check_the_url(server, cache, monkeypatch):
    with pytest.raises(DownloadError, match="HTTP 404.*check the URL"):
        get(server.url("/nope.pt"))
    monkeypatch.setenv("HF_ENDPOINT", server.base)
    with pytest.raises(DownloadError, match="revision of the hf:// reference"):
        get("hf://owner/repo/nope.pt@v9")
    assert cache_files(cache) == []


# --- Hugging Face Hub references --------------------------------------------------------------
def test_hub_reference_resolves_through_hf_endpoint(server, cache, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.base + "/")
    server.redirects["/owner/repo/resolve/v1.0/sub/sg2.pt"] = "/cdn/blob-1"  # the Hub redirects to a CDN
    server.files["/cdn/blob-1"] = CKPT.read_bytes()
    server.drop_at["/cdn/blob-1"] = 5_000
    ref = "hf://owner/repo/sub/sg2.pt@v1.0"
    teacher = import_checkpoint(ref, out=cache.parent / "t", progress=False, sha256=CKPT_SHA256)
    assert teacher.import_info["imported_from"] == ref and teacher.config.resolution == 32
    paths = [p for p, _ in server.requests]
    assert paths == ["/owner/repo/resolve/v1.0/sub/sg2.pt", "/cdn/blob-1"] * 2  # one cut short, one resumed
    assert server.requests[-1][1]["Range"] == "bytes=5000-"  # Range survives the redirect
    import_checkpoint(ref, progress=False)
    assert len(server.requests) == 4  # cached


def test_hub_reference_forms(monkeypatch):
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert hub_url("hf://owner/repo/a/b.pt") == "https://huggingface.co/owner/repo/resolve/main/a/b.pt"
    assert hub_url("hf://owner/repo@dev/b.pt") == "https://huggingface.co/owner/repo/resolve/dev/b.pt"
    assert hub_url("hf://owner/repo/b.pt@refs/pr/3").endswith("/owner/repo/resolve/refs%2Fpr%2F3/b.pt")
    assert hub_url("hf://datasets/o/r/x y.pt").endswith("/datasets/o/r/resolve/main/x%20y.pt")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    assert hub_url("hf://o/r/x.pt") == "http://127.0.0.1:9/o/r/resolve/main/x.pt"
    for bad in ("hf://owner/repo", "hf://owner/repo/", "hf://owner//x.pt", "hf://owner/repo/x.pt@"):
        with pytest.raises(DownloadError, match=r"hf://owner/repo/path/to/file\[@revision\]"):
            hub_url(bad)


# --- export -----------------------------------------------------------------------------------
def test_export_cli_then_reimport_is_bit_identical(tmp_path, capsys):
    import_checkpoint(CKPT, out=tmp_path / "teacher")
    out = tmp_path / "export.pt"
    args = ["teacher", "export", "--model", str(tmp_path / "teacher"), "--format", "rosinality", "--out", str(out)]
    assert main(args) == 0
    assert "no rosinality Generator" in capsys.readouterr().out  # 64-channel toy: not rosinality's table
    assert set(torch.load(out, weights_only=True)) == {"g_ema", "g", "d", "latent_avg"}
    assert main(["teacher", "import", str(out), "--out", str(tmp_path / "again")]) == 0
    a, b = Teacher.from_pretrained(tmp_path / "teacher"), Teacher.from_pretrained(tmp_path / "again")
    assert a.config == b.config
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb) and len(sa) > 50
    for key in sa:
        assert sa[key].dtype == sb[key].dtype and torch.equal(sa[key], sb[key]), key

    before = out.read_bytes()
    capsys.readouterr()
    assert main(args) == 2  # refuses to overwrite
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err and out.read_bytes() == before
    assert main(args + ["--overwrite"]) == 0


def test_export_refuses_a_model_that_is_not_a_teacher(tmp_path, capsys, tiny_stylegan_config):
    Generator(tiny_stylegan_config).save_pretrained(tmp_path / "g")
    assert main(["teacher", "export", "--model", str(tmp_path / "g"), "--out", str(tmp_path / "g.pt")]) == 2
    assert "holds a 'Generator', not a Teacher" in capsys.readouterr().err
    assert not (tmp_path / "g.pt").exists()


def test_rosinality_generator_args():
    from gandistill.cli.teacher_import import rosinality_generator_args

    config_f = StyleGAN2Config(resolution=256, z_dim=512, w_dim=512, mapping_layers=8,
                               channel_base=32768, channel_max=512)
    assert rosinality_generator_args(config_f) == "size=256, style_dim=512, n_mlp=8, channel_multiplier=2"
    ada = StyleGAN2Config(resolution=256, z_dim=512, w_dim=512, mapping_layers=8, channel_base=16384, channel_max=512)
    assert rosinality_generator_args(ada).endswith("channel_multiplier=1")
    assert rosinality_generator_args(StyleGAN2Config(resolution=256, z_dim=256, w_dim=512, channel_base=32768,
                                                     channel_max=512)) is None


def test_generator_only_rosinality_file_imports(tmp_path):
    """convert_weight.py without --disc writes {g_ema, latent_avg}: G is imported, D freshly seeded."""
    full = read_checkpoint(CKPT)
    torch.save({"g_ema": full["g_ema"], "latent_avg": full["latent_avg"]}, tmp_path / "g_only.pt")
    a = import_checkpoint(tmp_path / "g_only.pt", out=tmp_path / "t")
    b, ref = import_checkpoint(tmp_path / "g_only.pt"), import_checkpoint(CKPT)
    assert any("no discriminator" in n for n in a.import_info["notes"])
    for (k, x), (_, y) in zip(a.G.state_dict().items(), ref.G.state_dict().items()):
        assert torch.equal(x, y), k
    assert all(torch.equal(x, y) for x, y in zip(a.D.state_dict().values(), b.D.state_dict().values()))
    assert not torch.equal(a.D.out.weight, ref.D.out.weight)
    meta = json.loads((tmp_path / "t" / "config.json").read_text())
    assert any("no discriminator" in n for n in meta["extra"]["notes"])


def test_unwritable_cache_is_one_clear_error(server, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("GANDISTILL_CACHE", str(blocker))
    server.files["/w.pt"] = PAYLOAD
    with pytest.raises(DownloadError, match="cannot write the download cache.*GANDISTILL_CACHE"):
        get(server.url("/w.pt"))
    assert server.requests == []
