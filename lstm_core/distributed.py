"""Data-parallel training over processes started by torchrun: DistributedDataParallel on gloo
(CPU) or NCCL (one GPU per process), each rank training on its share of every batch, the
losses averaged over ranks so that every rank stops early at the same epoch.

``torchrun --nproc_per_node N -m lstm_core train DATA ...`` sets RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR and MASTER_PORT; ``setup`` joins that group and ``train`` (lstm_core.train) finds it
with ``current``. Outside torchrun nothing here runs and training is the single-process loop.
"""

from __future__ import annotations

import inspect
import math
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from lstm_core.errors import ConfigError


@dataclass(frozen=True)
class Group:
    """This process' place among the ranks that train one model together."""

    rank: int
    world: int
    local_rank: int  # the GPU this rank drives (one per rank)
    backend: str  # "gloo" or "nccl"

    def per_rank(self, batch_size: int) -> int:
        """Windows each rank takes per step: ``training.batch_size`` is the global batch."""
        return max(1, math.ceil(batch_size / self.world))

    def shard(self, order: torch.Tensor) -> torch.Tensor:
        """This rank's part of an epoch's window order: positions rank, rank + W, ... after the
        order is padded to a multiple of W with its first positions (as torch's
        DistributedSampler does), so every rank takes the same number of batches and global
        batch b is the union of the ranks' batches b."""
        pad = -len(order) % self.world
        if pad:
            order = torch.cat([order, order[:pad]])
        return order[self.rank :: self.world]

    def split(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Rows rank, rank + W, ... of each tensor (validation windows: each rank scores its
        share, ``mean`` combines them)."""
        return tuple(t[self.rank :: self.world] for t in tensors)

    def mean(self, value: float, count: int) -> float:
        """The mean over every rank of a per-rank mean ``value`` of ``count`` items (equal to
        the mean a single process would compute over all items)."""
        device = torch.device("cuda", torch.cuda.current_device()) if self.backend == "nccl" \
            else torch.device("cpu")
        t = torch.tensor([value * count, float(count)], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return float(t[0] / t[1]) if t[1] > 0 else math.nan

    def wrap(self, net: torch.nn.Module) -> DistributedDataParallel:
        """``net`` under DistributedDataParallel: gradients are averaged over ranks during
        backward. Its buffers are constants (quantiles, token maps), so they are not broadcast
        at every step."""
        ids = [self.local_rank] if self.backend == "nccl" else None
        # torch >= 2.12 renamed the switch (the old name warns); both mean "not every step"
        params = inspect.signature(DistributedDataParallel.__init__).parameters
        quiet = "forward_sync_buffers" if "forward_sync_buffers" in params else "broadcast_buffers"
        return DistributedDataParallel(net, device_ids=ids, **{quiet: False})


def current() -> Group | None:
    """The group this process trains in, or None: torch.distributed is not initialised or its
    world has one process."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    return Group(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")),
                 str(dist.get_backend()))


def launched() -> bool:
    """True in a process started by torchrun with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: str = "auto") -> Group | None:
    """Join the process group torchrun describes (its environment variables); None when this
    process was not started by torchrun with more than one process.

    NCCL when CUDA is available and ``device`` allows it (each rank on GPU LOCAL_RANK), else
    gloo on the CPU.

    Raises:
        ConfigError: device "cuda" without a GPU for this rank, or "mps" (no multi-process
            backend exists for it).
    """
    if not launched():
        return None
    local = int(os.environ.get("LOCAL_RANK", "0"))
    here = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))  # processes on this machine
    gpus = torch.cuda.device_count()
    if device == "mps":
        raise ConfigError("training.device: mps cannot train in several processes; use cpu")
    if device == "cuda" and gpus == 0:
        raise ConfigError("training.device: cuda is not available here; use auto or cpu")
    use_gpu = device in ("auto", "cuda") and gpus > 0
    if use_gpu and here > gpus:
        raise ConfigError(
            f"{here} processes on this machine but {gpus} GPU(s): NCCL needs one GPU per "
            f"process; start --nproc_per_node {gpus}, or train on the CPU (--device cpu)"
        )
    if use_gpu:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_gpu else "gloo")
    return current()


def teardown() -> None:
    """Leave the process group (after the last collective call)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
