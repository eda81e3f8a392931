"""Every training stage's command shares one options mechanism (cli/stage_config.py): ``--dry-run`` prints the
resolved config and writes nothing, ``--config FILE`` is the base that flags override, and ``--resume`` keeps the
run's saved config.json except for the options given again."""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest
from gpd_support import make_teacher, toy_pairs

from gandistill.cli.main import build_parser
from gandistill.cli.main import main as cli
from gandistill.io.atomic import dump_json
from gandistill.options import from_dict

STAGES = ["teacher train", "kdit distill", "kdit finetune", "gpd adapt", "gpd distill"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The smallest inputs each stage accepts: a tiny teacher, a KDIT student, toyfaces, an adapted model."""
    from gandistill.data import generate_toyfaces
    from gandistill.gpd import AdaptConfig, Anchors, adapt
    from gandistill.kdit.i2i import I2IStudent
    from gandistill.teacher import Teacher

    root = tmp_path_factory.mktemp("stage-inputs")
    teacher = make_teacher(root / "teacher")
    t = Teacher.from_pretrained(teacher)
    I2IStudent.from_teacher(t).save_pretrained(root / "i2i", parents={"teacher": t.source_hash},
                                               extra={"teacher_dir": str(teacher)})
    generate_toyfaces(root / "toy", n=4, res=16, seed=0, progress=False, workers=1)
    pairs = toy_pairs(root / "pairs", n=2)
    adapted = adapt(AdaptConfig(out=str(root / "adapt"), teacher=str(teacher), target=str(pairs / "B"), steps=0,
                                batch=2, progress=False, device="cpu", grid_every=0))
    import torch

    g = t.G
    Anchors(ws=torch.randn(2, g.num_ws, g.w_dim), x=torch.zeros(2, 3, 16, 16),
            y=torch.zeros(2, 3, 16, 16)).save(root / "anchors.safetensors")
    return {
        "teacher train": ["--preset", "tiny", "--data", "toyfaces", "--data-n", "4"],
        "kdit distill": ["--teacher", str(teacher)],
        "kdit finetune": ["--student", str(root / "i2i"), "--data", str(root / "toy"), "--modality", "image"],
        "gpd adapt": ["--teacher", str(teacher), "--target", str(pairs / "B")],
        "gpd distill": ["--adapted", str(adapted), "--anchors", str(root / "anchors.safetensors")],
        "root": root,
    }


def _tree(folder) -> dict:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def _printed_config(text: str) -> dict:
    """The resolved config a dry run prints: the JSON object that starts on a line of its own."""
    start = text.index("\n{\n") + 1 if not text.startswith("{\n") else 0
    return json.JSONDecoder().raw_decode(text[start:])[0]


def _stage_class(stage: str, argv: list[str]) -> type:
    return build_parser().parse_args([*stage.split(), *argv])._stage_config[0]


def _saved(stage: str, inputs: dict, out, **values) -> dict:
    """A config.json as the stage writes it: its class's fields, with the required inputs and ``values``."""
    argv = [a for a in inputs[stage] if a not in ("--preset", "tiny")]  # a file holds values, not a preset name
    cls = _stage_class(stage, argv)
    given = {k.lstrip("-").replace("-", "_"): v for k, v in zip(argv[::2], argv[1::2])}
    hints = {f.name: f for f in dataclasses.fields(cls)}
    given = {k: (int(v) if isinstance(hints[k].default, int) else v) for k, v in given.items()}
    data = dataclasses.asdict(from_dict(cls, {**given, "out": str(out), "device": "cpu", "progress": False, **values}))
    if stage == "teacher train":
        from gandistill.teacher.presets import preset_model

        data["model"] = dataclasses.asdict(preset_model("tiny"))
    return data


def test_every_resumable_command_uses_the_shared_stage_options():
    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, f"{path} {name}".strip())
        yield path, parser

    resumable = {path for path, p in walk(build_parser(), "") if "--resume" in p._option_string_actions}
    assert resumable == set(STAGES)
    for stage in STAGES:
        parser = dict(walk(build_parser(), ""))[stage]
        assert {"--config", "--dry-run"} <= set(parser._option_string_actions), stage
        assert parser.get_default("_stage_config") is not None, stage


@pytest.mark.parametrize("stage", STAGES)
def test_dry_run_prints_the_resolved_config_and_writes_nothing(stage, inputs, tmp_path, capsys):
    out = tmp_path / "run"
    before_inputs = _tree(inputs["root"])
    assert cli([*stage.split(), *inputs[stage], "--out", str(out), "--device", "cpu", "--no-progress", "--seed", "7",
                "--dry-run"]) == 0
    resolved = _printed_config(capsys.readouterr().out)
    assert resolved["out"] == str(out) and resolved["seed"] == 7 and resolved["device"] == "cpu"
    assert list(tmp_path.iterdir()) == [] and _tree(inputs["root"]) == before_inputs  # nothing written anywhere


@pytest.mark.parametrize("stage", STAGES)
def test_config_file_is_the_base_that_flags_override(stage, inputs, tmp_path, capsys):
    saved = _saved(stage, inputs, tmp_path / "run", seed=5, steps=7, log_every=3)
    dump_json(saved, tmp_path / "mine.json")
    assert cli([*stage.split(), "--config", str(tmp_path / "mine.json"), "--seed", "6", "--dry-run"]) == 0
    resolved = _printed_config(capsys.readouterr().out)
    assert resolved == {**saved, "seed": 6}  # every value from the file, the one flag given overrides it
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("stage", STAGES)
def test_resume_keeps_the_saved_config_unless_a_flag_overrides_it(stage, inputs, tmp_path, capsys):
    out = tmp_path / "run"
    saved = _saved(stage, inputs, out, seed=5, steps=7, log_every=3)
    dump_json(saved, out / "config.json")
    before = _tree(tmp_path)
    assert cli([*stage.split(), "--out", str(out), "--resume", "latest", "--steps", "9", "--dry-run"]) == 0
    resolved = _printed_config(capsys.readouterr().out)
    assert resolved == {**saved, "steps": 9, "resume": "latest"}  # not the defaults (seed 0, log_every 10)
    assert _tree(tmp_path) == before


def test_a_bad_config_file_is_one_line_naming_it(inputs, tmp_path, capsys):
    (tmp_path / "bad.json").write_text('{"stepz": 3}')
    assert cli(["gpd", "adapt", "--config", str(tmp_path / "bad.json"), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "bad.json" in err and "stepz" in err


def _all_parsers():
    def walk(parser, path):
        yield path, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, f"{path} {name}".strip())
    return list(walk(build_parser(), ""))


def test_device_and_progress_options_are_declared_once():
    from gandistill.options import DeviceOption
    from gandistill.train.run_options import ProgressOption

    want = {"--device": dataclasses.fields(DeviceOption)[0].metadata["help"],
            "--no-progress": dataclasses.fields(ProgressOption)[0].metadata["help"]}
    seen = {"--device": 0, "--no-progress": 0}
    for path, parser in _all_parsers():
        for flag, help_text in want.items():
            action = parser._option_string_actions.get(flag)
            if action is not None and (path, flag) != ("demo", "--no-progress"):  # the demo's one overall bar
                assert action.help.startswith(help_text), (path, flag, action.help)
                seen[flag] += 1
    assert seen["--device"] >= 12 and seen["--no-progress"] >= 10, seen
    src = Path(__file__).resolve().parents[1] / "src"
    shared = [*want.values(), "generator learning rate", "Adam beta2 (beta1 is 0)", "lazy R1: apply every N steps",
              "discriminator augmentation", "adapted model directory (output of gpd adapt)", "source teacher (default",
              "synthesis noise: const", "truncation ψ: 1 = none", "write a sample grid every N steps",
              "write training state and model every N steps"]
    text = "".join(p.read_text(encoding="utf-8") for p in src.rglob("*.py"))
    for help_text in shared:  # ... and each shared option's help is written in one place, not copied
        assert text.count(f'help="{help_text}') == 1, help_text
    args = build_parser().parse_args(["gpd", "pairs", "--adapted", "a", "--n", "1", "--out", "o"])
    assert args.device == "auto"  # plain commands get the default without a dataclass in between


def test_student_options_take_their_defaults_from_the_networks():
    from gandistill.gpd import GPDDistillConfig, PatchGANConfig, StudentConfig, TranslatorConfig

    s, t, d = StudentConfig(), TranslatorConfig(), PatchGANConfig()
    assert (s.channels, s.max_channels, s.depth, s.norm) == (t.channels, t.max_channels, t.depth, t.norm)
    assert (s.d_channels, s.d_layers) == (d.channels, d.layers)
    # a config.json of the flat student keys (as every earlier run wrote them) still loads
    old = {"arch": "resnet", "channels": 8, "max_channels": 16, "depth": 2, "norm": "batch", "d_channels": 4,
           "d_layers": 2}
    cfg = from_dict(GPDDistillConfig, old)
    assert {k: getattr(cfg, k) for k in old} == old


def test_field_like_names_a_missing_option():
    from gandistill.gpd import PatchGANConfig
    from gandistill.options import field_like

    with pytest.raises(TypeError, match="PatchGANConfig has no option 'widht'"):
        field_like(PatchGANConfig, "widht")


def test_shared_gpd_generator_options_keep_adapted_required_on_plain_commands(tmp_path, capsys):
    for command in (["gpd", "pairs", "--n", "1", "--out", str(tmp_path / "p")],
                    ["gpd", "route", "--input", str(tmp_path), "--output", str(tmp_path / "r")]):
        with pytest.raises(SystemExit) as exc:
            cli(command)
        assert exc.value.code == 2 and "--adapted" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_run_saved_before_an_option_was_renamed_resumes_with_its_value(inputs, tmp_path, capsys):
    """gpd adapt's cdc_weight became w_cdc: an older run's config.json still loads, and the old flag still works."""
    out = tmp_path / "run"
    saved = _saved("gpd adapt", inputs, out, seed=5)
    saved["cdc_weight"] = saved.pop("w_cdc") / 4  # as a run written before the rename recorded it
    dump_json(saved, out / "config.json")
    assert cli(["gpd", "adapt", "--out", str(out), "--resume", "latest", "--dry-run"]) == 0
    resolved = _printed_config(capsys.readouterr().out)
    assert resolved["w_cdc"] == saved["cdc_weight"] and "cdc_weight" not in resolved and resolved["seed"] == 5
    assert cli(["gpd", "adapt", "--out", str(out), "--resume", "latest", "--cdc-weight", "7", "--dry-run"]) == 0
    assert _printed_config(capsys.readouterr().out)["w_cdc"] == 7.0
    dump_json({**saved, "w_cdc": 1.0}, tmp_path / "both.json")  # old and new name disagreeing: one clear line
    assert cli(["gpd", "adapt", "--config", str(tmp_path / "both.json"), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "both.json" in err and "'cdc_weight' is the former name of 'w_cdc'" in err


def test_a_run_recorded_before_an_option_existed_resumes_with_the_value_it_had(inputs, tmp_path, capsys):
    """gpd adapt's freeze_noise (default on) did not exist before: such runs trained the noise strengths, so
    their recorded config resumes with it off; a new run, or a --config file that leaves it out, gets the default."""
    out = tmp_path / "run"
    saved = _saved("gpd adapt", inputs, out, seed=5)
    assert saved.pop("freeze_noise") is True  # as a run written before the option recorded it
    dump_json(saved, out / "config.json")
    assert cli(["gpd", "adapt", "--out", str(out), "--resume", "latest", "--dry-run"]) == 0
    assert _printed_config(capsys.readouterr().out)["freeze_noise"] is False
    dump_json({**saved, "out": str(tmp_path / "new")}, tmp_path / "partial.json")
    assert cli(["gpd", "adapt", "--config", str(tmp_path / "partial.json"), "--dry-run"]) == 0
    assert _printed_config(capsys.readouterr().out)["freeze_noise"] is True
