"""Triplet sampler speed: triplets/second with and without prefix sharing, and the cost of one
triplet batch relative to one synthesis pass of the same batch size.

    python benchmarks/triplet_speed.py [--quick] [--teacher runs/teacher32/model] [--out results.json]

A triplet is x1, x2 and y: without sharing it costs 3 synthesis passes (plus mapping). With
sharing x1 and x2 run as one batch and y resumes from x1's state after the blocks below k, so it
costs 2 + (fraction of synthesis compute above k) passes. x1 and x2 must be rendered in full, so
the MAC floor is 2 + (MACs of y above k) / (MACs of a pass): 2.79 passes at 32 px with the default
k range, 1.79 without x2 (X2I). ``ratio_to_floor`` = measured passes / floor. Measured on CPU, one
thread, CPU time of that thread (so waiting for a loaded machine does not count): every case is timed
right after one plain pass, and the median over interleaved rounds of
that ratio is reported (the machine is shared and noisy). Speed does not depend on the weights, so configs without a
teacher directory use random weights.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time

import torch

CONFIGS = {
    "32px_64ch": dict(resolution=32, channel_base=2048, channel_max=64, z_dim=64, w_dim=64, mapping_layers=4),
    "128px_128ch": dict(resolution=128, channel_base=16384, channel_max=128, z_dim=128, w_dim=128, mapping_layers=4),
}


CLOCK = time.thread_time  # CPU time of this (single compute) thread: immune to waiting for a busy CPU


def _time(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = CLOCK()
        fn()
        out.append(CLOCK() - t)
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


def bench(G, batch: int, repeats: int, all_k: bool = True) -> dict:
    from gandistill.kdit.triplets import default_k_range, synthesize_triplets

    num_ws = G.num_ws
    gen = torch.Generator().manual_seed(0)
    w1 = G.mapping(torch.randn(batch, G.z_dim, generator=gen))
    w2 = G.mapping(torch.randn(batch, G.z_dim, generator=gen))
    lo, hi = default_k_range(num_ws)
    cases = {"default_range": torch.randint(lo, hi + 1, (batch,), generator=gen)}
    if all_k:
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
    with torch.inference_mode():
        for fn in fns.values():  # warm-up
            fn()
        times: dict[str, list[float]] = {n: [] for n in fns}
        ratios: dict[str, list[float]] = {n: [] for n in fns if n != "pass"}
        for _ in range(repeats):  # interleaved so drifting machine load hits every variant alike
            for n in ratios:
                # a pass right before each case: the cost in passes is a ratio of neighbours in time
                p, t = _time(fns["pass"], 1)[0], _time(fns[n], 1)[0]
                times["pass"].append(p)
                times[n].append(t)
                ratios[n].append(t / p)
    best = {n: min(t) for n, t in times.items()}  # min: least disturbed by other processes
    # passes: the median over rounds of the per-round ratio, robust to load drifting between rounds
    pairs = ratios
    result = {"num_ws": num_ws, "batch": batch, "k_range": [lo, hi], "pass_ms": 1000 * best["pass"], "cases": {}}
    for name in list(cases) + ["default_range_no_x2"]:
        s, u = best[f"{name}/shared"], best[f"{name}/unshared"]
        ks = cases["default_range" if name.startswith("default") else name].tolist()
        x2 = not name.endswith("no_x2")
        ideal = sum(ideal_passes(G, k, x2) for k in ks) / len(ks)
        shared = statistics.median(pairs[f"{name}/shared"])
        result["cases"][name] = {
            "passes_ideal_macs": ideal,
            "triplets_per_s_shared": batch / s, "triplets_per_s_unshared": batch / u,
            "passes_shared": shared, "passes_unshared": statistics.median(pairs[f"{name}/unshared"]),
            "passes_shared_min": s / best["pass"], "speedup": u / s,
            "ratio_to_floor": shared / ideal,
        }
    return result



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="32 px only, fewer repeats")
    ap.add_argument("--teacher", default=None, help="teacher model directory (replaces the 32 px random config)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="cpu: this thread's CPU time (default; with 1 thread it ignores time spent waiting for a "
                         "loaded machine), wall: elapsed time")
    ap.add_argument("--default-k-only", action="store_true", help="time only the default k range (I2I and X2I)")
    ap.add_argument("--out", default=None, help="write the JSON here too")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    global CLOCK
    if args.clock == "wall" or args.threads > 1:  # other threads' work is not in this thread's CPU time
        CLOCK = time.perf_counter
    from gandistill.teacher import Generator, StyleGAN2Config
    from gandistill.utils.inference import prepare_for_inference

    repeats = args.repeats or (5 if args.quick else 15)
    results = {"machine": {"platform": platform.platform(), "python": sys.version.split()[0],
                           "torch": torch.__version__, "threads": args.threads, "device": "cpu"},
               "protocol": f"{repeats} interleaved rounds (each case right after one pass; passes = median of the "
                           f"per-round ratios), {'CPU' if CLOCK is time.thread_time else 'wall'} time, "
                           f"noise_mode=const, batch {args.batch}",
               "configs": {}}
    names = ["32px_64ch"] if args.quick else list(CONFIGS)
    for name in names:
        if name == "32px_64ch" and args.teacher:
            G, label = Generator.from_pretrained(args.teacher), f"teacher:{args.teacher}"
        else:
            torch.manual_seed(0)
            G, label = Generator(StyleGAN2Config(**CONFIGS[name])), name
        G = prepare_for_inference(G)  # what TripletSampler does: eval + channels-last
        batch = args.batch if G.resolution <= 64 else max(1, args.batch // 4)
        results["configs"][label] = bench(G, batch, repeats, not args.default_k_only)
        r = results["configs"][label]
        d = r["cases"]["default_range"]
        x = r["cases"]["default_range_no_x2"]
        print(f"{label}: one pass {r['pass_ms']:.1f} ms for {batch}; default k∈{r['k_range']}: I2I "
              f"{d['passes_shared']:.2f} passes (floor {d['passes_ideal_macs']:.2f}, ratio {d['ratio_to_floor']:.3f}; "
              f"unshared {d['passes_unshared']:.2f}), X2I {x['passes_shared']:.2f} (floor "
              f"{x['passes_ideal_macs']:.2f}, ratio {x['ratio_to_floor']:.3f})", file=sys.stderr)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
