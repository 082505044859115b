"""File names of the sizer's state (kept apart so importing them does not import torch)."""

from __future__ import annotations

CHECKPOINT = "rl_sizer.pt"
EXPERIENCES = "rl_experiences.jsonl"
