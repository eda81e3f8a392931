"""Triplet sampler speed: triplets/second with and without prefix sharing, and the cost of one
triplet batch relative to one synthesis pass of the same batch size.

    python benchmarks/triplet_speed.py [--quick] [--teacher runs/teacher32/model] [--out results.json]

A triplet is x1, x2 and y: without sharing it costs 3 synthesis passes (plus mapping). With
sharing x1 and x2 run as one batch and y resumes from x1's state after the blocks below k, so it
costs 2 + (fraction of synthesis compute above k) passes. The lower bound is 2 passes: x1 and x2
must be rendered in full. Measured on CPU, one thread, minimum over interleaved repeats (the
machine is shared and noisy). Speed does not depend on the weights, so configs without a
teacher directory use random weights.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import torch

CONFIGS = {
    "32px_64ch": dict(resolution=32, channel_base=2048, channel_max=64, z_dim=64, w_dim=64, mapping_layers=4),
    "128px_128ch": dict(resolution=128, channel_base=16384, channel_max=128, z_dim=128, w_dim=128, mapping_layers=4),
}


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def block_macs(G) -> list[float]:
    """Multiply-accumulates per sample of each synthesis block, split as (convs, toRGB)."""
    out = []
    for blk in G.synthesis.blocks:
        r, c = blk.resolution, blk.conv1.conv.weight.shape[0]
        convs = r * r * c * c * 9
        if blk.index > 0:
            convs += r * r * blk.conv0.conv.weight.shape[1] * c * 9
        out.append((float(convs), float(r * r * c * G.img_channels)))
    return out


def ideal_passes(G, k: int, render_x2: bool = True) -> float:
    """Triplet cost in synthesis passes if time were proportional to MACs (the shared-prefix bound)."""
    macs = block_macs(G)
    total = sum(a + b for a, b in macs)
    s = k // 2
    y = sum(a + b for a, b in macs[s:])
    if k % 2 == 1 and s < len(macs):
        y -= macs[s][0]  # block s: convs shared, toRGB re-run
    return (2.0 if render_x2 else 1.0) + y / total


def bench(G, batch: int, repeats: int) -> dict:
    from gandistill.kdit.triplets import default_k_range, synthesize_triplets

    num_ws = G.num_ws
    gen = torch.Generator().manual_seed(0)
    w1 = G.mapping(torch.randn(batch, G.z_dim, generator=gen))
    w2 = G.mapping(torch.randn(batch, G.z_dim, generator=gen))
    lo, hi = default_k_range(num_ws)
    cases = {"default_range": torch.randint(lo, hi + 1, (batch,), generator=gen)}
    cases.update({f"k={k}": torch.full((batch,), k) for k in range(0, num_ws + 1, 1)})
    fns = {"pass": lambda: G.synthesis(w1, noise_mode="const")}
    for name, k in cases.items():
        fns[f"{name}/shared"] = lambda k=k: synthesize_triplets(G, w1, w2, k, share_prefix=True)
        fns[f"{name}/unshared"] = lambda k=k: synthesize_triplets(G, w1, w2, k, share_prefix=False)
    # X2I distillation never looks at x2 (paper Fig. 2c): x1 + y only.
    fns["default_range_no_x2/shared"] = lambda: synthesize_triplets(G, w1, w2, cases["default_range"],
                                                                    render_x2=False)
    fns["default_range_no_x2/unshared"] = lambda: synthesize_triplets(G, w1, w2, cases["default_range"],
                                                                      share_prefix=False, render_x2=False)
    with torch.no_grad():
        for fn in fns.values():  # warm-up
            fn()
        times: dict[str, list[float]] = {n: [] for n in fns}
        for _ in range(repeats):  # interleaved so drifting machine load hits every variant alike
            for n, fn in fns.items():
                times[n] += _time(fn, 1)
    med = {n: min(t) for n, t in times.items()}  # min: least disturbed by other processes
    result = {"num_ws": num_ws, "batch": batch, "k_range": [lo, hi], "pass_ms": 1000 * med["pass"], "cases": {}}
    for name in list(cases) + ["default_range_no_x2"]:
        s, u = med[f"{name}/shared"], med[f"{name}/unshared"]
        ks = cases["default_range" if name.startswith("default") else name].tolist()
        x2 = not name.endswith("no_x2")
        result["cases"][name] = {
            "passes_ideal_macs": sum(ideal_passes(G, k, x2) for k in ks) / len(ks),
            "triplets_per_s_shared": batch / s, "triplets_per_s_unshared": batch / u,
            "passes_shared": s / med["pass"], "passes_unshared": u / med["pass"], "speedup": u / s,
        }
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="32 px only, fewer repeats")
    ap.add_argument("--teacher", default=None, help="teacher model directory (replaces the 32 px random config)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the JSON here too")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from gandistill.teacher import Generator, StyleGAN2Config

    repeats = args.repeats or (5 if args.quick else 15)
    results = {"machine": {"platform": platform.platform(), "python": sys.version.split()[0],
                           "torch": torch.__version__, "threads": args.threads, "device": "cpu"},
               "protocol": f"minimum over {repeats} interleaved repeats, noise_mode=const, batch {args.batch}",
               "configs": {}}
    names = ["32px_64ch"] if args.quick else list(CONFIGS)
    for name in names:
        if name == "32px_64ch" and args.teacher:
            G, label = Generator.from_pretrained(args.teacher).eval(), f"teacher:{args.teacher}"
        else:
            torch.manual_seed(0)
            G, label = Generator(StyleGAN2Config(**CONFIGS[name])).eval(), name
        batch = args.batch if G.resolution <= 64 else max(1, args.batch // 4)
        results["configs"][label] = bench(G, batch, repeats)
        r = results["configs"][label]
        d = r["cases"]["default_range"]
        print(f"{label}: one pass {r['pass_ms']:.1f} ms for {batch}; default k∈{r['k_range']}: "
              f"{d['triplets_per_s_shared']:.1f} triplets/s shared ({d['passes_shared']:.2f} passes) vs "
              f"{d['triplets_per_s_unshared']:.1f} unshared ({d['passes_unshared']:.2f} passes)", file=sys.stderr)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
