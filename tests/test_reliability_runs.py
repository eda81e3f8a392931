"""Nothing lost, nothing cryptic: run directories, divergence, resume options, atomic files, OS errors,
bad option values, corrupt model configs and bad API inputs (issue 13; docs/reliability.md)."""
from __future__ import annotations

import errno
import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

import gandistill.teacher.train as T
from gandistill.cli.main import main as cli
from gandistill.options import field, from_dict
from gandistill.errors import CheckpointError, DataError, GandistillError, OptionError
from gandistill.io.atomic import atomic_write_text, remove_stale_temps
from gandistill.io.state import (NonFiniteStateError, last_good_state, list_states, load_state, nonfinite_entries,
                                 save_state)
from gandistill.teacher import Generator, StyleGAN2Config, Teacher
from gandistill.teacher.presets import preset_model
from gandistill.teacher.train_config import TeacherTrainConfig
from gandistill.train import Phase, train_loop
from gandistill.train.run_options import RunOptions

TINY = preset_model("tiny")  # the shared tiny test config (tests/conftest.py's fixture)


def teacher_cfg(out, steps, **kw) -> TeacherTrainConfig:
    base = dict(out=str(out), data="toyfaces", data_n=16, steps=steps, batch=4, snap_every=2, grid_every=0,
                augment="none", r1_interval=2, progress=False, model=TINY)
    base.update(kw)
    return TeacherTrainConfig(**base)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------ a tiny stage on the shared engine

@dataclass
class ToyConfig(RunOptions):
    out: str = field("runs/toy", help="run directory")
    steps: int = field(4, help="steps")
    batch: int = field(1, help="batch")
    lr: float = field(0.1, help="learning rate")
    blow_up_at: int = field(-1, help="step whose update makes the weights NaN (tests)")


def toy_stage(cfg: ToyConfig) -> dict:
    """A real engine stage (one linear layer, Adam, one phase): what every stage plugs into."""
    torch.manual_seed(cfg.seed)
    net = torch.nn.Linear(3, 1)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    out = Path(cfg.out)

    def fit(r) -> tuple[torch.Tensor, dict[str, float]]:
        loss = (net(torch.ones(2, 3)) - 1).square().mean()
        return loss, {"loss/toy": float(loss.detach())}

    def blow_up(r) -> tuple[None, dict[str, float]]:  # after the update: the loss was finite, the weights not
        if r.step == cfg.blow_up_at:
            with torch.no_grad():
                net.weight.fill_(float("nan"))
        return None, {}

    def save_model(step: int) -> None:
        (out / "model").mkdir(parents=True, exist_ok=True)
        torch.save(net.state_dict(), out / "model" / "net.pt")

    train_loop(cfg, [Phase("fit", fit, opt), Phase("blow_up", blow_up)], {"net": net, "opt": opt},
               save_model=save_model, desc="toy", resume_hint="toy", model_dir=out / "model")
    return {"net": net, "opt": opt}


def teacher_cli_args(out: Path, snap_every: int) -> list[str]:
    """``teacher train`` on 16 toyfaces with a tiny network, no augmentation and no grids (add ``--steps``)."""
    return ["teacher", "train", "--out", str(out), "--data-n", "16", "--resolution", "16", "--z-dim", "16",
            "--w-dim", "16", "--mapping-layers", "2", "--channel-base", "256", "--channel-max", "16", "--batch",
            "4", "--augment", "none", "--snap-every", str(snap_every), "--grid-every", "0", "--no-progress"]


def toy(tmp_path, **kw) -> ToyConfig:
    return ToyConfig(out=str(tmp_path / "run"), snap_every=1, keep=2, progress=False, **kw)


# ------------------------------------------------------------------------ 3: no fresh run over an old one

def test_engine_refuses_fresh_run_over_existing_run_and_keeps_it(tmp_path):
    toy_stage(toy(tmp_path, steps=4))
    before = tree(tmp_path / "run")
    with pytest.raises(GandistillError, match=r"already holds a training run.*--resume latest.*--overwrite"):
        toy_stage(toy(tmp_path, steps=2))
    assert tree(tmp_path / "run") == before  # nothing replaced, nothing truncated
    with pytest.raises(GandistillError, match="pass only one"):
        toy_stage(toy(tmp_path, steps=2, resume="latest", overwrite=True))


def test_engine_overwrite_really_starts_fresh(tmp_path):
    toy_stage(toy(tmp_path, steps=6))  # keeps states 5, 6
    (tmp_path / "run" / "notes.txt").write_text("mine")  # not the run's: --overwrite leaves it
    toy_stage(toy(tmp_path, steps=2, overwrite=True))
    run = tmp_path / "run"
    assert [s for s, _ in list_states(run / "checkpoints")] == [1, 2]  # no old state-6 outranking the new run
    assert [json.loads(x)["step"] for x in (run / "stats.jsonl").read_text().splitlines()] == [2]
    assert (run / "notes.txt").read_text() == "mine"
    assert json.loads((run / "config.json").read_text())["overwrite"] is False  # a setting, never replayed
    # --resume latest now continues the new run, not the old one
    toy_stage(toy(tmp_path, steps=3, resume="latest"))
    assert [s for s, _ in list_states(run / "checkpoints")] == [2, 3]


def test_every_stage_checks_its_run_dir_before_any_work(tmp_path):
    from gandistill.gpd.adapt import adapt
    from gandistill.gpd.config import AdaptConfig
    from gandistill.gpd.config import GPDDistillConfig as GPDDistill
    from gandistill.gpd.distill import distill as gpd_distill
    from gandistill.kdit.distill import DistillConfig, distill
    from gandistill.kdit.finetune import FinetuneConfig, finetune

    run = tmp_path / "run"
    run.mkdir()
    (run / "stats.jsonl").write_text('{"step": 1}\n')
    missing = str(tmp_path / "missing")  # would fail to load: the run-dir check must come first
    for call in (lambda: distill(DistillConfig(out=str(run), teacher=missing)),
                 lambda: finetune(FinetuneConfig(out=str(run), student=missing)),
                 lambda: adapt(AdaptConfig(out=str(run), teacher=missing, target=missing)),
                 lambda: gpd_distill(GPDDistill(out=str(run), adapted=missing, anchors=missing)),
                 lambda: T.train_teacher(teacher_cfg(run, 2, data=missing))):
        with pytest.raises(GandistillError, match="already holds a training run"):
            call()
    assert (run / "stats.jsonl").read_text() == '{"step": 1}\n'


def test_gpd_adapt_overwrite_removes_the_old_runs_anchors(tmp_path):
    """The default anchors file beside an adapt run was projected with its model: a fresh run must not inherit it."""
    from gandistill.gpd.adapt import adapt
    from gandistill.gpd.config import AdaptConfig

    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    (run / "model" / "config.json").write_text("{}")
    for name in ("anchors.safetensors", "anchors.json", "anchors.png", "notes.txt", "my-anchors.safetensors"):
        (run / name).write_text("old")
    missing = str(tmp_path / "missing")  # the run folder is prepared before the teacher is read
    with pytest.raises(GandistillError, match="already holds a training run"):
        adapt(AdaptConfig(out=str(run), teacher=missing, target=missing))
    assert (run / "anchors.safetensors").exists()  # refused: nothing touched
    with pytest.raises(GandistillError):
        adapt(AdaptConfig(out=str(run), teacher=missing, target=missing, overwrite=True), dry_run=True)
    assert (run / "anchors.safetensors").exists() and (run / "model").exists()  # a dry run deletes nothing
    with pytest.raises(GandistillError, match="missing"):
        adapt(AdaptConfig(out=str(run), teacher=missing, target=missing, overwrite=True))
    assert sorted(p.name for p in run.iterdir()) == ["my-anchors.safetensors", "notes.txt"]  # not the run's: kept


def test_overwrite_never_deletes_an_input_of_the_new_run(tmp_path):
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    (run / "model" / "config.json").write_text("{}")
    with pytest.raises(GandistillError, match="--init-from .* lies in the run that --overwrite would delete"):
        T.train_teacher(teacher_cfg(run, 2, overwrite=True, init_from=str(run / "model")))
    assert (run / "model" / "config.json").read_text() == "{}"


def test_teacher_cli_refuses_forgotten_resume_and_overwrite_starts_fresh(tmp_path, capsys):
    out = tmp_path / "run"
    args = teacher_cli_args(out, snap_every=2)
    assert cli(args + ["--steps", "4"]) == 0
    capsys.readouterr()
    before = tree(out)
    assert cli(args + ["--steps", "2"]) == 2
    assert "--resume latest" in one_line_error(capsys)
    assert tree(out) == before
    assert cli(args + ["--steps", "2", "--dry-run"]) == 2  # a dry run says so too
    capsys.readouterr()
    assert cli(args + ["--steps", "2", "--overwrite"]) == 0
    assert [s for s, _ in list_states(out / "checkpoints")] == [2]
    assert Teacher.from_pretrained(out / "model").config.resolution == 16


# ------------------------------------------------------------------------ 4: never a non-finite state

def test_save_state_refuses_nonfinite_values_anywhere(tmp_path):
    net = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 2)).sum().backward()
    opt.step()
    save_state(tmp_path, 1, {"net": net.state_dict(), "opt": opt.state_dict()})
    opt.state[net.weight]["exp_avg_sq"].fill_(float("inf"))  # finite weights, infinite optimiser moment
    state = {"net": net.state_dict(), "opt": opt.state_dict()}
    assert nonfinite_entries(state) == ["opt.state.0.exp_avg_sq"]
    with pytest.raises(NonFiniteStateError, match="exp_avg_sq"):
        save_state(tmp_path, 2, state, keep=1)
    assert [s for s, _ in list_states(tmp_path)] == [1]  # the good state was not rotated away
    # a NaN state written by an older version is skipped when naming the last good one
    torch.save(state, tmp_path / "state-00000003.pt")
    assert last_good_state(tmp_path) == tmp_path / "state-00000001.pt"


def test_engine_divergence_in_weights_keeps_and_names_last_finite_state(tmp_path):
    with pytest.raises(GandistillError) as info:
        toy_stage(toy(tmp_path, steps=6, blow_up_at=2))  # step index 2 = the third step
    msg = str(info.value)
    good = tmp_path / "run" / "checkpoints" / "state-00000002.pt"
    assert "training diverged" in msg and "net.weight" in msg and str(good) in msg and f"--resume {good}" in msg
    assert [s for s, _ in list_states(tmp_path / "run" / "checkpoints")] == [1, 2]
    assert not nonfinite_entries(load_state(good))
    assert torch.isfinite(torch.load(tmp_path / "run" / "model" / "net.pt")["weight"]).all()


def test_teacher_divergence_in_r1_is_caught_and_names_a_finite_state(tmp_path, monkeypatch):
    real_r1 = T.r1_penalty
    calls = {"n": 0}

    def exploding_r1(real, logits):  # the G/D losses stay finite; only the R1 update explodes
        calls["n"] += 1
        return real_r1(real, logits) * (float("inf") if calls["n"] >= 2 else 1.0)

    monkeypatch.setattr(T, "r1_penalty", exploding_r1)
    with pytest.raises(GandistillError) as info:
        T.train_teacher(teacher_cfg(tmp_path / "run", 6))
    msg = str(info.value)
    good = tmp_path / "run" / "checkpoints" / "state-00000002.pt"
    assert "loss/r1" in msg and "step 2" in msg and f"the last good state is {good}" in msg
    assert [s for s, _ in list_states(tmp_path / "run" / "checkpoints")] == [2]
    assert not nonfinite_entries(load_state(good))
    teacher = Teacher.from_pretrained(tmp_path / "run" / "model")
    assert all(torch.isfinite(v).all() for v in teacher.state_dict().values())


# ------------------------------------------------------------------------ 5: --lr with --resume applies

def test_engine_resume_applies_new_learning_rate(tmp_path, capsys):
    toy_stage(toy(tmp_path, steps=2, lr=0.1))
    capsys.readouterr()
    objs = toy_stage(toy(tmp_path, steps=3, lr=0.01, resume="latest"))
    assert objs["opt"].param_groups[0]["lr"] == pytest.approx(0.01)
    assert load_state(tmp_path / "run" / "checkpoints" / "state-00000003.pt")["opt"]["param_groups"][0]["lr"] == \
        pytest.approx(0.01)
    assert "learning rate 0.1 → 0.01" in capsys.readouterr().out


def test_teacher_cli_resume_with_lr_changes_adam(tmp_path, capsys):
    out = tmp_path / "run"
    args = teacher_cli_args(out, snap_every=1)
    assert cli(args + ["--steps", "1"]) == 0
    capsys.readouterr()
    assert cli(["teacher", "train", "--out", str(out), "--resume", "latest", "--steps", "2", "--lr-d", "0.0001",
                "--no-progress"]) == 0
    assert "opt_d: learning rate" in capsys.readouterr().out
    state = load_state(out / "checkpoints" / "state-00000002.pt")
    ratio = 16 / 17  # lazy R1 every 16 steps scales Adam's rate
    assert state["opt_d"]["param_groups"][0]["lr"] == pytest.approx(0.0001 * ratio)
    assert state["opt_g"]["param_groups"][0]["lr"] == pytest.approx(0.0025)  # not given: unchanged
    assert json.loads((out / "config.json").read_text())["lr_d"] == 0.0001


# ------------------------------------------------------------------------ atomic files: temps and modes

def test_stale_temp_files_are_removed_by_the_next_write_and_run_start(tmp_path):
    stale = tmp_path / ".config.json.abcd1234.tmp"
    fresh = tmp_path / ".model.safetensors.zz99yy88.tmp"  # maybe another writer's, still in progress
    other = tmp_path / ".hidden.tmp"  # not ours
    for p in (stale, fresh, other):
        p.write_text("x")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    atomic_write_text(tmp_path / "config.json", "{}")
    assert not stale.exists() and fresh.exists() and other.exists()
    assert remove_stale_temps(tmp_path, older_than_s=0) == [fresh]
    # a run start sweeps its folders without waiting
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    leftover = run / "checkpoints" / ".state-00000004.pt.q1w2e3r4.tmp"
    leftover.write_bytes(b"half a state")
    toy_stage(ToyConfig(out=str(run), steps=1, progress=False))
    assert not leftover.exists()


def test_only_the_clearing_process_sweeps_temp_files(tmp_path):
    from gandistill.utils.training import prepare_run_dir

    writing = tmp_path / ".config.json.abcd1234.tmp"  # rank 0's write in progress, seen by rank 1
    writing.write_text("x")
    prepare_run_dir(tmp_path, None, False, clear=False)
    assert writing.exists()
    prepare_run_dir(tmp_path, None, False, clear=True)
    assert not writing.exists()


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "config.json", "{}")
        Teacher(TINY).save_pretrained(tmp_path / "model")
    finally:
        os.umask(old)
    for p in (tmp_path / "config.json", tmp_path / "model" / "config.json", tmp_path / "model" / "model.safetensors"):
        assert stat.S_IMODE(p.stat().st_mode) == mode, p


# ------------------------------------------------------------------------ OS errors: one line

@pytest.fixture
def teacher_dir(tmp_path) -> Path:
    torch.manual_seed(0)
    Teacher(TINY).save_pretrained(tmp_path / "teacher")
    return tmp_path / "teacher"


def test_output_path_that_is_a_file_gives_one_line(tmp_path, capsys, teacher_dir):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert cli(["teacher", "sample", "--model", str(teacher_dir), "--out", str(blocker), "--seeds", "0"]) == 2
    assert str(blocker) in one_line_error(capsys)
    assert cli(["teacher", "sample", "--model", str(teacher_dir), "--out", str(blocker / "sub"), "--seeds", "0"]) == 2
    assert "not a directory" in one_line_error(capsys).lower()
    assert cli(["data", "toyfaces", "--out", str(blocker), "--n", "2", "--res", "16", "--no-progress"]) == 2
    one_line_error(capsys)
    assert cli(["teacher", "train", "--out", str(blocker), "--steps", "1"]) == 2
    assert "is a file, not a folder" in one_line_error(capsys)
    assert blocker.read_text() == "not a folder"


def test_read_only_output_gives_one_line(tmp_path, capsys, teacher_dir, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root writes anyway: simulate what the kernel says to everyone else
            real_mkdir = Path.mkdir

            def denied(self, *a, **k):
                if str(self).startswith(str(ro)):
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
                return real_mkdir(self, *a, **k)

            monkeypatch.setattr(Path, "mkdir", denied)
        assert cli(["teacher", "sample", "--model", str(teacher_dir), "--out", str(ro / "s"), "--seeds", "0"]) == 2
        err = one_line_error(capsys)
        assert str(ro / "s") in err and "permission" in err.lower()
    finally:
        ro.chmod(0o755)


def test_full_disk_gives_one_line_and_keeps_earlier_files(tmp_path, capsys, monkeypatch):
    import gandistill.io.state as state_io

    out = tmp_path / "run"
    args = teacher_cli_args(out, snap_every=1)
    assert cli(args + ["--steps", "1"]) == 0
    capsys.readouterr()
    before = (out / "checkpoints" / "state-00000001.pt").read_bytes()

    def full(obj, path, *a, **k):  # what torch.save says when the disk fills up mid-write
        Path(path).write_bytes(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file "
                           "data/3: file write failed")

    monkeypatch.setattr(state_io.torch, "save", full)
    assert cli(["teacher", "train", "--out", str(out), "--resume", "latest", "--steps", "2", "--no-progress"]) == 2
    err = one_line_error(capsys)
    assert "state-00000002.pt" in err and "disk is full" in err
    assert (out / "checkpoints" / "state-00000001.pt").read_bytes() == before
    assert not [p for p in (out / "checkpoints").iterdir() if p.name.endswith(".tmp")]


def test_oserror_without_a_file_name_names_the_output_option(tmp_path, capsys, monkeypatch, teacher_dir):
    import gandistill.cli.teacher as cli_teacher

    def no_space(args):  # a write() on a full disk: the OSError carries no file name
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cli_teacher, "_sample", no_space)
    assert cli(["teacher", "sample", "--model", str(teacher_dir), "--out", str(tmp_path / "s")]) == 2
    err = one_line_error(capsys)
    assert f"--out {tmp_path / 's'}" in err and "disk is full" in err


# ------------------------------------------------------------------------ bad option values

@pytest.mark.parametrize("seeds", ["5-0", "a-b", "1,x", "", "-3"])
def test_bad_seeds_give_one_line(tmp_path, capsys, teacher_dir, seeds):
    assert cli(["teacher", "sample", "--model", str(teacher_dir), "--out", str(tmp_path / "s"),
                "--seeds", seeds]) == 2
    assert "--seeds" in one_line_error(capsys)
    assert not (tmp_path / "s").exists()


def test_seed_parser():
    from gandistill.teacher.sample import parse_seeds

    assert parse_seeds("0-3,10") == [0, 1, 2, 3, 10]
    with pytest.raises(OptionError, match="--mix-rows '5-0'.*ends before it starts"):
        parse_seeds("5-0", "--mix-rows")
    with pytest.raises(OptionError, match="more than"):
        parse_seeds("0-99999999999")


def test_finetune_num_classes_out_of_range_gives_one_line(tmp_path, capsys):
    assert cli(["kdit", "finetune", "--modality", "seg", "--num-classes", "300", "--student",
                str(tmp_path / "none"), "--out", str(tmp_path / "ft")]) == 2
    assert "--num-classes 300" in one_line_error(capsys)


def test_bad_config_file_value_names_field_and_file(tmp_path, capsys):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"steps": "many"}))
    assert cli(["teacher", "train", "--config", str(cfg), "--out", str(tmp_path / "r")]) == 2
    err = one_line_error(capsys)
    assert str(cfg) in err and "steps" in err and "integer" in err
    assert cli(["teacher", "train", "--out", str(tmp_path / "r"), "--batch", "0"]) == 2
    assert "batch must be positive" in one_line_error(capsys)


def test_from_dict_checks_types():
    with pytest.raises(OptionError, match=r"StyleGAN2Config.channel_max must be an integer, got '16'"):
        from_dict(StyleGAN2Config, {"channel_max": "16"})
    with pytest.raises(OptionError, match="must be true or false"):
        from_dict(TeacherTrainConfig, {"xflip": 1})
    with pytest.raises(OptionError, match="one of 'none', 'diffaug', 'ada'"):
        from_dict(TeacherTrainConfig, {"augment": "more"})
    cfg = from_dict(TeacherTrainConfig, {"lr_g": 1, "r1_gamma": None, "model": {"resolution": 32}})
    assert cfg.lr_g == 1 and cfg.model.resolution == 32


# ------------------------------------------------------------------------ corrupt model configs

def _edit_config(model_dir: Path, **changes) -> None:
    meta = json.loads((model_dir / "config.json").read_text())
    meta["config"].update(changes)
    (model_dir / "config.json").write_text(json.dumps(meta))


def test_absurd_sizes_are_refused_before_allocating(teacher_dir, capsys, tmp_path):
    _edit_config(teacher_dir, channel_base=65536 * 16, channel_max=65536)
    for cls in (Teacher, Generator):
        t = time.perf_counter()
        with pytest.raises(CheckpointError, match="billion values"):
            cls.from_pretrained(teacher_dir)
        assert time.perf_counter() - t < 5  # refused from the config alone, nothing allocated
    assert cli(["teacher", "sample", "--model", str(teacher_dir), "--out", str(tmp_path / "s")]) == 2
    assert "config.json" in one_line_error(capsys)


def test_config_sizes_that_disagree_with_the_weights_are_refused_before_allocating(teacher_dir):
    _edit_config(teacher_dir, channel_max=32)
    with pytest.raises(CheckpointError, match=r"model.safetensors does not fit Generator: shape mismatch"):
        Generator.from_pretrained(teacher_dir)


def test_string_where_a_number_belongs_names_field_and_file(teacher_dir, capsys, tmp_path):
    _edit_config(teacher_dir, resolution="16")
    with pytest.raises(CheckpointError, match=r"config.json: incompatible config \(StyleGAN2Config.resolution must "
                                              r"be an integer, got '16'\)"):
        Teacher.from_pretrained(teacher_dir)
    (teacher_dir / "config.json").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="is not a model config"):
        Teacher.from_pretrained(teacher_dir)


# ------------------------------------------------------------------------ API inputs

@pytest.fixture(scope="module")
def gpd_student():
    from gandistill.api import GPDStudent
    from gandistill.gpd.networks import TranslatorConfig, UNetTranslator

    torch.manual_seed(0)
    return GPDStudent(UNetTranslator(TranslatorConfig(resolution=16, channels=8, max_channels=16, depth=2)))


@pytest.mark.parametrize("bad,match", [
    ([], "no images given"),
    (torch.zeros(0, 3, 16, 16), "a batch of 0"),
    (np.zeros((0, 0, 3), np.uint8), "0×0"),
    (torch.zeros(3, 0, 0), "0×0"),
    (None, "got None"),
    (["a.png", np.zeros((16, 16, 3), np.uint8)], "all paths or all images"),
    ([np.zeros((16, 16, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)], "one size"),
    ({"image": 1}, "cannot read images from a dict"),
    (torch.full((1, 3, 16, 16), float("nan")), "NaN"),
])
def test_gpd_student_bad_inputs_are_clear_errors(gpd_student, bad, match):
    with pytest.raises(DataError, match=match):
        gpd_student(bad)


def test_gpd_student_still_takes_good_inputs(gpd_student):
    assert gpd_student([np.zeros((16, 16, 3), np.uint8)] * 2).shape == (2, 3, 16, 16)
    assert gpd_student(torch.zeros(3, 16, 16)).dtype == torch.uint8
