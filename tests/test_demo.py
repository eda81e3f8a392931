"""`gandistill demo` end to end on a tiny budget: every stage runs and the report shows its images."""
import re

from gandistill.cli.main import main as cli


def test_demo_writes_report_with_every_image(tmp_path):
    out = tmp_path / "demo"
    assert cli(["demo", "--fast", "--out", str(out), "--data-n", "32", "--teacher-steps", "2",
                "--eval-n", "16", "--resolution", "16"]) == 0
    html = (out / "report.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) >= 6
    for src in images:
        assert (out / src).is_file() and (out / src).stat().st_size > 0, src
    assert "gandistill teacher train" in html and "torchrun" in html  # reproduce commands
    assert "fid" in html or "metrics unavailable" in html
    # a second run reuses the finished stages instead of retraining
    assert cli(["demo", "--fast", "--out", str(out), "--data-n", "32", "--teacher-steps", "2",
                "--eval-n", "16", "--resolution", "16"]) == 0
