"""`gandistill demo` end to end on a tiny budget: every stage runs and the report shows its images; the
full-size recipe chains; the overall progress display."""
import math
import re
import shlex
from html import unescape
from pathlib import PurePosixPath

import pytest

from gandistill.cli.main import build_parser
from gandistill.cli.main import main as cli
from gandistill.demo.recipe import FULL_SIZE, USER_INPUTS
from gandistill.utils.logging import OverallProgress, progress_bar
from metrics_support import inception_installed

PARSER = build_parser()
# argparse destinations that name a file or folder a command reads / writes
INPUT_DESTS = ("data", "teacher", "student", "adapted", "anchors", "model", "input", "reference", "target",
               "generated", "audio", "config", "init_from")
OUTPUT_DESTS = ("out", "output")
NOT_PATHS = ("toyfaces", "i2i", "x2i")  # the built-in data set; `kdit distill --student` names an architecture


def _parse(cmd: str):
    """The real CLI parser's Namespace for a recipe line (torchrun lines: the gandistill part)."""
    argv = shlex.split(cmd)
    if argv[0] == "torchrun":
        argv = ["gandistill", *argv[argv.index("gandistill.cli.main") + 1:]]
    assert argv[0] == "gandistill", cmd
    return PARSER.parse_args(argv[1:])  # exits (SystemExit) on an unknown option


def _paths(args, dests) -> list[PurePosixPath]:
    out = []
    for dest in dests:
        value = getattr(args, dest, None)
        for v in value if isinstance(value, list) else [value]:
            if v not in (None, "", *NOT_PATHS):
                out.append(PurePosixPath(str(v)))
    return out


def test_full_size_recipe_parses_and_chains():
    written: list[PurePosixPath] = []
    user = [PurePosixPath(p) for p in USER_INPUTS]
    lines = [line for lines in FULL_SIZE.values() for line in lines]
    for line in lines:
        args = _parse(line)
        for path in _paths(args, INPUT_DESTS):
            made = [w for w in written + user if path == w or w in path.parents]
            assert made, f"{line!r} reads {path}, which no earlier line writes and is not a documented input"
        if getattr(args, "device", "cuda") != "auto":  # the GPU recipe never falls back to the CPU default
            assert str(getattr(args, "device", "cuda")).startswith("cuda") or args.command in ("data",), line
        assert getattr(args, "export", None) is None or args.command == "gpd", line  # translate translates
        written += _paths(args, OUTPUT_DESTS)
    teachers = {str(p) for line in lines for p in _paths(_parse(line), ("teacher",))}
    assert len(teachers) == 1, teachers  # one name for the teacher
    assert any(_parse(line).command == "evaluate" for line in lines)


def test_recipe_check_catches_a_broken_chain(monkeypatch):
    broken = dict(FULL_SIZE)
    broken["GPD distillation"] = [FULL_SIZE["GPD distillation"][0].replace("runs/gpd-adapt/anchors",
                                                                            "runs/anchors")]
    monkeypatch.setitem(globals(), "FULL_SIZE", broken)
    with pytest.raises(AssertionError, match="runs/anchors.safetensors"):
        test_full_size_recipe_parses_and_chains()

TINY = ["--fast", "--data-n", "32", "--teacher-steps", "2", "--eval-n", "16", "--resolution", "16"]


@pytest.mark.slow
def test_demo_writes_report_with_every_stage_and_valid_commands(tmp_path):
    out = tmp_path / "demo"
    assert cli(["demo", "--out", str(out), "--no-progress", *TINY]) == 0
    html = (out / "report.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', html)
    for name in ("teacher_samples.png", "style_mixing.png", "triplets_preview.png", "kdit_heldout.png",
                 "kdit_finetune_losses.png", "gpd_adapt_compare.png", "gpd_anchors.png", "gpd_heldout.png",
                 "gpd_distill_losses.png", "teacher_losses.png"):
        assert name in images, name
    for src in images:
        assert (out / src).is_file() and (out / src).stat().st_size > 0, src
    from PIL import Image

    with Image.open(out / "gpd_adapt_compare.png") as im:
        assert im.width > 2 * im.height  # two rows (G_T, G_target) of latents, not the grid of 10 targets
    for heading in ("KDIT on 16 held-out pairs", "GPD on 16 held-out photos"):
        assert heading in html
    # the teacher's metrics table itself, not a command line that mentions fid: with the Inception weights
    # installed it must hold a finite FID value; only without them may it say why metrics are missing
    quality = html.split("<h2>Teacher quality")[1].split("<h2>")[0]
    if inception_installed():
        fid = re.search(r"<td>fid</td><td>([^<]+)</td>", quality)
        assert fid and math.isfinite(float(fid.group(1))) and float(fid.group(1)) >= 0, quality[:300]
    else:
        assert "metrics unavailable:" in quality and "<td>fid</td>" not in quality, quality[:300]
    # every reproduce command is a valid gandistill command line
    commands = [line for c in re.findall(r"<code>(.*?)</code>", html, re.S) for line in unescape(c).splitlines()]
    assert len(commands) >= 24
    for cmd in commands:
        _parse(cmd)
    # the full-size recipe, as printed, is exactly the recipe module's, in order
    full = [unescape(c) for c in re.findall(r"<p>full size on GPUs:</p><code>(.*?)</code>", html, re.S)]
    assert [line for c in full for line in c.splitlines()] == [ln for lines in FULL_SIZE.values() for ln in lines]
    for name in USER_INPUTS:
        assert f"<b>{name}</b>" in html
    # a second run reuses every finished stage (no new training states)
    states = sorted(p.name for p in out.rglob("state-*.pt"))
    assert cli(["demo", "--out", str(out), "--no-progress", *TINY]) == 0
    assert sorted(p.name for p in out.rglob("state-*.pt")) == states


def test_overall_progress_splits_stage_work_by_plan():
    prog = OverallProgress({"a": 10, "b": 30}, enabled=False)
    with prog.stage("a"):
        bar = progress_bar(5)
        bar.update(5)
        assert prog.bar.n == 10
    with prog.stage("b"):
        bar = progress_bar(3)
        bar.update(1)
        assert prog.bar.n == 20
        bar.update(10)  # overshooting a stage never eats into later ones
        assert prog.bar.n == 40
    assert prog.bar.n == 40
    assert not hasattr(progress_bar(3), "parent")  # outside a stage: a normal bar


def test_overall_progress_stays_put_and_names_the_stage_that_failed(capsys):
    prog = OverallProgress({"a": 10, "b": 30, "c": 40}, enabled=False)
    with prog.stage("a"):
        progress_bar(2).update(2)
    with pytest.raises(RuntimeError), prog.stage("b", log="logs/b.log"):
        progress_bar(3).update(1)
        raise RuntimeError("boom")
    assert prog.bar.n == 20  # a (10) + one third of b (10): no jump to the end of b
    assert prog.failed == "b" and prog.bar.desc.endswith("b failed")
    assert "stage 2/3 (b) failed; its log: logs/b.log" in capsys.readouterr().err


def test_demo_run_reports_the_failing_stage(tmp_path, capsys):
    from gandistill.demo.report import Report
    from gandistill.demo.run import DemoRun
    from gandistill.errors import GandistillError

    prog = OverallProgress({"data": 5, "teacher": 50}, enabled=False)
    run = DemoRun(None, tmp_path, Report(tmp_path, "t"), prog)
    with run.stage("data"):
        pass
    with pytest.raises(GandistillError), run.stage("teacher"):
        print("step 3: loss is NaN")  # goes to the stage log
        raise GandistillError("the generator loss is NaN at step 3")
    assert prog.bar.n == 5
    err = capsys.readouterr().err
    assert "stage 2/2 (teacher) failed; its log: " in err and "teacher.log" in err
    assert "loss is NaN" in (tmp_path / "logs" / "teacher.log").read_text()
