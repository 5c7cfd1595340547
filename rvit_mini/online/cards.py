"""The held-out test a stream-trained model's card reports (training.cards.write_model)."""

from pathlib import Path

from .rivals import evaluate_streams

# what the stream recipes were chosen on; the test split's streams and the composite clips of
# seeds 0 to 19 were not looked at until the models were trained
TUNED_ON = ("the val split's streams (seeds 0 and 10000) and the composite clips of seeds 10000 "
            "and up")
# the held-out test of the stream cards: 8 test streams of 480 frames, and 20 clips of each
# composite pair
CARD_TEST = dict(num_streams=8, num_frames=480, clips_per_pair=20)
STREAM_TESTS = {"8-frame actions": (8, 8), "6- to 20-frame actions": (6, 20)}


def stream_test(setup, card: dict, out: Path) -> dict:
    """Per-frame figures on held-out streams of two kinds, against the frames' own ceiling; a
    CViT over windows as wide as it was trained on. Reads the model from out (saved first)."""
    name, seed = card["name"], card["data"]["seed"]
    windows = setup.recipe.windows
    tested = [f"{name}@w{w}" for w in windows["widths"]] if windows else [name]
    test = {}
    for kind, action_frames in STREAM_TESTS.items():
        shown, *rows = evaluate_streams(["shown", *tested], split="test", seed=seed, root=out,
                                        action_frames=action_frames, **CARD_TEST)
        test[kind] = {"shown_ceiling": round(shown["accuracy"], 4),
                      **{row["name"]: {k: round(v, 4) for k, v in row.items()
                                       if k in ("accuracy", "mAP", "mcAP", "first3", "rest",
                                                "settled", "worst_pair")} for row in rows}}
    pairs = CARD_TEST["clips_per_pair"]
    return {"test": test, "tuned_on": TUNED_ON,
            "test_streams": f"{CARD_TEST['num_streams']} test-split streams of "
                            f"{CARD_TEST['num_frames']} frames (seed {seed}); {pairs} clips of "
                            f"each composite pair (seeds {seed} to {seed + pairs - 1})"}


