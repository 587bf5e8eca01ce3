package io.deepens.core.lean;

import io.deepens.core.lean.CnnLayout.Conv;
import java.util.Arrays;

/**
 * The lean CNN pass's kernels on heap arrays, one convolution block ({@link Conv}) at a time: im2col and its
 * adjoint col2im (the convolution itself is one sgemm per group of samples, in {@link CnnForward} and
 * {@link CnnTrainingStep}), max pooling with DL4J's semantics (a window reaching into the padding takes the maximum
 * over its cells inside the input; the gradient goes to the first maximal cell), and the gradient back through the
 * pooling and the ReLU.
 */
final class ConvKernels {
  private ConvKernels() {}

  /** One sample's im2col into columns {@code col0 ..} of the row-major [k, n] block {@code cols}. */
  static void im2col(Conv c, float[] in, int inOff, float[] cols, int n, int col0) {
    int h = c.h;
    int w = c.w;
    for (int ch = 0; ch < c.cin; ch++) {
      int chOff = inOff + ch * h * w;
      for (int ky = 0; ky < c.cw.kh(); ky++) {
        for (int kx = 0; kx < c.cw.kw(); kx++) {
          int r = (ch * c.cw.kh() + ky) * c.cw.kw() + kx;
          int dst = r * n + col0;
          for (int oy = 0; oy < c.cw.oh(); oy++) {
            int iy = oy * c.cw.sh() - c.cw.padTop() + ky;
            int rowDst = dst + oy * c.cw.ow();
            if (iy < 0 || iy >= h) {
              Arrays.fill(cols, rowDst, rowDst + c.cw.ow(), 0f);
              continue;
            }
            int src = chOff + iy * w;
            if (c.cw.sw() == 1) {
              // contiguous: ix = ox - padLeft + kx inside [0, w) for ox in [lo, hi)
              int lo = c.cw.firstInside(kx);
              int hi = c.cw.endInside(kx, w);
              Arrays.fill(cols, rowDst, rowDst + lo, 0f);
              System.arraycopy(in, src + lo - c.cw.padLeft() + kx, cols, rowDst + lo, hi - lo);
              Arrays.fill(cols, rowDst + hi, rowDst + c.cw.ow(), 0f);
              continue;
            }
            for (int ox = 0; ox < c.cw.ow(); ox++) {
              int ix = ox * c.cw.sw() - c.cw.padLeft() + kx;
              cols[rowDst + ox] = ix >= 0 && ix < w ? in[src + ix] : 0f;
            }
          }
        }
      }
    }
  }

  /** Adds one sample's columns {@code col0 ..} of the [k, n] block {@code cols} back onto its input gradient. */
  static void col2im(Conv c, float[] cols, int n, int col0, float[] dIn, int inOff) {
    int h = c.h;
    int w = c.w;
    for (int ch = 0; ch < c.cin; ch++) {
      int chOff = inOff + ch * h * w;
      for (int ky = 0; ky < c.cw.kh(); ky++) {
        for (int kx = 0; kx < c.cw.kw(); kx++) {
          int src = ((ch * c.cw.kh() + ky) * c.cw.kw() + kx) * n + col0;
          for (int oy = 0; oy < c.cw.oh(); oy++) {
            int iy = oy * c.cw.sh() - c.cw.padTop() + ky;
            if (iy < 0 || iy >= h) {
              continue;
            }
            int rowSrc = src + oy * c.cw.ow();
            int dst = chOff + iy * w;
            if (c.cw.sw() == 1) {
              int lo = c.cw.firstInside(kx);
              int hi = c.cw.endInside(kx, w);
              int shift = dst - c.cw.padLeft() + kx - rowSrc;
              for (int q = rowSrc + lo; q < rowSrc + hi; q++) {
                dIn[q + shift] += cols[q];
              }
              continue;
            }
            for (int ox = 0; ox < c.cw.ow(); ox++) {
              int ix = ox * c.cw.sw() - c.cw.padLeft() + kx;
              if (ix >= 0 && ix < w) {
                dIn[dst + ix] += cols[rowSrc + ox];
              }
            }
          }
        }
      }
    }
  }

  /** Max pooling of each sample's convolution output {@code c.act} into {@code c.out}, the winners' indices into {@code c.arg}. */
  static void poolForward(Conv c, int rows) {
    int ohw = c.cw.oh() * c.cw.ow();
    int pohw = c.pw.oh() * c.pw.ow();
    boolean tiled2x2 = c.pw.kh() == 2 && c.pw.kw() == 2 && c.pw.sh() == 2 && c.pw.sw() == 2 && c.pw.padTop() == 0 && c.pw.padLeft() == 0
        && c.cw.oh() == 2 * c.pw.oh() && c.cw.ow() == 2 * c.pw.ow();
    for (int s = 0; s < rows; s++) {
      for (int o = 0; o < c.cout; o++) {
        int inBase = (s * c.cout + o) * ohw;
        int outBase = (s * c.cout + o) * pohw;
        if (tiled2x2) {
          // windows 2×2 side by side inside the input: the first maximum in row-major order, as below
          for (int py = 0; py < c.pw.oh(); py++) {
            for (int px = 0; px < c.pw.ow(); px++) {
              int i = inBase + 2 * py * c.cw.ow() + 2 * px;
              int best = i;
              float max = c.act[i];
              if (c.act[i + 1] > max) {
                max = c.act[i + 1];
                best = i + 1;
              }
              if (c.act[i + c.cw.ow()] > max) {
                max = c.act[i + c.cw.ow()];
                best = i + c.cw.ow();
              }
              if (c.act[i + c.cw.ow() + 1] > max) {
                max = c.act[i + c.cw.ow() + 1];
                best = i + c.cw.ow() + 1;
              }
              c.out[outBase + py * c.pw.ow() + px] = max;
              c.arg[outBase + py * c.pw.ow() + px] = best;
            }
          }
          continue;
        }
        for (int py = 0; py < c.pw.oh(); py++) {
          int y0 = Math.max(0, py * c.pw.sh() - c.pw.padTop());
          int y1 = Math.min(c.cw.oh(), py * c.pw.sh() - c.pw.padTop() + c.pw.kh());
          for (int px = 0; px < c.pw.ow(); px++) {
            int x0 = Math.max(0, px * c.pw.sw() - c.pw.padLeft());
            int x1 = Math.min(c.cw.ow(), px * c.pw.sw() - c.pw.padLeft() + c.pw.kw());
            int best = inBase + y0 * c.cw.ow() + x0;
            float max = c.act[best];
            for (int yy = y0; yy < y1; yy++) {
              for (int xx = x0; xx < x1; xx++) {
                int i = inBase + yy * c.cw.ow() + xx;
                if (c.act[i] > max) {
                  max = c.act[i];
                  best = i;
                }
              }
            }
            c.out[outBase + py * c.pw.ow() + px] = max;
            c.arg[outBase + py * c.pw.ow() + px] = best;
          }
        }
      }
    }
  }

  /** dL/d(block output) → dL/dz of the block's convolution (through the max pooling and the ReLU). */
  static void passToConv(Conv c, float[] dOut, int rows) {
    int n = rows * c.convSize();
    float[] dAct = c.dAct;
    if (c.pw != null) {
      Arrays.fill(dAct, 0, n, 0f);
      int outN = rows * c.outSize();
      for (int i = 0; i < outN; i++) {
        dAct[c.arg[i]] += dOut[i];
      }
    } else {
      System.arraycopy(dOut, 0, dAct, 0, n);
    }
    for (int i = 0; i < n; i++) {
      if (c.act[i] <= 0f) {
        dAct[i] = 0f;
      }
    }
  }
}
