from cog import BaseRunner, current_scope


class Runner(BaseRunner):
    def run(self) -> str:
        scope = current_scope()
        scope.record_metric("temperature", 0.7)
        scope.record_metric("token_count", 1, mode="incr")
        scope.record_metric("token_count", 2, mode="incr")
        scope.record_metric("tags", "fast", mode="append")
        scope.record_metric("tags", "cached", mode="append")
        scope.record_metric("timing.preprocess", 0.1)
        scope.record_metric("timing.steps.total", 2, mode="incr")
        scope.record_metric("timing.steps.total", 3, mode="incr")
        scope.metrics["dict_metric"] = "hello"
        scope.record_metric("scratch", 1)
        scope.metrics.delete("scratch")
        return "ok"
