"""Teacher speed: training and sampling images/second and peak memory at fixed configs.

    python benchmarks/teacher_speed.py [--quick] [--out results.json]

Each (config, variant) runs in its own subprocess so peak RSS is per measurement. Variants are
measured side by side in one run (this machine is noisy): eager NCHW vs channels-last. Training
speed is read from the training loop's own per-step timings (warm-up steps discarded), so it is
the real engine, augmentation and regularisation included.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

CONFIGS = {
    "32px_64ch_b8": dict(resolution=32, channel_base=2048, channel_max=64, z_dim=64, w_dim=64, mapping_layers=4, batch=8, train=True),
    "64px_64ch_b8": dict(resolution=64, channel_base=4096, channel_max=64, z_dim=64, w_dim=64, mapping_layers=4, batch=8, train=True),
    "256px_default_b4": dict(resolution=256, channel_base=16384, channel_max=512, z_dim=512, w_dim=512, mapping_layers=8, batch=4, train=False),
}


def _worker(name: str, variant: str, what: str, steps: int) -> dict:
    import torch

    from gandistill.teacher import Generator, StyleGAN2Config

    c = dict(CONFIGS[name])
    batch, _ = c.pop("batch"), c.pop("train")
    mcfg = StyleGAN2Config(**c)
    torch.manual_seed(0)
    if what == "sample":
        G = Generator(mcfg).eval()
        if variant == "channels_last":
            G = G.to(memory_format=torch.channels_last)
        z = torch.randn(batch, mcfg.z_dim)
        with torch.no_grad():
            for _ in range(2):
                G(z, noise_mode="const")
            t = time.perf_counter()
            for _ in range(steps):
                G(z, noise_mode="const")
            dt = time.perf_counter() - t
        ips = batch * steps / dt
    else:
        import gandistill.teacher.train as T
        from gandistill.teacher.train_config import TeacherTrainConfig
        from gandistill.utils.logging import read_scalars

        images = (torch.rand(256, 3, mcfg.resolution, mcfg.resolution) * 255).to(torch.uint8)
        T.load_training_images = lambda *a, **k: images  # synthetic data: we time the engine, not decoding
        with tempfile.TemporaryDirectory() as tmp:
            cfg = TeacherTrainConfig(out=tmp, steps=steps + 3, batch=batch, log_every=1, grid_every=0,
                                     snap_every=10 ** 9, progress=False, channels_last=variant == "channels_last",
                                     model=mcfg)
            T.train_teacher(cfg)
            rows = read_scalars(tmp)[3:]
        # Lazy R1 every 16 steps is part of the real cost: average over whole steps.
        dt = sum(r["time/sec_per_step"] for r in rows)
        ips = batch * len(rows) / dt
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"config": name, "variant": variant, "what": what, "images_per_sec": round(ips, 2),
            "peak_rss_mb": round(peak_mb, 1), "threads": torch.get_num_threads()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer steps (smoke check)")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    ap.add_argument("--worker", nargs=4, metavar=("CONFIG", "VARIANT", "WHAT", "STEPS"), help=argparse.SUPPRESS)
    ap.add_argument("--variants", default="eager,channels_last")
    args = ap.parse_args()
    if args.worker:
        name, variant, what, steps = args.worker
        print(json.dumps(_worker(name, variant, what, int(steps))))
        return
    results = []
    for name, c in CONFIGS.items():
        for what in (["train", "sample"] if c["train"] else ["sample"]):
            steps = (3 if args.quick else 12) if what == "train" else (2 if args.quick else 8)
            for variant in args.variants.split(","):
                proc = subprocess.run([sys.executable, __file__, "--worker", name, variant, what, str(steps)],
                                      capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
                if proc.returncode != 0:
                    results.append({"config": name, "variant": variant, "what": what, "error": proc.stderr[-500:]})
                else:
                    results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
                print(json.dumps(results[-1]), file=sys.stderr)
    import torch

    report = {"benchmark": "teacher_speed", "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
              "cpus": os.cpu_count(), "results": results}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
