"""Image, label-map and audio loading: documented conversions and one clear error per kind of bad input."""
from __future__ import annotations

import struct
import wave
import zlib

import numpy as np
import pytest
from PIL import Image

from gandistill.data import (ImageFolderDataset, PairedImageDataset, load_image, load_label_map, load_wav,
                             read_metadata, resize_square, validate, write_wav)
from gandistill.errors import DataError


def _save(path, arr, mode=None, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(arr), mode).save(path, **kw) if mode else Image.fromarray(np.asarray(arr)).save(path, **kw)
    return path


def _noise(h=24, w=24, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png_header(w: int, h: int) -> bytes:
    """A PNG that only declares its size (no pixel data): cheap stand-in for a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))


# --- load_image: conversions


def test_rgb_roundtrip_and_grey_channels(tmp_path):
    rgb = _noise()
    np.testing.assert_array_equal(load_image(_save(tmp_path / "a.png", rgb)), rgb)
    grey = rgb[..., 0]
    p = _save(tmp_path / "g.png", grey)
    with Image.open(p) as im:
        assert im.mode == "L"
    out = load_image(p)
    assert out.shape == (24, 24, 3) and (out == grey[..., None]).all()
    one = load_image(tmp_path / "a.png", channels=1)
    assert one.shape == (24, 24, 1)
    np.testing.assert_array_equal(one[..., 0], np.asarray(Image.fromarray(rgb).convert("L")))


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = (200, 0, 0)
    rgba[0, 0, 3] = 255  # opaque red
    rgba[0, 1, 3] = 0  # transparent -> white
    rgba[0, 2, 3] = 128  # half -> pink
    out = load_image(_save(tmp_path / "a.png", rgba, "RGBA"))
    assert tuple(out[0, 0]) == (200, 0, 0)
    assert tuple(out[0, 1]) == (255, 255, 255)
    assert tuple(out[0, 2]) == (227, 127, 127)  # 200 * 128/255 + 255 * 127/255
    la = np.stack([np.full((4, 4), 0, np.uint8), np.full((4, 4), 0, np.uint8)], -1)
    assert (load_image(_save(tmp_path / "la.png", la, "LA")) == 255).all()


def test_palette_with_transparency(tmp_path):
    im = Image.new("P", (3, 1))
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.putdata([0, 1, 0])
    im.info["transparency"] = 1
    p = tmp_path / "p.png"
    im.save(p, transparency=1)
    out = load_image(p)
    assert tuple(out[0, 0]) == (255, 0, 0) and tuple(out[0, 1]) == (255, 255, 255)


def test_sixteen_bit_drops_low_byte(tmp_path):
    arr = np.array([[0, 0x1234, 0xFFFF, 0x00FF]], dtype=np.uint16)
    p = tmp_path / "d.png"
    Image.fromarray(arr).save(p)
    with Image.open(p) as im:
        assert im.mode in ("I;16", "I")
    np.testing.assert_array_equal(load_image(p, channels=1)[..., 0], [[0, 0x12, 0xFF, 0]])


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    p = tmp_path / "c.jpg"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(p)
    out = load_image(p)
    assert out.shape == (8, 8, 3) and out[..., 0].mean() > 200 and out[..., 1].mean() < 60


# --- load_image: bad files (each message names the file)


def test_truncated_png_and_jpeg(tmp_path):
    for name in ("t.png", "t.jpg"):
        p = _save(tmp_path / name, _noise(64, 64))
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
        with pytest.raises(DataError, match="truncated or corrupt") as err:
            load_image(p)
        assert str(p) in str(err.value) and "re-export or delete it" in str(err.value)


def test_not_an_image(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("hello, I am text")
    with pytest.raises(DataError, match="not an image") as err:
        load_image(p)
    assert str(p) in str(err.value)
    with pytest.raises(DataError, match="does not exist"):
        load_image(tmp_path / "missing.png")


def test_decompression_bomb(tmp_path):
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png_header(100_000, 100_000))  # past Pillow's own hard limit
    with pytest.raises(DataError, match="decompression-bomb") as err:
        load_image(huge)
    assert str(huge) in str(err.value)
    big = tmp_path / "big.png"
    big.write_bytes(_png_header(10_000, 10_000))  # 100 MP: over our 64 MP default, checked before decoding
    with pytest.raises(DataError, match="10000x10000"):
        load_image(big)
    small = _save(tmp_path / "small.png", _noise(20, 20))
    with pytest.raises(DataError, match="small.png is 20x20"):
        load_image(small, max_pixels=100)


# --- ImageFolderDataset


def test_folder_missing_and_empty(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        ImageFolderDataset(tmp_path / "nope", 16)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"no images found in .*empty; supported: png, jpg, jpeg, webp"):
        ImageFolderDataset(tmp_path / "empty", 16)


def test_folder_order_crop_flip_cache(tmp_path):
    # 40x20 image: left quarter red, middle blue, right quarter green -> centre crop keeps only blue.
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, :10] = (255, 0, 0)
    wide[:, 10:30] = (0, 0, 255)
    wide[:, 30:] = (0, 255, 0)
    _save(tmp_path / "b" / "z.png", wide)
    ramp = np.repeat(np.linspace(0, 255, 16, dtype=np.uint8)[None, :, None], 16, 0).repeat(3, 2)
    _save(tmp_path / "a.jpg", _noise(16, 16))
    _save(tmp_path / "b" / "c.webp", ramp, lossless=True)
    _save(tmp_path / ".hidden" / "x.png", _noise(8, 8))
    ds = ImageFolderDataset(tmp_path, 8, xflip=True)
    assert [ds.path(i).relative_to(tmp_path).as_posix() for i in range(3)] == ["a.jpg", "b/c.webp", "b/z.png"]
    assert len(ds) == 6 and ds.num_images == 3
    blue = ds.image_uint8(2)
    assert blue.shape == (8, 8, 3) and (blue[..., 2] > 240).all() and (blue[..., :2] < 15).all()
    np.testing.assert_array_equal(ds.image_uint8(4), ds.image_uint8(1)[:, ::-1])
    x = ds[1]
    assert x.shape == (3, 8, 8) and x.dtype.is_floating_point and x.min() >= -1 and x.max() <= 1
    assert float(x[0, 0, 0]) < float(x[0, 0, -1])  # the ramp survived resizing in the right direction
    cache = ds.as_uint8_array()
    assert cache.shape == (3, 3, 8, 8) and cache.dtype == np.uint8
    np.testing.assert_array_equal(cache[1].transpose(1, 2, 0), ds.image_uint8(1))
    np.testing.assert_array_equal(ds.image_uint8(4), cache[1].transpose(1, 2, 0)[:, ::-1])


def test_resize_square_upsamples_and_downsamples():
    assert resize_square(_noise(30, 50), 16).shape == (16, 16, 3)
    assert resize_square(_noise(6, 6), 12).shape == (12, 12, 3)
    assert resize_square(_noise(10, 10)[..., :1], 5).shape == (5, 5, 1)


def test_metadata_fields_and_selection(tmp_path):
    _save(tmp_path / "img" / "0.png", _noise(16, 16))
    _save(tmp_path / "img" / "1.png", _noise(16, 16, 1))
    _save(tmp_path / "seg" / "0.png", np.zeros((16, 16), np.uint8))
    write_wav(tmp_path / "a.wav", np.sin(np.arange(1600) / 5) * 0.5)
    rows = [{"file_name": "img/1.png", "text": "one"},
            {"file_name": "img/0.png", "text": "zero", "label_file_name": "seg/0.png", "audio_file_name": "a.wav"}]
    (tmp_path / "metadata.jsonl").write_text("\n".join(__import__("json").dumps(r) for r in rows) + "\n")
    ds = ImageFolderDataset(tmp_path, 16)  # seg/0.png is referenced, so no "unlisted images" warning
    assert len(ds) == 2
    assert ds.metadata(0) == rows[1] and ds.metadata(1)["text"] == "one"
    assert ds.path(0, "label_file_name") == tmp_path / "seg" / "0.png"
    with pytest.raises(DataError, match="no \"audio_file_name\" for img/1.png"):
        ds.path(1, "audio_file_name")
    summary = validate(ds, num_classes=2)
    assert summary.fields["text"] == 2 and summary.fields["label_file_name"] == 1
    everything = ImageFolderDataset(tmp_path, 16, metadata=False)
    assert len(everything) == 3
    _save(tmp_path / "img" / "stray.png", _noise(16, 16))
    with pytest.warns(UserWarning, match="1 image.* not in metadata.jsonl"):
        assert len(ImageFolderDataset(tmp_path, 16)) == 2


def test_metadata_errors(tmp_path):
    _save(tmp_path / "0.png", _noise(8, 8))
    meta = tmp_path / "metadata.jsonl"
    meta.write_text('{"file_name": "0.png"}\n{oops\n')
    with pytest.raises(DataError, match=r"metadata.jsonl line 2 is not valid JSON"):
        read_metadata(tmp_path)
    meta.write_text('{"file_name": "0.png"}\n{"file_name": "gone.png"}\n')
    with pytest.raises(DataError, match="do not exist: gone.png"):
        ImageFolderDataset(tmp_path, 8)
    meta.write_text('{"file_name": "../0.png"}\n')
    with pytest.raises(DataError, match="stay inside"):
        ImageFolderDataset(tmp_path, 8)


def test_validate_lists_every_bad_file(tmp_path):
    _save(tmp_path / "good.png", _noise())
    bad1 = _save(tmp_path / "bad1.png", _noise(64, 64))
    bad1.write_bytes(bad1.read_bytes()[:200])
    (tmp_path / "bad2.jpg").write_bytes(b"not a jpeg at all")
    ds = ImageFolderDataset(tmp_path, 8)  # listing does not decode
    with pytest.raises(DataError, match="2 bad file") as err:
        validate(ds)
    assert "bad1.png" in str(err.value) and "bad2.jpg" in str(err.value) and "good.png" not in str(err.value)
    with pytest.raises(DataError, match="bad1.png"):
        ImageFolderDataset(tmp_path, 8, validate=True)


# --- PairedImageDataset


def test_paired_folders_and_unpaired_stems(tmp_path):
    for i in range(3):
        _save(tmp_path / "A" / f"{i}.png", _noise(20, 20, i))
        _save(tmp_path / "B" / f"{i}.jpg", _noise(20, 20, 10 + i), quality=95)
    ds = PairedImageDataset(tmp_path, 20, xflip=True)
    assert len(ds) == 6 and ds.pairs[1][1].name == "1.jpg"
    a, b = ds[4]
    assert a.shape == b.shape == (3, 20, 20)
    a0, b0 = ds.pair_uint8(1)
    a1, b1 = ds.pair_uint8(4)
    np.testing.assert_array_equal(a1, a0[:, ::-1])
    np.testing.assert_array_equal(b1, b0[:, ::-1])
    np.testing.assert_array_equal(a0, _noise(20, 20, 1))
    _save(tmp_path / "A" / "only_a.png", _noise(20, 20))
    _save(tmp_path / "B" / "only_b.png", _noise(20, 20))
    with pytest.raises(DataError, match="unpaired") as err:
        PairedImageDataset(tmp_path, 20)
    msg = str(err.value)
    assert "only_a" in msg and "only_b" in msg and "1 only in" in msg
    with pytest.raises(DataError, match="no A/ and B/"):
        PairedImageDataset(tmp_path / "A", 12)


def test_unpaired_message_names_at_most_ten(tmp_path):
    for i in range(14):
        _save(tmp_path / "A" / f"a{i:02d}.png", _noise(4, 4))
    _save(tmp_path / "B" / "b.png", _noise(4, 4))
    with pytest.raises(DataError, match=r"14 only in .*and 4 more"):
        PairedImageDataset(tmp_path, 4)


def test_paired_size_mismatch(tmp_path):
    _save(tmp_path / "A" / "x.png", _noise(20, 20))
    _save(tmp_path / "B" / "x.png", _noise(18, 20))
    ds = PairedImageDataset(tmp_path, 16)
    with pytest.raises(DataError, match="same size"):
        ds[0]
    with pytest.raises(DataError, match="x.png"):
        validate(ds)


def test_side_by_side(tmp_path):
    ab = np.concatenate([np.full((16, 16, 3), 30, np.uint8), np.full((16, 16, 3), 220, np.uint8)], 1)
    _save(tmp_path / "ok" / "p.png", ab)
    ds = PairedImageDataset(tmp_path / "ok", 16, mode="side_by_side")
    a, b = ds.pair_uint8(0)
    assert (a == 30).all() and (b == 220).all()
    bad = _save(tmp_path / "bad" / "q.png", _noise(10, 15))
    with pytest.raises(DataError, match=r"q.png is 15x10; side-by-side images must be exactly twice as wide") as err:
        PairedImageDataset(tmp_path / "bad", 10, mode="side_by_side")
    assert str(bad) in str(err.value)


# --- label maps


def test_label_maps(tmp_path):
    lab = np.array([[0, 1, 2, 2], [3, 3, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]], np.uint8)
    p = _save(tmp_path / "l.png", lab)
    np.testing.assert_array_equal(load_label_map(p, 4), lab)
    p16 = _save(tmp_path / "l16.png", np.kron(lab, np.ones((4, 4), np.uint8)))  # model inputs are >= 16 px
    up = load_label_map(p16, 4, resolution=24)
    assert up.shape == (24, 24) and set(np.unique(up)) <= {0, 1, 2, 3}  # NEAREST: no blended labels
    with pytest.raises(DataError, match=r"l.png is 4x4 pixels; images must be at least 16x16"):
        load_label_map(p, 4, resolution=16)
    pal = Image.fromarray(lab, "P")
    pal.putpalette([255, 255, 255, 10, 20, 30, 200, 0, 0, 0, 200, 0] + [0] * 756)
    pal.save(tmp_path / "p.png")
    np.testing.assert_array_equal(load_label_map(tmp_path / "p.png", 4), lab)  # indices, not colours
    with pytest.raises(DataError, match=r"l.png contains label 3 \(max label found 3\) but num_classes=3") as err:
        load_label_map(p, 3)
    assert str(p) in str(err.value)
    vo = lab.copy()
    vo[0, 0] = 255
    np.testing.assert_array_equal(load_label_map(_save(tmp_path / "v.png", vo), 4, ignore_index=255), vo)
    with pytest.raises(DataError, match="mode RGB"):
        load_label_map(_save(tmp_path / "rgb.png", _noise(4, 4)), 4)


# --- audio


def _wav(path, data: np.ndarray, rate=16000, channels=1, width=2):
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(channels)
        wf.setsampwidth(width)
        wf.setframerate(rate)
        wf.writeframes(data.tobytes())
    return path


def test_wav_roundtrip_stereo_and_8bit(tmp_path):
    tone = (np.sin(np.arange(800) / 3) * 20000).astype(np.int16)
    out = load_wav(_wav(tmp_path / "m.wav", tone))
    np.testing.assert_allclose(out, tone / 32768.0, atol=1e-7)
    stereo = np.stack([tone, np.zeros_like(tone)], 1)
    np.testing.assert_allclose(load_wav(_wav(tmp_path / "s.wav", stereo, channels=2)), tone / 65536.0, atol=1e-6)
    u8 = (np.sin(np.arange(800) / 3) * 100 + 128).astype(np.uint8)
    assert np.abs(load_wav(_wav(tmp_path / "u.wav", u8, width=1))).max() > 0.7


def test_wav_errors(tmp_path):
    silent = _wav(tmp_path / "silent.wav", np.zeros(1600, np.int16))
    with pytest.raises(DataError, match="silent") as err:
        load_wav(silent)
    assert str(silent) in str(err.value)
    tone = (np.sin(np.arange(2205) / 3) * 20000).astype(np.int16)
    cd = _wav(tmp_path / "cd.wav", tone, rate=44100)
    with pytest.raises(DataError, match="sample rate 44100 Hz, expected 16000 Hz") as err:
        load_wav(cd)
    assert str(cd) in str(err.value)
    with pytest.warns(UserWarning, match="resampling 44100 Hz -> 16000 Hz"):
        assert len(load_wav(cd, resample=True)) == 800
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF....WAVEfmt garbage")
    with pytest.raises(DataError, match="junk.wav"):
        load_wav(junk)
    ok = _wav(tmp_path / "cut.wav", tone)
    ok.write_bytes(ok.read_bytes()[:1000])
    with pytest.raises(DataError, match="cut.wav is truncated"):
        load_wav(ok)


def test_write_wav_is_pcm16(tmp_path):
    write_wav(tmp_path / "w.wav", np.array([0.0, 0.5, -1.0, 2.0]))
    with wave.open(str(tmp_path / "w.wav")) as wf:
        assert (wf.getsampwidth(), wf.getnchannels(), wf.getframerate()) == (2, 1, 16000)
        assert np.frombuffer(wf.readframes(4), "<i2").tolist() == [0, 16384, -32767, 32767]
