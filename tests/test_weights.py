"""backend.weights: trained weights (safetensors + config metadata + JSON card) and hub files, offline."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
import torch
from torch import nn

from backend import settings, weights
from backend.errors import ModelUnavailableError


@dataclass(frozen=True)
class ConvPart(weights.Config):
    kind: str = field(default="conv", init=False)
    channels: tuple[int, ...] = (3, 4)


@dataclass(frozen=True)
class MlpPart(weights.Config):
    kind: str = field(default="mlp", init=False)
    hidden: int = 5
    sizes: tuple[int, int] = (2, 1)


@dataclass(frozen=True)
class TinyConfig(weights.Config):
    encoder: ConvPart | MlpPart = field(default_factory=ConvPart)
    head: MlpPart = field(default_factory=MlpPart)
    scale: float = 1.0
    label: str | None = None


class TinyNet(nn.Module):
    config_class = TinyConfig

    def __init__(self, config: TinyConfig):
        super().__init__()
        self.config = config
        width = config.encoder.channels[-1] if isinstance(config.encoder, ConvPart) else config.encoder.hidden
        self.register_buffer("centre", torch.zeros(width))
        self.body = nn.Linear(width, config.head.hidden)
        self.out = nn.Linear(config.head.hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.body(x - self.centre))) * self.config.scale


class OtherNet(TinyNet):
    """Same layout and config, another class: its files are not TinyNet's."""


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    config = TinyConfig(encoder=MlpPart(hidden=6), head=MlpPart(hidden=7, sizes=(3, 2)), scale=2.0, label="x")
    network = TinyNet(config)
    network.centre.fill_(0.25)
    path = weights.save(tmp_path / "tiny.safetensors", network, {"name": "tiny", "command": "train it"})
    assert path == tmp_path / "tiny.safetensors" and weights.card_path(path) == tmp_path / "tiny.json"
    metadata = weights.read_metadata(path)
    assert metadata["network"] == "TinyNet" and json.loads(metadata["config"])["encoder"]["kind"] == "mlp"
    loaded, card = weights.load(path, TinyNet, what="tiny network", train_hint="python -m backend tiny train")
    assert card == {"name": "tiny", "command": "train it"} == weights.read_card(path)
    assert loaded.config == config and isinstance(loaded.config.encoder, MlpPart) and loaded.config.head.sizes == (3, 2)
    assert not loaded.training
    x = torch.rand(4, 6)
    torch.testing.assert_close(loaded(x), network(x), rtol=0, atol=0)
    assert torch.equal(loaded.centre, network.centre)
    weights.save(tmp_path / "bare.safetensors", network)  # no card: load gives an empty one
    assert weights.load(tmp_path / "bare.safetensors", TinyNet, what="tiny", train_hint="x")[1] == {}


def test_missing_file_names_the_train_command(tmp_path):
    with pytest.raises(ModelUnavailableError, match=r"tiny network weights .*absent.*`python -m backend tiny train`"):
        weights.load(tmp_path / "absent.safetensors", TinyNet, what="tiny network",
                     train_hint="python -m backend tiny train")


def test_another_network_class_and_a_file_without_config_are_refused(tmp_path):
    from safetensors.torch import save_file

    path = weights.save(tmp_path / "tiny.safetensors", TinyNet(TinyConfig()))
    with pytest.raises(ModelUnavailableError, match="holds a TinyNet, not a OtherNet.*tiny train"):
        weights.load(path, OtherNet, what="other network", train_hint="python -m backend tiny train")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(ModelUnavailableError, match="no config in its metadata"):
        weights.load(tmp_path / "plain.safetensors", TinyNet, what="tiny network", train_hint="x")


def test_nested_configs_round_trip_through_json():
    for config in (TinyConfig(), TinyConfig(encoder=ConvPart(channels=(1, 2, 3)), label="a"),
                   TinyConfig(encoder=MlpPart(hidden=9, sizes=(4, 5)), head=MlpPart(hidden=1), scale=0.5)):
        text = json.dumps(config.as_dict())
        again = TinyConfig.from_dict(json.loads(text))
        assert again == config and type(again.encoder) is type(config.encoder)
        if isinstance(again.encoder, ConvPart):
            assert isinstance(again.encoder.channels, tuple)
    # missing keys take the defaults, unknown keys are ignored, ``kind`` is never passed in
    assert TinyConfig.from_dict({"encoder": {"kind": "mlp"}, "dim": 128}) == TinyConfig(encoder=MlpPart())
    assert MlpPart.from_dict({"kind": "mlp", "sizes": [7, 8]}).sizes == (7, 8)
    with pytest.raises(ValueError, match="kind 'transformer' is none of conv, mlp"):
        TinyConfig.from_dict({"encoder": {"kind": "transformer"}})


@pytest.fixture
def restore_settings():
    yield
    settings.load()


LOCAL = weights.HubWeights("harmonylab-tests/never-published", "0" * 40, "1 kB", ("weights.bin",),
                           "HARMONYLAB_PROMPTIQA_CHECKPOINT")


def test_hub_file_uses_the_local_copy_named_by_the_settings(tmp_path, restore_settings):
    copy = tmp_path / "weights.bin"
    copy.write_bytes(b"local")
    settings.use(settings.parse({"HARMONYLAB_PROMPTIQA_CHECKPOINT": str(copy), "HF_HUB_OFFLINE": "1"}))
    assert weights.hub_file(LOCAL, "weights.bin", what="the test weights") == copy
    assert weights.hub_status(LOCAL).ready
    settings.use(settings.parse({"HARMONYLAB_PROMPTIQA_CHECKPOINT": str(tmp_path), "HF_HUB_OFFLINE": "1"}))
    assert weights.hub_file(LOCAL, "weights.bin", what="the test weights") == copy  # a folder holding the file
    with pytest.raises(ModelUnavailableError, match="does not hold other.bin"):
        weights.hub_file(LOCAL, "other.bin", what="the test weights")


def test_hub_file_offline_is_a_sentence_naming_what_to_download(restore_settings):
    settings.use(settings.parse({"HF_HUB_OFFLINE": "1"}))
    with pytest.raises(ModelUnavailableError, match=r"harmonylab-tests/never-published@000000000000.*"
                                                    r"could not be downloaded.*set HARMONYLAB_PROMPTIQA_CHECKPOINT"):
        weights.hub_file(LOCAL, "weights.bin", what="the test weights")
    assert weights.hub_status(LOCAL).state == "needs download"
    no_local = weights.HubWeights("harmonylab-tests/never-published", "0" * 40)
    with pytest.raises(ModelUnavailableError, match="not reachable"):
        weights.hub_file(no_local, "weights.bin", what="the test weights")
