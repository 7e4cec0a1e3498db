"""Page layout: from a mask of ink to lines, and from a line to candidate characters.

1. **Components.** The ink is split into 8-connected components; specks far smaller than a
   character (noise) are dropped.
2. **Lines** by horizontal projection: rows holding ink form bands; each component joins the
   band that holds its vertical centre.
3. **Atoms.** In a line, components stacked one above the other (a broken bar, a dot) are one
   atom; atoms are ordered left to right.
4. **Cuts.** The line is made upright first (its slant measured from its components'
   moments, each row shifted by whole pixels). An atom wider than three quarters of a
   character (it may be characters touching) gets candidate cuts at the minima of its
   vertical projection (the columns with least ink) and on a grid every sixth of a
   character, where overlapping strokes leave no minimum. The atoms, cut there, are the
   line's *pieces*.
5. **Candidates.** A character is up to ``MAX_PIECES`` consecutive pieces (a whole atom
   always): the pieces of one atom, or of neighbouring atoms that (nearly) touch, i.e. a
   character broken in two, or a short fragment beside one. Which candidates
   make up the line is decided by the classifier (``best_path``), not here.

Coordinates: boxes are ``(x0, y0, x1, y1)`` with the ends exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_PIECES = 8  # a character is made of at most this many consecutive pieces
CUT_FROM = 0.75  # atoms wider than this many characters get candidate cuts
EDGE = 5  # no cut within 1/EDGE of a character of an atom's edge
SMALL = 0.45  # an atom shorter than this share of a character's height is a fragment
SMALL_JOIN = 0.35  # ... and may join a neighbour this many character heights away
PAIR_WIDTHS = (0.9, 2.4)  # runs of one atom this many characters wide may be a touching pair


@dataclass
class Piece:
    """Columns ``x0:x1`` (of the upright line) of the ink of the components ``labels``."""

    labels: tuple
    x0: int
    x1: int
    atom: int


@dataclass
class Line:
    """One text line: its rows ``y0:y1`` of the page, its component labels (the page's label
    image cropped to those rows and made upright: row ``r`` is shifted right by
    ``shifts[r]`` columns, see ``upright``), the pieces in reading order (columns of the
    upright line), and the size of a character."""

    y0: int
    y1: int
    labels: np.ndarray
    shifts: np.ndarray
    pieces: list = field(default_factory=list)
    char_height: float = 0.0
    char_width: float = 0.0

    def mask(self, i: int, j: int):
        """``(ink, x0)``: the ink of pieces ``i:j`` together, as a mask of the line's rows and
        of the columns from ``x0`` (of the upright line) to the run's right end."""
        run = self.pieces[i:j]
        labels = sorted(set().union(*(p.labels for p in run)))
        x0, x1 = min(p.x0 for p in run), max(p.x1 for p in run)
        return np.isin(self.labels[:, x0:x1], labels), x0

    def page_box(self, i: int, j: int) -> tuple:
        """The page box ``(x0, y0, x1, y1)`` of the ink of pieces ``i:j``."""
        return self.mask_box(*self.mask(i, j))

    def mask_box(self, ink: np.ndarray, x0: int) -> tuple:
        """The page box of ``ink``, a mask of the line's rows and of its columns from ``x0``."""
        rows, cols = np.nonzero(ink)
        page_cols = cols + x0 - self.shifts[rows]
        return (int(page_cols.min()), int(self.y0 + rows.min()),
                int(page_cols.max()) + 1, int(self.y0 + rows.max()) + 1)


def components(ink: np.ndarray):
    """``(labels, boxes, areas)``: 8-connected components of ``ink`` (label 0 is paper),
    boxes ``(x0, y0, x1, y1)`` and pixel counts indexed by label - 1.

    >>> ink = np.zeros((5, 7), bool); ink[1:4, 1] = True; ink[2, 4:6] = True
    >>> _, boxes, areas = components(ink); boxes.tolist(), areas.tolist()
    ([[1, 1, 2, 4], [4, 2, 6, 3]], [3, 2])
    """
    from scipy import ndimage

    labels, n = ndimage.label(ink, structure=np.ones((3, 3), bool))
    boxes = np.zeros((n, 4), np.int64)
    for i, sl in enumerate(ndimage.find_objects(labels)):
        boxes[i] = sl[1].start, sl[0].start, sl[1].stop, sl[0].stop
    areas = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    return labels, boxes, areas


def drop_specks(boxes, areas, fraction: float = 0.02):
    """The labels of components worth reading: not one pixel thin (a hairline: the edge of
    a scan, a ruling line's end, the dark border of a bare gradient), and of an area at least
    ``fraction`` of a typical character's (the 80th percentile of the areas of the larger
    half) and 3 pixels.

    >>> boxes = np.array([[0, 0, 20, 20], [30, 0, 49, 20], [60, 9, 62, 10], [70, 0, 71, 40],
    ...                   [80, 5, 86, 10]])
    >>> drop_specks(boxes, np.array([400, 380, 2, 40, 30])).tolist()
    [1, 2, 5]
    """
    if len(areas) == 0:
        return np.zeros(0, np.int64)
    thin = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) <= 1
    solid = areas[~thin]
    if solid.size == 0:
        return np.zeros(0, np.int64)
    big = np.sort(solid)[solid.size // 2:]
    typical = float(np.percentile(big, 80))
    keep = ~thin & (areas >= max(3.0, fraction * typical))
    return np.flatnonzero(keep) + 1


def line_bands(ink_rows: np.ndarray, min_gap: int = 1):
    """``[(y0, y1), ...]``: the runs of rows that hold ink (``ink_rows`` a bool per row),
    runs separated by fewer than ``min_gap`` empty rows joined.

    >>> line_bands(np.array([0, 1, 1, 0, 0, 1, 0, 1], bool))
    [(1, 3), (5, 6), (7, 8)]
    """
    rows = np.flatnonzero(ink_rows)
    if rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) > min_gap)
    starts = np.r_[rows[0], rows[breaks + 1]]
    ends = np.r_[rows[breaks] + 1, rows[-1] + 1]
    return [(int(a), int(b)) for a, b in zip(starts, ends)]


def find_lines(ink: np.ndarray) -> list:
    """The text lines of the page mask ``ink``, top to bottom, with their pieces cut."""
    labels, boxes, areas = components(ink)
    keep = drop_specks(boxes, areas)
    if keep.size == 0:
        return []
    kept = np.isin(labels, keep)
    bands = line_bands(kept.any(axis=1))
    heights = np.array([b - a for a, b in bands])
    tall = heights >= 0.4 * np.max(heights)
    # a band of specks too short to be text joins no line (its components are left out)
    bands = [b for b, t in zip(bands, tall) if t]
    centres = (boxes[keep - 1, 1] + boxes[keep - 1, 3]) / 2
    lines = []
    for y0, y1 in bands:
        mine = keep[(centres >= y0) & (centres < y1)]
        if mine.size == 0:
            continue
        top, bottom = int(boxes[mine - 1, 1].min()), int(boxes[mine - 1, 3].max())
        crop = np.where(np.isin(labels[top:bottom], mine), labels[top:bottom], 0)
        straight, shifts = upright(crop, slant(crop))
        line = Line(top, bottom, straight, shifts)
        cut_line(line, boxes_of(straight, mine), mine)
        lines.append(line)
    return lines


def slant(labels: np.ndarray) -> float:
    """How far a line's characters lean: the median over its components (those at least
    half as tall as the tallest) of ``mu11 / mu02``, the columns moved per row down (negative
    for handwriting leaning right), within [-0.7, 0.7].

    >>> crop = np.zeros((9, 12), int)
    >>> for r in range(9): crop[r, 8 - r // 2] = 1; crop[r, 11 - r // 2] = 2
    >>> round(slant(crop), 2)
    -0.5
    """
    rows, cols = np.nonzero(labels)
    if rows.size == 0:
        return 0.0
    ids = labels[rows, cols]
    n = np.bincount(ids).astype(float)
    used = np.flatnonzero(n)
    dy = rows - np.bincount(ids, rows)[ids] / n[ids]
    dx = cols - np.bincount(ids, cols)[ids] / n[ids]
    mu02 = np.bincount(ids, dy * dy)[used] / n[used]
    mu11 = np.bincount(ids, dx * dy)[used] / n[used]
    top = np.full(len(n), np.inf)
    bottom = np.full(len(n), -np.inf)
    np.minimum.at(top, ids, rows)
    np.maximum.at(bottom, ids, rows)
    height = (bottom - top)[used] + 1
    tall = (height >= 0.5 * height.max()) & (mu02 > 0)
    if not tall.any():
        return 0.0
    return float(np.clip(np.median(mu11[tall] / mu02[tall]), -0.7, 0.7))


def upright(labels: np.ndarray, lean: float):
    """``(straight, shifts)``: the label image with row ``r`` moved right by ``shifts[r]``
    whole columns (no resampling, so labels stay exact), undoing a lean of ``lean`` columns
    per row; the image widens by the largest shift.

    >>> straight, shifts = upright(np.eye(3, dtype=int), 1.0)
    >>> straight.tolist(), shifts.tolist()
    ([[0, 0, 1, 0, 0], [0, 0, 1, 0, 0], [0, 0, 1, 0, 0]], [2, 1, 0])
    """
    h, w = labels.shape
    shifts = np.round(-lean * (np.arange(h) - (h - 1) / 2)).astype(np.int64)
    shifts -= shifts.min()
    straight = np.zeros((h, w + int(shifts.max())), labels.dtype)
    for r in range(h):
        straight[r, shifts[r]:shifts[r] + w] = labels[r]
    return straight, shifts


def boxes_of(labels: np.ndarray, which: np.ndarray) -> np.ndarray:
    """``(x0, y0, x1, y1)`` of each label in ``which`` within ``labels``."""
    from scipy import ndimage

    found = ndimage.find_objects(labels, max_label=int(which.max()))
    return np.array([[found[k - 1][1].start, found[k - 1][0].start,
                      found[k - 1][1].stop, found[k - 1][0].stop] for k in which], np.int64)


def atoms(boxes: np.ndarray, labels: np.ndarray, overlap: float = 0.5):
    """Components grouped into atoms, left to right: ``[(labels, x0, x1, y0, y1), ...]``.
    Two components are one atom when their column ranges overlap by ``overlap`` of the
    narrower one's width and either they are stacked (their rows overlap by less than
    ``overlap`` of the shorter one's height: a dot, a broken bar) or one lies inside the
    other's box (a blob inside a loop). Characters side by side, even leaning into each other,
    stay apart.

    >>> b = np.array([[0, 0, 4, 3], [1, 4, 4, 9], [8, 0, 12, 9], [10, 0, 13, 9]])
    >>> [a[0] for a in atoms(b, np.array([1, 2, 3, 4]))]
    [(1, 2), (3,), (4,)]
    """
    order = np.argsort((boxes[:, 0] + boxes[:, 2]) / 2, kind="stable")
    groups = []
    for i in order:
        x0, y0, x1, y1 = (int(v) for v in boxes[i])
        for g in groups:
            cols = min(x1, g[2]) - max(x0, g[1])
            rows = min(y1, g[4]) - max(y0, g[3])
            if cols < overlap * min(x1 - x0, g[2] - g[1]):
                continue
            stacked = rows < overlap * min(y1 - y0, g[4] - g[3])
            inside = ((g[1] <= x0 and x1 <= g[2] and g[3] <= y0 and y1 <= g[4])
                      or (x0 <= g[1] and g[2] <= x1 and y0 <= g[3] and g[4] <= y1))
            if stacked or inside:
                g[0].append(int(labels[i]))
                g[1], g[2] = min(g[1], x0), max(g[2], x1)
                g[3], g[4] = min(g[3], y0), max(g[4], y1)
                break
        else:
            groups.append([[int(labels[i])], x0, x1, y0, y1])
    groups.sort(key=lambda g: (g[1] + g[2]) / 2)
    return [(tuple(g[0]), g[1], g[2], g[3], g[4]) for g in groups]


def char_size(groups) -> tuple[float, float]:
    """``(height, width)`` expected of one character in a line of atoms: the median atom
    height, and the median width of the atoms that are neither narrow strokes (a '1', under
    0.4 of the height) nor wider than tall (touching pairs), kept within [0.6, 1.0] of the
    height (0.8 when no atom qualifies: MNIST's median digit is 16 pixels wide for 20 tall).

    >>> char_size([((1,), 0, 16, 0, 20), ((2,), 20, 24, 0, 20), ((3,), 30, 62, 0, 20)])
    (20.0, 16.0)
    """
    heights = np.array([g[4] - g[3] for g in groups], float)
    widths = np.array([g[2] - g[1] for g in groups], float)
    h = float(np.median(heights))
    single = widths[(widths >= 0.4 * h) & (widths <= h)]
    w = float(np.median(single)) if single.size else 0.8 * h
    return h, float(np.clip(w, 0.6 * h, 1.0 * h))


def cut_columns(profile: np.ndarray, char_width: float, limit: int = 6) -> list:
    """Candidate cut columns of an atom whose column ink counts are ``profile``, at least a
    fifth of a character from either edge: the local minima (the ``limit`` lowest), then a
    grid every sixth of a character (strokes that overlap, a leaning '1' tucked into a '6',
    leave no minimum). A cut closer than an eighth of a character to one already taken is
    dropped, so minima win over the grid. Sorted; the classifier decides which are used.

    >>> cut_columns(np.array([3, 4, 4, 3, 1, 3, 4, 4, 3]), char_width=6.0)
    [2, 4, 6]
    """
    w = len(profile)
    edge = max(2, int(round(char_width / EDGE)))
    if w < 2 * edge + 1:
        return []
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    inner = np.arange(edge, w - edge)
    is_min = ((smooth[inner] <= smooth[inner - 1]) & (smooth[inner] <= smooth[inner + 1])
              & (smooth[inner] < 0.8 * smooth.max()))  # a real dip, not a plateau
    minima = inner[is_min]
    minima = minima[np.argsort(smooth[minima], kind="stable")][:limit].tolist()
    # strokes that overlap (a leaning '1' inside a '6') leave no minimum: a grid as well
    step = max(2.0, char_width / 6)
    minima += [round(c) for c in np.arange(edge, w - edge + 1e-9, step)]
    spacing = max(2.0, char_width / 8)
    cuts = []
    for c in minima:
        if edge <= c <= w - edge and all(abs(c - d) >= spacing for d in cuts):
            cuts.append(int(c))
    cuts.sort()
    return cuts


def cut_line(line: Line, boxes: np.ndarray, labels: np.ndarray) -> None:
    """Fill ``line.pieces`` (and its character size) from its components: each atom whole,
    or, if wider than ``CUT_FROM`` characters, cut straight down at its ``cut_columns``
    (straight cuts in the upright line: they follow the writing's slant in the page).
    Curved cuts that wind between strokes were tried: they gave the classifier more odd
    pieces to be wrongly sure of, and read worse (README, "Reading text")."""
    groups = atoms(boxes, labels)
    line.char_height, line.char_width = char_size(groups)
    for k, (labs, x0, x1, _, _) in enumerate(groups):
        cuts = []
        if x1 - x0 > CUT_FROM * line.char_width:
            profile = np.isin(line.labels[:, x0:x1], labs).sum(axis=0)
            cuts = cut_columns(profile, line.char_width)
        edges = [x0, *(x0 + c for c in cuts), x1]
        line.pieces += [Piece(labs, a, b, k) for a, b in zip(edges[:-1], edges[1:])]


def candidates(line: Line, join_gap: float = 0.08):
    """``[(i, j, labels, x0, x1, joins), ...]``: each run of pieces ``i:j`` that may be one
    character, and how many gaps between atoms it bridges. Runs span at most ``MAX_PIECES``
    pieces and 1.6 characters of width, except that a whole atom is always a candidate;
    pieces of different atoms join only when the gap between the atoms is at most
    ``join_gap`` of a character's height (a broken stroke), or ``SMALL_JOIN`` of it when one
    of the atoms is a fragment (``small_atoms``: a detached bar, a broken tail)."""
    out = []
    pieces = line.pieces
    gap_limit = max(1.0, join_gap * line.char_height)
    small = small_atoms(line)
    for i in range(len(pieces)):
        labs, x0, x1, joins = set(pieces[i].labels), pieces[i].x0, pieces[i].x1, 0
        for j in range(i + 1, min(i + MAX_PIECES, len(pieces)) + 1):
            p = pieces[j - 1]
            if j > i + 1:
                prev = pieces[j - 2]
                if p.atom != prev.atom:
                    # a fragment (a 5's detached bar, a 9's broken tail) may sit further off
                    limit = SMALL_JOIN * line.char_height if (
                        p.atom in small or prev.atom in small) else gap_limit
                    if p.x0 - prev.x1 > limit:
                        break
                    joins += 1
                labs |= set(p.labels)
                x0, x1 = min(x0, p.x0), max(x1, p.x1)
            if x1 - x0 > 1.6 * line.char_width and not _whole_atom(pieces, i, j):
                break
            out.append((i, j, tuple(sorted(labs)), x0, x1, joins))
    for atom in sorted({p.atom for p in pieces}):  # too many pieces for a run: whole anyway
        mine = [k for k, p in enumerate(pieces) if p.atom == atom]
        if len(mine) > MAX_PIECES:
            i, j = mine[0], mine[-1] + 1
            out.append((i, j, pieces[i].labels, pieces[i].x0, pieces[j - 1].x1, 0))
    return out


def small_atoms(line: Line) -> set:
    """The atoms of a line whose ink is less than ``SMALL`` of a character's height: broken-off
    fragments (no digit or capital letter is that short), which the reader lets join a
    neighbour across a wider gap and does not readily read alone."""
    out = set()
    for atom in {p.atom for p in line.pieces}:
        labs = next(p.labels for p in line.pieces if p.atom == atom)
        rows = np.flatnonzero(np.isin(line.labels, labs).any(axis=1))
        if rows.size and rows[-1] + 1 - rows[0] < SMALL * line.char_height:
            out.add(atom)
    return out


def pair_candidates(line: Line, widths: tuple = PAIR_WIDTHS, limit: int = 2 * MAX_PIECES):
    """``[(i, j, labels, x0, x1, 0), ...]``: the runs of pieces of one atom that may be two
    touching characters, ``widths`` character widths wide (``svertka.ocr.pairs``). Two
    characters that do not touch are two atoms, read one by one."""
    out = []
    pieces = line.pieces
    lo, hi = widths[0] * line.char_width, widths[1] * line.char_width
    for i in range(len(pieces)):
        for j in range(i + 1, min(i + limit, len(pieces)) + 1):
            if pieces[j - 1].atom != pieces[i].atom:
                break
            x0, x1 = pieces[i].x0, pieces[j - 1].x1
            if x1 - x0 > hi:
                break
            if x1 - x0 >= lo:
                out.append((i, j, pieces[i].labels, x0, x1, 0))
    return out


def _whole_atom(pieces, i: int, j: int) -> bool:
    atom = pieces[i].atom
    return (all(q.atom == atom for q in pieces[i:j])
            and (i == 0 or pieces[i - 1].atom != atom)
            and (j == len(pieces) or pieces[j].atom != atom))


def cut_boundaries(line: Line) -> set:
    """The piece boundaries ``k`` (between pieces ``k - 1`` and ``k``) that cut through an
    atom, as opposed to falling between two atoms."""
    p = line.pieces
    return {k for k in range(1, len(p)) if p[k].atom == p[k - 1].atom}


def best_path(n: int, scored, char_width: float, cuts=frozenset(), cut_cost: float = 0.2,
              join_cost: float = 0.5, wide_cost: float = 1.5):
    """The split of pieces ``0:n`` into characters that scores best. ``scored`` lists
    ``(i, j, x0, x1, log_prob, joins)`` for each candidate run ``i:j`` (with a seventh item,
    the number of characters the run reads as, for a pair read whole). A split scores the sum
    of its characters' log probabilities, less ``cut_cost`` for each boundary in ``cuts`` it
    separates characters at (cutting through ink needs the classifier's support),
    ``join_cost`` for each gap between atoms that a character bridges (so does joining
    pieces), and ``wide_cost`` per character width beyond 1.2 expected widths a character
    (two touching characters read as one). Returns the chosen runs as indices into
    ``scored``, in order (dynamic programming over the piece boundaries); ``[]`` when no split
    covers them all.

    >>> runs = [(0, 1, 0, 5, -0.1, 0), (1, 2, 5, 10, -0.1, 0), (0, 2, 0, 10, -0.05, 0)]
    >>> best_path(2, runs, char_width=5.0, cuts={1})   # two characters of width 5
    [0, 1]
    >>> best_path(2, runs, char_width=10.0, cuts={1})  # one character of width 10
    [2]
    """
    best = np.full(n + 1, -np.inf)
    best[0] = 0.0
    back = [-1] * (n + 1)
    by_end: dict = {}
    for k, run in enumerate(scored):
        by_end.setdefault(run[1], []).append(k)
    for j in range(1, n + 1):
        for k in by_end.get(j, ()):
            i, _, x0, x1, logp, joins, *count = scored[k]
            excess = max(0.0, (x1 - x0) / (char_width * (count[0] if count else 1)) - 1.2)
            s = (best[i] + logp - join_cost * joins - wide_cost * excess
                 - (cut_cost if j in cuts and j < n else 0.0))
            if s > best[j]:
                best[j], back[j] = s, k
    if not np.isfinite(best[n]):
        return []
    path, j = [], n
    while j > 0:
        k = back[j]
        path.append(k)
        j = scored[k][0]
    return path[::-1]
