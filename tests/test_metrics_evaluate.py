"""``evaluate`` and ``gandistill evaluate``: paired matching, sources, cache use, metrics.json, CLI."""
from __future__ import annotations

import json
import math

import pytest
import torch

from gandistill.cli.main import main
from gandistill.errors import DataError, GandistillError
from gandistill.metrics import evaluate, pixel
from gandistill.metrics.sources import as_source, model_source
from metrics_support import add_noise, inception_or_skip, save_folder, synthetic_images, write_random_lpips_weights


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANDISTILL_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def paired_dirs(tmp_path):
    ref = synthetic_images(5, size=24, seed=1)
    gen = add_noise(ref, 10.0)
    names = ["a", "b", "c", "sub/d", "sub/e"]
    (tmp_path / "ref" / "sub").mkdir(parents=True)
    (tmp_path / "gen" / "sub").mkdir(parents=True)
    save_folder(ref, tmp_path / "ref", names)
    save_folder(gen, tmp_path / "gen", names)
    return tmp_path / "gen", tmp_path / "ref", gen, ref


def test_paired_metrics_match_direct_computation(paired_dirs, tmp_path):
    gen_dir, ref_dir, gen, ref = paired_dirs
    out = tmp_path / "m.json"
    res = evaluate(gen_dir, ref_dir, metrics=("ssim", "psnr", "l1"), paired=True, out=out, progress=False)
    assert res["metrics"]["ssim"] == pytest.approx(float(pixel.ssim(gen, ref).mean()))
    assert res["metrics"]["psnr"] == pytest.approx(float(pixel.psnr(gen, ref).mean()))
    assert res["metrics"]["l1"] == pytest.approx(float(pixel.l1(gen, ref).mean()))
    assert res["counts"]["pairs"] == 5
    written = json.loads(out.read_text())
    assert written["metrics"] == pytest.approx(res["metrics"]) and "ssim" in written["protocol"]["paired"]


def test_identical_pairs_give_inf_psnr_as_string_in_json(paired_dirs, tmp_path):
    _, ref_dir, _, _ = paired_dirs
    out = tmp_path / "m.json"
    res = evaluate(ref_dir, ref_dir, metrics=("psnr", "ssim"), paired=True, out=out, progress=False)
    assert math.isinf(res["metrics"]["psnr"]) and res["metrics"]["ssim"] == pytest.approx(1.0)
    assert json.loads(out.read_text())["metrics"]["psnr"] == "inf"


def test_paired_metrics_without_paired_are_an_error(paired_dirs):
    gen_dir, ref_dir, _, _ = paired_dirs
    with pytest.raises(GandistillError, match=r"--metrics psnr: paired metrics .* pass --paired"):
        evaluate(gen_dir, ref_dir, metrics=("psnr",), progress=False)


def test_mismatched_stems_are_named(paired_dirs):
    gen_dir, ref_dir, _, _ = paired_dirs
    (gen_dir / "sub" / "d.png").rename(gen_dir / "sub" / "zz.png")
    with pytest.raises(DataError) as err:
        evaluate(gen_dir, ref_dir, metrics=("l1",), paired=True, progress=False)
    assert "sub/d" in str(err.value) and "sub/zz" in str(err.value)


def test_size_mismatch_names_the_files(paired_dirs):
    gen_dir, ref_dir, _, _ = paired_dirs
    save_folder(synthetic_images(1, size=20), gen_dir, ["a"])
    with pytest.raises(GandistillError, match="a.png"):
        evaluate(gen_dir, ref_dir, metrics=("l1",), paired=True, progress=False)


def test_unknown_metric():
    with pytest.raises(GandistillError, match="choose from"):
        evaluate("x", "y", metrics=("fid", "bogus"))


def test_sources_adapt_tensors_callables_iterables():
    imgs = synthetic_images(5, size=8)
    assert torch.equal(torch.cat(list(as_source(imgs, 4).batches(3))), imgs[:4])
    floats = imgs.float() / 127.5 - 1  # float input in [-1, 1] is quantised
    assert (torch.cat(list(as_source(floats).batches(2))).int() - imgs.int()).abs().max() <= 1
    calls = []
    src = as_source(lambda n: calls.append(n) or imgs[:n], 7)
    assert sum(b.shape[0] for b in src.batches(4)) == 7 and calls == [4, 3]
    assert sum(b.shape[0] for b in as_source(iter([imgs, imgs]), 6).batches(4)) == 6
    with pytest.raises(GandistillError, match="num_images"):
        as_source(lambda n: imgs)


def test_model_directory_source(tmp_path, monkeypatch):
    import gandistill.teacher as teacher

    class FakeGenerator(torch.nn.Module):
        z_dim = 4

        @classmethod
        def from_pretrained(cls, path):
            return cls()

        def forward(self, z):
            return torch.tanh(z[:, :3, None, None].expand(-1, 3, 8, 8))

    monkeypatch.setattr(teacher, "Generator", FakeGenerator, raising=False)
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"")
    src = as_source(tmp_path, 5, seed=3)
    first = torch.cat(list(src.batches(2)))
    again = torch.cat(list(model_source(tmp_path, 5, seed=3).batches(5)))
    assert first.dtype == torch.uint8 and first.shape == (5, 3, 8, 8) and torch.equal(first, again)


def test_fid_kid_through_evaluate_uses_cache(tmp_path):
    ext = inception_or_skip()
    save_folder(synthetic_images(4, size=32, seed=5), tmp_path / "ref")
    save_folder(synthetic_images(6, size=32, seed=6), tmp_path / "gen")
    kw = dict(metrics=("fid", "kid"), inception=ext, progress=False, kid_subsets=10, num_images=4)
    first = evaluate(tmp_path / "gen", tmp_path / "ref", out=tmp_path / "m.json", **kw)
    second = evaluate(tmp_path / "gen", tmp_path / "ref", **kw)
    assert first["protocol"]["inception"]["reference_cache"].startswith("miss")
    assert second["protocol"]["inception"]["reference_cache"] == "hit"
    assert first["counts"] == {"generated": 4, "reference": 4}
    assert first["metrics"]["fid"] == pytest.approx(second["metrics"]["fid"], rel=1e-6) and first["metrics"]["fid"] > 0
    assert "kid_std" in first["metrics"] and first["protocol"]["kid"]["subset_size"] == 4
    proto = json.loads((tmp_path / "m.json").read_text())["protocol"]["inception"]
    assert proto["weights_sha256"] == ext.weights_sha256 and "299" in proto["resize"]


def test_cli_paired(paired_dirs, tmp_path, capsys):
    gen_dir, ref_dir, _, _ = paired_dirs
    out = tmp_path / "cli.json"
    rc = main(["evaluate", str(gen_dir), "--reference", str(ref_dir), "--metrics", "psnr,l1,ssim",
               "--paired", "--out", str(out), "--quiet"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "psnr" in printed and "ssim" in printed and str(out) in printed
    assert set(json.loads(out.read_text())["metrics"]) == {"psnr", "l1", "ssim"}


def test_cli_user_errors_exit_2(paired_dirs, tmp_path, capsys):
    gen_dir, ref_dir, _, _ = paired_dirs
    rc = main(["evaluate", str(gen_dir), "--reference", str(ref_dir), "--metrics", "fid,nope", "--out", str(tmp_path / "x.json")])
    assert rc == 2 and "choose from" in capsys.readouterr().err


def test_real_teacher_directory_is_sampled_reproducibly(tmp_path, tiny_stylegan_config):
    teacher = pytest.importorskip("gandistill.teacher")
    teacher.Generator(tiny_stylegan_config).save_pretrained(tmp_path / "G")
    before = torch.random.get_rng_state()
    a = torch.cat(list(as_source(tmp_path / "G", 5, seed=1).batches(2)))
    b = torch.cat(list(as_source(tmp_path / "G", 5, seed=1).batches(2)))
    assert a.shape == (5, 3, 16, 16) and a.dtype == torch.uint8 and torch.equal(a, b)
    assert torch.equal(torch.random.get_rng_state(), before)  # the caller's RNG is untouched


def test_lpips_through_evaluate_and_fail_fast(tmp_path, monkeypatch):
    ref = synthetic_images(3, size=32, seed=4)
    gen_dir, ref_dir = tmp_path / "gen", tmp_path / "ref"
    save_folder(ref, ref_dir)
    save_folder(add_noise(ref, 20.0), gen_dir)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(GandistillError, match="alexnet-owt-7be5be79.pth"):  # before any Inception work
        evaluate(gen_dir, ref_dir, metrics=("fid", "lpips"), paired=True, inception=tmp_path / "absent.pt")
    _, _, head = write_random_lpips_weights("alex", tmp_path)
    res = evaluate(gen_dir, ref_dir, metrics=("lpips",), paired=True, lpips_weights=head, progress=False)
    assert res["metrics"]["lpips"] > 0 and "alex" in res["protocol"]["paired"]["lpips"]
    same = evaluate(ref_dir, ref_dir, metrics=("lpips",), paired=True, lpips_weights=head, progress=False)
    assert same["metrics"]["lpips"] == pytest.approx(0.0, abs=1e-6)
