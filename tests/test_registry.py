"""backend/registry.py: discovery, listing, lazy cached creation, thread safety, status, parameterised names."""

from __future__ import annotations

import threading

import pytest

from backend import registry
from backend.errors import InputError, ModelUnavailableError
from backend.registry import ModelCard
from backend.weights import HubWeights, Status, hub_status


@pytest.fixture
def scratch_model():
    """A throw-away model registered for one test (removed afterwards)."""
    built = []

    def factory(scale: float = 1.0):
        built.append(scale)
        return {"scale": scale}

    card = ModelCard(name="scratch-test-model", task="iqa-nr", summary="test", lower_better=True, score_range=(0, 1))
    registry.list_models()  # load the families first
    registry.register(card)(factory)
    yield card, built
    registry.unregister(card.name)


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
        registry.register(card)(lambda: None)


def test_every_family_folder_is_discovered():
    modules = registry.registration_modules()
    assert "backend.iqa.classical.registration" in modules and "backend.segmentation.registration" in modules
    assert len(modules) == len(set(modules)) >= 7
    first = registry.list_models()[0]
    assert first.name == "psnr"  # LISTING_ORDER puts the classical metrics first


def test_parameterised_names_fill_the_cards_argument():
    assert registry.parse_name("nr-thurstone:piqe") == ("nr-thurstone", {"scorer": "piqe"})
    assert registry.parse_name("vlm:someone/model@abc123") == ("vlm", {"model_id": "someone/model", "revision": "abc123"})
    # a family without a revision option keeps '@' in its argument (the inner name is parsed again later)
    assert registry.parse_name("compare2score:vlm:a/b@r") == ("compare2score", {"comparator": "vlm:a/b@r"})
    assert registry.card("dogiqa:entropy").name == "dogiqa:entropy"
    assert registry.card("dogiqa:entropy").task == "iqa-nr"
    with pytest.raises(InputError, match="takes no argument"):
        registry.parse_name("psnr:x")
    with pytest.raises(InputError, match="names no scorer"):
        registry.parse_name("nr-thurstone:")
    with pytest.raises(InputError, match="empty revision"):
        registry.parse_name("vlm:a/b@")
    with pytest.raises(InputError, match="Unknown model 'nope:x'"):
        registry.parse_name("nope:x")


def test_options_come_from_the_factory_and_unknown_ones_are_refused(scratch_model):
    card, _ = scratch_model
    assert registry.options(card.name) == ("scale",)
    with pytest.raises(InputError, match="has no option colour; its options: scale"):
        registry.create(card.name, colour="red")


def test_parameterised_model_scores_under_its_own_name(photo):
    model = registry.create("nr-thurstone:entropy")
    assert model.scorer_name == "entropy"
    assert registry.create("nr-thurstone:entropy") is model  # cached per parsed options
    dogiqa = registry.create("dogiqa:entropy")
    assert dogiqa.card.name == "dogiqa:entropy"


@pytest.fixture
def empty_hub_cache(monkeypatch, tmp_path):
    """Point huggingface_hub at an empty cache (its constant is read at call time; the env var only at import)."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_status_of_models_without_weights(monkeypatch, tmp_path, empty_hub_cache, settings_env):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    settings_env(HARMONYLAB_NIQE_PARAMS=None)
    assert registry.status("psnr") == Status("ready")
    niqe = registry.status("niqe")
    assert niqe.state == "needs download" and "niqe_modelparameters.mat" in niqe.detail
    settings_env(HARMONYLAB_NIQE_PARAMS=str(tmp_path / "missing.mat"))
    assert registry.status("niqe").state == "unavailable"


def test_needs_download_offline_gives_actionable_error(monkeypatch, tmp_path, empty_hub_cache, settings_env):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    settings_env(HF_HUB_OFFLINE="1", HARMONYLAB_BRISQUE_PARAMS=None)
    registry.clear_cache()
    with pytest.raises(ModelUnavailableError, match="set HARMONYLAB_BRISQUE_PARAMS to its path"):
        registry.create("brisque")


def test_hub_status_uses_cache_and_local_override(tmp_path, empty_hub_cache, settings_env):
    revision = "0123456789abcdef0123456789abcdef01234567"
    weights = HubWeights("someone/model", revision, "1 MB", ("weights.safetensors",), "HARMONYLAB_SAM2_PATH")
    settings_env(HARMONYLAB_SAM2_PATH=None)
    assert hub_status(weights).state == "needs download"
    snapshot = empty_hub_cache / "models--someone--model" / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (snapshot / "weights.safetensors").write_bytes(b"x")
    assert hub_status(weights) == Status("ready", "hub cache")
    local = tmp_path / "local.safetensors"
    local.write_bytes(b"x")
    settings_env(HARMONYLAB_SAM2_PATH=str(local))
    assert hub_status(weights).ready
    settings_env(HARMONYLAB_SAM2_PATH=str(tmp_path / "absent"))
    assert hub_status(weights).state == "unavailable"


def test_card_metadata_matches_pyiqa():
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    for card in registry.list_models():
        if card.implementation not in ("pyiqa", "fast"):
            continue
        config = DEFAULT_CONFIGS[card.name]
        assert card.lower_better == config.get("lower_better", False), card.name
        assert ("FR" if card.full_reference else "NR") == config["metric_mode"], card.name
        assert card.range_text == config["score_range"], card.name


@pytest.fixture
def public_process():
    """The registry as the app runs it (visitors' names restricted); restored afterwards."""
    saved = dict(registry._public)
    yield registry.serve_publicly
    registry._public.update(saved)


def test_a_public_process_takes_only_names_a_visitor_may_give(public_process):
    assert registry.parse_name("vlm:someone/model") == ("vlm", {"model_id": "someone/model"})  # not yet public
    assert registry.parse_name("harmonyiqa-vlm-nr:/tmp/folder")[1] == {"adapter": "/tmp/folder"}
    public_process(allow_hub_ids=False)
    assert registry.parse_name("dogiqa:entropy") == ("dogiqa", {"scorer": "entropy"})
    assert registry.parse_name("compare2score:nr-thurstone:piqe")[1] == {"comparator": "nr-thurstone:piqe"}
    refused = {
        "harmonyiqa-vlm-nr:/etc": "folder on the server",
        "vlm:/etc/passwd": "not a Hugging Face model id",
        "dogiqa-vlm:../../x": "not a Hugging Face model id",
        "vlm:someone/model": "runs only the models it lists",
        "compare2score:vlm:someone/model": "runs only the models it lists",  # checked through the inner name
        "dogiqa:no-such-model": "Unknown model 'no-such-model'",
    }
    for name, message in refused.items():
        with pytest.raises(InputError, match=message):
            registry.create(name)
    public_process(allow_hub_ids=True)
    assert registry.parse_name("vlm:someone/model@abc")[1] == {"model_id": "someone/model", "revision": "abc"}
    with pytest.raises(InputError, match="not a Hugging Face model id"):
        registry.parse_name("vlm:./local-folder")


def test_built_models_are_cached_least_recently_used_first(scratch_model, monkeypatch):
    card, built = scratch_model
    monkeypatch.setattr(registry, "MAX_CACHED_MODELS", 3)
    registry.clear_cache()
    first = registry.create(card.name, scale=1.0)
    for scale in (2.0, 3.0):
        registry.create(card.name, scale=scale)
    assert registry.create(card.name, scale=1.0) is first  # a hit makes it the most recently used
    registry.create(card.name, scale=4.0)  # drops scale=2.0, the least recently used
    assert len(registry._instances) == 3 and registry.create(card.name, scale=1.0) is first
    registry.create(card.name, scale=2.0)
    assert built == [1.0, 2.0, 3.0, 4.0, 2.0]
