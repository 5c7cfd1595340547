"""Training: recipes, the one function that prepares a run from one (prepare_run), the loop
(fit), the run folder's bookkeeping, checkpoints, evaluation, model cards, and loading a model
by name or path.

    setup = prepare_run(RECIPES["mini_rvit_s"])
    fit(setup.model, setup.train_set, setup.val_set, setup.recipe, "runs/rvit_s")
"""

from .evaluate import evaluate, predict
from .loading import list_pretrained, load_checkpoint, load_model, load_pretrained, model_card
from .loop import fit, loss_fn, lr_factor, make_optimizer, train_step
from .prepare import Setup, prepare_run
from .recipes import RECIPES, SHIPPED, Recipe

__all__ = [
    "RECIPES", "Recipe", "SHIPPED", "Setup", "evaluate", "fit", "list_pretrained",
    "load_checkpoint", "load_model", "load_pretrained", "loss_fn", "lr_factor", "make_optimizer",
    "model_card", "predict", "prepare_run", "train_step",
]
