"""Devices, precision and processes: where the numbers are computed, and by how many workers."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from functools import cache, partial

import torch


@cache
def cpu_has_bf16() -> bool:
    """True where the CPU multiplies bf16 natively (AMX or AVX512-BF16)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def pick_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def device_of(module: torch.nn.Module) -> torch.device:
    """Where the module's weights are, and so where its inputs must go."""
    return next(module.parameters()).device


def use_bf16(precision: str, device: torch.device, recurrent: bool = False) -> bool:
    """Whether to train under bf16 autocast. "auto": where the hardware multiplies bf16, except a
    recurrent model on a GPU, whose recurrences stay in fp32 there (cuDNN's RNN runs in fp16 under
    autocast), so that bf16 only adds conversions (an H200 trained an LSTM at 2.77 M tokens/s in bf16
    against 3.81 in fp32)."""
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return not recurrent and torch.cuda.is_bf16_supported()
    return cpu_has_bf16()


def autocast_factory(device: torch.device, bf16: bool):
    """A zero-argument callable that opens the autocast context of this run."""
    if not bf16:
        return contextlib.nullcontext
    return partial(torch.autocast, device_type=device.type, dtype=torch.bfloat16)


@dataclass
class Processes:
    """This process's place among the training processes that torchrun started (or alone)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def start(cls, device: torch.device) -> Processes:
        world = int(os.environ.get("WORLD_SIZE", 1))
        if world == 1:
            return cls()
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return cls(dist.get_rank(), dist.get_world_size())

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def finish(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()
            dist.destroy_process_group()

    def sum(self, value: torch.Tensor) -> torch.Tensor:
        """The sum over processes of a 0-dim tensor, left on its device (NCCL sums CUDA tensors)."""
        if self.world == 1:
            return value
        import torch.distributed as dist

        total = value.to(torch.float64).clone()
        dist.all_reduce(total)
        return total

    def gather(self, value: float) -> list[float]:
        if self.world == 1:
            return [value]
        import torch.distributed as dist

        out = [None] * self.world
        dist.all_gather_object(out, value)
        return out

    def broadcast(self, value):
        if self.world == 1:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]
