"""Linear-chain conditional random field: sequence log-likelihood and Viterbi decoding."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class CRF(nn.Module):
    """Transition scores between tags, with start and end scores; emissions come from the encoder."""

    def __init__(self, num_tags: int):
        super().__init__()
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))  # [from, to]

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of each gold sequence (B,). Every row must start unmasked. A position
        whose tag is negative (unlabelled, such as an unresolved residue) may hold any tag: its likelihood
        sums over them (a partially labelled CRF)."""
        emissions = emissions.float()
        unlabelled = (tags < 0) & mask  # (B, T)
        if not unlabelled.any():
            return self._partition(emissions, mask) - self._score(emissions, tags, mask)
        allowed = F.one_hot(tags.clamp(min=0), emissions.shape[-1]).bool() | unlabelled.unsqueeze(-1)
        constrained = emissions.masked_fill(~allowed, -1e4)  # (B, T, K): only the gold tag where known
        return self._partition(emissions, mask) - self._partition(constrained, mask)

    def _score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, T, _ = emissions.shape
        tags = tags.clamp(min=0)  # ignored positions are masked out below
        emit = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1)  # (B, T)
        trans = self.transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1)
        steps = mask.float()
        score = self.start[tags[:, 0]] + (emit * steps).sum(1) + (trans * steps[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)  # (B,)
        return score + self.end[last]

    def _partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        alpha = self.start + emissions[:, 0]  # (B, K)
        for t in range(1, emissions.shape[1]):
            step = alpha.unsqueeze(2) + self.transitions + emissions[:, t].unsqueeze(1)  # (B, K, K)
            alpha = torch.where(mask[:, t, None], torch.logsumexp(step, dim=1), alpha)
        return torch.logsumexp(alpha + self.end, dim=1)  # (B,)

    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """P(tag at t = k | sentence) (B, T, K): the gradient of log Z with respect to the emissions."""
        with torch.enable_grad():
            emissions = emissions.detach().float().requires_grad_(True)
            (grad,) = torch.autograd.grad(self._partition(emissions, mask).sum(), emissions)
        return grad * mask.unsqueeze(-1)

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The best tag sequence per row (B, T); positions past the mask hold 0."""
        emissions = emissions.float()
        B, T, K = emissions.shape
        score = self.start + emissions[:, 0]  # (B, K)
        backpointers = []
        for t in range(1, T):
            step = score.unsqueeze(2) + self.transitions  # (B, K, K)
            best, index = step.max(dim=1)  # (B, K)
            backpointers.append(index)
            score = torch.where(mask[:, t, None], best + emissions[:, t], score)
        score = score + self.end
        lengths = mask.sum(1)  # (B,)
        best_last = score.argmax(dim=1)  # (B,)
        path = torch.zeros(B, T, dtype=torch.long, device=emissions.device)
        current = best_last
        for t in range(T - 1, 0, -1):
            active = t < lengths  # rows whose sequence reaches t
            path[:, t] = torch.where(active, current, path[:, t])
            previous = backpointers[t - 1].gather(1, current.unsqueeze(1)).squeeze(1)
            current = torch.where(active, previous, current)
        path[:, 0] = current
        return path * mask
