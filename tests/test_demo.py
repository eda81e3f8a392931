"""`gandistill demo` end to end on a tiny budget: every stage runs and the report shows its images."""
import re
import shlex

from gandistill.cli.main import build_parser
from gandistill.cli.main import main as cli
from gandistill.utils.logging import OverallProgress, progress_bar

TINY = ["--fast", "--data-n", "32", "--teacher-steps", "2", "--eval-n", "16", "--resolution", "16"]


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
    assert "fid" in html or "metrics unavailable" in html
    # every reproduce command is a valid gandistill command line
    parser = build_parser()
    commands = [c.replace("&gt;", ">").replace("&quot;", '"').replace("&#x27;", "'")
                for c in re.findall(r"<code>(.*?)</code>", html)]
    assert len(commands) >= 20
    for cmd in commands:
        argv = shlex.split(cmd)
        if argv[0] == "torchrun":
            argv = ["gandistill", *argv[argv.index("gandistill.cli.main") + 1:]]
        assert argv[0] == "gandistill", cmd
        parser.parse_args(argv[1:])  # exits (SystemExit) on an unknown option
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
