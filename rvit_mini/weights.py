"""Weights from elsewhere: timm's ViT state dict, and RViT initialised from a ViT (Sec. 3.2)."""

import torch

from .models import RViT, ViT

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


@torch.no_grad()
def init_rvit_from_vit(rvit: RViT, vit: ViT) -> RViT:
    """Sec. 3.2: copy the stem, the first L ViT blocks' weights into the L gates, and the final
    norm; W_h^Q, W_h^K, W_h^V orthogonal; LN_h reset. The head is copied where shapes agree."""
    depth = len(rvit.blocks)
    if len(vit.blocks) < depth:
        raise ValueError(f"the ViT has {len(vit.blocks)} blocks; this RViT needs at least {depth}")
    if rvit.cfg.dim != vit.cfg.dim or rvit.num_tokens != vit.num_tokens:
        raise ValueError(
            f"width or tokens differ: RViT dim {rvit.cfg.dim}, {rvit.num_tokens} tokens; "
            f"ViT dim {vit.cfg.dim}, {vit.num_tokens} tokens"
        )
    for name in ("patch_embed", "norm"):
        getattr(rvit, name).load_state_dict(getattr(vit, name).state_dict())
    rvit.pos_embed.copy_(vit.pos_embed)
    if rvit.cls_token is not None:
        rvit.cls_token.copy_(vit.cls_token)
    for gate, block in zip(rvit.blocks, vit.blocks):
        result = gate.load_state_dict(block.state_dict(), strict=False)
        assert sorted(result.missing_keys) == ["norm_h.bias", "norm_h.weight", "qkv_h.weight"]
        gate.norm_h.reset_parameters()
        gate.init_hidden_weights_orthogonal()
    if rvit.head.weight.shape == vit.head.weight.shape:
        rvit.head.load_state_dict(vit.head.state_dict())
    return rvit
