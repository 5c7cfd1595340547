"""Every shipped model's recipe, run from the command line, writes the shipped card's
architecture, data, start and schedule; `checkpoints` is that command in a loop."""

import functools
import json

import pytest
import torch

import rvit_mini as rm
from rvit_mini import cli, online
from rvit_mini.model.registry import ARCHS
from rvit_mini.model.trecvit import TRecViT
from rvit_mini.training import RECIPES, SHIPPED, Recipe, cards, prepare_run
from rvit_mini.training.checkpoint import read_checkpoint as load_checkpoint
from rvit_mini.training.loading import CHECKPOINTS, model_card
from rvit_mini.training.recipes import STREAM_TRAINED, run_name


@pytest.fixture
def small_tests(monkeypatch):
    """The cards' test figures on a few clips and one short stream: what is compared here is
    what the run trained, not how well."""
    monkeypatch.setattr(cards, "StickActions", functools.partial(rm.data.StickActions,
                                                                 num_clips=9))
    monkeypatch.setattr(online.cards, "CARD_TEST", dict(num_streams=1, num_frames=40,
                                                        clips_per_pair=1))


def architecture(card: dict) -> dict:
    """The config fields the card's architecture reads."""
    config = card["model_config"]
    others = {opt for arch, cls in ARCHS.items() if arch != config["arch"]
              for opt in cls.own_options} - set(ARCHS[config["arch"]].own_options)
    return {k: v for k, v in config.items() if k not in others}


def what_was_trained(card: dict) -> dict:
    data = {k: v for k, v in card["data"].items() if k != "test_clips"}  # the test's size
    return {"architecture": architecture(card), "data": data, "init": card["init"],
            "recipe": card["recipe"], "fields": sorted(card)}


@pytest.mark.parametrize("name", list(SHIPPED))
def test_each_shipped_recipe_reproduces_its_card_from_the_command_line(name, tmp_path,
                                                                       small_tests, capsys):
    shipped = model_card(name)
    cli.main(["train", "--recipe", shipped["recipe"]["name"], "--out", str(tmp_path),
              "--max-steps", "2", "--val-split", "", "--device", "cpu"])
    written = json.loads((tmp_path / f"{name}.json").read_text())
    assert what_was_trained(written) == what_was_trained(shipped)
    assert load_checkpoint(tmp_path / "last.pt")["train_state"]["step"] == 2
    assert rm.load_pretrained(name, tmp_path).cfg.arch == shipped["model_config"]["arch"]
    assert f"{name}.pt with its card" in capsys.readouterr().out


def test_the_shipped_cards_hold_their_recipes():
    for name, recipe in SHIPPED.items():
        assert model_card(name)["recipe"] == json.loads(json.dumps(RECIPES[recipe].to_dict()))


def test_checkpoints_is_the_train_command_in_a_loop(tmp_path, small_tests, monkeypatch):
    short = Recipe(**{**RECIPES["mini_cvit_online"].to_dict(), "batch_size": 2, "epochs": 1,
                      "streams": dict(num_frames=10, num_streams=4, action_frames=(4, 6),
                                      target="shown"), "windows": dict(widths=(4, 8))})
    monkeypatch.setitem(RECIPES, "mini_cvit_online", short)
    for suffix in (".pt", ".json"):  # the model it continues, read from --out
        (tmp_path / f"cvit{suffix}").write_bytes((CHECKPOINTS / f"cvit{suffix}").read_bytes())
    cli.main(["checkpoints", "--out", str(tmp_path), "--only", "cvit_online"])
    card = model_card("cvit_online", tmp_path)
    assert set(card["test"]["8-frame actions"]) == {"shown_ceiling", "cvit_online@w4",
                                                    "cvit_online@w8"}
    assert card["data"]["labelled_frames_seen"] == 4 and card["model_config"]["num_frames"] == 32
    assert card["tuned_on"] == online.cards.TUNED_ON and card["init"] == "the shipped cvit"
    assert not (tmp_path / "runs" / "cvit_online" / "last.pt").exists()
    assert (tmp_path / "runs" / "cvit_online" / "log.jsonl").is_file()


def test_a_run_starts_as_its_recipe_says():
    vit = rm.load_pretrained("vit")
    rvit = prepare_run(RECIPES["mini_rvit"], val_split="").model  # Sec. 3.2: from the ViT
    assert torch.equal(rvit.blocks[0].attn.qkv.weight, vit.blocks[0].attn.qkv.weight)
    vit_online = prepare_run(RECIPES["mini_vit_online"]).model    # continued
    assert all(torch.equal(a, b) for a, b in zip(vit_online.state_dict().values(),
                                                 vit.state_dict().values()))
    scratch = prepare_run(RECIPES["mini_rvit_scratch"], val_split="").model
    assert not torch.equal(scratch.blocks[0].attn.qkv.weight, vit.blocks[0].attn.qkv.weight)
    trecvit = prepare_run(RECIPES["mini_trecvit"], val_split="").model  # as Sec. 3.2's RViT
    assert isinstance(trecvit, TRecViT) and torch.equal(trecvit.head.weight, vit.head.weight)
    assert torch.equal(trecvit.blocks[2].mlp.fc2.weight, vit.blocks[2].mlp.fc2.weight)
    shipped = rm.load_pretrained("trecvit")
    trecvit_online = prepare_run(RECIPES["mini_trecvit_online"]).model  # continued
    assert all(torch.equal(a, b) for a, b in zip(trecvit_online.state_dict().values(),
                                                 shipped.state_dict().values(), strict=True))
    with pytest.raises(ValueError, match="give --init-from"):
        prepare_run(RECIPES["rvit"], size=32, val_split="")
    with pytest.raises(ValueError, match="trains on StickStreams"):
        prepare_run(RECIPES["mini_rvit_online"], data="jester", root=".")
    assert STREAM_TRAINED == ("rvit_online", "vit_online", "cvit_online", "trecvit_online")


@pytest.mark.parametrize("trecvit, rvit", [("mini_trecvit", "mini_rvit"),
                                           ("mini_trecvit_online", "mini_rvit_online")])
def test_each_trecvit_recipe_is_its_rvit_recipe_with_another_model(trecvit, rvit):
    """The same data, start (the same ViT, or the model of the same recipe), schedule, tbptt and
    seed, so that the shipped TRecViTs compare with the shipped RViTs."""
    mine, theirs = RECIPES[trecvit].to_dict(), RECIPES[rvit].to_dict()
    assert mine.pop("model") == "trecvit" and theirs.pop("model") == "rvit"
    assert mine.pop("init") == theirs.pop("init").replace("rvit", "trecvit")
    assert {k: v for k, v in mine.items() if k not in ("name", "note")} == \
        {k: v for k, v in theirs.items() if k not in ("name", "note")}
    assert SHIPPED[run_name(RECIPES[trecvit])] == trecvit


def test_the_readme_way_to_add_a_variant_trains_it_for_a_step(tmp_path, monkeypatch):
    from rvit_mini.model import registry

    monkeypatch.setitem(registry.VARIANTS, "rvit_mean", registry.Variant(
        "rvit", {"paper": 6, "mini": 2}, "RViT pooling the token mean", {"pool": "mean"}))
    monkeypatch.setitem(RECIPES, "mini_rvit_mean", Recipe(
        name="mini_rvit_mean", model="rvit_mean", scale="mini", num_frames=8, lr=1e-3, epochs=3))
    monkeypatch.setattr(cards, "StickActions", functools.partial(rm.data.StickActions,
                                                                 num_clips=9))
    assert "rvit_mean" in rm.list_models()
    cli.main(["train", "--recipe", "mini_rvit_mean", "--out", str(tmp_path), "--max-steps", "1",
              "--batch-size", "4", "--val-split", "", "--device", "cpu"])
    model = rm.load_pretrained("mini_rvit_mean", tmp_path)
    assert (model.cfg.pool, model.cfg.depth) == ("mean", 2)
    assert load_checkpoint(tmp_path / "last.pt")["train_state"]["step"] == 1


def test_a_card_names_the_gpu_a_run_used_and_the_cpu_otherwise(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H200")
    assert cards.machine("cuda").startswith("NVIDIA H200 (CUDA ")
    assert cards.machine("cuda:0").startswith("NVIDIA H200 (CUDA ")
    cpu = cards.machine("cpu")
    assert cpu.startswith("CPU ")
    assert cpu.endswith(f", {torch.get_num_threads()} threads, torch {torch.__version__}")
