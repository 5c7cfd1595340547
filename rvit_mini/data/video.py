"""Video files in and out: decord where it is installed (decord2 on Linux and Windows), PyAV
everywhere else.

PyAV decodes a file front to back and keeps only the frames it returns, so reading T frames
costs T frames of memory whatever the video's length. Files that are not videos, or have no
video stream or no frames, raise a ValueError naming the file.

Frame sampling (`sample_indices`), the rule for every reader here:
- "uniform": cut the video into T equal segments and take each segment's middle frame (TSN,
  the paper's clips). A video shorter than T frames repeats frames (nearest frame).
- "dense": T consecutive frames `stride` apart, centred in the video; past the end, the last
  frame repeats.
- "all": every frame.
"""

import math
from collections.abc import Iterator
from fractions import Fraction
from numbers import Real
from pathlib import Path

# PyAV is imported before decord on purpose: decord's wheel bundles an older libvpx, and if it
# loads first PyAV's VP9 encoder binds to it and fails to open ("avcodec_open2 ... returned 22").
import av
import numpy as np
import torch
import torch.nn.functional as F

from ..common.checks import check_count

SAMPLINGS = ("uniform", "dense", "all")
CODECS = {".mp4": "libx264", ".webm": "libvpx-vp9"}


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """Decoded frames (T, H, W, 3) uint8 -> (T, 3, H, W) float in [0, 1], as the models take."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255


def video_backend() -> str:
    """'decord' where it imports, else 'pyav'."""
    try:
        import decord  # noqa: F401
    except ImportError:
        return "pyav"
    return "decord"


def check_sampling(num_frames: int | None, sampling: str, stride: int) -> None:
    """Refuse a way of sampling frames that makes no sense: an unknown sampling, num_frames < 1
    (None: every frame), a stride < 1 (0 repeats one frame, -1 reverses the clip)."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    if num_frames is not None:
        check_count("num_frames", num_frames)
    check_count("stride", stride)


def sample_indices(total: int, num_frames: int | None, sampling: str = "uniform",
                   stride: int = 1) -> np.ndarray:
    """Indices of the frames to read from a video of `total` frames (see the module docstring)."""
    check_sampling(num_frames, sampling, stride)
    if total < 1:
        raise ValueError("the video has no frames")
    if sampling == "all" or num_frames is None:
        return np.arange(total)
    if sampling == "uniform":
        return np.minimum(((np.arange(num_frames) + 0.5) * total / num_frames).astype(int),
                          total - 1)
    span = (num_frames - 1) * stride + 1
    start = max(0, (total - span) // 2)
    return np.minimum(start + stride * np.arange(num_frames), total - 1)


def _floats_to_uint8(frames: torch.Tensor) -> torch.Tensor:
    """float frames in [0, 1] -> uint8; floats outside [0, 1] (0-255, say) or NaN are refused,
    as clamping would turn them white or black."""
    if frames.numel() and not torch.isfinite(frames).all():
        raise ValueError("expected float frames in [0, 1], got NaN or inf; pass finite values")
    lo, hi = (frames.min().item(), frames.max().item()) if frames.numel() else (0, 0)
    if lo < 0 or hi > 1:
        hint = " (floats in 0-255? divide by 255)" if hi > 1 else ""
        raise ValueError(f"expected float frames in [0, 1], got values from {lo:.4g} to "
                         f"{hi:.4g}{hint}, or pass uint8")
    return (frames * 255 + 0.5).to(torch.uint8)


def _frames_to_uint8(frames) -> np.ndarray:
    """(T, 3, H, W) float tensor in [0, 1] or (T, H, W, 3) uint8 -> (T, H, W, 3) uint8."""
    if isinstance(frames, torch.Tensor):
        if frames.is_floating_point():
            frames = _floats_to_uint8(frames)
        frames = frames.permute(0, 2, 3, 1).cpu().numpy()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            "expected frames (T, 3, H, W) float in [0, 1] or (T, H, W, 3) uint8, got "
            f"shape {frames.shape} {frames.dtype}"
        )
    return frames


def resize(frames: torch.Tensor, size: int) -> torch.Tensor:
    """(..., 3, H, W) float in [0, 1] -> (..., 3, size, size), bilinear with antialiasing."""
    check_count("size", size)
    if frames.shape[-2:] == (size, size):
        return frames
    lead = frames.shape[:-3]
    out = F.interpolate(frames.reshape(-1, *frames.shape[-3:]), size=(size, size),
                        mode="bilinear", antialias=True, align_corners=False)
    return out.clamp(0, 1).reshape(*lead, *out.shape[-3:])


def _frame_rate(fps) -> Fraction:
    """fps (12, 12.5, Fraction(30000, 1001)) -> the exact rate PyAV takes; <= 0 is refused."""
    if isinstance(fps, bool) or not isinstance(fps, Real) or not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive number of frames per second, got {fps!r}")
    return Fraction(fps).limit_denominator(1001)


def write_video(path, frames, fps: float = 12, crf: int = 12) -> Path:
    """Write frames (T, 3, H, W) float in [0, 1] or (T, H, W, 3) uint8 to an H.264 .mp4 (or VP9
    .webm) with PyAV; H and W must be even."""
    path = Path(path)
    if path.suffix not in CODECS:
        raise ValueError(f"write .mp4 or .webm files, got {path.name!r}")
    rate, frames = _frame_rate(fps), _frames_to_uint8(frames)
    if len(frames) == 0:
        raise ValueError(f"refusing to write {path}: no frames")
    h, w = frames.shape[1:3]
    if h % 2 or w % 2 or h < 2 or w < 2:
        raise ValueError(f"H.264 and VP9 need even frame sizes of at least 2x2, got {h}x{w}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(CODECS[path.suffix], rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), **({"b": "0"} if path.suffix == ".webm" else {})}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def _check_exists(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"video not found: {path}")


def _decode_error(path, err) -> ValueError:
    reason = str(err).strip().splitlines()[0]  # decord's messages go on with a C++ trace
    return ValueError(f"cannot decode {path}: {reason} (is the file truncated or not a video?)")


def _open_pyav(path: Path):
    """-> (an open PyAV container, its first video stream); ValueError naming the file if none."""
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as err:
        raise _decode_error(path, err) from err
    if not container.streams.video:
        container.close()
        raise ValueError(f"{path} has no video stream (an audio-only file?)")
    return container, container.streams.video[0]


def _pyav_frames(path: Path) -> Iterator[av.VideoFrame]:
    """Decode the first video stream frame by frame; nothing is kept. A stream whose frames
    change size (decord refuses it too) is refused at the first frame that differs."""
    container, stream = _open_pyav(path)
    with container:
        try:
            for n, frame in enumerate(container.decode(stream)):
                if n == 0:
                    size = frame.height, frame.width
                elif (frame.height, frame.width) != size:
                    raise ValueError(f"cannot decode {path}: its frames change size from "
                                     f"{size[0]}x{size[1]} to {frame.height}x{frame.width} at "
                                     f"frame {n}; re-encode it at one size")
                yield frame
        except av.error.FFmpegError as err:
            raise _decode_error(path, err) from err


def _pyav_frame_count(path: Path) -> int:
    """The container's frame count where it records one (mp4), else its video packets (webm)."""
    container, stream = _open_pyav(path)
    with container:
        try:
            return stream.frames or sum(1 for packet in container.demux(stream) if packet.size)
        except av.error.FFmpegError as err:
            raise _decode_error(path, err) from err


def _pyav_keep(path: Path, wanted: np.ndarray) -> tuple[dict, int]:
    """Decode up to the last wanted frame, converting only the wanted ones -> ({index: (H, W, 3)
    uint8}, number of frames decoded). Memory: the wanted frames, whatever the video's length."""
    kept, keep, last, n = {}, set(wanted.tolist()), int(wanted.max()), 0
    for n, frame in enumerate(_pyav_frames(path), start=1):
        if n - 1 in keep:
            kept[n - 1] = frame.to_ndarray(format="rgb24")
        if n > last:
            break
    return kept, n


def _frame_indices(path, total, num_frames, sampling, stride) -> np.ndarray:
    if total == 0:
        raise ValueError(f"{path} has no frames")
    return sample_indices(total, num_frames, sampling, stride)


def _read_pyav(path: Path, num_frames, sampling, stride) -> np.ndarray:
    wanted = _frame_indices(path, _pyav_frame_count(path), num_frames, sampling, stride)
    kept, decoded = _pyav_keep(path, wanted)
    if len(kept) < len(np.unique(wanted)):  # the container counted more frames than there are
        wanted = _frame_indices(path, decoded, num_frames, sampling, stride)
        kept, _ = _pyav_keep(path, wanted)
    return np.stack([kept[i] for i in wanted.tolist()])


def _open_decord(path: Path):
    import decord

    try:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0))
    except Exception as err:  # decord raises its own DECORDError for every failure; PyAV says why
        if _pyav_frame_count(path) == 0:
            raise ValueError(f"{path} has no frames") from err
        raise _decode_error(path, err) from err
    if len(reader) == 0:
        raise ValueError(f"{path} has no frames")
    # decord2 3.4 returns frames of some widths (16, 32, 48, 96 px...) with their row padding
    # as extra channels (dmlc/decord#336): such a file is read with PyAV instead
    try:
        channels = reader[0].shape[-1]
        reader.seek(0)
    except Exception as err:  # a file cut short can fail at its first frame already
        raise _decode_error(path, err) from err
    return reader if channels == 3 else None


def _read_decord(path: Path, num_frames, sampling, stride) -> np.ndarray:
    reader = _open_decord(path)
    if reader is None:
        return _read_pyav(path, num_frames, sampling, stride)
    wanted = sample_indices(len(reader), num_frames, sampling, stride)
    try:
        return reader.get_batch(wanted).asnumpy()
    except Exception as err:  # a file that opens can still be cut short
        raise _decode_error(path, err) from err


def read_video(path, num_frames: int | None = None, sampling: str = "uniform", stride: int = 1,
               backend: str | None = None) -> torch.Tensor:
    """Read and sample a video file -> (T, 3, H, W) float in [0, 1]."""
    path = Path(path)
    _check_exists(path)
    backend = backend or video_backend()
    read = {"decord": _read_decord, "pyav": _read_pyav}[backend]
    return to_tensor(read(path, num_frames, sampling, stride))


def iter_frames(path, backend: str | None = None) -> Iterator[torch.Tensor]:
    """Decode a video one frame at a time -> (3, H, W) float in [0, 1] each; O(1) memory."""
    path = Path(path)
    _check_exists(path)
    reader = _open_decord(path) if (backend or video_backend()) == "decord" else None
    if reader is not None:
        for i in range(len(reader)):
            try:
                frame = reader[i].asnumpy()
            except Exception as err:  # a file that opens can still fail to seek or decode
                raise _decode_error(path, err) from err
            yield to_tensor(frame[None])[0]
        return
    empty = True
    for frame in _pyav_frames(path):
        empty = False
        yield to_tensor(frame.to_ndarray(format="rgb24")[None])[0]
    if empty:
        raise ValueError(f"{path} has no frames")


def count_frames(path, backend: str | None = None) -> int:
    """Decode every frame of a video, keeping none -> the number of frames; ValueError if it cannot."""
    path = Path(path)
    _check_exists(path)
    reader = _open_decord(path) if (backend or video_backend()) == "decord" else None
    if reader is not None:
        try:
            reader.skip_frames(len(reader))
        except Exception as err:
            raise _decode_error(path, err) from err
        return len(reader)
    n = sum(1 for _ in _pyav_frames(path))
    if n == 0:
        raise ValueError(f"{path} has no frames")
    return n
