"""Online action recognition: name the action happening now, one frame at a time.

A recogniser takes frames in order and gives logits for the newest frame, never looking ahead:

    Recurrent(model)               an RViT, a TRecViT (or the memoryless frame ViT): head(f_t)
                                   after each step
    Recurrent(model, oracle=True)  the same, its state reset where each action begins (an
                                   ablation that is told the boundaries)
    Window(cvit, w)                a CViT over the last w frames
    Constant(k, num_classes)       always class k: the majority-class guess

    logits = predict_stream(rvit, video)             # (T, C, H, W) -> (T, K), frame by frame
    streams = StickStreams("test", num_frames=480, num_streams=8)
    rows = compare({"rvit": Recurrent(rvit), "cvit w8": Window(cvit, 8)}, streams)
    print(markdown(rows))

    # or by name, on the same held-out streams, with the switch at the composite pairs:
    print(markdown(evaluate_streams(["majority", "shown", "vit_online", "rvit", "rvit_online",
                                     "cvit_online@w8", "trecvit_online", "trecvit_online@reset"],
                                    action_frames=(8, 8), clips_per_pair=20)))
    #   (python -m rvit_mini evaluate-stream prints the same table)

Metrics follow the online action detection literature (THUMOS'14, TVSeries; LSTR's stream
mode): per-frame accuracy, per-frame mAP and calibrated mAP (De Geest et al., "Online Action
Detection", ECCV 2016), accuracy by position inside an action, switch delay at the boundary of
a composite clip, and per frame: latency, FLOPs and the memory a recogniser holds.

An action's first frame, and at times its second, still shows the last pose of the action
before (the figure starts to move a little after the label changes; StickStreams.shown): the
"shown" row scores those labels as predictions, the ceiling for a recogniser that names what it
sees (85 % of the frames of streams of 8-frame actions).
"""

from .boundaries import (
    change_point,
    change_point_errors,
    composite_clips,
    memory_of_the_past,
    shown_switch_delays,
    switch_delay,
    switch_delays,
    switch_table,
    two_sided_switch_delay,
)
from .cards import stream_test
from .metrics import (
    accuracy_by_position,
    average_precision,
    frame_accuracy,
    frame_ap,
    frame_map,
    positions,
    stream_metrics,
)
from .recognisers import Constant, Recurrent, Window, as_recogniser, oracle_resets, predict_stream
from .rivals import (
    COLUMNS,
    compare,
    cost,
    evaluate_streams,
    majority_class,
    markdown,
    rival,
    rival_from,
    shown_row,
)

__all__ = [  # sorted
    "COLUMNS", "Constant", "Recurrent", "Window", "accuracy_by_position", "as_recogniser",
    "average_precision", "change_point", "change_point_errors", "compare", "composite_clips",
    "cost", "evaluate_streams", "frame_accuracy", "frame_ap", "frame_map", "majority_class",
    "markdown", "memory_of_the_past", "oracle_resets", "positions", "predict_stream", "rival",
    "rival_from", "shown_row", "shown_switch_delays", "stream_metrics", "stream_test",
    "switch_delay", "switch_delays", "switch_table", "two_sided_switch_delay",
]
