"""A word-level Markov chain: the "language model" behind demo/text-stream."""

import json
import math
import re
from collections import Counter, defaultdict

TOKEN = re.compile(r"\S+\s*")


def tokenize(text):
    return TOKEN.findall(text.replace("\n", " "))


def fit(text, order=2):
    """Count which token follows each run of `order` tokens."""
    tokens = tokenize(text)
    if len(tokens) <= order:
        raise ValueError(
            f"need more than {order} words of training text, got {len(tokens)}"
        )
    table = defaultdict(Counter)
    for i in range(len(tokens) - order):
        state = tuple(t.strip().lower() for t in tokens[i : i + order])
        table[state][tokens[i + order]] += 1
    return {
        "order": order,
        "table": {"\x1f".join(k): dict(v) for k, v in table.items()},
    }


def save(model, path):
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(model, fh)


def load(path):
    with open(path, encoding="utf-8") as fh:
        model = json.load(fh)
    if "order" not in model or "table" not in model:
        raise ValueError(f"{path} is not a Markov model file")
    return model


def generate(model, prompt, max_tokens, temperature, rng):
    """Yield up to max_tokens tokens continuing the prompt."""
    order = model["order"]
    table = model["table"]
    states = list(table)
    words = [t.strip().lower() for t in tokenize(prompt)][-order:]
    key = "\x1f".join(words)
    if key not in table:
        key = rng.choice(states)
    for _ in range(max_tokens):
        followers = table.get(key)
        if not followers:
            key = rng.choice(states)
            followers = table[key]
        choices = list(followers)
        # Temperature reshapes the counts: low = likeliest word, high = uniform.
        weights = [
            math.exp(math.log(c) / max(temperature, 1e-3)) for c in followers.values()
        ]
        token = rng.choices(choices, weights=weights)[0]
        yield token
        key = "\x1f".join([*key.split("\x1f")[1:], token.strip().lower()])
