"""The 256 px path, 2 steps per stage on a CPU: seconds per step and peak RSS, to catch shape and memory bugs
before anyone pays for a GPU.

    python benchmarks/path256.py --work runs/path256 [--preset ffhq256] [--out docs/path256.json]

Stages, each its own process (so peak RSS is per stage): a random-init teacher of the preset exported to a
rosinality .pt → ``teacher import`` → ``gpd adapt`` → ``gpd anchors`` → ``gpd distill`` → ``translate`` (GPD)
→ ``kdit distill`` → ``translate`` (KDIT). Data: toyfaces at 256 px (4 targets / pairs, 2 inputs). Re-running the same command skips the stages that
finished (their rows are kept in ``<work>/logs/<stage>.json``).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


# Runs the CLI and, at exit, writes this process's own peak RSS (KiB) to the file named by argv[1].
_WRAP = ("import atexit, resource, sys; out = sys.argv.pop(1); "
         "atexit.register(lambda: open(out, 'w').write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))); "
         "from gandistill.cli.main import main; sys.exit(main(sys.argv[1:]))")


def _stage(name: str, args: list[str], steps: int | None, log: Path) -> dict:
    done = log / f"{name}.json"
    if done.is_file():  # finished in an earlier run of this script: keep its row
        return json.loads(done.read_text())
    rss_file = log / f"{name}.maxrss"
    t0 = time.perf_counter()
    with open(log / f"{name}.log", "w") as fh:
        rc = subprocess.call([sys.executable, "-c", _WRAP, str(rss_file), *args], stdout=fh, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    rss = int(rss_file.read_text()) if rss_file.is_file() else 0
    row = {"stage": name, "rc": rc, "wall_s": round(wall, 1), "peak_rss_gb": round(rss / 2**20, 2),
           "command": "gandistill " + " ".join(args)}
    if steps:
        row["s_per_step"] = round(wall / steps, 1)  # includes start-up; see wall_s
    print(json.dumps(row), flush=True)
    if not rc:
        done.write_text(json.dumps(row))
    if rc:
        raise SystemExit(f"stage {name} failed; see {log / (name + '.log')}")
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True)
    p.add_argument("--preset", default="ffhq256")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    (work / "logs").mkdir(exist_ok=True)

    import torch

    from gandistill.data.toyfaces import generate_toyfaces
    from gandistill.importers.rosinality import export_rosinality
    from gandistill.teacher import Teacher
    from gandistill.teacher.presets import preset_model

    cfg = preset_model(args.preset)
    torch.manual_seed(0)
    res = cfg.resolution
    if not (work / "random.pt").is_file():
        export_rosinality(Teacher(cfg), work / "random.pt")
    if not (work / "toy").is_dir():
        generate_toyfaces(work / "toy", n=6, res=res, seed=0, progress=False, workers=1)
    pairs = work / "pairs"
    for sub, dom in (("A", "photo"), ("B", "sketch")):
        (pairs / sub).mkdir(parents=True, exist_ok=True)
        for f in sorted((work / "toy" / dom).glob("*.png"))[:4]:
            (pairs / sub / f.name).write_bytes(f.read_bytes())
    inputs = work / "inputs"
    inputs.mkdir(exist_ok=True)
    for f in sorted((work / "toy" / "photo").glob("*.png"))[4:6]:
        (inputs / f.name).write_bytes(f.read_bytes())

    n = str(args.steps)
    common = ["--device", "cpu"]
    rows = [
        _stage("teacher_import", ["teacher", "import", str(work / "random.pt"), "--out", str(work / "teacher")], None,
               work / "logs"),
        _stage("gpd_adapt", ["gpd", "adapt", "--teacher", str(work / "teacher"), "--target", str(pairs / "B"),
                             "--out", str(work / "adapt"), "--steps", n, "--batch", "2", "--grid-every", "0",
                             "--no-progress", *common], args.steps, work / "logs"),
        _stage("gpd_anchors", ["gpd", "anchors", "--adapted", str(work / "adapt" / "model"), "--data", str(pairs),
                               "--steps", n, *common], args.steps, work / "logs"),
        _stage("gpd_distill", ["gpd", "distill", "--adapted", str(work / "adapt" / "model"), "--anchors",
                               str(work / "adapt" / "anchors.safetensors"), "--out", str(work / "student"),
                               "--steps", n, "--batch", "2", "--gen-batch", "2", "--grid-every", "0",
                               "--no-progress", *common], args.steps, work / "logs"),
        _stage("gpd_translate", ["translate", "--model", str(work / "student" / "model"), "--input", str(inputs),
                                 "--output", str(work / "out_gpd"), *common], None, work / "logs"),
        _stage("kdit_distill", ["kdit", "distill", "--teacher", str(work / "teacher"), "--out", str(work / "kdit"),
                                "--steps", n, "--batch", "2", "--grid-every", "0", "--no-progress", *common],
               args.steps, work / "logs"),
        _stage("kdit_translate", ["translate", "--model", str(work / "kdit" / "model"), "--input", str(inputs),
                                  "--output", str(work / "out_kdit"), *common], None, work / "logs"),
    ]
    result = {"preset": args.preset, "resolution": res, "steps": args.steps, "threads": torch.get_num_threads(),
              "stages": rows}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
