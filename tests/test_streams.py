"""Random streams per phase and month: common random numbers for paired runs."""

from __future__ import annotations

import inspect
import re
import zlib

import numpy as np
import pandas as pd
from paired import TINY

from ecosystem import AIEcosystem, load_scenario, model, partnerships
from ecosystem.streams import RandomStreams


def test_a_stream_depends_only_on_seed_phase_and_key():
    a, b = RandomStreams(7), RandomStreams(7)
    assert np.array_equal(a.get("turnover", 3).random(5), b.get("turnover", 3).random(5))
    draws = {
        (seed, phase, month): RandomStreams(seed).get(phase, month).random()
        for seed in (7, 8)
        for phase in ("turnover", "hire")
        for month in (3, 4)
    }
    assert len(set(draws.values())) == len(draws)  # every (seed, phase, month) has its own numbers


def _run(monkeypatch, months: int, extra_draws: int) -> AIEcosystem:
    """A tiny run in which ``partnerships.cooperate`` draws ``extra_draws`` more numbers after it
    has done its work: its own behaviour is unchanged, only how much of its stream it uses."""
    original = partnerships.cooperate

    def greedy(state, params, rng):
        original(state, params, rng)
        rng.random(extra_draws)

    monkeypatch.setattr(partnerships, "cooperate", greedy)
    model = AIEcosystem(load_scenario(TINY), rng=11)
    for _ in range(months):
        model.step()
    return model


def test_a_phase_that_draws_more_numbers_does_not_move_any_other_phase(monkeypatch):
    # With one generator shared by all phases the extra draws would shift every later phase's
    # numbers and the two runs would part at once; with a stream per phase and month they cannot.
    base = _run(monkeypatch, 18, extra_draws=0)
    greedy = _run(monkeypatch, 18, extra_draws=1000)
    pd.testing.assert_frame_equal(base.kpis(), greedy.kpis())
    pd.testing.assert_frame_equal(base.firms(), greedy.firms())
    assert np.array_equal(base.people.view("skill"), greedy.people.view("skill"))


def test_generators_are_seeded_as_numpys_seed_sequence_seeds_them():
    """``RandomStreams.get`` hashes the seeding words itself, a block of months at a time
    (``streams.seed_words``): the generators are those of ``SeedSequence(seed, spawn_key=
    (crc32(phase), *key))``, whatever the seed's size, the keys' blocks, or a key too large
    for the block hashing, and so are the children they spawn, and theirs."""
    for seed in (0, 7, 2**32 - 1, 2**32, 2**63 - 1, 2**70 + 3):
        streams = RandomStreams(seed)
        for key in [(0,), (5,), (127,), (128,), (300,), (0, 3), (7, 200), (2**32 - 1,), (2**32,)]:
            got = streams.get("turnover", *key)
            spawn_key = (zlib.crc32(b"turnover"), *key)
            want = np.random.Generator(
                np.random.PCG64(np.random.SeedSequence(seed, spawn_key=spawn_key))
            )
            assert got.bit_generator.state == want.bit_generator.state
            assert np.array_equal(got.random(3), want.random(3))
            for n in (2, 1):  # numbered on from the children spawned before, as numpy's
                for a, b in zip(got.spawn(n), want.spawn(n), strict=True):
                    assert a.bit_generator.state == b.bit_generator.state
                    (c,), (d,) = a.spawn(1), b.spawn(1)  # and their own children
                    assert np.array_equal(c.random(3), d.random(3))


def test_the_model_makes_a_generator_for_every_phase_of_its_step():
    """``AIEcosystem.step`` makes its phases' generators of the month together
    (``RandomStreams.generators`` of ``model.PHASES``): every phase it names has one, once."""
    named = re.findall(r'rng\("(\w+)"\)', inspect.getsource(model.AIEcosystem.step))
    assert named and sorted(named) == sorted(model.PHASES)
    streams = RandomStreams(7)
    made = streams.generators(model.PHASES, 3)
    want = streams.get("turnover", 3)
    assert made["turnover"].bit_generator.state == want.bit_generator.state
