"""toyfaces: determinism, alignment of the domains, captions and audio that encode the parameters,
the on-disk layout, and loading it back through the dataset classes and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

from gandistill.cli.main import main
from gandistill.data import ImageFolderDataset, PairedImageDataset, load_label_map, load_wav, validate
from gandistill.data.toyfaces import (AUDIO_SAMPLE_RATE, SEG_CLASSES, generate_toyfaces, render, sample_params,
                                      seg_to_rgb, toyfaces_arrays)
from gandistill.data.toyfaces.params import HAIR_COLOURS
from gandistill.data.toyfaces.sound import _BASE_HZ
from gandistill.errors import DataError


@pytest.fixture(scope="module")
def faces():
    return toyfaces_arrays(24, 64, seed=0)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("tf") / "toyfaces"
    return generate_toyfaces(out, 6, 32, seed=3, progress=False)


def _boundary(seg: np.ndarray) -> np.ndarray:
    b = np.zeros(seg.shape, bool)
    d = seg[:-1] != seg[1:]
    b[:-1] |= d
    b[1:] |= d
    d = seg[:, :-1] != seg[:, 1:]
    b[:, :-1] |= d
    b[:, 1:] |= d
    return b


def _dilate(m: np.ndarray, k: int) -> np.ndarray:
    for _ in range(k):
        o = m.copy()
        o[1:] |= m[:-1]
        o[:-1] |= m[1:]
        o[:, 1:] |= m[:, :-1]
        o[:, :-1] |= m[:, 1:]
        m = o
    return m


def _chroma(x) -> np.ndarray:
    x = np.asarray(x, float) + 1.0
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# --- determinism


def test_params_deterministic_and_seeded():
    assert sample_params(0, 5) == sample_params(0, 5)
    assert sample_params(0, 5) != sample_params(1, 5)
    assert sample_params(0, 5) != sample_params(0, 6)


def test_render_deterministic_and_independent_of_n_and_start():
    a = toyfaces_arrays(8, 32, seed=7)
    b = toyfaces_arrays(3, 32, seed=7, start=5)
    for key in ("photo", "sketch", "seg", "audio"):
        np.testing.assert_array_equal(a[key][5:8], b[key])
    assert a["caption"][5:8] == b["caption"]
    again = render(sample_params(7, 2), 32)
    np.testing.assert_array_equal(again["photo"], a["photo"][2])
    np.testing.assert_array_equal(again["audio"], a["audio"][2])


def test_files_byte_identical_across_runs_and_n(folder, tmp_path):
    again = generate_toyfaces(tmp_path / "again", 6, 32, seed=3, progress=False, workers=1)
    fewer = generate_toyfaces(tmp_path / "fewer", 3, 32, seed=3, progress=False)
    for sub in ("photo", "sketch", "seg", "audio"):
        for f in sorted((folder / sub).iterdir()):
            assert (again / sub / f.name).read_bytes() == f.read_bytes()
            if int(f.stem) < 3:
                assert (fewer / sub / f.name).read_bytes() == f.read_bytes()
    assert (again / "metadata.jsonl").read_bytes() == (folder / "metadata.jsonl").read_bytes()


def test_process_pool_gives_the_same_files(tmp_path):
    one = generate_toyfaces(tmp_path / "one", 60, 16, seed=1, progress=False, workers=1)
    two = generate_toyfaces(tmp_path / "two", 60, 16, seed=1, progress=False, workers=2)
    for f in sorted(one.rglob("*")):
        if f.is_file():
            assert (two / f.relative_to(one)).read_bytes() == f.read_bytes(), f


# --- shapes and domains


def test_render_shapes_and_types(faces):
    assert faces["photo"].shape == (24, 64, 64, 3) and faces["photo"].dtype == np.uint8
    assert faces["sketch"].shape == (24, 64, 64, 3) and faces["sketch"].dtype == np.uint8
    sk = faces["sketch"]
    assert (sk[..., 0] == sk[..., 1]).all() and (sk[..., 1] == sk[..., 2]).all()  # grey, 3 channels
    assert faces["seg"].shape == (24, 64, 64) and faces["seg"].dtype == np.uint8
    assert faces["audio"].shape == (24, AUDIO_SAMPLE_RATE // 2) and faces["audio"].dtype == np.int16
    assert all(isinstance(c, str) and c for c in faces["caption"])


def test_seg_labels_in_range_and_all_classes_used(faces):
    assert SEG_CLASSES == ("background", "skin", "hair", "eyes", "brows", "nose", "mouth", "glasses")
    assert faces["seg"].max() < len(SEG_CLASSES)
    assert set(np.unique(faces["seg"])) == set(range(len(SEG_CLASSES)))
    rgb = seg_to_rgb(faces["seg"][0])
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    assert len({tuple(c) for c in seg_to_rgb(np.arange(8, dtype=np.uint8)[None])[0]}) == 8


def test_variety(faces):
    params = faces["params"]
    assert len({p.hair_style for p in params}) >= 4
    assert len({p.hair_colour for p in params}) >= 4
    assert len({p.background for p in params}) >= 4
    assert {p.glasses for p in params} == {"none", "round", "square"}
    # Images differ from each other, not only their parameters.
    flat = faces["photo"].reshape(24, -1).astype(float)
    assert np.abs(flat[:, None] - flat[None]).mean(-1)[np.triu_indices(24, 1)].min() > 5


def test_photo_colours_follow_seg(faces):
    """Shading is multiplicative, so photo pixels labelled skin/hair keep the chromaticity of that colour."""
    for p, photo, seg in zip(faces["params"], faces["photo"], faces["seg"]):
        inner = ~_dilate(_boundary(seg), 1)
        skin = np.linalg.norm(_chroma(photo[(seg == 1) & inner]) - _chroma(p.skin_rgb), axis=-1)
        assert np.median(skin) < 0.02, p.index
        background = np.linalg.norm(_chroma(photo[seg == 0]) - _chroma(p.skin_rgb), axis=-1)
        assert np.median(background) > np.median(skin)
        hair = (seg == 2) & inner
        if hair.sum() > 20:
            d = np.linalg.norm(_chroma(photo[hair]) - _chroma(p.hair_rgb), axis=-1)
            assert np.median(d) < 0.03, p.index


def test_edges_aligned_across_domains(faces):
    """Photo gradients and sketch pencil lines sit on the seg boundaries."""
    for photo, sketch, seg in zip(faces["photo"], faces["sketch"], faces["seg"]):
        edge = _boundary(seg)
        grey = photo.astype(float).mean(2)
        grad = np.abs(np.diff(grey, axis=0, append=0)) + np.abs(np.diff(grey, axis=1, append=0))
        assert grad[edge].mean() > 2.5 * grad[~_dilate(edge, 1)].mean()
        s = sketch[..., 0].astype(float)
        paper = (seg == 0) & ~_dilate(edge, 3)
        assert s[edge].mean() < s[paper].mean() - 50
        assert s[edge].mean() < s[(seg == 1) & ~_dilate(edge, 2)].mean() - 30


# --- captions and audio


def test_caption_names_rendered_attributes(faces):
    for p, cap, seg in zip(faces["params"], faces["caption"], faces["seg"]):
        assert p.hair_colour in cap and f"{p.skin} skin" in cap and f"{p.background} background" in cap
        assert f"{p.eye_colour} eyes" in cap
        hair_frac = (seg == 2).mean()
        if p.hair_style == "bald":
            assert "bald" in cap and hair_frac < 0.05
        else:
            assert p.hair_style in cap and hair_frac > 0.05
        if p.glasses == "none":
            assert "no glasses" in cap and not (seg == 7).any()
        else:
            assert f"{p.glasses} {p.glasses_colour} glasses" in cap and (seg == 7).sum() > 10
        word = {"neutral": "calm", "smiling": "smiling", "laughing": "laughing", "frowning": "frowning"}
        assert cap.startswith(f"a {word[p.expression]} person")


def test_audio_encodes_hair_colour_and_differs(faces):
    sr = AUDIO_SAMPLE_RATE
    for p, clip in zip(faces["params"], faces["audio"]):
        spec = np.abs(np.fft.rfft(clip.astype(float)))
        freqs = np.fft.rfftfreq(len(clip), 1 / sr)
        band = (freqs > 200) & (freqs < 460)  # where the hair-colour base tones live
        peak = freqs[band][spec[band].argmax()]
        assert abs(peak - _BASE_HZ[list(HAIR_COLOURS).index(p.hair_colour)]) < 6
        assert np.abs(clip).max() > 10000  # not silent
    flat = faces["audio"].astype(float)
    assert np.abs(flat[:, None] - flat[None]).mean(-1)[np.triu_indices(24, 1)].min() > 100
    np.testing.assert_array_equal(render(sample_params(0, 3), 16, ("audio",))["audio"], faces["audio"][3])


# --- on disk


def test_folder_layout_and_metadata(folder):
    rows = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 6
    assert rows[0]["file_name"] == "photo/000000.png"
    assert rows[0]["sketch_file_name"] == "sketch/000000.png"
    assert rows[0]["label_file_name"] == "seg/000000.png"
    assert rows[0]["audio_file_name"] == "audio/000000.wav"
    assert rows[2]["params"]["index"] == 2 and rows[2]["params"]["seed"] == 3
    assert rows[2]["text"] == render(sample_params(3, 2), 32, ("caption",))["caption"]
    manifest = json.loads((folder / "toyfaces.json").read_text())
    assert manifest["n"] == 6 and manifest["res"] == 32 and manifest["seed"] == 3
    assert manifest["domains"] == ["photo", "sketch", "seg", "audio"] and "gandistill_version" in manifest


def test_folder_loads_through_datasets(folder):
    ds = ImageFolderDataset(folder, 32)
    assert len(ds) == 6
    x = ds[1]
    assert x.shape == (3, 32, 32) and -1.0 <= float(x.min()) and float(x.max()) <= 1.0
    expected = render(sample_params(3, 1), 32)
    np.testing.assert_array_equal(ds.image_uint8(1), expected["photo"])
    assert ds.metadata(1)["text"] == expected["caption"]
    np.testing.assert_array_equal(load_label_map(ds.path(1, "label_file_name"), len(SEG_CLASSES)), expected["seg"])
    audio = load_wav(ds.path(1, "audio_file_name"))
    np.testing.assert_allclose(audio, expected["audio"] / 32768.0, atol=1e-6)
    summary = validate(ds, num_classes=len(SEG_CLASSES))
    assert summary.count == 6 and summary.fields["text"] == 6

    pairs = PairedImageDataset((folder / "photo", folder / "sketch"), 32, xflip=True)
    assert len(pairs) == 12
    a, b = pairs.pair_uint8(7)
    np.testing.assert_array_equal(a, expected["photo"][:, ::-1])
    np.testing.assert_array_equal(b, expected["sketch"][:, ::-1])


def test_regenerate_replaces_and_refuses_foreign_folder(tmp_path):
    out = generate_toyfaces(tmp_path / "tf", 4, 16, progress=False)
    generate_toyfaces(out, 2, 16, progress=False)
    assert sorted(f.name for f in (out / "photo").iterdir()) == ["000000.png", "000001.png"]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    with pytest.raises(DataError, match="not empty"):
        generate_toyfaces(foreign, 2, 16, progress=False)
    with pytest.raises(ValueError, match="photo"):
        generate_toyfaces(tmp_path / "x", 2, 16, domains=("seg",), progress=False)


def test_cli_toyfaces_and_check(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["data", "toyfaces", "--out", str(out), "--n", "3", "--res", "16", "--no-progress",
                 "--domains", "photo,seg"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["metadata.jsonl", "photo", "seg", "toyfaces.json"]
    assert main(["data", "check", str(out)]) == 0
    assert "3 images" in capsys.readouterr().out
    assert main(["data", "check", str(out / "photo"), str(out / "seg")]) == 0
    assert main(["data", "toyfaces", "--out", str(tmp_path / "y"), "--domains", "photo,smell"]) == 2
    assert "smell" in capsys.readouterr().err
