"""``svertka ocr IMAGE [--alphabet digits|letters|both] [--boxes out.png] [--json]``: the text
in an image (``svertka.ocr.read``).

Prints the text, line by line; under a line holding characters the classifier was unsure of,
a line of ``^`` marks them. ``--json`` prints everything instead: each line's text and box,
each character's box and confidence. ``--boxes`` saves the image with the characters boxed.
"""

from __future__ import annotations

import json

from svertka.ocr.read import LOW_CONFIDENCE


def add_parser(sub) -> None:
    """Register ``ocr`` on the ``svertka`` parser's sub-parsers."""
    p = sub.add_parser("ocr", help="read the digits and letters in an image",
                       description=__doc__.split("\n\n", 1)[1].strip())
    p.add_argument("image", help="an image file (PNG, JPEG, TIFF, ...; any size, dark ink on "
                                 "light paper or the reverse)")
    p.add_argument("--alphabet", default="digits", choices=("digits", "letters", "both"),
                   help="digits 0-9 (MNIST), letters A-J (notMNIST), or both")
    p.add_argument("--boxes", default=None, metavar="OUT.png",
                   help="save the image with a box and the reading over each character")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p.add_argument("--min-confidence", type=float, default=LOW_CONFIDENCE,
                   help=f"characters read with a lower probability are marked "
                        f"(default {LOW_CONFIDENCE})")
    p.add_argument("--polarity", default="auto", choices=("auto", "dark", "light"),
                   help="dark ink on light paper, light on dark, or detect (default)")
    p.add_argument("--deslant", action="store_true",
                   help="straighten slanted handwriting before classifying each character")
    p.set_defaults(run=ocr)


def ocr(args) -> None:
    """Read the text in IMAGE and print it."""
    from svertka import ocr as reader

    result = reader.read(args.image, alphabet=args.alphabet, polarity=args.polarity,
                         min_confidence=args.min_confidence, slant=args.deslant)
    if args.boxes:
        reader.draw_boxes(args.image, result, args.boxes)
    if args.json:
        print(json.dumps(result.as_dict(), indent=1))
        return
    if not result.lines:
        print("(no text found)")
    for line in result.lines:
        print(line.text)
        marks = _marks(line)
        if marks.strip():
            print(marks)
    if args.boxes:
        print(f"boxes drawn on {args.boxes}")


def _marks(line) -> str:
    """A line as long as ``line.text`` with ``^`` under each low-confidence character."""
    chars = iter(line.chars)
    out = []
    for ch in line.text:
        out.append(" " if ch == " " else ("^" if next(chars).low_confidence else " "))
    return "".join(out).rstrip()
