"""The ``caption`` domain: an English sentence listing the face's attributes."""
from __future__ import annotations

from .params import ToyFaceParams

_EXPRESSION = {"neutral": "calm", "smiling": "smiling", "laughing": "laughing", "frowning": "frowning"}


def hair_phrase(p: ToyFaceParams) -> str:
    if p.hair_style == "bald":
        return f"a bald head and {p.hair_colour} tufts"
    if p.hair_style == "bob":
        return f"a {p.hair_colour} bob"
    return f"{p.hair_style} {p.hair_colour} hair"


def caption(p: ToyFaceParams) -> str:
    """E.g. "a smiling person with long red hair, blue eyes, round black glasses and pale skin on a teal
    background"."""
    glasses = "no glasses" if p.glasses == "none" else f"{p.glasses} {p.glasses_colour} glasses"
    return (
        f"a {_EXPRESSION[p.expression]} person with {hair_phrase(p)}, {p.eye_colour} eyes, {glasses} "
        f"and {p.skin} skin on a {p.background} background"
    )
