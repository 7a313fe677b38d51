from cog import Input


def count_words(text: str, minimum: int = Input(default=1, ge=0)) -> int:
    return sum(1 for word in text.split() if len(word) >= minimum)
