"""Data: StickActions (synthetic, seeded), video files, and loaders for real data sets.

This package never imports a model.
"""

from .actions import CLASSES, REVERSED_PAIRS
from .datasets import (
                       LOADERS,
                       VideoClips,
                       charades,
                       jester,
                       kinetics,
                       something_something_v2,
                       video_folder,
)
from .stick_actions import (
    COMPOSITES,
    StickActions,
    action_chain,
    composite_clip,
    render_clip,
    to_tensor,
)
from .streams import StickStreams  # noqa: F401  (long streams for online recognition)
from .video import (
    iter_frames,
    read_video,
    resize,
    sample_indices,
    video_backend,
    write_video,
)

__all__ = [
    "CLASSES", "COMPOSITES", "LOADERS", "REVERSED_PAIRS", "StickActions", "VideoClips", "action_chain",
    "charades",
    "jester", "kinetics", "something_something_v2", "video_folder", "composite_clip", "iter_frames",
    "read_video", "render_clip", "resize", "sample_indices", "to_tensor", "video_backend", "write_video",
]
