"""``gandistill data toyfaces|check|align``: make the built-in dataset, validate a folder, or align face photos.

    gandistill data toyfaces --out data/toyfaces --n 2000 --res 64
    gandistill data check data/toyfaces
    gandistill data check pairs/ --paired            # pairs/A + pairs/B
    gandistill data check data/toyfaces/photo data/toyfaces/sketch
    gandistill data check facades/ --side-by-side --res 256
    gandistill data align --input my_photos/ --output aligned/ --size 256 --skip-missing
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import GandistillError
from ..options import add_dataclass_args
from ..train.run_options import ProgressOption


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="generate the toyfaces dataset, check a dataset folder, align face photos",
                       description="Dataset tools: generate the procedural toyfaces dataset, decode every file "
                       "of a folder once and report all problems together, or align face photos the FFHQ way.")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    p.set_defaults(func=lambda a: p.print_help() or 1)

    t = dsub.add_parser(
        "toyfaces", help="write the procedural toyfaces dataset (photo, sketch, seg, audio, captions)",
        description="Write deterministic procedural faces in aligned domains: photo/*.png, sketch/*.png, "
        "seg/*.png (class indices 0-7), audio/*.wav (16 kHz), metadata.jsonl (captions and parameters) and "
        "toyfaces.json. The same --seed gives byte-identical files; face i does not depend on --n.")
    t.add_argument("--out", type=Path, required=True, help="output folder (new, empty, or an earlier toyfaces run)")
    t.add_argument("--n", type=int, default=2000, help="number of faces (default: 2000)")
    t.add_argument("--res", type=int, default=64, help="image size in pixels, square (default: 64)")
    t.add_argument("--seed", type=int, default=0, help="dataset seed (default: 0)")
    t.add_argument("--domains", default="photo,sketch,seg,audio",
                   help="comma-separated subset of photo,sketch,seg,audio to write; photo is required "
                   "(default: all four)")
    t.add_argument("--workers", type=int, default=None, help="worker processes (default: 2, or 1 on a 1-core machine)")
    add_dataclass_args(t, ProgressOption, with_defaults=True)
    t.set_defaults(func=_toyfaces)

    c = dsub.add_parser(
        "check", help="validate an image folder or paired dataset and print a summary",
        description="Decode every image once (plus label maps and audio named in metadata.jsonl) and print counts, "
        "sizes and modes, or one error listing every bad file.")
    c.add_argument("dir", type=Path, help="dataset folder")
    c.add_argument("b_dir", type=Path, nargs="?", default=None,
                   help="optional second folder: check DIR and B_DIR as a paired dataset (matching file names)")
    c.add_argument("--paired", action="store_true", help="DIR holds A/ and B/ subfolders with matching file names")
    c.add_argument("--side-by-side", action="store_true", help="each image in DIR is A and B side by side (width = 2 x height)")
    c.add_argument("--res", type=int, default=64, help="resolution the images would be loaded at (default: 64)")
    c.add_argument("--channels", type=int, default=3, choices=[1, 3], help="colour channels to load (default: 3)")
    c.add_argument("--num-classes", type=int, default=None,
                   help="range-check label maps in metadata.jsonl (default: 8 for a toyfaces folder, else off)")
    c.add_argument("--no-metadata", action="store_true", help="ignore metadata.jsonl and check every image")
    c.add_argument("--max-megapixels", type=float, default=64.0,
                   help="refuse larger images, a decompression-bomb guard (default: 64)")
    c.set_defaults(func=_check)

    a = dsub.add_parser(
        "align", help="FFHQ-style face alignment of photos (optional: needs dlib-bin + face-recognition-models)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Find the face in each photo (dlib), crop it the FFHQ way from its 68 landmarks (eyes level\n"
        "and at fixed places, square crop), pad where the crop runs past the photo, and write one SIZE x SIZE\n"
        "PNG per input (sub-folders kept). Needs the optional packages: pip install dlib-bin\n"
        "face-recognition-models. Alignment is optional: photos can also be used unaligned.\n\n"
        "  gandistill data align --input photo.jpg --output aligned/\n"
        "  gandistill data align --input my_photos/ --output aligned/ --size 256 --skip-missing")
    a.add_argument("--input", type=Path, required=True, help="an image file, or a folder searched recursively "
                   "(png, jpg, jpeg, webp)")
    a.add_argument("--output", type=Path, required=True, help="output folder for the aligned PNGs (created)")
    a.add_argument("--size", type=int, default=256, help="output width and height in pixels (default: 256)")
    a.add_argument("--face", default="largest", type=_face_choice, metavar="largest|all|N",
                   help="which face of a photo with several: 'largest', 'all' (writes NAME_0.png, NAME_1.png, ... "
                   "largest first) or an index N, 0 = largest (default: largest)")
    a.add_argument("--pad", default="blur", choices=["blur", "reflect", "edge", "constant"],
                   help="how to fill where the crop runs past the photo: blur (mirror, blurred and faded to the "
                   "median colour, as FFHQ does; no second set of hair or shoulders), reflect (plain mirror), "
                   "edge (repeat the edge pixels) or constant (black) (default: blur)")
    a.add_argument("--skip-missing", action="store_true",
                   help="report images where no face is found and go on, instead of stopping at the first one")
    add_dataclass_args(a, ProgressOption, with_defaults=True)
    a.set_defaults(func=_align)


def _face_choice(text: str) -> str | int:
    if text in ("largest", "all"):
        return text
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"expected largest, all or a face index 0, 1, ..., got {text!r}")


def _toyfaces(args: argparse.Namespace) -> int:
    from ..data.toyfaces.generate import check_domains, default_workers, generate_toyfaces

    domains = [d.strip() for d in args.domains.split(",") if d.strip()]
    try:
        domains = check_domains(domains)
    except ValueError as exc:
        raise GandistillError(f"--domains: {exc}") from None
    if args.n < 1 or args.res < 8:
        raise GandistillError(f"--n must be >= 1 and --res >= 8 (got --n {args.n} --res {args.res})")
    workers = default_workers() if args.workers is None else args.workers
    out = generate_toyfaces(args.out, args.n, args.res, seed=args.seed, domains=domains,
                            progress=args.progress, workers=workers)
    print(f"wrote {args.n} toyfaces at {args.res}px ({', '.join(domains)}) to {out}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..data.folder import ImageFolderDataset
    from ..data.paired import PairedImageDataset
    from ..data.toyfaces import MANIFEST, SEG_CLASSES

    max_pixels = int(args.max_megapixels * 1e6)
    if args.b_dir is not None or args.paired or args.side_by_side:
        root = (args.dir, args.b_dir) if args.b_dir is not None else args.dir
        ds = PairedImageDataset(root, args.res, mode="side_by_side" if args.side_by_side else "folders",
                                channels=args.channels, max_pixels=max_pixels)
        summary = ds.validate()
    else:
        ds = ImageFolderDataset(args.dir, args.res, channels=args.channels, metadata=not args.no_metadata,
                                max_pixels=max_pixels)
        num_classes = args.num_classes
        if num_classes is None and (args.dir / MANIFEST).is_file():
            num_classes = len(SEG_CLASSES)
        summary = ds.validate(num_classes=num_classes)
    print(summary)
    return 0


def _align(args: argparse.Namespace) -> int:
    from ..data.align import align_folder

    if args.size < 1:
        raise GandistillError(f"--size must be >= 1 (got {args.size})")
    summary = align_folder(args.input, args.output, size=args.size, skip_missing=args.skip_missing,
                           face=args.face, pad_mode=args.pad, progress=args.progress)
    print(f"{summary} (output: {args.output})")
    return 0
