"""Applies a classic Pillow filter to an uploaded image."""

import tempfile

from cog import BaseRunner, Input, Path
from PIL import Image, ImageEnhance, ImageFilter, ImageOps


def apply(image, name, strength):
    if name == "blur":
        return image.filter(ImageFilter.GaussianBlur(radius=1 + 9 * strength))
    if name == "sharpen":
        return ImageEnhance.Sharpness(image).enhance(1 + 4 * strength)
    if name == "contour":
        return image.filter(ImageFilter.CONTOUR)
    if name == "emboss":
        return image.filter(ImageFilter.EMBOSS)
    if name == "grayscale":
        return Image.blend(image, ImageOps.grayscale(image).convert("RGB"), strength)
    if name == "invert":
        return Image.blend(image, ImageOps.invert(image), strength)
    if name == "posterize":
        return ImageOps.posterize(image, max(1, 8 - round(7 * strength)))
    raise ValueError(f"unknown filter {name!r}")


class Predictor(BaseRunner):
    def run(
        self,
        image: Path = Input(description="The image to filter", accept="image/*"),
        filter: str = Input(
            description="Which filter to apply",
            default="emboss",
            choices=[
                "blur",
                "sharpen",
                "contour",
                "emboss",
                "grayscale",
                "invert",
                "posterize",
            ],
        ),
        strength: float = Input(
            description="How strong the effect is, 0 to 1", default=0.6, ge=0, le=1
        ),
        max_size: int = Input(
            description="Shrink larger images to this many pixels on the long side",
            default=1024,
            ge=16,
            le=4096,
        ),
    ) -> Path:
        with Image.open(image) as opened:
            source = ImageOps.exif_transpose(opened).convert("RGB")
        print(f"input {source.width}x{source.height}, filter {filter}")
        source.thumbnail((max_size, max_size))
        result = apply(source, filter, strength)
        out = Path(tempfile.mkdtemp(prefix="image-filter-")) / "filtered.png"
        result.save(out)
        return out
