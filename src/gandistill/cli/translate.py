"""``gandistill translate``: run a trained student on images, label maps, captions or audio clips.

Dispatches on the kind that the model directory's class registered (``gandistill.io.registry``): each
kind of student has one runner below.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

from ..data.inputs import parse_size
from ..errors import DataError
from ..options import DeviceOption, add_dataclass_args
from ..train.run_options import ProgressOption

Runner = Callable[[str, argparse.Namespace], list]


def _device(args):
    from ..utils.dist import resolve_device

    return resolve_device(args.device)


def _run_i2i(model_dir: str, args: argparse.Namespace) -> list:
    from ..kdit.i2i import I2IStudent
    from ..kdit.translate import translate_images

    if not args.input:
        raise DataError("this is an image-to-image model: pass --input IMG|DIR (and optionally --reference IMG)")
    model = I2IStudent.from_pretrained(model_dir)
    return translate_images(model, args.input, args.output, args.reference, args.k, args.batch, args.seed,
                            _device(args), args.progress, size=parse_size(args.size))


def _run_x2i(model_dir: str, args: argparse.Namespace) -> list:
    from ..kdit.translate import translate_audio, translate_texts
    from ..kdit.x2i import X2IStudent

    model = X2IStudent.from_pretrained(model_dir)
    cond = model.config.condition
    size = parse_size(args.size)
    if size == "input":
        raise DataError(f"--size input needs image inputs; this model is conditioned on {cond}: pass --size N")
    common = dict(samples=args.samples, batch=args.batch, seed=args.seed, device=_device(args),
                  progress=args.progress, size=size)
    if cond == "text":
        if not args.text:
            raise DataError("this model is conditioned on text: pass --text \"a caption\" (repeatable)")
        return translate_texts(model, args.text, args.output, **common)
    if cond == "audio":
        if not args.audio:
            raise DataError("this model is conditioned on audio: pass --audio FILE.wav|DIR")
        return translate_audio(model, args.audio, args.output, **common)
    raise DataError(f"{model_dir} is a distilled image-conditioned X2I student (before fine-tuning); fine-tune it "
                    "for a modality with `gandistill kdit finetune --modality text|audio`")


def _run_gpd(model_dir: str, args: argparse.Namespace) -> list:
    from ..gpd.translate import export_student, translate_gpd

    if args.export:
        path = export_student(model_dir, args.export, Path(args.output) / ("student.ts.pt" if args.export == "torchscript"
                                                                           else "student.onnx"))
        print(f"exported the student to {path}")
        return []
    if not args.input:
        raise DataError("this is a GPD image-to-image student: pass --input IMG|DIR")
    if args.reference:
        raise DataError("a GPD student takes no --reference: its style is fixed by training; drop --reference")
    return translate_gpd(model_dir, args.input, args.output, batch_size=args.batch, device=args.device,
                         progress=args.progress, size=parse_size(args.size))


#: registry kind → runner(model_dir, args) -> written paths
RUNNERS: dict[str, Runner] = {"kdit-i2i": _run_i2i, "kdit-x2i": _run_x2i, "gpd-student": _run_gpd}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("translate", help="translate images / label maps / captions / audio with a student",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Run a trained student model on inputs; one PNG per input, named after it\n"
                       "and keeping the inputs' folder layout (a folder input is the root; files from several\n"
                       "folders keep their paths below the folders' common parent). A run whose outputs would\n"
                       "overwrite an input or each other is refused. Inputs are centre-cropped and resized to the\n"
                       "model's resolution (one warning line names them); --size sets the output size.\n\n"
                       "  gandistill translate --model runs/ft-image/model --input sketches/ --reference ref.png "
                       "--output out/\n"
                       "  gandistill translate --model runs/ft-image/model --input test/A --reference test/refs "
                       "--size input --output out/\n"
                       "  gandistill translate --model runs/ft-text/model --text \"a smiling face\" --output out/\n"
                       "  gandistill translate --model runs/ft-audio/model --audio clip.wav --output out/")
    p.add_argument("--model", required=True, help="student model directory (config.json + model.safetensors)")
    p.add_argument("--input", nargs="+", help="I2I models: input image(s), label map(s) (integer-index PNG) or "
                   "folder(s) of them")
    p.add_argument("--reference", help="I2I: appearance reference image for every input, or a folder with one per "
                   "input matched by file name (default: appearance from seeded noise)")
    p.add_argument("--k", type=int, default=None, help="I2I: crossover layer, ws rows ≥ k come from the reference, "
                   "0 … num_ws (default: the model's own)")
    p.add_argument("--text", action="append", help="text models: a caption in quotes (repeat for several)")
    p.add_argument("--audio", nargs="+", help="audio models: WAV file(s) (16 kHz mono) or folder(s) of them")
    p.add_argument("--samples", type=int, default=1, help="text/audio models: images per caption or clip, each with "
                   "different noise (default: 1)")
    p.add_argument("--output", required=True, help="output folder (created; not inside an input folder); one PNG "
                   "per input")
    p.add_argument("--size", default=None, metavar="N|input", help="output side in pixels, or 'input' for each "
                   "input's own size (its centre square), e.g. to compare with ground truth (default: the "
                   "model's resolution)")
    p.add_argument("--batch", type=int, default=16, help="inputs per forward pass (default: 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of the appearance / noise (default: 0)")
    add_dataclass_args(p, DeviceOption, with_defaults=True)
    add_dataclass_args(p, ProgressOption, with_defaults=True)
    p.add_argument("--export", choices=["torchscript", "onnx"], default=None,
                   help="GPD students: write the network for deployment into --output (student.ts.pt / student.onnx) "
                   "instead of translating")
    p.set_defaults(func=_translate)


def _translate(args: argparse.Namespace) -> int:
    from ..models import resolve_model

    kind = resolve_model(args.model, RUNNERS, "a student", "`translate`").model_kind
    if args.export and kind != "gpd-student":
        raise DataError(f"--export supports GPD students; {args.model} holds a {kind} model")
    written = RUNNERS[kind](args.model, args)
    print(f"wrote {len(written)} images to {args.output}")
    return 0
