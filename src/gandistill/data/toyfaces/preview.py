"""Preview grids of toyfaces for the docs.

    python -m gandistill.data.toyfaces.preview docs/images --res 64
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from .params import sample_params
from .rendering import render
from .seg import seg_to_rgb


def image_grid(images: list[np.ndarray], cols: int, pad: int = 2, fill: int = 255) -> np.ndarray:
    """Tile equally sized (H, W, 3) uint8 images into one image, ``cols`` per row."""
    h, w = images[0].shape[:2]
    rows = (len(images) + cols - 1) // cols
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), fill, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = im
    return grid


def photo_grid(n: int = 64, res: int = 64, seed: int = 0, cols: int = 8) -> np.ndarray:
    return image_grid([render(sample_params(seed, i), res, ("photo",))["photo"] for i in range(n)], cols)


def domains_grid(n: int = 16, res: int = 64, seed: int = 0, cols: int = 2) -> np.ndarray:
    """Rows of photo | sketch | coloured seg triplets, ``cols`` triplets per row."""
    tiles = []
    for i in range(n):
        out = render(sample_params(seed, i), res, ("photo", "sketch", "seg"))
        tiles.append(np.concatenate([out["photo"], out["sketch"], seg_to_rgb(out["seg"])], axis=1))
    return image_grid(tiles, cols, pad=4)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write toyfaces preview grids (photos; photo|sketch|seg).")
    ap.add_argument("out", type=Path, help="folder for toyfaces_photo_grid.png and toyfaces_domains.png")
    ap.add_argument("--res", type=int, default=64, help="face resolution in pixels")
    ap.add_argument("--seed", type=int, default=0, help="dataset seed")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo_grid(64, args.res, args.seed)).save(args.out / "toyfaces_photo_grid.png")
    Image.fromarray(domains_grid(16, args.res, args.seed, cols=2)).save(args.out / "toyfaces_domains.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
