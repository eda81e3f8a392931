"""The one model-class registry (gandistill.io.registry): every model class is in it, lookups by kind, clear errors."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
import torch

import gandistill.models  # noqa: F401  (registers every model class)
from gandistill.errors import CheckpointError
from gandistill.io.pretrained import PretrainedMixin
from gandistill.io.registry import MODEL_CLASSES, classes_of_kind, load_model, register_model, resolve_model
from gandistill.teacher import Discriminator, Generator, Teacher
from gandistill.teacher.presets import preset_model

TINY = preset_model("tiny")


def _subclasses(cls: type) -> set[type]:
    return {s for c in cls.__subclasses__() for s in {c} | _subclasses(c)}


def test_every_model_class_registers_itself_once():
    ours = {c for c in _subclasses(PretrainedMixin) if c.__module__.startswith("gandistill.")}
    assert ours and ours == set(MODEL_CLASSES.values()), "a PretrainedMixin class without @register_model"
    assert all(MODEL_CLASSES[c.__name__] is c and c.model_kind for c in ours)
    assert classes_of_kind(["kdit-i2i", "kdit-x2i"]) == ["I2IStudent", "X2IStudent"]
    assert classes_of_kind(["gpd-student"]) == ["ResNetTranslator", "UNetTranslator"]


def test_every_loader_is_a_real_public_name():
    for name, cls in MODEL_CLASSES.items():
        module, _, attr = cls.loader.rpartition(".")
        assert hasattr(getattr(importlib.import_module(module), attr), "from_pretrained"), (name, cls.loader)


def test_models_module_registers_every_class_in_a_fresh_interpreter():
    """Dispatchers import gandistill.models and nothing else: it alone must fill the registry."""
    code = ("import gandistill.models; from gandistill.io.registry import MODEL_CLASSES; "
            "print(','.join(sorted(MODEL_CLASSES)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip().split(",") == sorted(MODEL_CLASSES)


def test_resolve_and_load_by_kind(tmp_path):
    torch.manual_seed(0)
    Teacher(TINY).save_pretrained(tmp_path / "teacher")
    assert resolve_model(tmp_path / "teacher", ("teacher",)) is Teacher
    loaded = load_model(tmp_path / "teacher")
    assert isinstance(loaded, Teacher) and loaded.source_dir == tmp_path / "teacher"
    with pytest.raises(CheckpointError) as exc:
        resolve_model(tmp_path / "teacher", ("gpd-student",), "a GPD student", "GPDStudent")
    assert "holds a 'Teacher', not a GPD student; GPDStudent cannot load it — use gandistill.Teacher" in str(exc.value)


def test_an_unknown_class_lists_the_known_ones(tmp_path):
    Generator(TINY).save_pretrained(tmp_path / "g")
    meta = (tmp_path / "g" / "config.json")
    meta.write_text(meta.read_text().replace('"class": "Generator"', '"class": "Mystery"'))
    with pytest.raises(CheckpointError) as exc:
        resolve_model(tmp_path / "g", ("teacher", "generator"), "a teacher", "gandistill.sample")
    assert "holds a 'Mystery', which is not a teacher that gandistill.sample knows (known: Generator, Teacher)" \
        in str(exc.value)


def test_a_second_class_of_the_same_name_is_refused():
    with pytest.raises(ValueError, match="'Generator' is taken by gandistill.teacher.generator.Generator"):
        @register_model(kind="generator")
        class Generator(PretrainedMixin, torch.nn.Module):  # noqa: F811 - the clash is the point
            pass
    assert MODEL_CLASSES["Generator"].__module__ == "gandistill.teacher.generator"
    with pytest.raises(TypeError, match="must derive from PretrainedMixin"):
        register_model(kind="generator")(type("Plain", (), {}))


def test_model_card_shows_the_registered_loader(tmp_path):
    Generator(TINY).save_pretrained(tmp_path / "g")
    Discriminator(TINY).save_pretrained(tmp_path / "d")
    assert "from gandistill import Generator\nmodel = Generator.from_pretrained(\"g\")" in \
        (tmp_path / "g" / "README.md").read_text()
    assert "from gandistill.teacher.discriminator import Discriminator" in (tmp_path / "d" / "README.md").read_text()
