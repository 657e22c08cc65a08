"""Name characters from a wide inventory (sft_wide_names.jsonl).

The invented names of the other files come from short character pools (pools.py,
variety.py, open_world.py), so their replies use about 1,700 distinct characters. A
character that is never the target of a reply gets its logit pushed down at every step
and is never written, even when the passage holds it: half the held-out knowledge
answers have such a character. `name_characters` makes every name-character pool draw
half its characters from a wide inventory (all of GB2312) while it is active, so the
same generators produce names the model must copy character by character.
"""

import contextlib
from collections.abc import Sequence

from . import open_world as O
from . import personas as PS
from . import pools as P
from . import variety as V

# (module, attribute) of every pool whose entries are single name characters.
CHARACTER_POOLS = [
    (P, "PLACE_FIRST"), (P, "SURNAMES"), (P, "GIVEN_CHARS"),
    (V, "GIVEN_WIDE"), (V, "PET_CHARS"), (V, "COLOUR_STEMS"),
    (O, "NAME_CHARS"), (PS, "SURNAMES"), (PS, "NAME_CHARS"),
]


class HalfWide(Sequence):
    """A pool whose `rng.choice` gives one of the pool's own characters or one of the
    inventory's with equal chance: indices below len(inventory) map onto the pool
    (repeated), the rest onto the inventory. `random.choice` reads only len() and one
    index, so draws stay a pure function of the seed."""

    def __init__(self, pool, inventory):
        self.pool = list(pool)
        self.inventory = list(inventory)

    def __len__(self):
        return 2 * len(self.inventory)

    def __getitem__(self, i):
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        n = len(self.inventory)
        return self.pool[i % len(self.pool)] if i < n else self.inventory[i - n]


@contextlib.contextmanager
def name_characters(inventory):
    """While active, every pool of CHARACTER_POOLS draws half from `inventory`."""
    saved = [(m, a, getattr(m, a)) for m, a in CHARACTER_POOLS if hasattr(m, a)]
    try:
        for m, a, pool in saved:
            setattr(m, a, HalfWide(pool, inventory))
        yield
    finally:
        for m, a, pool in saved:
            setattr(m, a, pool)
