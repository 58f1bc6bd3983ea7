"""`pulumi up`: the healthcheck monitor, built from the stack's config (see README)."""

import sys
from pathlib import Path

import pulumi

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "image"))  # the function's target model validates the config

from infra.stack import build_stack  # noqa: E402 - needs the path above

build_stack(pulumi.Config(), root=ROOT)
