"""The aieco browser app: a Solara page for teaching and policy exploration.

``aieco viz`` (or ``python -m viz``) serves ``viz/app.py``; ``viz.session`` holds the state of one
browser session without any UI, ``viz.charts`` and ``viz.graphs`` draw it.
"""

# First, before anything imports numpy: the same numpy code paths on every x86-64 machine.
import ecosystem.reproducible  # noqa: F401
