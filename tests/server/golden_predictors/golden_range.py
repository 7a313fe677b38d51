from cog import BaseRunner, Input


class Predictor(BaseRunner):
    def run(
        self,
        int_ge: int = Input(ge=0),
        int_le: int = Input(le=10),
        int_ge_le: int = Input(ge=0, le=10),
        int_ge_le_wd: int = Input(ge=0, le=10, default=5),
        float_ge: float = Input(ge=2.71),
        float_le: float = Input(le=3.14),
        float_ge_le: float = Input(ge=2.71, le=3.14),
        float_ge_le_wd: float = Input(ge=2.71, le=3.14, default=3.0),
        float_ge_i: float = Input(ge=0),
        float_le_i: float = Input(le=10),
        float_ge_le_i: float = Input(ge=0, le=10),
        float_ge_le_i_wd: float = Input(ge=0, le=10, default=5),
    ) -> str:
        return "ok"
