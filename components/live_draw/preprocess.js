// A port of ae.data.preprocess.canvas_to_mnist: a canvas' RGBA pixels -> a 28x28 MNIST-style digit (Float32Array, row
// major, values in [0, 1]), or null when the canvas is blank. Same steps, same constants, same resampling (Pillow's
// separable Lanczos-3 with antialiasing, computed in double and stored in float32, horizontal pass first), same
// rounding (Python's round(): half to even). tests/test_live_draw.py checks it against the Python original.

export const SIZE = 28;
const BOX = 20;
const CENTRE = SIZE >> 1;
const INK_THRESHOLD = Math.fround(0.05);
export const SMALL_INK = 0.2;

// Python's round(): ties go to the even integer.
export function roundHalfEven(v) {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

// Ink in [0, 1] (float32): the brightest colour channel times the alpha, as ink_from_rgba.
export function inkFromRgba(data, width, height) {
  const ink = new Float32Array(width * height);
  for (let i = 0, p = 0; i < ink.length; i++, p += 4) {
    const rgb = Math.fround(Math.max(data[p], data[p + 1], data[p + 2]) / 255);
    ink[i] = Math.fround(rgb * Math.fround(data[p + 3] / 255));
  }
  return ink;
}

function inkBounds(ink, width, height) {
  let r0 = -1, r1 = -1, c0 = width, c1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (ink[row + x] > INK_THRESHOLD) {
        if (r0 < 0) r0 = y;
        r1 = y;
        if (x < c0) c0 = x;
        if (x > c1) c1 = x;
      }
    }
  }
  return r0 < 0 ? null : { r0, r1, c0, c1 };
}

// How much of the canvas the ink spans (0 if blank), as ae.data.preprocess.ink_extent.
export function inkExtent(ink, width, height) {
  const b = inkBounds(ink, width, height);
  if (!b) return 0;
  return Math.max(b.r1 - b.r0 + 1, b.c1 - b.c0 + 1) / Math.max(width, height);
}

function sinc(x) {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

function lanczos(x) {
  return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

// Pillow's precompute_coeffs for Lanczos (support 3), box (0, inSize).
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 3 * filterscale;
  const out = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const k = new Float64Array(Math.max(xmax, 0));
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      k[x] = lanczos((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) k[x] /= ww;
    out.push({ xmin, k });
  }
  return out;
}

// Image.resize((outW, outH), LANCZOS) of a mode "F" image: (w, h) float32 -> (outW, outH) float32.
export function resizeLanczos(src, w, h, outW, outH) {
  let img = src, iw = w;
  if (outW !== w) {
    const cs = coefficients(w, outW);
    const tmp = new Float32Array(outW * h);
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < outW; xx++) {
        const { xmin, k } = cs[xx];
        let ss = 0;
        for (let x = 0; x < k.length; x++) ss += img[y * iw + x + xmin] * k[x];
        tmp[y * outW + xx] = ss;
      }
    }
    img = tmp;
    iw = outW;
  }
  if (outH !== h) {
    const cs = coefficients(h, outH);
    const tmp = new Float32Array(iw * outH);
    for (let yy = 0; yy < outH; yy++) {
      const { xmin, k } = cs[yy];
      for (let xx = 0; xx < iw; xx++) {
        let ss = 0;
        for (let y = 0; y < k.length; y++) ss += img[(y + xmin) * iw + xx] * k[y];
        tmp[yy * iw + xx] = ss;
      }
    }
    img = tmp;
  }
  return img;
}

// (H, W) ink -> 28x28 digit, or null: crop to the ink, scale the longer side to 20 px, centre of mass at (14, 14).
export function toMnist(ink, width, height) {
  const b = inkBounds(ink, width, height);
  if (!b) return null;
  const h = b.r1 - b.r0 + 1, w = b.c1 - b.c0 + 1;
  const crop = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = ink[(y + b.r0) * width + x + b.c0];
      crop[y * w + x] = Number.isNaN(v) ? 0 : Math.min(1, Math.max(0, v));
    }
  }
  const scale = BOX / Math.max(h, w);
  const newH = Math.max(1, roundHalfEven(h * scale)), newW = Math.max(1, roundHalfEven(w * scale));
  const glyph = resizeLanczos(crop, w, h, newW, newH);
  let total = 0, my = 0, mx = 0;
  for (let y = 0; y < newH; y++) {
    for (let x = 0; x < newW; x++) {
      const v = Math.min(1, Math.max(0, glyph[y * newW + x]));  // Lanczos rings slightly outside [0, 1]
      glyph[y * newW + x] = v;
      total += v;
      my += y * v;
      mx += x * v;
    }
  }
  if (total <= 0) return null;
  const clip = (v, hi) => Math.min(Math.max(v, 0), hi);
  const top = clip(roundHalfEven(CENTRE - my / total), SIZE - newH);
  const left = clip(roundHalfEven(CENTRE - mx / total), SIZE - newW);
  const out = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < newH; y++) {
    for (let x = 0; x < newW; x++) out[(top + y) * SIZE + left + x] = glyph[y * newW + x];
  }
  return out;
}

// ae.data.preprocess.canvas_to_mnist on an ImageData-like {data, width, height}.
export function canvasToMnist(image) {
  return toMnist(inkFromRgba(image.data, image.width, image.height), image.width, image.height);
}
