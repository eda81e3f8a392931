"""Fetch checkpoints by URL or Hugging Face Hub reference into a checked, resumable cache.

    path = fetch("https://example.org/ffhq.pkl")                   # → $GANDISTILL_CACHE/downloads/<key>/ffhq.pkl
    path = fetch("hf://owner/repo/ffhq-256.pt@v1.0", sha256=HEX)   # a Hub file at a revision, hash-checked
    path = fetch("https://example.org/ffhq.pkl#sha256=HEX")        # the hash may ride in the URL fragment
    path = fetch("teachers/ffhq.pt")                               # a local file is returned as it is

A cached file is used without any network request. A download is written to ``<name>.part`` next to
its final place and renamed (after fsync, and after the sha256 check when a hash is given) only once
complete, so the cache never holds a half file under the final name. An interrupted download continues
with an HTTP ``Range`` request; a server that ignores ``Range``, or whose file changed since (``If-Range``),
sends the whole file again and the part file restarts from zero. ``hf://`` references resolve to
``$HF_ENDPOINT/<owner>/<repo>/resolve/<revision>/<path>`` (default endpoint https://huggingface.co).
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.error import HTTPError, URLError
from urllib.parse import quote, unquote, urlsplit
from urllib.request import Request, urlopen

from tqdm import tqdm

from .. import __version__
from ..errors import CheckpointError, DownloadError
from .atomic import commit_file
from .pretrained import file_sha256

CACHE_ENV = "GANDISTILL_CACHE"
HUB_ENV = "HF_ENDPOINT"
HUB_DEFAULT = "https://huggingface.co"
REMOTE_PREFIXES = ("http://", "https://", "hf://")
HUB_FORMAT = "hf://owner/repo/path/to/file[@revision]"
_CHUNK = 1 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}")


def cache_root() -> Path:
    """``$GANDISTILL_CACHE`` or ``~/.cache/gandistill``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gandistill"


def downloads_dir() -> Path:
    return cache_root() / "downloads"


def is_remote(ref: str | Path) -> bool:
    """True for an ``http(s)://`` URL or an ``hf://`` Hub reference (a Path is always local)."""
    return isinstance(ref, str) and ref.lower().startswith(REMOTE_PREFIXES)


@dataclass(frozen=True)
class RemoteFile:
    """A remote checkpoint: the reference as given (without ``#sha256=``), the URL fetched, the expected hash."""

    ref: str
    url: str
    sha256: str | None = None

    @property
    def cache_path(self) -> Path:
        """Where the file lives in the cache: one folder per URL, so equal file names never collide."""
        key = hashlib.sha256(self.url.encode()).hexdigest()[:16]
        name = unquote(urlsplit(self.url).path.rsplit("/", 1)[-1]).replace("\\", "_")
        return downloads_dir() / key / (name if name not in ("", ".", "..") else "download")


def normalise_sha256(value: str, where: str = "--sha256") -> str:
    digest = value.strip().lower()
    if not _HEX64.fullmatch(digest):
        raise DownloadError(f"{where} must be 64 hexadecimal digits (a sha256), got {value!r}")
    return digest


def hub_url(ref: str) -> str:
    """``hf://[datasets/|spaces/]owner/repo/path[@revision]`` (or ``owner/repo@revision/path``) → resolve URL."""
    body = ref[len("hf://"):]
    kind = ""
    if body.startswith(("datasets/", "spaces/")):
        kind, body = body.split("/", 1)
        kind += "/"
    parts = body.split("/")
    if len(parts) < 3 or not all(parts):
        raise DownloadError(f"{ref!r} is not a Hub file reference; expected {HUB_FORMAT}")
    owner, repo, path = parts[0], parts[1], "/".join(parts[2:])
    revision = "main"
    if "@" in repo:
        repo, revision = repo.split("@", 1)
    elif "@" in path:
        path, revision = path.rsplit("@", 1)
    if not (repo and path and revision):
        raise DownloadError(f"{ref!r} is not a Hub file reference; expected {HUB_FORMAT}")
    endpoint = (os.environ.get(HUB_ENV) or HUB_DEFAULT).rstrip("/")
    return f"{endpoint}/{kind}{owner}/{repo}/resolve/{quote(revision, safe='')}/{quote(path)}"


def parse_remote(ref: str, sha256: str | None = None) -> RemoteFile:
    """Split off a ``#sha256=HEX`` fragment, resolve ``hf://``, and reconcile the fragment with ``sha256``."""
    base, _, fragment = ref.partition("#")
    want = normalise_sha256(sha256) if sha256 else None
    if fragment:
        key, _, value = fragment.partition("=")
        if key.lower() != "sha256":
            raise DownloadError(f"{ref}: unsupported URL fragment #{fragment}; only #sha256=<64 hex digits> is understood")
        in_url = normalise_sha256(value, f"the #sha256= fragment of {base}")
        if want and want != in_url:
            raise DownloadError(f"--sha256 {want} contradicts the URL's #sha256={in_url}; give one of them")
        want = in_url
    url = hub_url(base) if base.lower().startswith("hf://") else base
    if not urlsplit(url).netloc:
        raise DownloadError(f"{ref!r} has no host name; expected https://host/path/file or {HUB_FORMAT}")
    return RemoteFile(ref=base, url=url, sha256=want)


def fetch(ref: str | Path, sha256: str | None = None, *, progress: bool = True, timeout: float = 30.0,
          retries: int = 3, retry_wait: float = 2.0) -> Path:
    """The local path of ``ref``: a local file as is, a URL / Hub reference from (or into) the cache.

    ``sha256`` (or a ``#sha256=`` fragment) is checked for every source; a failed download is deleted,
    a local file is left untouched. ``retries`` interrupted transfers are resumed before giving up; a
    later call resumes again from the kept ``.part`` file.
    """
    if not is_remote(ref):
        path = Path(ref)
        if sha256 and path.is_file():
            want, got = normalise_sha256(sha256), file_sha256(path)
            if got != want:
                raise CheckpointError(f"{path} has sha256 {got}, not the expected {want}; "
                                      "the file is a different or damaged copy (left untouched)")
        return path
    remote = parse_remote(str(ref), sha256)
    dest = remote.cache_path
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)  # kept on failure: the offline hint names a path in it
        with _locked(dest.parent):  # a second process waits, then finds the file in the cache
            if dest.is_file() and _cached_ok(remote, dest):
                return dest
            _download(remote, dest, progress, timeout, retries, retry_wait)
    except OSError as exc:  # network errors are DownloadErrors by now: this is the local disk
        where = exc.filename or dest.parent
        raise DownloadError(f"cannot write the download cache at {where} ({exc.strerror or exc}); free some space "
                            f"or set {CACHE_ENV} to a writable folder on another disk") from None
    return dest


def _cached_ok(remote: RemoteFile, dest: Path) -> bool:
    """A cached file counts unless a hash is given and differs (then it is dropped and fetched afresh)."""
    if remote.sha256 is None or file_sha256(dest) == remote.sha256:
        return True
    dest.unlink()
    return False


class _Interrupted(Exception):
    """A transfer stopped early; the bytes received so far are in the part file."""


def _download(remote: RemoteFile, dest: Path, progress: bool, timeout: float, retries: int,
              retry_wait: float) -> None:
    part, meta = dest.with_name(dest.name + ".part"), dest.with_name(dest.name + ".part.json")
    for attempt in range(retries + 1):
        try:
            _transfer(remote, dest, part, meta, progress, timeout)
            break
        except _Interrupted as exc:
            if attempt == retries:
                have = part.stat().st_size if part.exists() else 0
                raise DownloadError(f"download of {remote.url} was interrupted ({exc}) after {have:,} bytes; "
                                    f"run the same command again to resume from {part}") from None
            time.sleep(retry_wait)
    if remote.sha256 is not None:
        got = file_sha256(part)
        if got != remote.sha256:
            part.unlink()
            meta.unlink(missing_ok=True)
            raise DownloadError(f"sha256 mismatch for {remote.ref}: expected {remote.sha256}, got {got}; "
                                "deleted the download — check the hash and the URL, then run again")
    commit_file(part, dest)
    meta.unlink(missing_ok=True)


def _transfer(remote: RemoteFile, dest: Path, part: Path, meta: Path, progress: bool, timeout: float) -> None:
    """One HTTP request: continue ``part`` where it stops (Range) or restart it; raise _Interrupted if cut short."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": f"gandistill/{__version__}", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
        validator = _read_validator(meta)
        if validator:  # the server answers 200 (whole file) instead of 206 if the file has changed
            headers["If-Range"] = validator
    try:
        resp = urlopen(Request(remote.url, headers=headers), timeout=timeout)
    except HTTPError as exc:
        if exc.code == 416 and have:  # nothing past `have`: complete already, or a stale part file
            if _range_total(exc.headers.get("Content-Range")) == have:
                return
            part.unlink()
            raise _Interrupted("the kept partial file does not fit the server's file; restarting") from None
        raise DownloadError(_http_message(remote, dest, exc)) from None
    except (URLError, OSError, http.client.HTTPException, ValueError) as exc:
        raise DownloadError(_offline_message(remote, dest, exc, timeout, have)) from None
    with resp:
        if have and resp.status == 206 and _range_start(resp.headers.get("Content-Range")) == have:
            mode = "ab"
        elif resp.status == 206:  # a range we did not ask for: start over rather than splice
            part.unlink(missing_ok=True)
            raise _Interrupted(f"unexpected Content-Range {resp.headers.get('Content-Range')!r}; restarting")
        else:  # 200: the whole file (first request, Range ignored, or the file changed)
            have, mode = 0, "wb"
            _write_validator(meta, resp.headers)
        length = resp.headers.get("Content-Length", "")
        total = have + int(length) if length.isdigit() else None
        got = have
        bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024, dynamic_ncols=True,
                   desc=dest.name, disable=not progress, leave=False)
        try:
            with open(part, mode) as fh:
                while True:
                    try:
                        chunk = resp.read(_CHUNK)
                    except (OSError, http.client.HTTPException) as exc:  # the network, not the disk
                        raise _Interrupted(_reason(exc, timeout)) from None
                    if not chunk:
                        break
                    fh.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
        finally:
            bar.close()
    if total is not None and got < total:  # http.client returns a short body without raising
        raise _Interrupted(f"connection closed at {got:,} of {total:,} bytes")


def _read_validator(meta: Path) -> str | None:
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("validator")
    except (OSError, ValueError, AttributeError):
        return None


def _write_validator(meta: Path, headers: http.client.HTTPMessage) -> None:
    """Remember the strong ETag (or Last-Modified) of a fresh download, for If-Range on resume."""
    etag = headers.get("ETag")
    validator = etag if etag and not etag.startswith("W/") else headers.get("Last-Modified")
    if validator:
        meta.write_text(json.dumps({"validator": validator}), encoding="utf-8")
    else:
        meta.unlink(missing_ok=True)


def _range_start(value: str | None) -> int | None:
    m = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", value or "")
    return int(m.group(1)) if m else None


def _range_total(value: str | None) -> int | None:
    m = re.fullmatch(r"\s*bytes\s+[\d*-]+/(\d+)\s*", value or "")
    return int(m.group(1)) if m else None


def _reason(exc: BaseException, timeout: float) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror):
        return "host name lookup failed"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout:g} s"
    text = str(reason).strip()
    return text.splitlines()[0] if text else type(reason).__name__


def _offline_message(remote: RemoteFile, dest: Path, exc: BaseException, timeout: float, have: int) -> str:
    kept = f"; the {have:,} bytes already fetched are kept and resumed next time" if have else ""
    return (f"cannot download {remote.url} ({_reason(exc, timeout)}); without network access, download it "
            f"elsewhere and save it as {dest}, or pass the local file's path instead of the URL{kept}")


def _http_message(remote: RemoteFile, dest: Path, exc: HTTPError) -> str:
    head = f"{remote.url} answered HTTP {exc.code} {exc.reason}"
    if exc.code == 404:
        hub = " (owner, repo, file path and revision of the hf:// reference)" if remote.ref.startswith("hf://") else ""
        return f"{head}; check the URL{hub}"
    if exc.code in (401, 403):
        return (f"{head}: the file is private or gated; download it in a logged-in browser and pass the "
                f"local file's path (or save it as {dest})")
    return f"{head}; try again later, or download it yourself and save it as {dest}"


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Exclusive lock on the URL's cache folder, so two processes never append to one part file."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; concurrent downloads of one URL are unsupported
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock

