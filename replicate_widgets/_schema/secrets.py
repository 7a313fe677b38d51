"""Secret inputs on the client: values with every secret masked, and lost secrets.

Whatever the widgets write or show (kept records, shared pages) goes through
`mask_values` first. Where a schema puts its secrets is decided in one place,
:mod:`replicate_widgets._secret_mask`, which the local backend uses too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from replicate_widgets._secret_mask import SECRET_MASK, SecretMask

__all__ = ["has_mask", "mask_values"]


def has_mask(value: Any) -> bool:
    """Tell whether `SECRET_MASK` stands anywhere in ``value`` (a lost secret)."""
    if isinstance(value, str):
        return value == SECRET_MASK
    if isinstance(value, (list, tuple)):
        return any(has_mask(v) for v in value)
    if isinstance(value, Mapping):
        return any(has_mask(v) for v in value.values())
    return False


def mask_values(
    values: Mapping[str, Any], document: Mapping[str, Any], component: str = "Input"
) -> dict[str, Any]:
    """Return ``values`` with every secret in them replaced by `SECRET_MASK`.

    Parameters
    ----------
    values : Mapping
        A prediction's ``input``.
    document : Mapping
        The located OpenAPI document (``ModelSchema.raw``).
    component : str
        The schema ``values`` follow: ``Input`` or ``TrainingInput``.

    Returns
    -------
    dict
        A new dict. ``None`` stays ``None``; a value of the wrong shape where
        secrets belong (text where a ``list[Secret]`` goes) is masked whole, as it
        may be the secret itself.
    """
    masked = SecretMask(document, component).mask(dict(values))
    return dict(masked) if isinstance(masked, Mapping) else dict(values)
