"""Data: StickActions (synthetic, seeded), video files, and loaders for real data sets.

Real data sets as downloaded miss videos and hold a few that do not decode. The loaders drop the
absent ones when they are built (one warning) and skip those listed in `exclude=` (the file
`python -m rvit_mini check-data` writes); a video that fails to decode during training is None
(a warning naming the file), so load with

    DataLoader(clips, batch_size, collate_fn=rvit_mini.data.collate)

and skip a batch that comes back None (every item in it failed).

This package never imports a model.
"""

from .actions import CLASSES, REVERSED_PAIRS
from .check import check_data, scan, write_exclude
from .datasets import (
    LOADERS,
    SPLITS,
    VAL_SPLITS,
    VideoClips,
    charades,
    check_labelled,
    collate,
    jester,
    kinetics,
    load,
    read_exclude,
    something_something_v2,
    video_folder,
)
from .export import export_split
from .stick_actions import (
    COMPOSITES,
    StickActions,
    action_chain,
    composite_clip,
    render_clip,
)
from .streams import StickStreams
from .video import (
    count_frames,
    iter_frames,
    read_video,
    resize,
    sample_indices,
    to_tensor,
    video_backend,
    write_video,
)

__all__ = [
    "CLASSES", "COMPOSITES", "LOADERS", "REVERSED_PAIRS", "SPLITS", "StickActions", "StickStreams",
    "VAL_SPLITS",
    "VideoClips", "action_chain", "charades", "check_data", "check_labelled", "collate",
    "composite_clip", "count_frames", "export_split",
    "iter_frames", "jester", "kinetics", "load", "read_exclude", "read_video", "render_clip", "resize",
    "sample_indices", "scan", "something_something_v2", "to_tensor", "video_backend", "video_folder",
    "write_exclude", "write_video",
]
