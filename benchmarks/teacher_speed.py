"""Teacher speed: training and sampling images/second and peak memory at fixed configs.

    python benchmarks/teacher_speed.py [--quick] [--configs ref_64px_b8,ref_32px_b8] [--repeats 3] [--out results.json]
    python benchmarks/teacher_speed.py --flops            # 64/256 px sampling GFLOP/s vs fp32 matmul and conv peak
    python benchmarks/teacher_speed.py --profile          # torch.profiler table of 16 64 px training steps

Each (config, variant) runs in its own subprocess so peak RSS is per measurement. Variants are
measured side by side (eager NCHW vs channels-last), alternating in blocks, and the median of the
repeats is reported (this machine is shared and noisy). Training speed is read from the training
loop's own per-step timings (warm-up steps discarded, lazy R1/path-length steps included), so it is
the real engine.

The ``ref_*`` configs are the reference configuration of the speed issue: z = w = 512, 8 mapping
layers, 64 channels at every resolution, lazy R1 γ = 10, path length weight 2, style mixing 0.9, no
augmentation; ``benchmarks/nvlabs_reference.py`` runs NVlabs stylegan2-ada-pytorch beside these
workers for same-run ratios.
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
import types

_REF = dict(z_dim=512, w_dim=512, mapping_layers=8, channel_base=16384, channel_max=64)
_REF_TRAIN = dict(r1_gamma=10.0, pl_weight=2.0, style_mixing=0.9, augment="none")
CONFIGS = {
    "ref_32px_b8": dict(resolution=32, **_REF, batch=8, train=True, train_opts=_REF_TRAIN),
    "ref_64px_b8": dict(resolution=64, **_REF, batch=8, train=True, train_opts=_REF_TRAIN),
    "32px_64ch_b8": dict(resolution=32, channel_base=2048, channel_max=64, z_dim=64, w_dim=64, mapping_layers=4, batch=8, train=True),
    "64px_64ch_b8": dict(resolution=64, channel_base=4096, channel_max=64, z_dim=64, w_dim=64, mapping_layers=4, batch=8, train=True),
    "256px_default_b4": dict(resolution=256, channel_base=16384, channel_max=512, z_dim=512, w_dim=512, mapping_layers=8, batch=4, train=False),
}


def _split(name: str):
    c = dict(CONFIGS[name])
    batch, opts = c.pop("batch"), c.pop("train_opts", {})
    c.pop("train")
    return c, batch, opts


def _clock():
    """time.perf_counter, or this thread's CPU time with --clock cpu (1 thread: ignores waiting for a loaded CPU)."""
    return time.thread_time if os.environ.get("TEACHER_SPEED_CLOCK") == "cpu" else time.perf_counter


def _worker(name: str, variant: str, what: str, steps: int) -> dict:
    import torch

    from gandistill.teacher import Generator, StyleGAN2Config

    c, batch, opts = _split(name)
    mcfg = StyleGAN2Config(**c)
    torch.manual_seed(0)
    if what == "sample":
        from gandistill.utils.inference import prepare_for_inference

        # the inference path users get (eval, channels-last unless the variant is eager, inference_mode)
        G = prepare_for_inference(Generator(mcfg), channels_last=variant == "channels_last")
        z = torch.randn(batch, mcfg.z_dim)
        with torch.inference_mode():
            for _ in range(2):
                G(z, noise_mode="const")
            clock = _clock()
            t = clock()
            for _ in range(steps):
                G(z, noise_mode="const")
            dt = clock() - t
        ips = batch * steps / dt
    else:
        import gandistill.teacher.train as T
        import gandistill.train.loop as L
        from gandistill.teacher.train_config import TeacherTrainConfig
        from gandistill.utils.logging import read_scalars

        images = (torch.rand(256, 3, mcfg.resolution, mcfg.resolution) * 255).to(torch.uint8)
        T.load_training_images = lambda *a, **k: images  # synthetic data: we time the engine, not decoding
        L.time = types.SimpleNamespace(perf_counter=_clock())  # the loop's per-step timer
        with tempfile.TemporaryDirectory() as tmp:
            cfg = TeacherTrainConfig(out=tmp, steps=steps + 3, batch=batch, log_every=1, grid_every=0,
                                     snap_every=10 ** 9, progress=False, channels_last=variant != "eager",
                                     compile=variant == "compiled", model=mcfg, **opts)
            T.train_teacher(cfg)
            all_rows = read_scalars(tmp)
            rows = all_rows[3:]
        # Lazy R1 every 16 steps is part of the real cost: average over whole steps.
        dt = sum(r["time/sec_per_step"] for r in rows)
        ips = batch * len(rows) / dt
        # warm-up (first 3 steps; with --compile this is the compilation) beyond 3 steady steps
        warmup = sum(r["time/sec_per_step"] for r in all_rows[:3]) - 3 * dt / len(rows)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    extra = {"warmup_extra_sec": round(warmup, 2)} if what == "train" else {}
    return {"config": name, "variant": variant, "what": what, "images_per_sec": round(ips, 2), **extra,
            "peak_rss_mb": round(peak_mb, 1), "threads": torch.get_num_threads()}


def _conv_peak_gflops(clock) -> float:
    """GFLOP/s of one 3×3 512→512 conv at 32 px (batch 4, channels-last): the generator's largest layer shape,
    i.e. the rate this machine's conv library (oneDNN) reaches at its best. On CPUs where BLAS takes a generic
    path (MKL on AMD) this is well above the fp32 matmul rate, which then understates the machine."""
    import torch
    import torch.nn.functional as F

    x = torch.randn(4, 512, 32, 32).contiguous(memory_format=torch.channels_last)
    w = torch.randn(512, 512, 3, 3).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        F.conv2d(x, w, padding=1)
        times = []
        for _ in range(3):
            t = clock()
            F.conv2d(x, w, padding=1)
            times.append(clock() - t)
    return 2 * 4 * 32 * 32 * 9 * 512 * 512 / sorted(times)[1] / 1e9


def _flops(name: str, reps: int) -> dict:
    """Sampling GFLOP/s (FLOPs counted by torch's FlopCounterMode on one forward) beside the same process's
    fp32 4096² matmul GFLOP/s and its best 3×3 conv GFLOP/s: how close the generator runs to the machine."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from gandistill.teacher import Generator, StyleGAN2Config
    from gandistill.utils.inference import prepare_for_inference

    c, batch, _ = _split(name)
    torch.manual_seed(0)
    G = prepare_for_inference(Generator(StyleGAN2Config(**c)))
    z = torch.randn(batch, G.z_dim)
    size = int(os.environ.get("TEACHER_SPEED_MATMUL", 4096))
    a, b = torch.randn(size, size), torch.randn(size, size)
    counter = FlopCounterMode(display=False)
    with counter:  # grad mode (its module tracker fails under inference_mode and no_grad); forward only
        G(z, noise_mode="const")
    flops = counter.get_total_flops()
    clock = _clock()
    with torch.inference_mode():
        G(z, noise_mode="const")  # warm-up
        a @ b
        t_g, t_m = [], []
        for _ in range(reps):  # alternate so that load changes hit both alike
            t = clock()
            G(z, noise_mode="const")
            t_g.append(clock() - t)
            t = clock()
            a @ b
            t_m.append(clock() - t)
    conv = _conv_peak_gflops(clock)
    med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
    g_gflops, m_gflops = flops / med(t_g) / 1e9, 2 * size ** 3 / med(t_m) / 1e9
    return {"config": name, "what": "sample_flops", "batch": batch, "gflop_per_batch": round(flops / 1e9, 2),
            "images_per_sec": round(batch / med(t_g), 3), "sample_gflops": round(g_gflops, 1),
            "matmul_fp32_size": size, "matmul_fp32_gflops": round(m_gflops, 1),
            "fraction_of_matmul": round(g_gflops / m_gflops, 3), "conv3x3_512ch_gflops": round(conv, 1),
            "fraction_of_conv_peak": round(g_gflops / conv, 3), "threads": torch.get_num_threads(), "repeats": reps}


def _profile(name: str, steps: int, rows: int) -> str:
    """torch.profiler table (self CPU time) of ``steps`` training steps after 3 warm-up steps (R1 and path
    length at their real intervals, so a 16-step window holds one R1 and four path-length passes)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    import gandistill.teacher.train as T
    import gandistill.train.loop as L
    from gandistill.teacher import StyleGAN2Config
    from gandistill.teacher.train_config import TeacherTrainConfig

    c, batch, opts = _split(name)
    mcfg = StyleGAN2Config(**c)
    images = (torch.rand(64, 3, mcfg.resolution, mcfg.resolution) * 255).to(torch.uint8)
    T.load_training_images = lambda *a, **k: images
    prof = profile(activities=[ProfilerActivity.CPU])
    real_check = L.check_finite

    def hook(stats, step, *args, **kwargs) -> None:  # the loop checks each step's scalars once, at its end
        real_check(stats, step, *args, **kwargs)
        if step == 2:  # steps 0-2 warm up
            prof.__enter__()
    L.check_finite = hook
    with tempfile.TemporaryDirectory() as tmp:
        T.train_teacher(TeacherTrainConfig(out=tmp, steps=3 + steps, batch=batch, grid_every=0, snap_every=10 ** 9,
                                           progress=False, model=mcfg, **opts))
    prof.__exit__(None, None, None)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def _run_worker(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        return {"config": args[0], "variant": args[1], "what": args[2], "error": proc.stderr[-500:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer steps (smoke check)")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    ap.add_argument("--worker", nargs=4, metavar=("CONFIG", "VARIANT", "WHAT", "STEPS"), help=argparse.SUPPRESS)
    ap.add_argument("--variants", default="eager,channels_last",
                    help="eager (NCHW), channels_last (the default), compiled (channels-last + --compile)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of " + ", ".join(CONFIGS))
    ap.add_argument("--what", default="train,sample", help="train, sample or both")
    ap.add_argument("--repeats", type=int, default=1, help="alternating repeats per variant (median reported)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: one thread, timed by its CPU time (for a loaded machine: waiting does not count)")
    ap.add_argument("--flops", action="store_true",
                    help="64 and 256 px sampling GFLOP/s vs fp32 4096² matmul and best 3×3 conv GFLOP/s")
    ap.add_argument("--profile", action="store_true", help="profile training steps of ref_64px_b8 and print the table")
    args = ap.parse_args()
    if args.clock == "cpu":  # inherited by the worker processes
        os.environ.update(TEACHER_SPEED_CLOCK="cpu", OMP_NUM_THREADS="1")
        import torch

        torch.set_num_threads(1)
    if args.worker:
        name, variant, what, steps = args.worker
        print(json.dumps(_worker(name, variant, what, int(steps))))
        return
    if args.profile:
        print(_profile("ref_64px_b8", 4 if args.quick else 16, 40))
        return
    import torch

    if args.flops:
        rows = [_flops(name, 3 if args.quick else 5) for name in ("ref_64px_b8", "256px_default_b4")]
        print(json.dumps(rows, indent=2))
        return
    results = []
    for name in args.configs.split(","):
        c = CONFIGS[name]
        for what in args.what.split(","):
            if what == "train" and not c["train"]:
                continue
            # train: 3 warm-up steps then a full lazy-regularisation cycle (16 steps: R1 once, PL 4×)
            steps = (4 if args.quick else 16) if what == "train" else (2 if args.quick else 8)
            runs: dict[str, list[dict]] = {v: [] for v in args.variants.split(",")}
            for _ in range(args.repeats):  # ABAB…: drifting machine load hits every variant alike
                for variant in runs:
                    runs[variant].append(_run_worker([name, variant, what, str(steps)]))
                    print(json.dumps(runs[variant][-1]), file=sys.stderr)
            for variant, rs in runs.items():
                ok = [r for r in rs if "error" not in r]
                if not ok:
                    results.append(rs[-1])
                    continue
                ok.sort(key=lambda r: r["images_per_sec"])
                row = dict(ok[len(ok) // 2])
                row["images_per_sec_runs"] = [r["images_per_sec"] for r in rs if "error" not in r]
                results.append(row)

    report = {"benchmark": "teacher_speed", "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
              "cpus": os.cpu_count(), "repeats": args.repeats,
              "clock": "CPU time of the one compute thread" if args.clock == "cpu" else "wall", "results": results}
    emit(report, args.out)


def emit(report: dict, out: str | None) -> None:
    """Print the report as JSON, and write it to ``out`` too when given."""
    text = json.dumps(report, indent=2)
    print(text)
    if out:
        with open(out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
