"""Face alignment: the FFHQ quad math on synthetic landmarks, and detection with real dlib when installed."""
from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gandistill.cli.main import main
from gandistill.data import align
from gandistill.data.align import (
    CANONICAL_EYES,
    align_face,
    align_folder,
    alignment_quad,
    warp_quad,
)
from gandistill.errors import DataError

# Real aligned face photos live beside the repository (never copied into it); other checkouts may lack them.
FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces128"


def _has_dlib() -> bool:
    try:
        import dlib  # noqa: F401
        align.find_shape_predictor()
    except (ImportError, DataError):
        return False
    return True


needs_dlib = pytest.mark.skipif(not _has_dlib(), reason="optional dlib-bin + face-recognition-models not installed "
                                "(pip install dlib-bin face-recognition-models)")
needs_faces = pytest.mark.skipif(not (FACES / "0000.png").is_file(), reason=f"no face photos at {FACES}")


def _face_landmarks(eye_dist: float = 40.0, mouth_drop: float = 40.0) -> np.ndarray:
    """68 upright landmarks centred on the eye midpoint at (0, 0): only eyes (36-47) and mouth (48-67) matter."""
    lm = np.zeros((68, 2))
    ring = np.stack([np.cos(np.linspace(0, 2 * np.pi, 6, endpoint=False)),
                     np.sin(np.linspace(0, 2 * np.pi, 6, endpoint=False))], 1) * 3.0
    lm[36:42] = ring + (-eye_dist / 2, 0)
    lm[42:48] = ring + (eye_dist / 2, 0)
    lm[48:68] = (0, mouth_drop)
    lm[48], lm[54] = (-0.4 * eye_dist, mouth_drop), (0.4 * eye_dist, mouth_drop)
    return lm


def _similarity(points: np.ndarray, angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return points @ rot.T * scale + np.asarray(shift)


def test_quad_of_an_upright_face_is_the_ffhq_square():
    quad = alignment_quad(_face_landmarks(eye_dist=40, mouth_drop=40))
    # eye distance sets the scale: half-side 2·40; centre 0.1 of the way from the eyes to the mouth
    c, s = np.array([0.0, 4.0]), 80.0
    expected = np.array([c + (-s, -s), c + (-s, s), c + (s, s), c + (s, -s)])
    np.testing.assert_allclose(quad, expected, atol=1e-9)


def test_quad_uses_the_mouth_distance_for_long_faces():
    quad = alignment_quad(_face_landmarks(eye_dist=20, mouth_drop=50))
    assert np.hypot(*(quad[3] - quad[0])) == pytest.approx(2 * 1.8 * 50)


@pytest.mark.parametrize("angle,scale", [(30.0, 1.7), (-75.0, 0.5), (180.0, 2.0)])
def test_quad_follows_rotation_and_scale(angle, scale):
    base = _face_landmarks()
    moved = _similarity(base, angle, scale, (300.0, -20.0))
    np.testing.assert_allclose(alignment_quad(moved), _similarity(alignment_quad(base), angle, scale, (300.0, -20.0)),
                               atol=1e-9)


def test_quad_rejects_other_landmark_layouts():
    with pytest.raises(ValueError, match="68"):
        alignment_quad(np.zeros((5, 2)))


def _dots_image(lm: np.ndarray, size: tuple[int, int], radius: float = 4.0) -> Image.Image:
    """Grey image with a red dot at the left-eye centre and a blue dot at the right-eye centre."""
    arr = np.full((size[1], size[0], 3), 128, np.uint8)
    yy, xx = np.mgrid[: size[1], : size[0]]
    for centre, colour in ((lm[36:42].mean(0), (255, 0, 0)), (lm[42:48].mean(0), (0, 0, 255))):
        arr[(xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius**2] = colour
    return Image.fromarray(arr)


def _centroid(arr: np.ndarray, channel: int, near: tuple[float, float]) -> np.ndarray:
    """Centre of the pure-colour dot within 15% of the output size of ``near`` (mirrored padding repeats dots)."""
    others = [c for c in range(3) if c != channel]
    size = arr.shape[0]
    yy, xx = np.mgrid[:size, :size]
    mask = (arr[..., channel] > 200) & (arr[..., others[0]] < 80) & (arr[..., others[1]] < 80)
    mask &= np.hypot(xx - near[0] * size, yy - near[1] * size) < 0.15 * size
    assert mask.any(), "dot not found near its expected place in the aligned image"
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


@pytest.mark.parametrize("pad_mode", ["reflect", "edge", "constant", "blur"])
def test_rotated_face_comes_out_upright_with_eyes_at_the_canonical_places(pad_mode):
    # a face turned 35° and scaled 1.3, near the top-left corner, so the crop must be padded
    lm = _similarity(_face_landmarks(eye_dist=40, mouth_drop=40), 35.0, 1.3, (70.0, 60.0))
    out = align_face(_dots_image(lm, (200, 160)), size=64, pad_mode=pad_mode, landmarks=lm)
    assert out.size == (64, 64) and out.mode == "RGB"
    arr = np.asarray(out)
    np.testing.assert_allclose(_centroid(arr, 0, CANONICAL_EYES[0]) / 64, CANONICAL_EYES[0], atol=0.03)
    np.testing.assert_allclose(_centroid(arr, 2, CANONICAL_EYES[1]) / 64, CANONICAL_EYES[1], atol=0.03)


def test_warp_of_a_large_photo_shrinks_first_and_keeps_the_size():
    lm = _similarity(_face_landmarks(), 0.0, 12.0, (1000.0, 800.0))  # a 960 px square → 48 px output
    out = warp_quad(_dots_image(lm, (2000, 1600), radius=40), alignment_quad(lm), 48)
    assert out.size == (48, 48)
    np.testing.assert_allclose(_centroid(np.asarray(out), 0, CANONICAL_EYES[0]) / 48, CANONICAL_EYES[0], atol=0.04)


def test_default_padding_is_ffhq_blur_not_a_mirror():
    # the crop runs past the top-left corner: the default fill must be FFHQ's blur, not a mirrored second face
    lm = _similarity(_face_landmarks(eye_dist=40, mouth_drop=40), 35.0, 1.3, (70.0, 60.0))
    img = _dots_image(lm, (200, 160))
    default = np.asarray(align_face(img, size=64, landmarks=lm))
    np.testing.assert_array_equal(default, np.asarray(align_face(img, size=64, pad_mode="blur", landmarks=lm)))
    assert not np.array_equal(default, np.asarray(align_face(img, size=64, pad_mode="reflect", landmarks=lm)))
    from gandistill.cli.main import build_parser

    args = build_parser().parse_args(["data", "align", "--input", "in", "--output", "out"])
    assert args.pad == "blur"
    assert build_parser().parse_args(["data", "align", "--input", "in", "--output", "out", "--pad", "reflect"]).pad == \
        "reflect"


def test_bad_options_and_inputs_are_refused():
    img = Image.new("RGB", (32, 32))
    with pytest.raises(ValueError, match="pad_mode"):
        warp_quad(img, alignment_quad(_face_landmarks(8, 8) + 16), 16, pad_mode="wrap")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="uint8"):
        align_face(np.zeros((8, 8, 3), np.float32), landmarks=_face_landmarks())


def test_missing_dlib_gives_an_install_hint(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "dlib", None)  # makes `import dlib` fail
    align._dlib_models.cache_clear()
    path = tmp_path / "x.png"
    Image.new("RGB", (32, 32)).save(path)
    try:
        with pytest.raises(DataError, match=r"pip install dlib-bin face-recognition-models.*optional"):
            align_face(path)
    finally:
        align._dlib_models.cache_clear()


def _noise_files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    files = [folder / "noise.png", folder / "sub" / "blank.jpg"]
    files[1].parent.mkdir(exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(files[0])
    Image.new("RGB", (96, 96), (200, 200, 200)).save(files[1])
    return files


@needs_dlib
def test_no_face_raises_a_data_error_naming_the_file(tmp_path):
    noise = _noise_files(tmp_path / "in")[0]
    with pytest.raises(DataError, match=r"no face found in .*noise\.png; use the photo unaligned"):
        align_face(noise)


@needs_dlib
def test_skip_missing_continues_and_reports(tmp_path, capsys):
    _noise_files(tmp_path / "in")
    with pytest.raises(DataError, match="--skip-missing"):
        align_folder(tmp_path / "in", tmp_path / "out", progress=False)
    summary = align_folder(tmp_path / "in", tmp_path / "out", skip_missing=True, progress=False)
    assert summary.written == [] and {p.name for p in summary.no_face} == {"noise.png", "blank.jpg"}
    assert main(["data", "align", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out2"),
                 "--skip-missing", "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "aligned 0 of 2" in out.out and "no face found in" in out.err
    assert main(["data", "align", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out3")]) == 2
    assert "no face found in" in capsys.readouterr().err


@needs_dlib
@needs_faces
def test_real_face_lands_on_the_canonical_eyes(tmp_path):
    size = 128
    out = align_face(FACES / "0000.png", size=size)
    assert out.size == (size, size)
    (lm,) = align.detect_landmarks(out)
    np.testing.assert_allclose(lm[36:42].mean(0) / size, CANONICAL_EYES[0], atol=0.04)
    np.testing.assert_allclose(lm[42:48].mean(0) / size, CANONICAL_EYES[1], atol=0.04)


@needs_dlib
@needs_faces
def test_cli_aligns_a_folder_and_skips_the_faceless(tmp_path, capsys):
    src = tmp_path / "photos"
    _noise_files(src)
    for name in ("0000.png", "0001.png"):
        shutil.copy(FACES / name, src / name)  # copies in tmp only: the shared photos stay out of the repo
    assert main(["data", "align", "--input", str(src), "--output", str(tmp_path / "out"), "--size", "64",
                 "--skip-missing", "--no-progress"]) == 0
    assert "aligned 2 of 4" in capsys.readouterr().out
    written = sorted(p.name for p in (tmp_path / "out").rglob("*.png"))
    assert written == ["0000.png", "0001.png"]
    assert all(Image.open(tmp_path / "out" / n).size == (64, 64) for n in written)
