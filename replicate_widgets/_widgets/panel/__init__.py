"""``PredictionPanel``: one prediction, live."""
