"""col2im as one compiled loop (see :mod:`svertka.kernels.jit`): window gradients back onto
the input, for the input gradient of a convolution.

``gcols`` (M, KH*KW*C), M = N*OH*OW, holds the gradient of every window tap: one GEMM,
``gy2d @ w2d.T``, makes it. Each row is one window; its tap (p, q) block of C values adds onto
input pixel ``(i*SH + p*DH - top, j*SW + q*DW - left)``, and taps falling in the padding are
dropped, so the result is the unpadded gradient with no crop.

Why it exists: NumPy needs either KH*KW small GEMMs (one per tap,
:func:`svertka.kernels.conv.col2im`) or KH*KW strided adds over the big product; this loop
reads the product once, in order, its channel loop vectorised.
"""

from __future__ import annotations

from svertka.kernels.jit import jit


@jit
def _scatter_windows(gcols, oh, ow, kh, kw, sh, sw, dh, dw, top, left, gx):
    n, h, w, c = gx.shape
    row = 0
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for p in range(kh):
                    r = i * sh + p * dh - top
                    if r < 0 or r >= h:
                        continue
                    for q in range(kw):
                        s = j * sw + q * dw - left
                        if s < 0 or s >= w:
                            continue
                        base = (p * kw + q) * c
                        for ch in range(c):
                            gx[b, r, s, ch] += gcols[row, base + ch]
                row += 1


def col2im_add(gcols, gx, out_hw, kernel_hw, strides, dilation, pads) -> None:
    """``gx`` (N, H, W, C) += the window gradients ``gcols`` (N*OH*OW, KH*KW*C), in place.

    Both must be C-contiguous NumPy arrays of one float dtype.
    """
    (oh, ow), (kh, kw), (sh, sw), (dh, dw) = out_hw, kernel_hw, strides, dilation
    (top, _), (left, _) = pads
    _scatter_windows(gcols, oh, ow, kh, kw, sh, sw, dh, dw, top, left, gx)
