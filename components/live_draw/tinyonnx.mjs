// A small ONNX interpreter in plain JavaScript for the graphs aelab exports: 20 kB instead of onnxruntime-web's 14 MB
// WebAssembly (3.7 MB compressed), which was most of a first visit. It reads the same .onnx files and runs the ops
// that autoencoders, the lab's families and the reference classifier are made of, in float32. A graph with any other
// op is refused at load (Unsupported), and the page runs that one model with onnxruntime-web instead.
//
// Tensors are {data, dims}: Float32Array data for floats, a plain Array of numbers for integer tensors (shapes, axes).

export class Unsupported extends Error {
  constructor(message) { super(message); this.name = "Unsupported"; }
}

const FLOAT = 1, INT8 = 3, INT32 = 6, INT64 = 7, FLOAT16 = 10, DOUBLE = 11;

// ---- protobuf: just the fields of ModelProto that these graphs use ----

class Reader {
  constructor(bytes, start = 0, end = bytes.length) { this.b = bytes; this.p = start; this.end = end; }
  more() { return this.p < this.end; }
  varint() {
    let r = 0n, shift = 0n, byte;
    do { byte = this.b[this.p++]; r |= BigInt(byte & 0x7f) << shift; shift += 7n; } while (byte & 0x80);
    return Number(BigInt.asIntN(64, r));
  }
  fixed32() { const v = new DataView(this.b.buffer, this.b.byteOffset + this.p, 4).getFloat32(0, true); this.p += 4; return v; }
  bytes() { const n = this.varint(); const s = this.b.subarray(this.p, this.p + n); this.p += n; return s; }
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.p += 8;
    else if (wire === 2) { const n = this.varint(); this.p += n; } // not `p += varint()`: p is read first
    else if (wire === 5) this.p += 4;
    else throw new Error(`protobuf wire type ${wire}`);
  }
  // Each field as [number, wire type, reader or value]: messages and strings stay as byte ranges.
  *fields() {
    while (this.more()) {
      const key = this.varint();
      yield [key >>> 3, key & 7];
    }
  }
}

const text = (bytes) => new TextDecoder().decode(bytes);

function packedOr(r, wire, one, out) { // repeated scalars come packed (wire 2) or one by one
  if (wire !== 2) { out.push(one()); return; }
  const n = r.varint(), end = r.p + n, saved = r.end;
  r.end = end;
  while (r.more()) out.push(one());
  r.end = saved;
}

function tensorProto(bytes) {
  const r = new Reader(bytes), t = { dims: [], type: FLOAT, name: "", raw: null, floats: [], ints: [] };
  for (const [f, w] of r.fields()) {
    if (f === 1) packedOr(r, w, () => r.varint(), t.dims);
    else if (f === 2) t.type = r.varint();
    else if (f === 4) packedOr(r, w, () => r.fixed32(), t.floats);
    else if (f === 5 || f === 7) packedOr(r, w, () => r.varint(), t.ints);
    else if (f === 8) t.name = text(r.bytes());
    else if (f === 9) t.raw = r.bytes();
    else if (f === 13 || f === 14) throw new Unsupported("external tensor data");
    else r.skip(w);
  }
  return { name: t.name, tensor: decodeTensor(t) };
}

const HALF = (() => { // every float16 bit pattern as float32
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    table[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return table;
})();

function decodeTensor(t) {
  const n = t.dims.reduce((a, b) => a * b, 1), raw = t.raw ? t.raw.slice() : null; // slice: an aligned copy
  if (t.type === FLOAT) return { data: raw ? new Float32Array(raw.buffer, 0, n) : Float32Array.from(t.floats), dims: t.dims };
  if (t.type === DOUBLE && raw) return { data: Float32Array.from(new Float64Array(raw.buffer, 0, n)), dims: t.dims };
  if (t.type === FLOAT16 && raw) {
    const h = new Uint16Array(raw.buffer, 0, n), out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = HALF[h[i]];
    return { data: out, dims: t.dims };
  }
  if (t.type === INT8) return { data: Array.from(raw ? new Int8Array(raw.buffer, 0, n) : t.ints), dims: t.dims, int: true };
  if (t.type === INT64 || t.type === INT32) {
    const vals = !raw ? t.ints : t.type === INT64 ? Array.from(new BigInt64Array(raw.buffer, 0, n), Number)
      : Array.from(new Int32Array(raw.buffer, 0, n));
    return { data: vals, dims: t.dims, int: true };
  }
  throw new Unsupported(`tensor type ${t.type}`);
}

function attribute(bytes) {
  const r = new Reader(bytes), a = { name: "", ints: [], floats: [] };
  for (const [f, w] of r.fields()) {
    if (f === 1) a.name = text(r.bytes());
    else if (f === 2) a.f = r.fixed32();
    else if (f === 3) a.i = r.varint();
    else if (f === 4) a.s = text(r.bytes());
    else if (f === 5) a.t = tensorProto(r.bytes()).tensor;
    else if (f === 7) packedOr(r, w, () => r.fixed32(), a.floats);
    else if (f === 8) packedOr(r, w, () => r.varint(), a.ints);
    else r.skip(w);
  }
  const value = a.t ?? a.s ?? a.f ?? a.i ?? (a.ints.length ? a.ints : a.floats);
  return [a.name, value];
}

function nodeProto(bytes) {
  const r = new Reader(bytes), n = { inputs: [], outputs: [], op: "", attrs: {}, domain: "" };
  for (const [f, w] of r.fields()) {
    if (f === 1) n.inputs.push(text(r.bytes()));
    else if (f === 2) n.outputs.push(text(r.bytes()));
    else if (f === 4) n.op = text(r.bytes());
    else if (f === 5) { const [k, v] = attribute(r.bytes()); n.attrs[k] = v; }
    else if (f === 7) n.domain = text(r.bytes());
    else r.skip(w);
  }
  return n;
}

function valueName(bytes) {
  const r = new Reader(bytes);
  for (const [f, w] of r.fields()) { if (f === 1) return text(r.bytes()); r.skip(w); }
  return "";
}

function graphProto(bytes) {
  const r = new Reader(bytes), g = { nodes: [], constants: new Map(), inputs: [], outputs: [] };
  for (const [f, w] of r.fields()) {
    if (f === 1) g.nodes.push(nodeProto(r.bytes()));
    else if (f === 5) { const { name, tensor } = tensorProto(r.bytes()); g.constants.set(name, tensor); }
    else if (f === 11) g.inputs.push(valueName(r.bytes()));
    else if (f === 12) g.outputs.push(valueName(r.bytes()));
    else r.skip(w);
  }
  g.inputs = g.inputs.filter((name) => !g.constants.has(name));
  return g;
}

function modelProto(bytes) {
  const r = new Reader(bytes);
  for (const [f, w] of r.fields()) { if (f === 7) return graphProto(r.bytes()); r.skip(w); }
  throw new Error("not an ONNX model: no graph");
}

// ---- kernels ----

// C (M x N) = A (M x K) times B (N x K) transposed, both row-major: a fully connected layer (A the inputs, B the
// weights) and a convolution (A the kernels, B the image's patches). Blocks of 4 x 2 keep the sums in registers.
export function gemmNT(A, B, M, N, K, C) {
  let m = 0;
  for (; m + 3 < M; m += 4) {
    const a0 = m * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
    let n = 0;
    for (; n + 1 < N; n += 2) {
      const b0 = n * K, b1 = b0 + K;
      let c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0, c30 = 0, c31 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = B[b0 + k], x1 = B[b1 + k], w0 = A[a0 + k], w1 = A[a1 + k], w2 = A[a2 + k], w3 = A[a3 + k];
        c00 += w0 * x0; c01 += w0 * x1; c10 += w1 * x0; c11 += w1 * x1;
        c20 += w2 * x0; c21 += w2 * x1; c30 += w3 * x0; c31 += w3 * x1;
      }
      const o = m * N + n;
      C[o] = c00; C[o + 1] = c01; C[o + N] = c10; C[o + N + 1] = c11;
      C[o + 2 * N] = c20; C[o + 2 * N + 1] = c21; C[o + 3 * N] = c30; C[o + 3 * N + 1] = c31;
    }
    for (; n < N; n++) for (let i = 0; i < 4; i++) C[(m + i) * N + n] = dot(A, (m + i) * K, B, n * K, K);
  }
  for (; m < M; m++) rowTimesNT(A, m * K, B, N, K, C, m * N);
  return C;
}

function rowTimesNT(A, a, B, N, K, C, c) { // one row of A against every row of B, four at a time
  let n = 0;
  for (; n + 3 < N; n += 4) {
    const b0 = n * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < K; k++) {
      const x = A[a + k];
      s0 += x * B[b0 + k]; s1 += x * B[b1 + k]; s2 += x * B[b2 + k]; s3 += x * B[b3 + k];
    }
    C[c + n] = s0; C[c + n + 1] = s1; C[c + n + 2] = s2; C[c + n + 3] = s3;
  }
  for (; n < N; n++) C[c + n] = dot(A, a, B, n * K, K);
}

function dot(A, a, B, b, K) {
  let s = 0;
  for (let k = 0; k < K; k++) s += A[a + k] * B[b + k];
  return s;
}

const size = (dims) => dims.reduce((a, b) => a * b, 1);
const f32 = (data, dims) => ({ data, dims });

function transpose2d(t) {
  const [r, c] = t.dims, out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return f32(out, [c, r]);
}

function gemm(node, [A, B, C]) {
  const at = node.attrs, alpha = at.alpha ?? 1, beta = at.beta ?? 1;
  if (at.transA) A = transpose2d(A);
  const Bt = at.transB ? B : (node.cache ??= transpose2d(B)); // constant weights: transposed once
  const [M, K] = A.dims, N = Bt.dims[0];
  const out = gemmNT(A.data, Bt.data, M, N, K, new Float32Array(M * N));
  if (alpha !== 1) for (let i = 0; i < out.length; i++) out[i] *= alpha;
  if (C) addBroadcast(out, [M, N], C, beta);
  return [f32(out, [M, N])];
}

function matmul(node, [A, B]) {
  if (B.dims.length !== 2) throw new Unsupported("MatMul with a batched right-hand side");
  const K = B.dims[0], N = B.dims[1], M = size(A.dims) / K;
  const Bt = node.cache ??= transpose2d(B);
  return [f32(gemmNT(A.data, Bt.data, M, N, K, new Float32Array(M * N)), [...A.dims.slice(0, -1), N])];
}

function addBroadcast(out, dims, C, beta) {
  const c = C.data, n = c.length, last = dims[dims.length - 1];
  if (n === 1) for (let i = 0; i < out.length; i++) out[i] += beta * c[0];
  else if (n === last) for (let i = 0; i < out.length; i++) out[i] += beta * c[i % last];
  else for (let i = 0; i < out.length; i++) out[i] += beta * c[i];
}

function convParams(node, X, W) {
  const at = node.attrs, [kh, kw] = W.dims.slice(2);
  if ((at.group ?? 1) !== 1 || (at.dilations || []).some((d) => d !== 1)) throw new Unsupported("grouped or dilated Conv");
  if (at.auto_pad && at.auto_pad !== "NOTSET") throw new Unsupported("Conv auto_pad");
  const [sh, sw] = at.strides || [1, 1], [pt, pl, pb, pr] = at.pads || [0, 0, 0, 0];
  const [N, C, H, Wd] = X.dims;
  return { N, C, H, Wd, kh, kw, sh, sw, pt, pl, pb, pr };
}

function conv(node, [X, W, B]) {
  const p = convParams(node, X, W), Co = W.dims[0];
  const Ho = Math.floor((p.H + p.pt + p.pb - p.kh) / p.sh) + 1, Wo = Math.floor((p.Wd + p.pl + p.pr - p.kw) / p.sw) + 1;
  const K = p.C * p.kh * p.kw, P = Ho * Wo, cols = new Float32Array(P * K), out = new Float32Array(p.N * Co * P);
  const key = X.dims.join(","); // which input pixel each patch entry reads: worked out once per input shape
  if (!node.patches || node.patchKey !== key) Object.assign(node, { patches: patchIndex(p, Ho, Wo), patchKey: key });
  const idx = node.patches, plane = p.C * p.H * p.Wd;
  for (let n = 0; n < p.N; n++) {
    const x = X.data, base = n * plane;
    for (let k = 0; k < idx.length; k++) cols[k] = idx[k] < 0 ? 0 : x[base + idx[k]];
    const o = out.subarray(n * Co * P, (n + 1) * Co * P);
    gemmNT(W.data, cols, Co, P, K, o);
    if (B) for (let c = 0; c < Co; c++) for (let i = 0; i < P; i++) o[c * P + i] += B.data[c];
  }
  return [f32(out, [p.N, Co, Ho, Wo])];
}

function patchIndex(p, Ho, Wo) { // [position][channel, ky, kx] -> index in the input image, -1 in the padding
  const idx = new Int32Array(Ho * Wo * p.C * p.kh * p.kw);
  let k = 0;
  for (let oy = 0; oy < Ho; oy++) for (let ox = 0; ox < Wo; ox++) {
    for (let c = 0; c < p.C; c++) for (let i = 0; i < p.kh; i++) {
      const y = oy * p.sh + i - p.pt;
      for (let j = 0; j < p.kw; j++) {
        const xx = ox * p.sw + j - p.pl;
        idx[k++] = y >= 0 && y < p.H && xx >= 0 && xx < p.Wd ? (c * p.H + y) * p.Wd + xx : -1;
      }
    }
  }
  return idx;
}

// A transposed convolution as one matrix product (every input pixel times every kernel entry) and a scatter of
// the products into the output: the product runs in gemmNT's blocks, the scatter is a plain add.
function convTranspose(node, [X, W, B]) {
  const at = node.attrs;
  if ((at.group ?? 1) !== 1 || (at.dilations || []).some((d) => d !== 1) || at.output_shape) {
    throw new Unsupported("grouped, dilated or output_shape ConvTranspose");
  }
  const [N, C, H, Wd] = X.dims, Co = W.dims[1], [kh, kw] = W.dims.slice(2);
  const [sh, sw] = at.strides || [1, 1], [pt, pl, pb, pr] = at.pads || [0, 0, 0, 0], [oph, opw] = at.output_padding || [0, 0];
  const Ho = (H - 1) * sh - pt - pb + kh + oph, Wo = (Wd - 1) * sw - pl - pr + kw + opw;
  const K = Co * kh * kw, P = H * Wd, out = new Float32Array(N * Co * Ho * Wo);
  const A = (node.kernels ??= transpose2d(f32(W.data, [C, K])).data); // (Co, ky, kx) x C
  const cols = new Float32Array(K * P);
  for (let n = 0; n < N; n++) {
    const xt = transpose2d(f32(X.data.subarray(n * C * P, (n + 1) * C * P), [C, P])).data; // pixel x C
    gemmNT(A, xt, K, P, C, cols);
    const o = n * Co * Ho * Wo;
    for (let co = 0; co < Co; co++) {
      if (B) out.fill(B.data[co], o + co * Ho * Wo, o + (co + 1) * Ho * Wo);
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
        const row = ((co * kh + i) * kw + j) * P;
        for (let y = 0; y < H; y++) {
          const oy = y * sh - pt + i;
          if (oy < 0 || oy >= Ho) continue;
          const dst = o + (co * Ho + oy) * Wo;
          for (let x = 0; x < Wd; x++) {
            const ox = x * sw - pl + j;
            if (ox >= 0 && ox < Wo) out[dst + ox] += cols[row + y * Wd + x];
          }
        }
      }
    }
  }
  return [f32(out, [N, Co, Ho, Wo])];
}

function maxPool(node, [X]) {
  const at = node.attrs, [kh, kw] = at.kernel_shape, [sh, sw] = at.strides || [1, 1], [pt, pl, pb, pr] = at.pads || [0, 0, 0, 0];
  if (at.ceil_mode || (at.dilations || []).some((d) => d !== 1)) throw new Unsupported("MaxPool ceil_mode or dilations");
  const [N, C, H, W] = X.dims, Ho = Math.floor((H + pt + pb - kh) / sh) + 1, Wo = Math.floor((W + pl + pr - kw) / sw) + 1;
  const out = new Float32Array(N * C * Ho * Wo), x = X.data;
  if (kh === 2 && kw === 2 && sh === 2 && sw === 2 && !pt && !pl && H % 2 === 0 && W % 2 === 0) return [f32(pool2(x, N * C, H, W, out), [N, C, Ho, Wo])];
  for (let nc = 0; nc < N * C; nc++) for (let oy = 0; oy < Ho; oy++) for (let ox = 0; ox < Wo; ox++) {
    let m = -Infinity;
    for (let i = 0; i < kh; i++) {
      const y = oy * sh - pt + i;
      if (y < 0 || y >= H) continue;
      for (let j = 0; j < kw; j++) {
        const xx = ox * sw - pl + j;
        if (xx >= 0 && xx < W) m = Math.max(m, x[(nc * H + y) * W + xx]);
      }
    }
    out[(nc * Ho + oy) * Wo + ox] = m;
  }
  return [f32(out, [N, C, Ho, Wo])];
}

function pool2(x, planes, H, W, out) { // the common 2x2 window, stride 2: no bounds to check
  const Ho = H / 2, Wo = W / 2;
  for (let c = 0, o = 0; c < planes; c++) for (let oy = 0; oy < Ho; oy++) {
    const r = (c * H + 2 * oy) * W;
    for (let ox = 0; ox < Wo; ox++, o++) {
      const i = r + 2 * ox, a = x[i], b = x[i + 1], d = x[i + W], e = x[i + W + 1];
      out[o] = Math.max(Math.max(a, b), Math.max(d, e));
    }
  }
  return out;
}

const erf = (x) => { // Abramowitz & Stegun 7.1.26, |error| < 1.5e-7
  const s = x < 0 ? -1 : 1, a = Math.abs(x), t = 1 / (1 + 0.3275911 * a);
  return s * (1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a));
};
const roundEven = (v) => { const r = Math.round(v); return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r; };

function unary(fn) {
  return (node, [X]) => {
    const out = new Float32Array(X.data.length), a = node.attrs;
    for (let i = 0; i < out.length; i++) out[i] = fn(X.data[i], a);
    return [f32(out, X.dims)];
  };
}

function gelu(v, a) {
  if (a.approximate === "tanh") return 0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
  return 0.5 * v * (1 + erf(v / Math.SQRT2));
}

function broadcastDims(a, b) {
  const n = Math.max(a.length, b.length), out = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`shapes ${a} and ${b} do not broadcast`);
    out.push(Math.max(x, y));
  }
  return out;
}

function strides(dims, like) { // element strides of ``dims`` read as broadcast to ``like`` (0 where broadcast)
  const s = new Array(like.length).fill(0);
  let step = 1;
  for (let i = dims.length - 1, j = like.length - 1; i >= 0; i--, j--) { s[j] = dims[i] === 1 ? 0 : step; step *= dims[i]; }
  return s;
}

function binary(fn) {
  return (node, [A, B]) => {
    const dims = broadcastDims(A.dims, B.dims), n = size(dims), out = new Float32Array(n), a = A.data, b = B.data;
    if (a.length === n && b.length === n) for (let i = 0; i < n; i++) out[i] = fn(a[i], b[i]);
    else if (a.length === n && b.length === 1) for (let i = 0; i < n; i++) out[i] = fn(a[i], b[0]);
    else {
      const sa = strides(A.dims, dims), sb = strides(B.dims, dims), idx = new Array(dims.length).fill(0);
      for (let i = 0; i < n; i++) {
        let ia = 0, ib = 0;
        for (let d = 0; d < dims.length; d++) { ia += idx[d] * sa[d]; ib += idx[d] * sb[d]; }
        out[i] = fn(a[ia], b[ib]);
        for (let d = dims.length - 1; d >= 0 && ++idx[d] === dims[d]; d--) idx[d] = 0;
      }
    }
    return [f32(out, dims)];
  };
}

function reshape(node, [X, S]) {
  const shape = S.data.map((d, i) => (d === 0 && !node.attrs.allowzero ? X.dims[i] : d));
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  return [{ ...X, dims: shape.map((d) => (d === -1 ? size(X.dims) / known : d)) }];
}

function flatten(node, [X]) {
  const axis = (node.attrs.axis ?? 1) + (node.attrs.axis < 0 ? X.dims.length : 0);
  return [{ ...X, dims: [size(X.dims.slice(0, axis)), size(X.dims.slice(axis))] }];
}

function transpose(node, [X]) {
  const perm = node.attrs.perm || X.dims.map((_, i) => X.dims.length - 1 - i), dims = perm.map((p) => X.dims[p]);
  const src = strides(X.dims, X.dims), n = size(dims), out = new Float32Array(n), idx = new Array(dims.length).fill(0);
  for (let i = 0; i < n; i++) {
    let j = 0;
    for (let d = 0; d < dims.length; d++) j += idx[d] * src[perm[d]];
    out[i] = X.data[j];
    for (let d = dims.length - 1; d >= 0 && ++idx[d] === dims[d]; d--) idx[d] = 0;
  }
  return [f32(out, dims)];
}

function split(node, [X, S]) {
  const rank = X.dims.length, axis = ((node.attrs.axis ?? 0) + rank) % rank, count = node.outputs.length;
  const parts = S ? S.data : node.attrs.split || new Array(count).fill(X.dims[axis] / count);
  const outer = size(X.dims.slice(0, axis)), inner = size(X.dims.slice(axis + 1)), total = X.dims[axis];
  let offset = 0;
  return parts.map((p) => {
    const out = new Float32Array(outer * p * inner);
    for (let o = 0; o < outer; o++) out.set(X.data.subarray((o * total + offset) * inner, (o * total + offset + p) * inner), o * p * inner);
    offset += p;
    const dims = X.dims.slice();
    dims[axis] = p;
    return f32(out, dims);
  });
}

function clip(node, [X, lo, hi]) {
  const a = lo ? lo.data[0] : node.attrs.min ?? -Infinity, b = hi ? hi.data[0] : node.attrs.max ?? Infinity;
  return unary((v) => Math.min(Math.max(v, a), b))(node, [X]);
}

function dequantize(node, [X, S, Z]) { // y = (x - zero point) * scale, per tensor or along one axis
  const rank = X.dims.length, axis = ((node.attrs.axis ?? 1) + rank) % rank, n = size(X.dims), out = new Float32Array(n);
  const inner = size(X.dims.slice(axis + 1)), len = S.data.length;
  for (let i = 0; i < n; i++) {
    const c = len === 1 ? 0 : Math.floor(i / inner) % len;
    out[i] = (X.data[i] - (Z ? Z.data[c] : 0)) * S.data[c];
  }
  return [f32(out, X.dims)];
}

function cast(node, [X]) {
  if (node.attrs.to === FLOAT) return [f32(Float32Array.from(X.data), X.dims)];
  if (node.attrs.to === INT64 || node.attrs.to === INT32) return [{ data: Array.from(X.data, Math.trunc), dims: X.dims, int: true }];
  throw new Unsupported(`Cast to type ${node.attrs.to}`);
}

const OPS = {
  Gemm: gemm, MatMul: matmul, Conv: conv, ConvTranspose: convTranspose, MaxPool: maxPool,
  Relu: unary((v) => (v > 0 ? v : 0)), Sigmoid: unary((v) => 1 / (1 + Math.exp(-v))), Tanh: unary(Math.tanh),
  Gelu: unary(gelu), Erf: unary(erf), Round: unary(roundEven), Neg: unary((v) => -v), Exp: unary(Math.exp),
  LeakyRelu: unary((v, a) => (v >= 0 ? v : (a.alpha ?? 0.01) * v)),
  Add: binary((a, b) => a + b), Sub: binary((a, b) => a - b), Mul: binary((a, b) => a * b), Div: binary((a, b) => a / b),
  Reshape: reshape, Flatten: flatten, Transpose: transpose, Split: split, Clip: clip, Cast: cast,
  DequantizeLinear: dequantize, Identity: (node, [X]) => [X], Constant: (node) => [node.attrs.value],
};

// ---- a loaded graph ----

export class Graph {
  constructor(bytes) {
    // A plain Uint8Array view: a Node Buffer's slice() is not a copy, which decodeTensor relies on.
    const g = modelProto(ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes));
    const bad = [...new Set(g.nodes.filter((n) => !OPS[n.op] || (n.domain && n.domain !== "ai.onnx")).map((n) => n.op))];
    if (bad.length) throw new Unsupported(`ops ${bad.join(", ")}`);
    this.inputNames = g.inputs;
    this.outputNames = g.outputs;
    this.values = g.constants;
    this.nodes = [];
    for (const node of g.nodes) { // nodes whose inputs are all constant (dequantized weights, casts) run once, here
      if (node.inputs.every((i) => !i || this.values.has(i))) this.exec(node, this.values);
      else this.nodes.push(node);
    }
  }

  exec(node, values) {
    const outs = OPS[node.op](node, node.inputs.map((i) => (i ? values.get(i) : undefined)));
    node.outputs.forEach((name, i) => values.set(name, outs[i]));
  }

  // feeds: {name: {data: Float32Array, dims}}; returns {name: {data, dims}} for every graph output.
  run(feeds) {
    const values = new Map(this.values);
    for (const [name, t] of Object.entries(feeds)) values.set(name, t);
    for (const node of this.nodes) this.exec(node, values);
    return Object.fromEntries(this.outputNames.map((name) => [name, values.get(name)]));
  }
}
