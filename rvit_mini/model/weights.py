"""Weights from elsewhere: timm's ViT state dict, and video models initialised from an image
ViT (RViT as in Sec. 3.2; CViT as video ViTs are; TRecViT's ViT blocks as RViT's gates)."""

import torch

from .models import RViT, VideoTransformer, ViT

# Keys in a timm VisionTransformer state dict that have no counterpart here (all identities or
# unused in the class-token ViT-B/16 configuration).
_TIMM_IGNORED = ("fc_norm", "head_drop", "norm_pre", "reg_token")


def vit_state_dict_from_timm(timm_state: dict, model: ViT) -> dict:
    """Map a timm ViT state dict (class token, global_pool='token') onto our ViT's names.

    The layouts coincide by design (patch_embed.proj, blocks.i.attn.qkv, ...); this checks every
    tensor's shape and says which keys are missing or unexpected.
    """
    ours = model.state_dict()
    mapped = {k: v for k, v in timm_state.items() if not k.startswith(_TIMM_IGNORED)}
    missing, unexpected = sorted(set(ours) - set(mapped)), sorted(set(mapped) - set(ours))
    if missing or unexpected:
        raise ValueError(f"timm state dict does not fit: missing {missing}, unexpected {unexpected}")
    for k, v in mapped.items():
        if v.shape != ours[k].shape:
            raise ValueError(f"{k}: timm has shape {tuple(v.shape)}, ours {tuple(ours[k].shape)}")
    return mapped


def _check_fits(model: VideoTransformer, vit: ViT, depth: int) -> None:
    if len(vit.blocks) < depth:
        raise ValueError(f"the ViT has {len(vit.blocks)} blocks; this model needs at least {depth}")
    if model.cfg.dim != vit.cfg.dim or model.num_tokens != vit.num_tokens:
        raise ValueError(
            f"width or tokens differ: {type(model).__name__} dim {model.cfg.dim}, "
            f"{model.num_tokens} tokens; ViT dim {vit.cfg.dim}, {vit.num_tokens} tokens"
        )


def _copy_stem_and_head(model: VideoTransformer, vit: ViT) -> None:
    """Patch embedding, positions, CLS token, final norm; the head where shapes agree."""
    for name in ("patch_embed", "norm"):
        getattr(model, name).load_state_dict(getattr(vit, name).state_dict())
    model.pos_embed.copy_(vit.pos_embed)
    if model.cls_token is not None:
        model.cls_token.copy_(vit.cls_token)
    if model.head.weight.shape == vit.head.weight.shape:
        model.head.load_state_dict(vit.head.state_dict())


@torch.no_grad()
def init_rvit_from_vit(rvit: RViT, vit: ViT) -> RViT:
    """Sec. 3.2: copy the stem, the first L ViT blocks' weights into the L gates, and the final
    norm; W_h^Q, W_h^K, W_h^V orthogonal; LN_h reset. The head is copied where shapes agree."""
    _check_fits(rvit, vit, len(rvit.blocks))
    _copy_stem_and_head(rvit, vit)
    for gate, block in zip(rvit.blocks, vit.blocks):
        result = gate.load_state_dict(block.state_dict(), strict=False)
        assert sorted(result.missing_keys) == ["norm_h.bias", "norm_h.weight", "qkv_h.weight"]
        gate.norm_h.reset_parameters()
        gate.qkv_h.reset_parameters()
    return rvit


@torch.no_grad()
def init_blocks_from_vit(model: VideoTransformer, vit: ViT) -> VideoTransformer:
    """A CViT, a TRecViT or a frame-mean ViT from an image ViT: the stem, the first L ViT blocks
    into the model's L blocks (`model.blocks`: CViT's spatial blocks, TRecViT's ViT blocks), the
    final norm, and the head where shapes agree. What the model has beside them (CViT's temporal
    embedding and divided CViT's temporal blocks, TRecViT's LRU blocks, Griffin's init) keeps its
    own initialisation, as RViT's W_h do."""
    _check_fits(model, vit, len(model.blocks))
    _copy_stem_and_head(model, vit)
    for mine, block in zip(model.blocks, vit.blocks):
        mine.load_state_dict(block.state_dict())
    return model


init_cvit_from_vit = init_vit_from_vit = init_blocks_from_vit  # the names the API has had


def init_from_vit(model: VideoTransformer, vit: ViT, classes: list | None = None
                  ) -> VideoTransformer:
    """Initialise an RViT, a CViT, a TRecViT or a frame-mean ViT from an image ViT of the same
    width.
    classes: the names of the model's outputs; with a ViT that records its own (`vit.classes`),
    the head's rows are copied by class name, and the model's other classes keep their new rows."""
    if not isinstance(vit, ViT):
        raise ValueError(f"the model to initialise from is a {type(vit).__name__}; give an "
                         "image ViT (a frame-mean ViT's checkpoint, or the shipped 'vit')")
    new_head = {k: v.clone() for k, v in model.head.state_dict().items()}
    if isinstance(model, RViT):
        init_rvit_from_vit(model, vit)
    else:
        init_blocks_from_vit(model, vit)
    if classes is not None and getattr(vit, "classes", None) is not None:  # same width: checked
        model.head.load_state_dict(new_head)
        copy_rows_by_name(model.head, vit.head, vit.classes, list(classes))
    return model


@torch.no_grad()
def init_from_model(model: VideoTransformer, trained: VideoTransformer) -> VideoTransformer:
    """Continue a trained model of the same architecture and width: every tensor copied; a
    CViT's time embeddings, where it has more, copied for the frames `trained` has (the others
    keep their sinusoids)."""
    mine = model.state_dict()
    for key, value in trained.state_dict().items():
        if key == "time_embed" and value.shape[1] < mine[key].shape[1]:
            mine[key][:, :value.shape[1]] = value
        elif mine[key].shape != value.shape:
            raise ValueError(f"{key}: the model to start from has shape {tuple(value.shape)}, "
                             f"this model {tuple(mine[key].shape)}")
        else:
            mine[key].copy_(value)
    return model


def start_from(model: VideoTransformer, source: VideoTransformer, classes: list | None = None
               ) -> VideoTransformer:
    """A recipe's initialisation: a model of the same architecture is continued
    (init_from_model); an image ViT initialises a video model (Sec. 3.2, init_from_vit, the
    head's rows matched by class name where both name their classes), and a frame-mean ViT
    for other classes (a quick run on a few actions) the same way."""
    other_head = source.head.weight.shape != model.head.weight.shape
    if type(source) is type(model) and not (isinstance(model, ViT) and other_head):
        return init_from_model(model, source)
    return init_from_vit(model, source, classes)


@torch.no_grad()
def copy_rows_by_name(head: torch.nn.Linear, source: torch.nn.Linear, source_classes: list,
                      classes: list) -> int:
    """Copy into `head` (one row per name in `classes`) the rows of `source` whose class
    (`source_classes`) has the same name; the others keep their values. Returns how many."""
    shared = [(i, source_classes.index(c)) for i, c in enumerate(classes) if c in source_classes]
    for mine, theirs in shared:
        head.weight[mine] = source.weight[theirs]
        if head.bias is not None and source.bias is not None:
            head.bias[mine] = source.bias[theirs]
    return len(shared)
