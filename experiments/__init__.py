"""aieco's experiments: sweeps, calibration, sensitivity and their results."""

# First, before anything imports numpy: the same numpy code paths on every x86-64 machine.
import ecosystem.reproducible  # noqa: F401
