"""Side by side with NVlabs stylegan2-ada-pytorch: training steps and sampling at the speed issue's reference options.

    git clone https://github.com/NVlabs/stylegan2-ada-pytorch /tmp/sg2ada     # outside this repository
    python benchmarks/nvlabs_reference.py --src /tmp/sg2ada [--configs ref_64px_b8,ref_32px_b8] [--repeats 3]

Their code is imported from ``--src`` at run time and never copied here (it is under a non-commercial
licence). Both sides run in their own processes, alternating (ours, theirs, ours, …), on one thread,
timed by the compute thread's CPU time (``teacher_speed.py --clock cpu``), so a loaded machine slows
both alike; the median of the repeats is reported with the ratio ours / theirs.

Options (both sides): z = w = 512, 8 mapping layers, 64 channels at every resolution, lazy R1 γ 10 every
16 steps, path length weight 2 every 4 steps (half batch), style mixing 0.9, no augmentation, batch 8,
float32 everywhere (their fp16 layers and conv clamping off, which is what they do on CPU anyway), Adam
lr 0.0025 β (0, 0.99) with the lazy-regularisation correction, EMA. Training is averaged over a whole
16-step cycle after 3 warm-up steps; sampling is G(z) with constant noise in eval mode (their fused
modulated conv, ours channels-last under inference_mode).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from teacher_speed import CONFIGS, _run_worker, _split, emit  # noqa: E402  (ours: the same workers as teacher_speed)

SAMPLE_CONFIGS = ("ref_64px_b8", "256px_default_b4")


def _their_networks(name: str):
    import torch
    from training.networks import Discriminator, Generator

    c, batch, _ = _split(name)
    common = dict(channel_base=c["channel_base"], channel_max=c["channel_max"], num_fp16_res=0, conv_clamp=None)
    torch.manual_seed(0)
    G = Generator(z_dim=c["z_dim"], c_dim=0, w_dim=c["w_dim"], img_resolution=c["resolution"], img_channels=3,
                  mapping_kwargs=dict(num_layers=c["mapping_layers"]), synthesis_kwargs=common)
    D = Discriminator(c_dim=0, img_resolution=c["resolution"], img_channels=3, epilogue_kwargs=dict(mbstd_group_size=4),
                      **common)
    return G, D, c, batch


def _their_train(name: str, steps: int, warmup: int = 3) -> dict:
    """Images/s of their loss phases driven the way their training loop drives them (Gmain, Greg every 4,
    Dmain, Dreg every 16, optimiser steps, EMA), on synthetic reals."""
    import torch
    from training.loss import StyleGAN2Loss

    G, D, c, batch = _their_networks(name)
    G.train().requires_grad_(False)
    D.train().requires_grad_(False)
    G_ema = copy.deepcopy(G).eval()
    loss = StyleGAN2Loss(device=torch.device("cpu"), G_mapping=G.mapping, G_synthesis=G.synthesis, D=D,
                         style_mixing_prob=0.9, r1_gamma=10.0, pl_weight=2.0)
    phases = []
    for prefix, module, interval in (("G", G, 4), ("D", D, 16)):
        ratio = interval / (interval + 1)
        opt = torch.optim.Adam(module.parameters(), lr=0.0025 * ratio, betas=(0.0, 0.99 ** ratio), eps=1e-8)
        phases += [(prefix + "main", module, opt, 1), (prefix + "reg", module, opt, interval)]
    reals = torch.rand(64, 3, c["resolution"], c["resolution"]) * 2 - 1
    labels = torch.zeros(batch, 0)
    ema_nimg = batch * 10 / 32 * 1000
    clock = time.thread_time
    times = []
    for step in range(warmup + steps):
        t = clock()
        real = reals[torch.randint(len(reals), (batch,))]
        all_z = torch.randn(len(phases), batch, c["z_dim"])
        for (phase, module, opt, interval), z in zip(phases, all_z):
            if step % interval:
                continue
            opt.zero_grad(set_to_none=True)
            module.requires_grad_(True)
            loss.accumulate_gradients(phase=phase, real_img=real, real_c=labels, gen_z=z, gen_c=labels, sync=True,
                                      gain=interval)
            module.requires_grad_(False)
            for p in module.parameters():
                if p.grad is not None:
                    torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
            opt.step()
        beta = 0.5 ** (batch / max(min(ema_nimg, (step + 1) * batch * 0.05), 1e-8))
        with torch.no_grad():
            for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                p_ema.copy_(p.lerp(p_ema, beta))
            for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                b_ema.copy_(b)
        times.append(clock() - t)
    return {"images_per_sec": round(batch * steps / sum(times[warmup:]), 2)}


def _their_sample(name: str, steps: int) -> dict:
    import torch

    G, _, c, batch = _their_networks(name)
    G.eval()
    z, labels = torch.randn(batch, c["z_dim"]), torch.zeros(batch, 0)
    with torch.no_grad():
        for _ in range(2):
            G(z, labels, noise_mode="const")
        t = time.thread_time()
        for _ in range(steps):
            G(z, labels, noise_mode="const")
        dt = time.thread_time() - t
    return {"images_per_sec": round(batch * steps / dt, 2)}


def _run_theirs(src: str, name: str, what: str, steps: int) -> dict:
    env = {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, __file__, "--worker", name, what, str(steps)], capture_output=True,
                          text=True, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr[-800:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", help="a checkout of NVlabs/stylegan2-ada-pytorch (outside this repository)")
    ap.add_argument("--configs", default="ref_64px_b8,ref_32px_b8", help="training configs (teacher_speed names)")
    ap.add_argument("--sample-configs", default=",".join(SAMPLE_CONFIGS), help="sampling configs ('' for none)")
    ap.add_argument("--repeats", type=int, default=3, help="alternating repeats per side (median reported)")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    ap.add_argument("--worker", nargs=3, metavar=("CONFIG", "WHAT", "STEPS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    if args.worker:
        try:  # their dnnlib imports requests for URL downloads, which are never made here
            import requests  # noqa: F401
        except ImportError:
            sys.modules["requests"] = types.ModuleType("requests")
        name, what, steps = args.worker
        fn = _their_train if what == "train" else _their_sample
        print(json.dumps(fn(name, int(steps))))
        return
    if not args.src or not os.path.isfile(os.path.join(args.src, "training", "networks.py")):
        raise SystemExit(f"--src {args.src!r}: not a stylegan2-ada-pytorch checkout (training/networks.py "
                         "missing); clone https://github.com/NVlabs/stylegan2-ada-pytorch outside this repository")
    os.environ.update(TEACHER_SPEED_CLOCK="cpu", OMP_NUM_THREADS="1")  # our workers: same clock, one thread
    jobs = [(n, "train", 16) for n in args.configs.split(",") if n] + \
           [(n, "sample", 8 if CONFIGS[n]["resolution"] <= 64 else 2) for n in args.sample_configs.split(",") if n]
    results = []
    for name, what, steps in jobs:
        ours, theirs = [], []
        for _ in range(args.repeats):  # alternate: drifting load hits both sides alike
            ours.append(_run_worker([name, "channels_last", what, str(steps)]))
            theirs.append(_run_theirs(args.src, name, what, steps))
            print(json.dumps({"config": name, "what": what, "ours": ours[-1].get("images_per_sec", ours[-1]),
                              "nvlabs": theirs[-1].get("images_per_sec", theirs[-1])}), file=sys.stderr)
        a = sorted(r["images_per_sec"] for r in ours if "images_per_sec" in r)
        b = sorted(r["images_per_sec"] for r in theirs if "images_per_sec" in r)
        row = {"config": name, "what": what, "ours_images_per_sec_runs": a, "nvlabs_images_per_sec_runs": b}
        if a and b:
            row.update(ours_images_per_sec=a[len(a) // 2], nvlabs_images_per_sec=b[len(b) // 2],
                       ratio=round(a[len(a) // 2] / b[len(b) // 2], 2))
        else:
            row["error"] = next((r["error"] for r in ours + theirs if "error" in r), "no result")
        results.append(row)
    report = {"benchmark": "nvlabs_reference", "torch": torch.__version__, "threads": 1,
              "clock": "CPU time of the one compute thread", "repeats": args.repeats, "results": results}
    emit(report, args.out)


if __name__ == "__main__":
    main()
