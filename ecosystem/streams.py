"""Random streams: one generator per phase and month, derived from the run's seed.

A paired policy comparison (vouchers on and off, same seed) is only as tight as its common random
numbers. With one generator shared by every phase, a policy that changes how many numbers one phase
draws (more firms asking for compute, one more hire) shifts every later draw of the run, so the two
arms soon face unrelated luck and the effect is buried in noise. Here each phase gets its own
generator for each month, seeded from ``(seed, phase, month)`` with numpy's ``SeedSequence`` spawn
keys: what one phase draws in one month cannot move any other phase's numbers or the same phase's
numbers in another month. Runs stay reproducible bit for bit from one integer seed.

Making a ``SeedSequence`` costs tens of microseconds inside a run (its hashing runs through many
small numpy calls, on cold caches between the phases' array work), about 14 times a month. The
generators are therefore seeded from the words a ``SeedSequence`` would give, hashed here for 128
months (or other first keys) of a phase at once with numpy's uint32 arithmetic (``seed_words``,
the algorithm of numpy's ``SeedSequence``; the tests compare the two): the same generators, the
same numbers, spawned children included (``_Seeded``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
from numpy.random.bit_generator import ISpawnableSeedSequence

#: First keys (months) whose seeding words are hashed at once, per phase and further keys.
BLOCK = 128
#: numpy's ``SeedSequence`` constants (numpy/random/bit_generator.pyx), a pool of 4 words.
_POOL = 4
_INIT_A, _MULT_A = np.uint32(0x43B0D7E5), np.uint32(0x931E8875)
_INIT_B, _MULT_B = np.uint32(0x8B51F9DD), np.uint32(0x58F38DED)
_MIX_L, _MIX_R = np.uint32(0xCA01F9DD), np.uint32(0x4973F715)
_SHIFT = np.uint32(16)
_WORD = 1 << 32


def _words(x: int) -> list[int]:
    """An integer as numpy's ``SeedSequence`` reads it: 32-bit words, least significant first
    (one word for 0)."""
    out = [x & (_WORD - 1)]
    x >>= 32
    while x:
        out.append(x & (_WORD - 1))
        x >>= 32
    return out


def seed_words(entropy: int, keys: np.ndarray) -> np.ndarray:
    """The 4 uint64 words ``SeedSequence(entropy, spawn_key=key).generate_state(4, np.uint64)``
    gives (what ``PCG64`` is seeded with), for each row of ``keys`` (spawn keys, each entry in
    [0, 2**32)), as a (rows × 4) array: numpy's hashing, column by column over the rows."""
    keys = np.asarray(keys, dtype=np.uint32)
    n = keys.shape[0]
    run = _words(int(entropy))
    run += [0] * (_POOL - len(run))  # with a spawn key, the entropy fills the pool first
    cols = [np.full(n, w, dtype=np.uint32) for w in run] + list(keys.T)
    h = _INIT_A

    def hashmix(value: np.ndarray) -> np.ndarray:
        nonlocal h
        value = value ^ h
        h = h * _MULT_A
        value = value * h
        return value ^ (value >> _SHIFT)

    def mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = _MIX_L * x - _MIX_R * y
        return out ^ (out >> _SHIFT)

    with np.errstate(over="ignore"):  # uint32 arithmetic wraps, as numpy's C code does
        pool = [hashmix(cols[i]) for i in range(_POOL)]
        for src in range(_POOL):
            for dst in range(_POOL):
                if src != dst:
                    pool[dst] = mix(pool[dst], hashmix(pool[src]))
        for src in range(_POOL, len(cols)):
            for dst in range(_POOL):
                pool[dst] = mix(pool[dst], hashmix(cols[src]))
        hb, state = _INIT_B, []
        for i in range(2 * _POOL):  # 4 uint64 words: 8 uint32 words from the pool, cycled
            value = pool[i % _POOL] ^ hb
            hb = hb * _MULT_B
            value = value * hb
            state.append(value ^ (value >> _SHIFT))
    words = np.stack(state, axis=1).astype("<u4")  # little-endian pairs make the uint64 words
    return words.view("<u8").astype(np.uint64)


class _Seeded(ISpawnableSeedSequence):
    """Stands for ``SeedSequence(streams.seed, spawn_key=spawn_key)`` whose 4 uint64 words (what
    ``PCG64`` asks for) are already hashed; its children are made the same way (keys extended
    by 0, 1, ... as ``SeedSequence.spawn`` extends them), any other request is the real one's."""

    def __init__(self, streams: RandomStreams, spawn_key: tuple[int, ...], state: np.ndarray):
        self.entropy, self.spawn_key, self.pool_size = streams.seed, spawn_key, _POOL
        self.n_children_spawned = 0
        self._streams, self._state = streams, state

    def generate_state(self, n_words: int, dtype=np.uint32) -> np.ndarray:
        if n_words == 4 and np.dtype(dtype) == np.uint64:
            return self._state.copy()
        return np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key).generate_state(
            n_words, dtype
        )

    def spawn(self, n_children: int) -> list[ISpawnableSeedSequence]:
        first = self.n_children_spawned
        self.n_children_spawned += n_children
        return [
            self._streams.sequence((*self.spawn_key, i)) for i in range(first, first + n_children)
        ]


class RandomStreams:
    """Independent generators keyed by a phase name and integers (a month, a region).

    Args:
        seed: the run's integer seed (non-negative).
    """

    def __init__(self, seed: int):
        self.seed = int(seed)
        #: (CRC-32 of the phase, keys after the first, block of the first key) -> the seeding
        #: words of the block.
        self._blocks: dict[tuple, np.ndarray] = {}

    def get(self, phase: str, *key: int) -> np.random.Generator:
        """The generator of ``phase`` at ``key`` (e.g. the month); one key, one stream.

        The phase name enters as its CRC-32, so adding or renaming one phase leaves every other
        phase's numbers unchanged.
        """
        spawn_key = (zlib.crc32(phase.encode()), *(int(k) for k in key))
        return np.random.Generator(np.random.PCG64(self.sequence(spawn_key)))

    def sequence(self, spawn_key: tuple[int, ...]) -> ISpawnableSeedSequence:
        """``SeedSequence(seed, spawn_key=spawn_key)``: for a key of a phase and integers below
        2**32, a stand-in seeded from the words hashed for ``BLOCK`` values of the first integer
        (the month, for the phases' streams and their children) at once."""
        if len(spawn_key) < 2 or not all(0 <= k < _WORD for k in spawn_key):
            return np.random.SeedSequence(self.seed, spawn_key=spawn_key)
        at = spawn_key[1]
        block = (spawn_key[0], spawn_key[2:], at // BLOCK)
        words = self._blocks.get(block)
        if words is None:
            start = at - at % BLOCK
            keys = np.empty((BLOCK, len(spawn_key)), dtype=np.uint32)
            keys[:] = spawn_key
            keys[:, 1] = np.arange(start, start + BLOCK, dtype=np.int64) % _WORD
            words = self._blocks[block] = seed_words(self.seed, keys)
        return _Seeded(self, spawn_key, words[at % BLOCK])

    def generators(self, phases: Iterable[str], *key: int) -> dict[str, np.random.Generator]:
        """The generators of ``phases`` at ``key`` (:meth:`get` of each), made together, as the
        model makes its phases' generators at the start of a month: made in one loop, a
        generator costs a few microseconds; made when its phase first draws, between the other
        phases' array work (cold caches), several times that, more than making one for each of
        the phase-months that draw nothing costs."""
        return {phase: self.get(phase, *key) for phase in phases}
