"""Hostile check: `kill -9` a training run at random moments, again and again, and check nothing is lost.

    python benchmarks/kill_loop.py --work runs/killloop --kills 10

Each round starts (or resumes) `teacher train --preset tiny` and SIGKILLs it after a random delay. After every
kill: every kept state must load with `weights_only=True` and be finite, `model/` must load, and no temp file
may be picked as a state. At the end the run is finished without a kill and compared with an uninterrupted
run of the same length: the weights must be bit-identical. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path


def _cmd(out: Path, steps: int, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "gandistill.cli.main", "teacher", "train", "--preset", "tiny", "--data-n", "16",
           "--out", str(out), "--steps", str(steps), "--snap-every", "2", "--keep", "2", "--no-progress"]
    if resume:
        cmd = [c for c in cmd if c not in ("--preset", "tiny")] + ["--resume", "latest"]
    return cmd


def _check(out: Path) -> dict:
    import torch

    from gandistill.io.state import list_states, load_state
    from gandistill.teacher import Teacher

    states = list_states(out / "checkpoints") if (out / "checkpoints").is_dir() else []
    for _, path in states:
        state = load_state(path)
        for key in ("G", "D", "G_ema"):
            assert all(torch.isfinite(v).all() for v in state[key].values() if v.is_floating_point()), path
    if (out / "model" / "config.json").is_file():
        Teacher.from_pretrained(out / "model")
    return {"states": len(states)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True)
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    import torch

    from gandistill.io.state import list_states, load_state

    rng = random.Random(args.seed)
    work = Path(args.work)
    killed, out = work / "killed", work / "straight"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    tracebacks, kills = 0, 0
    for i in range(args.kills):
        resume = (killed / "checkpoints").is_dir() and bool(list_states(killed / "checkpoints"))
        proc = subprocess.Popen(_cmd(killed, args.steps, resume), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(2.0, 8.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        _, err = proc.communicate()
        tracebacks += "Traceback" in err
        _check(killed)
    finish = subprocess.run(_cmd(killed, args.steps, True), env=env, capture_output=True, text=True)
    straight = subprocess.run(_cmd(out, args.steps, False), env=env, capture_output=True, text=True)
    tracebacks += ("Traceback" in finish.stderr) + ("Traceback" in straight.stderr)
    a = load_state(list_states(killed / "checkpoints")[-1][1])
    b = load_state(list_states(out / "checkpoints")[-1][1])
    same = all(torch.equal(a[k][n], b[k][n]) for k in ("G", "D", "G_ema") for n in a[k])
    print(json.dumps({"kills": kills, "tracebacks": tracebacks, "final_step": int(a["step"]),
                      "bit_identical_to_uninterrupted": same, "finish_rc": finish.returncode}))


if __name__ == "__main__":
    main()
