"""Two-stage training of the HarmonyIQA VLM on ~10 images with a tiny LLaVA: losses fall, validation per epoch
overall and per subset, save -> load gives identical scores, the registry serves the trained folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend import registry
from backend.errors import InputError, ModelUnavailableError
from backend.images import load_image
from backend.iqa.harmonyiqa.vlm.data import read_rows
from backend.iqa.harmonyiqa.vlm.model import FILES, HarmonyIQAVLM
from backend.iqa.harmonyiqa.vlm.train import agreement, train_vlm
from tests.harmonyiqa.conftest import harmonization_set

EPOCHS = 4


def train(rows, out, base, mode="nr", **options):
    settings = dict(mode=mode, base=str(base), revision=None, stage1_epochs=EPOCHS, stage2_epochs=EPOCHS,
                    learning_rate=2e-2, stage2_learning_rate=5e-3, batch_size=1, device="cpu", threads=1,
                    val_fraction=0.3, log=lambda text: None)
    return train_vlm(rows, out, **{**settings, **options})


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    return read_rows(harmonization_set(tmp_path_factory.mktemp("harmonyiqa-set"), count=10))


@pytest.fixture(scope="module")
def trained_nr(rows, tiny_vlm_dir, tmp_path_factory):
    return train(rows, tmp_path_factory.mktemp("vlm-nr"), tiny_vlm_dir)


def losses(history, stage):
    return [entry["train_loss"] for entry in history if entry["stage"] == stage]


def test_both_stages_run_and_their_losses_fall(trained_nr):
    history = trained_nr.record["history"]
    assert [(e["stage"], e["epoch"]) for e in history] == [(1, k) for k in range(1, EPOCHS + 1)] + \
        [(2, k) for k in range(1, EPOCHS + 1)]
    cross_entropy, mse = losses(history, 1), losses(history, 2)
    assert cross_entropy[-1] < 0.6 * cross_entropy[0]  # measured 3.73 -> 0.93
    assert min(mse[1:]) < 0.8 * mse[0]  # measured 0.29 -> 0.13
    assert history[EPOCHS - 1]["validation"]["answered"] >= 2  # stage 1 taught the answer format (measured 3 of 3)
    for entry in history:
        validation = entry["validation"]
        assert validation["overall"]["n"] <= 3 and set(validation["subsets"]) == {"GIHA", "NGIHA"}
    stage2 = history[-1]["validation"]["overall"]
    assert stage2["n"] == 3 and all(stage2[k] is not None for k in ("srcc", "krcc", "plcc"))


def test_saved_folder_reloads_to_identical_scores(trained_nr, rows, tiny_vlm_dir):
    folder = trained_nr.out_dir
    assert all((folder / name).is_file() for name in FILES.values()) and (folder / "rows.csv").is_file()
    config = json.loads((folder / "config.json").read_text())
    assert config["base"]["id"] == str(tiny_vlm_dir) and config["mode"] == "nr"
    assert config["training"]["final_validation"] == trained_nr.record["history"][-1]["validation"]
    images = [load_image(path) for path in rows["image"][:3]]
    before = [trained_nr.model.score(image).score for image in images]
    reloaded = HarmonyIQAVLM.load(folder, device="cpu")
    after = [reloaded.score(image).score for image in images]
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-9)
    fresh = HarmonyIQAVLM(str(tiny_vlm_dir), None, "nr", device="cpu")
    fresh.mos_range = reloaded.mos_range
    assert not np.allclose([fresh.score(image).score for image in images], before, atol=1e-3)  # training changed it
    assert reloaded.mos_range == tuple(trained_nr.record["data"]["mos_range_train"])


def test_decoder_only_stage_two_leaves_the_adapters_untouched(rows, tiny_vlm_dir, tmp_path):
    result = train(rows, tmp_path / "decoder-only", tiny_vlm_dir, stage1_epochs=0, stage2_epochs=2,
                   stage2_tune="decoder")
    lora_b = [p for n, p in result.model.model.named_parameters() if "lora_B" in n]
    assert lora_b and all(float(p.detach().abs().max()) == 0.0 for p in lora_b)  # LoRA B starts at zero and stayed there
    assert [e["stage"] for e in result.record["history"]] == [2, 2]


def test_fr_model_through_the_registry(rows, tiny_vlm_dir, tmp_path, monkeypatch, settings_env):
    result = train(rows, tmp_path / "vlm-fr", tiny_vlm_dir, mode="fr", stage1_epochs=1, stage2_epochs=1)
    settings_env(HARMONYLAB_HARMONYIQA_VLM_FR=result.out_dir, HARMONYLAB_HARMONYIQA_BASE=None)
    registry.clear_cache()
    try:
        assert registry.status("harmonyiqa-vlm-fr").state == "ready"
        model = registry.create("harmonyiqa-vlm-fr", device="cpu")
        image, reference = load_image(rows["image"][0]), load_image(rows["reference"][0])
        assert model.score(image, reference).score == pytest.approx(result.model.score(image, reference).score, abs=1e-9)
        with pytest.raises(InputError, match="reference"):
            model.score(image)
        settings_env(HARMONYLAB_HARMONYIQA_VLM_NR=result.out_dir)  # an FR folder for the NR card
        assert "holds a fr model" in registry.status("harmonyiqa-vlm-nr").detail
        with pytest.raises(ModelUnavailableError, match="holds a fr model"):
            registry.create("harmonyiqa-vlm-nr", device="cpu")
    finally:
        registry.clear_cache()


def test_training_rejects_bad_settings(rows, tiny_vlm_dir, tmp_path):
    nr_rows = rows.assign(reference=None)
    with pytest.raises(InputError, match="row 1 .* has none"):
        train(nr_rows, tmp_path / "x", tiny_vlm_dir, mode="fr")
    with pytest.raises(InputError, match="stage-2 tuning"):
        train(rows, tmp_path / "x", tiny_vlm_dir, stage2_tune="lora")
    with pytest.raises(InputError, match="stage-2 epochs >= 1"):
        train(rows, tmp_path / "x", tiny_vlm_dir, stage2_epochs=0)


def test_agreement_overall_and_per_subset():
    mos = np.arange(10, dtype=float)
    predicted = mos.copy()
    predicted[[1, 3]] = predicted[[3, 1]]  # one swap inside subset "b"
    subsets = np.array(["a", "b"] * 5, dtype=object)
    result = agreement(predicted, mos, subsets)
    assert result["overall"]["n"] == 10 and 0.9 < result["overall"]["srcc"] < 1.0
    assert result["subsets"]["a"]["srcc"] == pytest.approx(1.0)
    assert result["subsets"]["b"]["srcc"] == pytest.approx(0.9)  # ranks 1,3,5,7,9 vs 3,1,5,7,9
    with_nan = agreement([1.0, np.nan, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], [None] * 4)
    assert with_nan["overall"]["n"] == 3 and with_nan["subsets"] == {}
    assert agreement([1.0, 2.0], [1.0, 2.0], ["a", "a"])["overall"]["srcc"] is None


def test_default_base_architecture_idefics3_trains_and_reloads(rows, tiny_idefics3_dir, tmp_path):
    """The default base (SmolVLM-256M) is an Idefics3 model: the same path with a tiny one, one view per image."""
    from tests.harmonyiqa.conftest import IDEFICS3_TOKENS_PER_VIEW

    result = train(rows, tmp_path / "idefics3-fr", tiny_idefics3_dir, mode="fr", stage1_epochs=2, stage2_epochs=2,
                   processor_options={"do_image_splitting": False})
    model = result.model
    assert model.projector_name == "model.connector"
    image, reference = load_image(rows["image"][0]), load_image(rows["reference"][0])
    ids = model.encode(image, reference)["inputs"]["input_ids"]
    assert int((ids == model.tokenizer.convert_tokens_to_ids("<image>")).sum()) == 2 * IDEFICS3_TOKENS_PER_VIEW
    cross_entropy = losses(result.record["history"], 1)
    assert cross_entropy[-1] < cross_entropy[0]
    reloaded = HarmonyIQAVLM.load(result.out_dir, device="cpu")
    assert reloaded.processor_options == {"do_image_splitting": False}
    assert reloaded.score(image, reference).score == pytest.approx(model.score(image, reference).score, abs=1e-9)
    tiled = HarmonyIQAVLM(str(tiny_idefics3_dir), None, "nr", device="cpu", processor_options={})
    ids = tiled.encode(image)["inputs"]["input_ids"]  # image splitting on: 2x2 tiles + the global view
    assert int((ids == tiled.tokenizer.convert_tokens_to_ids("<image>")).sum()) == 5 * IDEFICS3_TOKENS_PER_VIEW


def test_qwen2_vl_trains_and_reloads(rows, tiny_qwen2_vl_dir, tmp_path):
    """Qwen2-VL: LoRA on the vision blocks and the LLM, the merger MLP as projector, dynamic-resolution tokens."""
    result = train(rows, tmp_path / "qwen2-vl-fr", tiny_qwen2_vl_dir, mode="fr", stage1_epochs=2, stage2_epochs=2)
    model = result.model
    assert model.projector_name == "model.visual.merger"
    image, reference = load_image(rows["image"][0]), load_image(rows["reference"][0])
    inputs = model.encode(image, reference)["inputs"]
    grid = inputs["image_grid_thw"]
    assert grid.shape[0] == 2  # harmonized image and reference
    image_tokens = int((inputs["input_ids"] == model.tokenizer.convert_tokens_to_ids("<|image_pad|>")).sum())
    assert image_tokens == int(grid.prod(dim=-1).sum()) // 4  # 2x2 patches merged into one token
    cross_entropy = losses(result.record["history"], 1)
    assert cross_entropy[-1] < cross_entropy[0]
    reloaded = HarmonyIQAVLM.load(result.out_dir, device="cpu")
    assert reloaded.score(image, reference).score == pytest.approx(model.score(image, reference).score, abs=1e-9)
