"""backend/registry.py: listing, lazy cached creation, thread safety, status and unknown names."""

from __future__ import annotations

import threading

import pytest

from backend import registry
from backend.errors import InputError, ModelUnavailableError
from backend.registry import HubWeights, ModelCard, Status


@pytest.fixture
def scratch_model():
    """A throw-away model registered for one test (removed afterwards)."""
    built = []

    def factory(scale: float = 1.0):
        built.append(scale)
        return {"scale": scale}

    card = ModelCard(name="scratch-test-model", task="iqa-nr", summary="test", lower_better=True, score_range=(0, 1))
    registry.list_models()  # load the providers first
    registry.register(card, factory)
    yield card, built
    registry._entries.pop(card.name, None)
    registry.clear_cache()


def test_list_models_by_task():
    names = [c.name for c in registry.list_models()]
    for expected in ("psnr", "ssim", "ms_ssim", "fsim", "vsi", "gmsd", "vif", "piqe", "entropy", "niqe", "brisque",
                     "ih-mse", "ih-fmse", "ih-psnr", "ih-fpsnr"):
        assert expected in names
    assert {c.task for c in registry.list_models("iqa-nr")} == {"iqa-nr"}
    assert {c.name for c in registry.list_models(("iqa-fr", "iqa-nr"))} >= {"psnr", "piqe"}
    with pytest.raises(InputError, match="Unknown task 'bogus'"):
        registry.list_models("bogus")


def test_unknown_model_lists_known_ones():
    with pytest.raises(InputError, match=r"Unknown model 'no-such-model'\. Known models: .*psnr"):
        registry.create("no-such-model")
    with pytest.raises(InputError, match="Unknown model"):
        registry.status("no-such-model")


def test_create_is_lazy_cached_and_thread_safe(scratch_model):
    card, built = scratch_model
    assert built == []  # registering builds nothing
    results = []
    threads = [threading.Thread(target=lambda: results.append(registry.create(card.name, scale=2.0))) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == [2.0] and all(r is results[0] for r in results)
    assert registry.create(card.name, scale=3.0) is not results[0]
    assert built == [2.0, 3.0]


def test_duplicate_registration_refused(scratch_model):
    card, _ = scratch_model
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(card, lambda: None)


@pytest.fixture
def empty_hub_cache(monkeypatch, tmp_path):
    """Point huggingface_hub at an empty cache (its constant is read at call time; the env var only at import)."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_status_of_models_without_weights(monkeypatch, tmp_path, empty_hub_cache):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("HARMONYLAB_NIQE_PARAMS", raising=False)
    assert registry.status("psnr") == Status("ready")
    niqe = registry.status("niqe")
    assert niqe.state == "needs download" and "niqe_modelparameters.mat" in niqe.detail
    monkeypatch.setenv("HARMONYLAB_NIQE_PARAMS", str(tmp_path / "missing.mat"))
    assert registry.status("niqe").state == "unavailable"


def test_needs_download_offline_gives_actionable_error(monkeypatch, tmp_path, empty_hub_cache):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HARMONYLAB_BRISQUE_PARAMS", raising=False)
    registry.clear_cache()
    with pytest.raises(ModelUnavailableError, match="set HARMONYLAB_BRISQUE_PARAMS to its path"):
        registry.create("brisque")


def test_hub_status_uses_cache_and_local_override(monkeypatch, tmp_path, empty_hub_cache):
    revision = "0123456789abcdef0123456789abcdef01234567"
    weights = HubWeights("someone/model", revision, "1 MB", ("weights.safetensors",), "TEST_LOCAL_WEIGHTS")
    monkeypatch.delenv("TEST_LOCAL_WEIGHTS", raising=False)
    assert registry.hub_status(weights).state == "needs download"
    snapshot = empty_hub_cache / "models--someone--model" / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (snapshot / "weights.safetensors").write_bytes(b"x")
    assert registry.hub_status(weights) == registry.Status("ready", "hub cache")
    local = tmp_path / "local.safetensors"
    local.write_bytes(b"x")
    monkeypatch.setenv("TEST_LOCAL_WEIGHTS", str(local))
    assert registry.hub_status(weights).ready


def test_card_metadata_matches_pyiqa():
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    for card in registry.list_models():
        if card.extra.get("library") != "pyiqa":
            continue
        config = DEFAULT_CONFIGS[card.name]
        assert card.lower_better == config.get("lower_better", False), card.name
        assert ("FR" if card.full_reference else "NR") == config["metric_mode"], card.name
        assert card.extra["range_text"] == config["score_range"], card.name
