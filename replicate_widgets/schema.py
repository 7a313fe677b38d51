"""Read Replicate/Cog model schemas: fields, validation, request inputs, output kind.

>>> from replicate_widgets.schema import parse
>>> schema = parse(version.openapi_schema)          # doctest: +SKIP
>>> [f.name for f in schema.inputs]                 # doctest: +SKIP
['prompt', 'aspect_ratio', ...]
>>> schema.validate({"num_outputs": 9})             # doctest: +SKIP
{'num_outputs': 'must be at most 4'}
"""

from __future__ import annotations

from ._schema.model_schema import ModelSchema, parse
from ._schema.types import (
    Field,
    FieldKind,
    OutputKind,
    OutputSpec,
    SchemaError,
)
from ._secret_mask import SECRET_MASK

__all__ = [
    "SECRET_MASK",
    "Field",
    "FieldKind",
    "ModelSchema",
    "OutputKind",
    "OutputSpec",
    "SchemaError",
    "parse",
]
