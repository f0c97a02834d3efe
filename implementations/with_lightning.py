"""The notebook's network as a PyTorch Lightning user writes it: a LightningModule around the nn.Sequential of torch-nn,
torch.optim.SGD from configure_optimizers, and Trainer.fit over a DataLoader of the one batch; logging, checkpoints, the
progress bar and the model summary off."""

import logging
import warnings

import lightning as L
import torch
from torch.nn import functional
from torch.utils.data import DataLoader, TensorDataset

from .problem import Problem, TrainResult
from .with_torch import set_threads
from .with_torch_nn import network

FRAMEWORK = "lightning"
BUILT_ON = "torch"
VARIANT = "LightningModule, Trainer.fit with optim.SGD, one batch per epoch"
COMPILED = False
GRADIENTS = "autodiff"
REQUIRES = ("lightning>=2.5", "torch>=2.4")
EXTRAS = ("lightning", "torch")
COST_CLASS = "eager"
SWEEP_RANGE = (
    1_000_000,
    None,
    "Trainer.fit costs milliseconds per epoch (its loops, hooks and callbacks): timed where an epoch is milliseconds "
    "of math and 10 epochs run",
)
CARD = {
    "finished work": "Trainer.fit returns after its last epoch; every epoch's loss kept as a tensor, read at the end",
    "compiled": "nothing",
    "threads": "torch.set_num_threads and set_num_interop_threads",
    "idiom": "plain: training_step returns F.mse_loss, configure_optimizers gives SGD, Trainer(precision='64-true' for "
    "float64, "
    "logger, checkpointing, progress bar and model summary off)",
}
__all__ = ["prepare", "set_threads"]

logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # its "GPU available: False" lines at every fit


class Module(L.LightningModule):
    """torch-nn's network, trained by Lightning; it keeps every epoch's loss and the last epoch's outputs."""

    def __init__(self, problem: Problem):
        super().__init__()
        self.net, self.problem = network(problem), problem
        self.losses, self.outputs = [], None

    def training_step(self, batch, batch_index):
        x, y = batch
        o = self.net(x)
        loss = functional.mse_loss(o, y)  # mean((y - o)^2) over the batch and the outputs: the recorded loss
        self.losses.append(loss.detach())
        self.outputs = o.detach()
        return loss

    def configure_optimizers(self):
        # MSE's gradient is 2/n_out times L's: SGD at lr * n_out/2 takes L's step
        return torch.optim.SGD(
            self.parameters(), lr=self.problem.learning_rate * self.problem.weights_output.shape[0] / 2
        )


def prepare(problem: Problem):
    """Return the training loop for this problem (a Trainer per training, as a user makes one per fit)."""
    x, y = torch.tensor(problem.batch_inputs), torch.tensor(problem.batch_targets)
    batches = DataLoader(TensorDataset(x, y), batch_size=len(x), shuffle=False)
    precision = "64-true" if problem.dtype == "float64" else "32-true"

    def train() -> TrainResult:
        module = Module(problem)
        trainer = L.Trainer(
            max_epochs=problem.epochs,
            accelerator="cpu",
            devices=1,
            precision=precision,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        with warnings.catch_warnings():
            # a one-batch DataLoader without workers, as this problem is: Lightning's advice on workers does not apply
            warnings.filterwarnings("ignore", ".*does not have many workers.*")
            warnings.filterwarnings("ignore", ".*number of training batches.*")
            # Lightning 2.6.6 builds torch's LeafSpec, which torch 2.13 deprecates: not this suite's to fix
            warnings.filterwarnings("ignore", ".*LeafSpec.*", FutureWarning)
            trainer.fit(module, batches)
        net = module.net
        return TrainResult(
            net[0].weight.detach().numpy(),
            net[2].weight.detach().numpy(),
            torch.stack(module.losses).numpy(),
            problem.unbatch(module.outputs.numpy()),
        )

    return train
