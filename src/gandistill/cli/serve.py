"""``gandistill serve``: a local web page that runs trained students on uploaded inputs.

    gandistill serve --models runs/                          # then open http://127.0.0.1:7860
    gandistill serve --models runs/ teachers/ --port 8080 --max-upload-mb 5 --device cuda

The page lists only model directories found under --models (config.json class I2IStudent,
X2IStudent, UNetTranslator or ResNetTranslator); it never opens a path typed into it. Needs the
`web` extra (gradio), which `bash dev.sh setup` installs.
"""
from __future__ import annotations

import argparse
import signal
import sys
import time

from ..errors import DataError
from ..options import DeviceOption, add_dataclass_args


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve", help="a local web page (Gradio) that translates uploaded photos / label maps / captions / audio",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", required=True, metavar="DIR",
                   help="folders scanned (recursively) for model directories; a folder may itself be one")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; 0.0.0.0 makes the page reachable from other machines "
                        "(default: %(default)s)")
    p.add_argument("--port", type=int, default=7860, help="TCP port to listen on (default: %(default)s)")
    p.add_argument("--max-upload-mb", type=float, default=10.0, metavar="MB",
                   help="largest accepted upload in megabytes; images are also limited to 16.8 megapixels "
                        "and audio clips to 30 s (default: %(default)s)")
    add_dataclass_args(p, DeviceOption, with_defaults=True)
    p.add_argument("--cache-models", type=int, default=3, metavar="N",
                   help="how many loaded models to keep in memory (default: %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..serve import ModelRegistry, Translator, UploadLimits
    from ..utils.dist import resolve_device

    if not 0 < args.port < 65536:
        raise DataError(f"--port must be in 1..65535, got {args.port}")
    try:
        device = str(resolve_device(args.device))
    except RuntimeError as exc:
        raise DataError(str(exc)) from None
    registry = ModelRegistry(args.models, device=device, cache_size=args.cache_models)
    if not registry.labels:
        raise DataError(f"no servable model directory under {' '.join(args.models)} (looked for config.json with "
                        "class I2IStudent, X2IStudent, UNetTranslator or ResNetTranslator)")
    limits = UploadLimits.from_mb(args.max_upload_mb)
    try:
        from ..serve.app import build_app, launch
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "gradio":
            raise DataError("`gandistill serve` needs gradio: `pip install -c constraints.txt -r requirements.txt` "
                            "(or `bash dev.sh setup`)") from None
        raise
    app = build_app(Translator(registry, limits))
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` closes the server the way Ctrl-C does (uploads removed)
    try:
        launch(app, args.host, args.port, limits.max_bytes, block=False)
    except OSError as exc:
        raise DataError(f"cannot listen on {args.host}:{args.port} ({exc}); choose another --port") from None
    print(f"serving {len(registry.labels)} model(s) on http://{args.host}:{args.port} (Ctrl-C stops)",
          file=sys.stderr)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        print("stopping the server", file=sys.stderr)
    finally:
        app.close()
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
