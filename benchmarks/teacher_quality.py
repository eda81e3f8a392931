"""Teacher quality against CPU time: FID, KID, precision/recall and grids, StyleGAN2 D vs projected D.

    python benchmarks/teacher_quality.py --data /path/photos --resolution 32 --arms stylegan2,projected \\
        --eval-at 10,20,30,45,60 --work runs/tq32 --out docs/teacher_quality_toy32.json

Each arm trains in its own process (one thread each by default, so the arms run side by side on a
2-core machine and do not spin against each other). The clock is the training process's CPU time
(``time.process_time``): a shared, noisy machine slows the wall clock but not that. 30 minutes on 2 threads
is 60 CPU-minutes. Training runs in chunks up to each evaluation point and resumes exactly
(``--resume latest``); evaluation time is not counted. Re-running the same command continues where it
stopped (finished points are kept in ``<work>/<arm>/curve.json``).

Metrics per point: FID and KID of ``--n-fake`` EMA samples (ψ = 1) against every training image, improved
precision/recall (k = 3) on the same Inception features, and an 8×8 grid. ``--floor`` adds the real-vs-real
FID of two random halves of the data (the best a model can score under this protocol with that many images).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ARM_OPTIONS = {  # the only difference between the arms is the discriminator
    "stylegan2": ["--d-arch", "stylegan2"],
    "projected": ["--d-arch", "projected"],  # feature network input 4 × resolution (128 px at 32 px)
    "projected64": ["--d-arch", "projected", "--d-feature-res", "64"],  # cheaper: 2 × at 32 px
    "projected224": ["--d-arch", "projected", "--d-feature-res", "224"],  # Projected GANs' own choice
    "projected-w0.1": ["--d-arch", "projected", "--d-proj-weight", "0.1"],  # the pixel D leads
    "projected-blur1": ["--d-arch", "projected", "--d-proj-blur", "1"],  # no pixel-level gradient from the features
    # Projected GANs' own learning rate (2e-4 for G and D, theirs for the StyleGAN2 generator too); ours is 2.5e-3
    # warm-up with the pixel D alone for 10 kimg, then the heads, their input blurred at first (σ 2 → 0 by 30 kimg)
    "projected-warm10": ["--d-arch", "projected", "--d-proj-warmup", "10", "--d-proj-blur-init", "2",
                         "--d-proj-blur-fade", "30"],
    "projected-lr2e4": ["--d-arch", "projected", "--lr-g", "0.0002", "--lr-d", "0.0002"],
}


def _scores(real, fake) -> dict:
    """FID, KID and precision/recall of two Inception feature sets (the evaluation points and the floor)."""
    from gandistill.metrics.fid import fid_from_features
    from gandistill.metrics.kid import kid_from_features
    from gandistill.metrics.precision_recall import precision_recall

    kid = kid_from_features(real, fake, num_subsets=100, max_subset_size=min(len(real), len(fake)) // 2)
    pr = precision_recall(real, fake)
    return {"fid": fid_from_features(real, fake), "kid": kid.mean, "kid_std": kid.std,
            "precision": pr.precision, "recall": pr.recall}


def _real_features(data: str, resolution: int, inception, work: Path):
    import torch

    from gandistill.teacher.train_data import load_training_images

    path = work / f"real_features_{resolution}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True)
    reals = load_training_images(data, resolution)
    feats = inception(reals)
    torch.save(feats, path)
    return feats


def _evaluate(model_dir: Path, real, inception, n_fake: int, grid_path: Path) -> dict:
    import torch

    from gandistill.metrics.images import quantize
    from gandistill.teacher import Generator
    from gandistill.utils.images import save_grid

    G = Generator.from_pretrained(model_dir).eval()
    gen = torch.Generator().manual_seed(1234)
    imgs = []
    with torch.no_grad():
        for start in range(0, n_fake, 50):
            z = torch.randn(min(50, n_fake - start), G.z_dim, generator=gen)
            imgs.append(G(z, noise_mode="const").clamp(-1, 1))
    imgs = torch.cat(imgs)
    save_grid(imgs[:64], grid_path, nrow=8)
    return _scores(real, inception(quantize(imgs)))


def run_arm(args: argparse.Namespace) -> None:
    """One arm: train to each evaluation point of CPU time, evaluate, record; resumable."""
    import torch

    from gandistill.cli.main import main as cli
    from gandistill.metrics.inception import InceptionFeatures

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    run = work / args.arm
    curve_path = run / "curve.json"
    curve = json.loads(curve_path.read_text()) if curve_path.is_file() else {"points": [], "cpu_s": 0.0, "step": 0}
    inception = InceptionFeatures(batch_size=50)
    real = _real_features(args.data, args.resolution, inception, work)
    base = ["teacher", "train", "--data", args.data, "--resolution", str(args.resolution), "--out", str(run),
            "--batch", str(args.batch), "--grid-every", "0", "--snap-every", "1000000", "--keep", "1",
            "--no-progress", "--log-every", "50", *ARM_OPTIONS[args.arm], *args.train_args]
    if args.preset:
        base += ["--preset", args.preset]
    sec_per_step = None
    for minutes in args.eval_at:
        if any(p["cpu_min"] == minutes for p in curve["points"]):
            continue
        target = minutes * 60
        while curve["cpu_s"] < target - 1:
            if sec_per_step is None:
                steps = curve["step"] + 20  # calibration chunk
            else:  # aim at 3/4 of the rest while it is large: a step's cost can change (a warm-up schedule)
                left = target - curve["cpu_s"]
                steps = curve["step"] + max(1, int((left if left < 120 else 0.75 * left) / sec_per_step))
            cmd = base + ["--steps", str(steps)]
            if curve["step"] > 0:
                cmd = [c for c in cmd] + ["--resume", "latest"]
                if args.preset:  # a resumed run keeps its recorded options
                    i = cmd.index("--preset")
                    del cmd[i:i + 2]
            t0 = time.process_time()
            rc = cli(cmd)
            if rc:
                raise SystemExit(f"{args.arm}: training failed ({rc})")
            used = time.process_time() - t0
            sec_per_step = used / (steps - curve["step"])
            curve["cpu_s"] += used
            curve["step"] = steps
            curve_path.write_text(json.dumps(curve, indent=2))
        point = {"cpu_min": minutes, "cpu_s": round(curve["cpu_s"], 1), "step": curve["step"],
                 "kimg": curve["step"] * args.batch / 1000,
                 **_evaluate(run / "model", real, inception, args.n_fake, work / f"grid_{args.arm}_{minutes:03d}min.png")}
        curve["points"].append(point)
        curve_path.write_text(json.dumps(curve, indent=2))
        print(json.dumps({"arm": args.arm, **point}), flush=True)


def floor(args: argparse.Namespace) -> dict:
    """Real-vs-real scores of two random halves of the data."""
    import torch

    from gandistill.metrics.inception import InceptionFeatures

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    real = _real_features(args.data, args.resolution, InceptionFeatures(batch_size=50), work)
    perm = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))
    a, b = real[perm[: len(real) // 2]], real[perm[len(real) // 2:]]
    return {**{f"{k}_half_vs_half": v for k, v in _scores(a, b).items()}, "sizes": [len(a), len(b)]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="image folder (or toyfaces)")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--arms", default="stylegan2,projected")
    p.add_argument("--eval-at", default="10,20,30,45,60", help="CPU-minutes at which to evaluate")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--preset", default=None, help="teacher preset for the architecture (e.g. toy32, faces64)")
    p.add_argument("--train-args", default="", help="extra `teacher train` options for both arms, one string")
    p.add_argument("--n-fake", type=int, default=500)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--floor", action="store_true", help="also report the real-vs-real floor")
    p.add_argument("--work", required=True)
    p.add_argument("--out", default=None, help="write the combined JSON here")
    p.add_argument("--arm", default=None, help=argparse.SUPPRESS)  # internal: run one arm in this process
    args = p.parse_args()
    args.eval_at = [int(x) for x in args.eval_at.split(",")]
    args.train_args = args.train_args.split()
    Path(args.work).mkdir(parents=True, exist_ok=True)
    if args.arm:
        run_arm(args)
        return
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    procs = [subprocess.Popen([sys.executable, __file__, *sys.argv[1:], "--arm", arm], env=env)
             for arm in args.arms.split(",")]
    codes = [pr.wait() for pr in procs]
    result = {"data": args.data, "resolution": args.resolution, "batch": args.batch, "n_fake": args.n_fake,
              "threads_per_arm": args.threads, "clock": "training process CPU time (minutes)",
              "arms": {arm: json.loads((Path(args.work) / arm / "curve.json").read_text())["points"]
                       for arm in args.arms.split(",") if (Path(args.work) / arm / "curve.json").is_file()}}
    if args.floor:
        result["floor"] = floor(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if any(codes):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
