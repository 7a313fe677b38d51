from cog import Input


def Predictor(
    message: str = Input(description="Message to process"),
    repeat_count: int = Input(
        default=1, ge=1, le=10, description="Number of times to repeat message"
    ),
    format_type: str = Input(
        default="plain",
        choices=["plain", "uppercase", "title"],
        description="Output format",
    ),
    prefix: str = Input(
        default="Result: ", min_length=1, max_length=20, description="Prefix for output"
    ),
    suffix: str = Input(description="Optional suffix for output"),
    legacy_option: str = Input(
        default="deprecated_value",
        deprecated=True,
        description="This field is deprecated",
    ),
) -> str:
    return prefix + message * repeat_count + suffix
