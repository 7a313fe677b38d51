"""Streams text from a word-level Markov chain, one token at a time.

Trainable: train() fits a new chain on your text and returns it as a weights
file; a version made from that training loads it in setup(weights).
"""

import os
import random
import tempfile
import time
import urllib.request
from pathlib import Path as FsPath

import markov
from cog import BaseRunner, ConcatenateIterator, Input, Path

HERE = FsPath(__file__).resolve().parent


class Predictor(BaseRunner):
    def setup(self, weights: str | None = None) -> None:
        if weights:
            if str(weights).startswith(("http://", "https://")):
                local = os.path.join(tempfile.mkdtemp(), "weights.json")
                urllib.request.urlretrieve(str(weights), local)  # noqa: S310 - http(s) only
                weights = local
            self.model = markov.load(str(weights))
            print(f"loaded trained weights ({len(self.model['table'])} states)")
        else:
            self.model = markov.fit((HERE / "corpus.txt").read_text(encoding="utf-8"))
            print(f"fitted on the bundled text ({len(self.model['table'])} states)")

    def run(
        self,
        prompt: str = Input(description="Words to continue", default="Alice was"),
        max_tokens: int = Input(
            description="How many words to generate", default=40, ge=1, le=500
        ),
        temperature: float = Input(
            description="Randomness: low repeats the likeliest words",
            default=1.0,
            ge=0.05,
            le=5.0,
        ),
        seed: int | None = Input(
            description="Random seed; leave empty for a random one", default=None
        ),
        delay: float = Input(
            description="Seconds between tokens, so you can watch it stream",
            default=0.03,
            ge=0,
            le=1,
        ),
    ) -> ConcatenateIterator[str]:
        if seed is None:
            seed = int.from_bytes(os.urandom(4), "big")
        print(f"seed {seed}")
        rng = random.Random(seed)
        for token in markov.generate(self.model, prompt, max_tokens, temperature, rng):
            time.sleep(delay)
            yield token

    def train(
        self,
        training_text: str = Input(
            description="Text to learn from (a few hundred words or more)"
        ),
        order: int = Input(
            description="Words of context per prediction", default=2, ge=1, le=4
        ),
    ) -> Path:
        model = markov.fit(training_text, order=order)
        words = len(markov.tokenize(training_text))
        print(f"learned {len(model['table'])} states from {words} words")
        out = Path(tempfile.mkdtemp(prefix="markov-")) / "weights.json"
        markov.save(model, out)
        return out
