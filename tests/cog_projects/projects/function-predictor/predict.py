from cog import Input


def run(prompt: str = Input(description="Text to shout")) -> str:
    return f"HELLO {prompt.upper()}"
