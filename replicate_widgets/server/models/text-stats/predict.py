"""Analyses a text; optionally signs the analysis with a secret key (HMAC)."""

import hashlib
import hmac
import json
import re
from collections import Counter

from cog import BaseModel, BaseRunner, Input, Secret

WORD = re.compile(r"[A-Za-z\u00C0-\u024F']+")
SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
STOP_WORDS = {
    "a",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "but",
    "by",
    "for",
    "from",
    "had",
    "has",
    "have",
    "he",
    "her",
    "his",
    "i",
    "in",
    "is",
    "it",
    "its",
    "of",
    "on",
    "or",
    "she",
    "so",
    "that",
    "the",
    "their",
    "them",
    "they",
    "this",
    "to",
    "was",
    "were",
    "with",
    "you",
}


class Output(BaseModel):
    characters: int
    words: int
    sentences: int
    reading_seconds: float
    top_words: list[str]
    signature: str | None = None


class Predictor(BaseRunner):
    def run(
        self,
        text: str = Input(description="The text to analyse"),
        top: int = Input(
            description="How many frequent words to list", default=5, ge=1, le=50
        ),
        signing_key: Secret = Input(
            description="Optional key: signs the result with HMAC-SHA256", default=None
        ),
    ) -> Output:
        words = WORD.findall(text)
        counts = Counter(w.lower() for w in words if w.lower() not in STOP_WORDS)
        result = Output(
            characters=len(text),
            words=len(words),
            sentences=max(1, len(SENTENCE_END.findall(text))) if text.strip() else 0,
            reading_seconds=round(len(words) / 238 * 60, 1),
            top_words=[w for w, _ in counts.most_common(top)],
        )
        if signing_key is not None and signing_key.get_secret_value():
            body = json.dumps(
                [result.characters, result.words, result.top_words]
            ).encode()
            result.signature = hmac.new(
                signing_key.get_secret_value().encode(), body, hashlib.sha256
            ).hexdigest()
            print("signed the result")
        return result
