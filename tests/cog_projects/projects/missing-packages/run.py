from cog import BaseRunner


class Runner(BaseRunner):
    def setup(self) -> None:
        import rw_absent_package_one  # noqa: F401

    def run(self, s: str) -> str:
        return s
