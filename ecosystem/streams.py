"""Random streams: one generator per phase and month, derived from the run's seed.

A paired policy comparison (vouchers on and off, same seed) is only as tight as its common random
numbers. With one generator shared by every phase, a policy that changes how many numbers one phase
draws (more firms asking for compute, one more hire) shifts every later draw of the run, so the two
arms soon face unrelated luck and the effect is buried in noise. Here each phase gets its own
generator for each month, seeded from ``(seed, phase, month)`` with numpy's ``SeedSequence`` spawn
keys: what one phase draws in one month cannot move any other phase's numbers or the same phase's
numbers in another month. Runs stay reproducible bit for bit from one integer seed.
"""

from __future__ import annotations

import zlib

import numpy as np


class RandomStreams:
    """Independent generators keyed by a phase name and integers (a month, a region).

    Args:
        seed: the run's integer seed (non-negative).
    """

    def __init__(self, seed: int):
        self.seed = int(seed)

    def get(self, phase: str, *key: int) -> np.random.Generator:
        """The generator of ``phase`` at ``key`` (e.g. the month); one key, one stream.

        The phase name enters as its CRC-32, so adding or renaming one phase leaves every other
        phase's numbers unchanged.
        """
        spawn_key = (zlib.crc32(phase.encode()), *(int(k) for k in key))
        sequence = np.random.SeedSequence(self.seed, spawn_key=spawn_key)
        return np.random.Generator(np.random.PCG64(sequence))

    def lazy(self, phase: str, *key: int) -> LazyGenerator:
        """The generator of ``phase`` at ``key``, made only when the phase first draws from it:
        the same numbers as :meth:`get`, without the cost of making a generator (tens of
        microseconds) for the many phase-months that draw nothing (no founder queued, no
        applicant, no hit)."""
        return LazyGenerator(self, phase, key)


class LazyGenerator:
    """Stands for ``streams.get(phase, *key)`` and makes it at the first attribute asked for
    (``random``, ``permutation``, ``spawn`` ...), which it forwards from then on."""

    __slots__ = ("_streams", "_phase", "_key", "_generator")

    def __init__(self, streams: RandomStreams, phase: str, key: tuple[int, ...]):
        self._streams, self._phase, self._key = streams, phase, key
        self._generator: np.random.Generator | None = None

    def __getattr__(self, name: str):
        if self._generator is None:
            self._generator = self._streams.get(self._phase, *self._key)
        return getattr(self._generator, name)
