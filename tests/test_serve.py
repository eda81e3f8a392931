"""``gandistill serve``: upload checks, model-directory restriction, every model kind without Gradio, and
one end-to-end run of the page in headless Chromium (upload → Translate → an output image appears)."""
from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from kdit_support import tiny_teacher
from PIL import Image

from gandistill.data import toyfaces_arrays, write_wav
from gandistill.errors import DataError
from gandistill.gpd import TranslatorConfig, UNetTranslator
from gandistill.kdit import I2IStudent, X2IStudent
from gandistill.serve import (
    ModelRegistry,
    Request,
    Translator,
    UploadLimits,
    scan_models,
)
from gandistill.serve.predict import public_message
from gandistill.serve.validate import (
    check_audio,
    check_caption,
    check_image,
    check_label_map,
)

torch.set_num_threads(1)


class FakeEmbedder:
    """384-d caption embeddings without the MiniLM wheel."""

    def encode(self, texts):
        return torch.stack([torch.randn(384, generator=torch.Generator().manual_seed(len(t))) for t in texts])


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """A --models root with one model of every servable kind (16 px), a teacher and a decoy folder."""
    root = tmp_path_factory.mktemp("models")
    t = tiny_teacher()
    t.save_pretrained(root / "teacher")  # not servable: must not be listed
    torch.manual_seed(0)
    I2IStudent.from_teacher(t).save_pretrained(root / "a-i2i")
    I2IStudent.from_teacher(t, input="seg", num_classes=4).save_pretrained(root / "seg")
    X2IStudent.from_teacher(t, condition="text").save_pretrained(root / "text")
    X2IStudent.from_teacher(t, condition="audio").save_pretrained(root / "audio")
    UNetTranslator(TranslatorConfig(resolution=16, channels=8, max_channels=16, depth=2)).save_pretrained(
        root / "runs" / "gpd" / "model")
    (root / "runs" / "gpd" / "model" / "checkpoints").mkdir()
    (root / "broken").mkdir()
    (root / "broken" / "config.json").write_text("{not json")
    return root


@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("uploads")
    photos = toyfaces_arrays(2, 64, seed=1, domains=("photo",))["photo"]
    Image.fromarray(photos[0]).save(d / "photo.png")
    Image.fromarray(photos[1]).save(d / "ref.jpg")
    Image.fromarray(np.arange(32 * 32, dtype=np.uint8).reshape(32, 32) % 4, "L").save(d / "labels.png")
    Image.fromarray(np.full((32, 32), 6, np.uint8), "L").save(d / "bad-labels.png")
    write_wav(d / "clip.wav", np.sin(np.linspace(0, 900, 8000)).astype(np.float32) * 0.5)
    write_wav(d / "silent.wav", np.zeros(8000, np.float32))
    write_wav(d / "8k.wav", np.sin(np.linspace(0, 900, 8000)).astype(np.float32) * 0.5, sample_rate=8000)
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10)
    Image.fromarray(photos[0][:8, :8]).save(d / "tiny.png")
    Image.fromarray(np.zeros((20, 200, 3), np.uint8)).save(d / "strip.png")
    (d / "notes.txt").write_text("hello")
    return {p.stem: p for p in d.iterdir()}


@pytest.fixture(scope="module")
def translator(models) -> Translator:
    return Translator(ModelRegistry([models]), UploadLimits(), embedder=FakeEmbedder())


# ---------------------------------------------------------------------------------------------- models

def test_scan_lists_only_servable_models(models):
    entries = scan_models([models])
    assert list(entries) == ["a-i2i", "audio", "runs/gpd/model", "seg", "text"]
    assert {e.kind for e in entries.values()} == {"image", "audio", "gpd", "seg", "text"}
    assert entries["a-i2i"].k_range() == (6, 3) and entries["seg"].resolution == 16
    assert "class indices 0 … 3" in entries["seg"].describe()
    two = scan_models([models / "runs", models / "seg"])  # several roots: labels carry the root's name
    assert set(two) == {"runs/gpd/model", "seg"}


def test_models_are_listed_by_readable_names(models):
    choices = dict((label, title) for title, label in ModelRegistry([models]).choices())
    assert choices["runs/gpd/model"] == "gpd (GPD translator, 16 px)"  # the run's name, not a path
    assert choices["text"] == "text (KDIT text→image, 16 px)"
    assert choices["seg"] == "seg (KDIT segmentation→image, 16 px)"
    assert choices["a-i2i"] == "a-i2i (KDIT image→image, 16 px)"
    entry = scan_models([models])["a-i2i"]
    tuned = type(entry)(entry.label, entry.path.parent / "kdit-finetune" / "model", entry.cls, entry.kind,
                        entry.config, {"stage": "finetune", "input_domain": "sketch"})
    assert tuned.title == "kdit-finetune (KDIT sketch→image, 16 px)"


def test_messages_use_page_wording_not_command_line_advice():
    from gandistill.data.images import load_image

    cases = [DataError("cannot read image /srv/up/x.png: truncated; re-export or delete it"),
             DataError("audio file /srv/up/a.wav has no samples; re-export it"),
             DataError("cannot read audio /srv/up/a.wav: bad; it must be an uncompressed PCM WAV file (convert it: "
                       "`ffmpeg -i IN -ac 1 -ar 16000 OUT.wav`)"),
             DataError("label map /srv/up/l.png contains label 6 (max label found 6) but num_classes=4 allows 0..3; "
                       "fix the file or raise num_classes"),
             DataError("image /srv/up/big.png is 9000x9000, over the limit (decompression-bomb guard); downscale "
                       "it, or raise max_pixels if the file is trusted")]
    for exc in cases:
        text = public_message(exc, ["/srv/up/x.png", "/srv/up/a.wav", "/srv/up/l.png", "/srv/up/big.png"])
        assert not re.search(r"--|`|re-export|max_pixels|num_classes\b(?!=)|/srv", text), text
    assert "save it again as PNG or JPEG and upload that" in public_message(cases[0], [])
    with pytest.raises(DataError, match="re-export or delete it"):  # the CLI keeps its own wording
        load_image(Path(__file__).parent / "browser_support.py", 3)


def test_registry_refuses_paths_outside_the_scan(models, tmp_path):
    reg = ModelRegistry([models / "runs"])
    outside = models / "a-i2i"  # a real model, but not under the root
    for label in (str(outside), "../a-i2i", "/etc/passwd", str(models / "runs" / "gpd" / "model"), "gpd"):
        with pytest.raises(DataError, match="unknown model"):
            reg.entry(label)
    with pytest.raises(DataError, match="choose a model"):
        reg.entry(None)
    (models / "runs" / "link").symlink_to(outside, target_is_directory=True)  # a symlink leaving the root
    try:
        assert ModelRegistry([models / "runs"]).labels == ["gpd/model"]
    finally:
        (models / "runs" / "link").unlink()
    with pytest.raises(DataError, match="not a folder"):
        ModelRegistry([tmp_path / "missing"])


# ---------------------------------------------------------------------------------------------- uploads

def test_image_checks(uploads, tmp_path):
    limits = UploadLimits()
    assert check_image(uploads["photo"], limits).shape == (64, 64, 3)
    cases = {"corrupt": "cannot read image", "tiny": "at least 16x16", "strip": "crop it closer",
             "notes": "must be a png / jpg / jpeg / webp"}
    for name, message in cases.items():
        with pytest.raises(DataError, match=message):
            check_image(uploads[name], limits)
    with pytest.raises(DataError, match="over the limit of"):
        check_image(uploads["photo"], UploadLimits(max_bytes=100))
    with pytest.raises(DataError, match="megapixels"):
        check_image(uploads["photo"], UploadLimits(max_pixels=1000))
    with pytest.raises(DataError, match="no photo uploaded"):
        check_image(None, limits)
    with pytest.raises(DataError, match="positive"):
        UploadLimits.from_mb(0)


def test_label_audio_and_caption_checks(uploads):
    limits = UploadLimits()
    assert check_label_map(uploads["labels"], 4, limits).max() == 3
    with pytest.raises(DataError, match="contains label 6.*num_classes=4"):
        check_label_map(uploads["bad-labels"], 4, limits)
    with pytest.raises(DataError, match="must be a png"):
        check_label_map(uploads["ref"], 4, limits)
    assert check_audio(uploads["clip"], 16000, limits).shape == (8000,)
    with pytest.raises(DataError, match="silent"):
        check_audio(uploads["silent"], 16000, limits)
    with pytest.raises(DataError, match="sample rate 8000 Hz"):
        check_audio(uploads["8k"], 16000, limits)
    with pytest.raises(DataError, match="at most 0.1 s"):
        check_audio(uploads["clip"], 16000, UploadLimits(max_audio_seconds=0.1))
    assert check_caption("  a face ", limits) == "a face"
    for text in ("", "   ", None):
        with pytest.raises(DataError, match="caption is empty"):
            check_caption(text, limits)


# ---------------------------------------------------------------------------------------------- predict

def test_every_kind_translates(translator, uploads):
    runs = {
        "a-i2i": Request("a-i2i", image=str(uploads["photo"]), reference=str(uploads["ref"]), k=2, seed=1),
        "seg": Request("seg", label_map=str(uploads["labels"])),
        "text": Request("text", caption="a smiling face"),
        "audio": Request("audio", audio=str(uploads["clip"])),
        "runs/gpd/model": Request("runs/gpd/model", image=str(uploads["photo"])),
    }
    for label, req in runs.items():
        img, message = translator.safe_run(req)
        assert message == "", (label, message)
        assert img.shape == (16, 16, 3) and img.dtype == np.uint8, label
    no_ref, _ = translator.safe_run(Request("a-i2i", image=str(uploads["photo"]), k=2, seed=1))
    assert not np.array_equal(no_ref, translator.run(runs["a-i2i"]))  # the reference changes the appearance


def test_failures_become_page_messages(translator, uploads):
    cases = [
        (Request("a-i2i"), "no photo uploaded"),
        (Request("a-i2i", image=str(uploads["corrupt"])), "cannot read image corrupt.png"),
        (Request("a-i2i", image=str(uploads["photo"]), k=99), "k must be in 0..6"),
        (Request("seg", label_map=str(uploads["bad-labels"])), "contains label 6"),
        (Request("text", caption="  "), "caption is empty"),
        (Request("audio", audio=str(uploads["silent"])), "is silent"),
        (Request("/etc", image=str(uploads["photo"])), "unknown model"),
    ]
    for req, message in cases:
        img, text = translator.safe_run(req)
        assert img is None and message in text, (req, text)
        assert str(uploads["photo"].parent) not in text  # server paths stay on the server
        assert "re-export" not in text and "--" not in text, text  # page wording, not command-line advice
    assert public_message(RuntimeError("boom at /srv/secret"), []) == \
        "the server failed on this input; the details are in its log"
    preview, message = translator.preview(str(uploads["labels"]), "seg", "label map")
    assert preview.shape == (32, 32, 3) and message == ""
    assert translator.preview(str(uploads["tiny"]), "a-i2i", "photo")[1].startswith("the photo is 8x8")


@pytest.mark.slow
def test_cli_help_and_no_models(tmp_path):
    out = subprocess.run([sys.executable, "-m", "gandistill.cli.main", "serve", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for option in ("--models", "--host", "--port", "--max-upload-mb", "--device", "--cache-models"):
        assert option in out
    done = subprocess.run([sys.executable, "-m", "gandistill.cli.main", "serve", "--models", str(tmp_path),
                           "--device", "cpu"], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "no servable model directory" in done.stderr
    code = "import sys, gandistill.serve, gandistill.cli.main; assert 'gradio' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------------------------- the page

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(translator):
    pytest.importorskip("gradio", reason="gradio is not installed (pip install -c constraints.txt -r requirements.txt)")
    from gandistill.serve.app import build_app, launch

    app = build_app(translator)
    port = _free_port()
    launch(app, port=port, max_bytes=translator.limits.max_bytes, block=False)
    yield f"http://127.0.0.1:{port}"
    app.close()


@pytest.mark.slow
def test_gradio_serves_no_files_outside_its_uploads(server, models):
    for path in ("/etc/passwd", str(models / "a-i2i" / "config.json"), os.path.abspath(__file__)):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{server}/gradio_api/file={path}", timeout=10)
        assert err.value.code in (403, 404)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::Warning:gradio")  # gradio's own pandas deprecations
def test_page_end_to_end_in_headless_chromium(server, uploads, tmp_path):
    from browser_support import start_chrome
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    t0 = time.time()
    driver = start_chrome(tmp_path / "profile")
    try:
        wait = WebDriverWait(driver, 30)
        driver.get(server)
        upload = "#image-upload input[type=file]"
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, upload)))
        assert "KDIT image → image" in driver.find_element(By.ID, "model-info").text
        assert "a-i2i (KDIT image→image, 16 px)" in driver.find_element(By.CSS_SELECTOR, "#model input") \
            .get_attribute("value")  # a readable model name, not a path

        # a photo (shown in its image box) + a reference, then Translate: the output appears and its file loads
        driver.find_element(By.CSS_SELECTOR, upload).send_keys(str(uploads["photo"]))
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#image-upload img")))
        driver.find_element(By.CSS_SELECTOR, "#reference-upload input[type=file]").send_keys(str(uploads["ref"]))
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#reference-upload img")))
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#preview img")))
        driver.find_element(By.ID, "translate").click()
        img = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#output img")))
        wait.until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img))
        assert driver.execute_script("return arguments[0].naturalWidth", img) == 16
        with urllib.request.urlopen(img.get_attribute("src"), timeout=10) as resp:
            assert Image.open(io.BytesIO(resp.read())).size == (16, 16)
        wait.until(lambda d: d.find_element(By.ID, "status").text == "Done.")
        if os.environ.get("GANDISTILL_SERVE_SCREENSHOT"):
            driver.save_screenshot(os.environ["GANDISTILL_SERVE_SCREENSHOT"])
        # offline: every resource the page loaded came from our server
        urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert urls and all(u.startswith((server, "data:", "blob:")) for u in urls), \
            [u for u in urls if not u.startswith(server)]

        # a corrupt photo replaces the good one: one message in page words, no traceback, the old output gone
        driver.find_element(By.CSS_SELECTOR, "#image-upload button[aria-label*='Clear' i], "
                            "#image-upload button[aria-label*='Remove' i]").click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, upload)))
        driver.find_element(By.CSS_SELECTOR, upload).send_keys(str(uploads["corrupt"]))
        wait.until(lambda d: "cannot read image" in d.find_element(By.ID, "status").text)
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#output img"))
        time.sleep(1)  # a toast would take a moment to appear
        body = driver.find_element(By.TAG_NAME, "body").text
        assert body.count("cannot read image") == 1, body  # shown once: in the status line, not also a toast
        assert "save it again" in body and "re-export" not in body
        assert "Traceback" not in driver.page_source

        # choosing a text model swaps the inputs: a caption box instead of the uploads
        box = driver.find_element(By.CSS_SELECTOR, "#model input")
        box.click()
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys("text (KDIT", Keys.ENTER)
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#caption textarea").is_displayed())
        assert not any(e.is_displayed() for e in driver.find_elements(By.CSS_SELECTOR, "#image-upload"))
        assert "KDIT text → image" in driver.find_element(By.ID, "model-info").text
    finally:
        driver.quit()
    print(f"browser part took {time.time() - t0:.1f} s")
