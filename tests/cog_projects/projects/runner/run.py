from cog import BaseRunner, Input


class Runner(BaseRunner):
    def setup(self) -> None:
        self.greeting = "hello"

    def run(
        self,
        prompt: str = Input(description="Who to greet"),
        times: int = Input(description="How many times", default=1, ge=1, le=5),
    ) -> str:
        return " ".join([f"{self.greeting} {prompt}"] * times)
