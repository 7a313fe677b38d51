def join(*parts: str) -> str:
    return " ".join(parts)
