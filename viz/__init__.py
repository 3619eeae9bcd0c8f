"""The aieco browser app: a Solara page for teaching and policy exploration.

``aieco viz`` (or ``python -m viz``) serves ``viz/app.py``; ``viz.session`` holds the state of one
browser session without any UI, ``viz.charts`` and ``viz.graphs`` draw it.
"""
