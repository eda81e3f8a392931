"""Inference with a GPD student (``gandistill translate --model STUDENT``), the teacher route
(project into G_T, render with G_target) and export to TorchScript / ONNX.

    from gandistill.gpd import translate_gpd
    paths = translate_gpd("runs/student/model", "photos/", "out/", batch_size=32)
    export_student("runs/student/model", "torchscript")     # → runs/student/model/student.ts.pt
"""
from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import torch

from ..data.inputs import input_entries, load_image_batch, output_paths, output_side, save_output, warn_if_resized
from ..errors import GandistillError
from ..utils.dist import resolve_device
from ..utils.images import to_uint8
from ..utils.inference import inference, prepare_for_inference
from ..utils.logging import progress_bar
from .common import NOISE_MODE
from .config import ProjectConfig
from .networks import load_translator
from .project import project

ONNX_MODULES = ("onnx", "onnxscript", "onnx_ir")  # torch.onnx.export (dynamo exporter) imports all three


@inference
def translate_gpd(model_dir: str | Path, inputs, output: str | Path, batch_size: int = 16,
                  device: str = "auto", progress: bool = True, resolution: int | None = None,
                  size: int | str | None = None) -> list[Path]:
    """Translate an image, a folder or a list of images with a GPD student; writes ``<output>/<name>.png``
    (the inputs' folder layout is kept, see ``gandistill.data.inputs``).

    Inputs are centre-cropped and resized to ``resolution`` (default: the student's training resolution;
    one warning line names the resized files); outputs are written at that resolution, at ``size``
    pixels, or at each input's own size (``size="input"``).
    """
    dev = resolve_device(device)
    S = prepare_for_inference(load_translator(model_dir), dev)
    res = resolution or S.config.resolution
    if res % S.multiple:
        raise GandistillError(f"resolution {res} must be divisible by {S.multiple} for this student")
    entries = input_entries(inputs)
    files = [f for f, _ in entries]
    paths = [p[0] for p in output_paths(entries, output, inputs)]
    warn_if_resized(files, res)
    written = []
    bar = progress_bar(len(files), desc="translate", enabled=progress, unit="img")
    for i in range(0, len(files), batch_size):
        chunk = files[i:i + batch_size]
        y = to_uint8(S(load_image_batch(chunk, res, S.config.in_channels).to(dev)))
        for f, path, img in zip(chunk, paths[i:i + batch_size], y):
            save_output(img, path, output_side(size, f, res))
            written.append(path)
        bar.update(len(chunk))
    bar.close()
    return written


def teacher_route(G_T, G_target, images: torch.Tensor, cfg: ProjectConfig | None = None, D_T=None,
                  progress: bool = False) -> tuple[torch.Tensor, dict]:
    """Translate by optimisation: project ``images`` into G_T's W+, render the latents with G_target.

    The networks are prepared for inference (eval, channels-last) in place; projection optimises only w.
    """
    for net in (G_T, G_target, D_T):
        if net is not None:
            prepare_for_inference(net)
    ws, quality = project(G_T, images, cfg, D=D_T, progress=progress)
    return _render(G_target, ws), quality


@inference
def _render(G, ws: torch.Tensor) -> torch.Tensor:
    return torch.cat([G.synthesis(w, noise_mode=NOISE_MODE) for w in ws.split(32)])


def export_student(model_dir: str | Path, fmt: str = "torchscript", out: str | Path | None = None,
                   resolution: int | None = None) -> Path:
    """Export a GPD student for deployment: ``torchscript`` (traced) or ``onnx`` (needs the onnx package).

    The graph is traced at ``resolution`` (default: the training resolution): feed images of that size.
    """
    S = load_translator(model_dir).eval()
    res = resolution or S.config.resolution
    example = torch.zeros(1, S.config.in_channels, res, res)
    model_dir = Path(model_dir)
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    if fmt == "torchscript":
        path = Path(out) if out else model_dir / "student.ts.pt"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # shape checks become constants: the export is for this size
            traced = torch.jit.trace(S, example, check_trace=False)
        traced.save(str(path))
        return path
    if fmt == "onnx":
        missing = [m for m in ONNX_MODULES if importlib.util.find_spec(m) is None]
        if missing:
            raise GandistillError(f"ONNX export needs {', '.join(ONNX_MODULES)}; missing: {', '.join(missing)} — "
                                  "pip install 'gandistill[onnx]' (or use --export torchscript, which needs nothing "
                                  "extra)")
        path = Path(out) if out else model_dir / "student.onnx"
        torch.onnx.export(S, example, str(path), input_names=["image"], output_names=["translated"],
                          dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                        "translated": {0: "batch", 2: "height", 3: "width"}})
        return path
    raise GandistillError(f"unknown export format {fmt!r}; choose torchscript or onnx")
