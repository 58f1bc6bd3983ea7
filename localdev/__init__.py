"""Local stand-ins for the cloud: embedded DynamoDB, `make run` and `make serve`."""

import sys
from pathlib import Path

# The function's package lives in image/, laid out as the image's task root
# (the Dockerfile copies image/healthcheck/ there), so `python -m localdev.run`
# from the repo root finds localdev but not healthcheck. Put image/ on the path
# here, before any localdev module imports healthcheck, so the tools run with
# the venv's python alone; make, pytest and mypy already put it there. This
# checkout's image/ is checked for by path rather than by trying to import
# healthcheck: an unrelated installed package of that name must not stand in.
_IMAGE = str(Path(__file__).resolve().parent.parent / "image")
if _IMAGE not in {str(Path(entry).resolve()) for entry in sys.path if entry}:
    sys.path.insert(0, _IMAGE)
