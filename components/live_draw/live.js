// aelab's live Draw: a drawing pad whose digit goes through every model and the reference classifier in the browser
// (onnxruntime-web, WebAssembly), at most once per animation frame while the pen moves. The same file runs inside
// the Streamlit app (a components-v1 iframe: args arrive by postMessage) and in the offline edition (manifest.json).
//
// Test contract (issue 19): each model's reconstruction is an element with data-model="<name>" and
// data-mse="<value>"; the input's reading is the element with data-reads="<digit>".
import { canvasToMnist, inkExtent, inkFromRgba, SIZE, SMALL_INK } from "./preprocess.js";

const PIXELS = SIZE * SIZE;
const STROKE = 16; // ae.data.preprocess.CANVAS_STROKE on its 256-pixel canvas: MNIST's pen
const CACHE = "aelab-live-v1"; // hash- and version-named files only: their content never changes
const embedded = new URLSearchParams(location.search).has("streamlitUrl");
const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d", { willReadFrequently: true });
const live = (window.__liveDraw = {
  frames: [], infer: [], classify: [], ready: false, firstResultAt: null, fallback: null, input: null, hashes: {}, error: null,
});
const state = { lastReads: new Map(), strokes: [], current: null, background: null, digits: [], nextDigit: 0, models: [], classifier: null, selected: null, key: "", sent: 0,
  framePending: false, busy: false, dirty: false, ort: null, manifest: null };
const sessions = new Map();

function post(type, extra) {
  if (embedded) window.parent.postMessage({ isStreamlitMessage: true, type, ...extra }, "*");
}

function fallback(reason) {
  live.fallback = reason;
  $("status").textContent = `Live mode is not available in this browser (${reason}).`;
  post("streamlit:setComponentValue", { value: { fallback: reason }, dataType: "json" });
}

// Bytes of a file that never changes under its name, from the browser's Cache Storage after the first visit.
async function cachedBytes(url) {
  const absolute = new URL(url, location.href).href;
  let cache = null;
  try {
    cache = self.caches ? await caches.open(CACHE) : null;
  } catch (e) {
    cache = null; // an opaque or insecure origin: no Cache Storage, plain fetches
  }
  let response = cache ? await cache.match(absolute) : undefined;
  if (!response) {
    response = await fetch(absolute);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    if (cache) await cache.put(absolute, response.clone()).catch(() => {});
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function runtime(manifest) {
  if (state.ort) return state.ort;
  const dir = manifest.runtime.dir;
  const ort = await import(`./${dir}/ort.wasm.bundle.min.mjs`);
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which an iframe in Streamlit does not have
  ort.env.wasm.wasmBinary = await cachedBytes(`${dir}/${manifest.runtime.wasm}`);
  state.ort = ort;
  return ort;
}

function session(ort, base, file) {
  if (!sessions.has(file)) {
    const made = cachedBytes(base + file).then((bytes) =>
      ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" }));
    sessions.set(file, made);
  }
  return sessions.get(file);
}

async function load(manifest) {
  const key = JSON.stringify([manifest.models.map((m) => [m.name, m.sha]), manifest.classifier && manifest.classifier.sha]);
  if (key === state.key) return;
  state.key = key;
  live.ready = false;
  const t0 = performance.now();
  const ort = await runtime(manifest);
  const base = manifest.base || "models/";
  const models = await Promise.all(manifest.models.map(async (m) => ({
    ...m, enc: await session(ort, base, m.files.encoder), dec: await session(ort, base, m.files.decoder),
  })));
  const classifier = manifest.classifier ? await session(ort, base, manifest.classifier.files.classifier) : null;
  if (key !== state.key) return; // a newer manifest arrived meanwhile
  state.models = models;
  state.classifier = classifier;
  live.hashes = Object.fromEntries(models.map((m) => [m.name, m.sha]));
  if (!models.some((m) => m.name === state.selected)) state.selected = models.length ? models[0].name : null;
  buildStrip();
  live.ready = true;
  live.loadMs = performance.now() - t0;
  const off = Object.entries(manifest.unavailable || {});
  $("status").textContent = `${models.length} models running in your browser.` +
    (off.length ? ` Not here: ${off.map(([n, why]) => `${n} (${why})`).join("; ")}.` : "");
  schedule();
}

function point(e) {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * (pad.width / r.width), (e.clientY - r.top) * (pad.height / r.height)];
}

function paint() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
  if (state.background) ctx.drawImage(state.background, 0, 0, pad.width, pad.height);
  ctx.strokeStyle = ctx.fillStyle = "#fff";
  ctx.lineWidth = STROKE;
  ctx.lineCap = ctx.lineJoin = "round";
  for (const s of state.strokes) {
    if (s.length === 1) {
      ctx.beginPath();
      ctx.arc(s[0][0], s[0][1], STROKE / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.beginPath(); // quadratic curves through the midpoints: a smooth pen line, like the old canvas' freedraw
    ctx.moveTo(s[0][0], s[0][1]);
    for (let i = 1; i < s.length - 1; i++) {
      ctx.quadraticCurveTo(s[i][0], s[i][1], (s[i][0] + s[i + 1][0]) / 2, (s[i][1] + s[i + 1][1]) / 2);
    }
    ctx.lineTo(s[s.length - 1][0], s[s.length - 1][1]);
    ctx.stroke();
  }
}

pad.addEventListener("pointerdown", (e) => {
  if (e.button > 0) return;
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  state.current = [point(e)];
  state.strokes.push(state.current);
  paint();
  schedule();
});
pad.addEventListener("pointermove", (e) => {
  if (!state.current) return;
  e.preventDefault();
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
  for (const ev of events.length ? events : [e]) state.current.push(point(ev));
  paint();
  schedule();
});
for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
  pad.addEventListener(type, () => {
    if (!state.current) return;
    state.current = null;
    schedule(); // the pen lifted: one more frame reads every reconstruction, not just the input and the shown one
  });
}
pad.addEventListener("touchstart", (e) => e.preventDefault(), { passive: false }); // no scroll, no zoom on the pad
$("undo").addEventListener("click", () => { state.strokes.pop(); paint(); schedule(); });
$("clear").addEventListener("click", () => { state.strokes = []; state.background = null; paint(); schedule(); });
$("digit").addEventListener("click", () => {
  const d = state.digits[state.nextDigit++ % state.digits.length];
  const small = document.createElement("canvas");
  small.width = small.height = SIZE;
  const img = small.getContext("2d").createImageData(SIZE, SIZE);
  d.pixels.forEach((v, i) => img.data.set([v, v, v, 255], 4 * i));
  small.getContext("2d").putImageData(img, 0, 0);
  state.background = small;
  state.strokes = [];
  $("status").textContent = `Test digit #${d.index}, label ${d.label}: draw over it, or Clear.`;
  paint();
  schedule();
});
$("send").addEventListener("click", () => {
  if (!live.input) return;
  state.sent += 1;
  const digit = Array.from(live.input, (v) => Math.round(v * 1e6) / 1e6);
  post("streamlit:setComponentValue", { value: { digit, strokes: state.strokes.length, seq: state.sent }, dataType: "json" });
});

// At most one computation per animation frame; one still running when the next frame comes is followed by another.
function schedule() {
  if (state.framePending) return;
  state.framePending = true;
  requestAnimationFrame(() => {
    state.framePending = false;
    if (state.busy) { state.dirty = true; return; }
    state.busy = true;
    compute().catch((err) => { live.error = String(err); $("status").textContent = `Error: ${err}`; })
      .finally(() => {
        state.busy = false;
        if (state.dirty) { state.dirty = false; schedule(); }
      });
  });
}

async function compute() {
  if (!live.ready) return;
  const t0 = performance.now();
  performance.mark("aelab-frame-start");
  const image = ctx.getImageData(0, 0, pad.width, pad.height);
  const x = canvasToMnist(image);
  live.input = x;
  if (!x) { showBlank(); return; }
  const small = inkExtent(inkFromRgba(image.data, image.width, image.height), image.width, image.height) < SMALL_INK;
  $("small").classList.toggle("hidden", !small);
  const t1 = performance.now();
  const { recs, reads } = await infer(x);
  const t2 = performance.now();
  render(x, recs, reads);
  const t3 = performance.now();
  performance.measure("aelab-frame", { start: t0, end: t3 });
  live.frames.push(t3 - t0);
  live.infer.push(t2 - t1);
  if (live.firstResultAt === null) live.firstResultAt = t3;
}

async function infer(x) {
  const ort = state.ort;
  const input = new ort.Tensor("float32", x, [1, 1, SIZE, SIZE]);
  const recs = [];
  for (const m of state.models) {
    if (m.broken) continue;
    let y;
    try {
      const z = (await m.enc.run({ [m.enc.inputNames[0]]: input }))[m.enc.outputNames[0]];
      y = (await m.dec.run({ [m.dec.inputNames[0]]: z }))[m.dec.outputNames[0]].data;
    } catch (err) { // one model that cannot run here must not stop the others
      m.broken = String(err.message || err).slice(0, 160);
      const tile = document.querySelector(`#strip [data-model="${CSS.escape(m.name)}"]`);
      if (tile) { tile.querySelector("span").textContent = `cannot run in the browser: ${m.broken}`; tile.removeAttribute("data-model"); }
      continue;
    }
    let sum = 0;
    const err = new Float32Array(PIXELS);
    for (let i = 0; i < PIXELS; i++) { err[i] = Math.abs(x[i] - y[i]); sum += err[i] * err[i]; }
    const mse = sum / PIXELS;
    recs.push({ model: m, image: y, err, mse, psnr: mse <= 0 ? Infinity : 10 * Math.log10(1 / mse) });
  }
  if (!state.classifier) return { recs, reads: null };
  // The classifier costs more than all the autoencoders together. While the pen moves it reads the input and the
  // reconstruction shown large; when the pen lifts, every reconstruction too. One batched run either way.
  const read = state.current ? recs.filter((r) => r.model.name === state.selected) : recs;
  const batch = new Float32Array(PIXELS * (1 + read.length));
  batch.set(x, 0);
  read.forEach((r, i) => batch.set(r.image, PIXELS * (i + 1)));
  const c = state.classifier;
  const t0 = performance.now();
  const out = await c.run({ [c.inputNames[0]]: new ort.Tensor("float32", batch, [1 + read.length, 1, SIZE, SIZE]) });
  live.classify.push(performance.now() - t0);
  const logits = out[c.outputNames[0]].data;
  const reads = [];
  for (let i = 0; i <= read.length; i++) reads.push(softmaxTop(logits.subarray(10 * i, 10 * i + 10)));
  read.forEach((r, i) => { r.reads = reads[i + 1]; });
  for (const r of recs) if (!r.reads) r.reads = state.lastReads.get(r.model.name) || null;
  for (const r of read) state.lastReads.set(r.model.name, r.reads);
  return { recs, reads: reads[0] };
}

function softmaxTop(l) {
  let best = 0;
  for (let i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
  let total = 0;
  for (let i = 0; i < l.length; i++) total += Math.exp(l[i] - l[best]);
  return [best, 1 / total];
}

const scratch = new ImageData(SIZE, SIZE); // one buffer for every small picture: no allocation per frame

function gray(canvas, values, offset = 0) {
  const d = scratch.data;
  for (let i = 0, p = 0; i < PIXELS; i++, p += 4) {
    d[p] = d[p + 1] = d[p + 2] = values[i] * 255; // a clamped array: it rounds and clips
    d[p + 3] = 255;
  }
  canvas.getContext("2d").putImageData(scratch, 0, offset);
}

function heat(canvas, err, offset = 0) { // as ui.images.heat: black, red, yellow, white
  const d = scratch.data;
  for (let i = 0, p = 0; i < PIXELS; i++, p += 4) {
    const t = 3 * err[i];
    d[p] = t * 255;
    d[p + 1] = (t - 1) * 255;
    d[p + 2] = (t - 2) * 255;
    d[p + 3] = 255;
  }
  canvas.getContext("2d").putImageData(scratch, 0, offset);
}

function buildStrip() {
  const strip = $("strip");
  strip.replaceChildren();
  for (const m of state.models) {
    const tile = document.createElement("div");
    tile.className = "tile";
    tile.dataset.model = m.name;
    tile.dataset.hash = m.sha;
    tile.title = `${m.name}: weights ${m.sha} (${m.origin}); click to see it large`;
    const canvas = document.createElement("canvas");
    canvas.width = SIZE;
    canvas.height = 2 * SIZE;
    const cap = document.createElement("div");
    cap.className = "cap";
    cap.innerHTML = `<b></b><br><span></span>`;
    cap.querySelector("b").textContent = m.name;
    tile.append(canvas, cap);
    tile.addEventListener("click", () => { state.selected = m.name; schedule(); });
    strip.append(tile);
  }
}

function showBlank() {
  $("result").classList.add("hidden");
  $("strip-title").classList.add("hidden");
  $("strip").classList.add("hidden");
  $("hint").classList.remove("hidden");
  $("small").classList.add("hidden");
  $("send").classList.add("hidden");
  $("reads").dataset.reads = "";
  for (const tile of document.querySelectorAll("[data-model]")) delete tile.dataset.mse;
}

function render(x, recs, reads) {
  $("hint").classList.add("hidden");
  for (const id of ["result", "strip-title", "strip"]) $(id).classList.remove("hidden");
  $("send").classList.toggle("hidden", !embedded);
  gray($("input"), x);
  const tiles = new Map([...document.querySelectorAll("#strip [data-model]")].map((t) => [t.dataset.model, t]));
  for (const r of recs) {
    const tile = tiles.get(r.model.name);
    gray(tile.querySelector("canvas"), r.image);
    heat(tile.querySelector("canvas"), r.err, SIZE);
    const readText = r.reads ? ` · reads ${r.reads[0]}` : ""; // while the pen moves: its reading at the last lift
    tile.querySelector("span").textContent = `MSE ${r.mse.toFixed(4)} · ${r.psnr.toFixed(1)} dB${readText}`;
    tile.dataset.mse = r.mse.toPrecision(6);
    tile.classList.toggle("selected", r.model.name === state.selected);
  }
  const sel = recs.find((r) => r.model.name === state.selected) || recs[0];
  if (!sel) return;
  gray($("recon"), sel.image);
  heat($("error"), sel.err);
  $("recon-cap").textContent = `Reconstruction by ${sel.model.name}`;
  $("mse-label").textContent = `MSE (${sel.model.name})`;
  $("mse").textContent = sel.mse.toFixed(5);
  $("psnr").textContent = `${sel.psnr.toFixed(1)} dB`;
  const el = $("reads");
  if (reads) {
    const out = sel.reads ? sel.reads[0] : "?";
    el.textContent = `${reads[0]} → ${out}`;
    el.title = `Input read as ${reads[0]} (${Math.round(100 * reads[1])}% sure), reconstruction as ${out}`;
    el.dataset.reads = String(reads[0]);
  }
}

function watchHeight() {
  let last = 0;
  const send = () => {
    const h = Math.ceil(document.body.getBoundingClientRect().height) + 4;
    if (h !== last) { last = h; post("streamlit:setFrameHeight", { height: h }); }
  };
  new ResizeObserver(send).observe(document.body);
  send();
}

function start(manifest) {
  state.manifest = manifest;
  if (manifest.digits && !state.digits.length) { // the offline edition ships a few test digits
    fetch(manifest.digits).then((r) => r.json()).then((d) => { state.digits = d; $("digit").classList.remove("hidden"); })
      .catch(() => {});
  }
  load(manifest).catch((err) => { console.error(err); fallback(`the models did not load: ${err.message || err}`); });
}

// For tests and benchmarks: put recorded strokes on the pad (as if drawn), and read them back.
live.setStrokes = (strokes) => { state.strokes = strokes.map((s) => s.map(([x, y]) => [x, y])); paint(); schedule(); };
live.strokes = () => state.strokes;

paint();
const noWasm = typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function";
if (embedded) {
  document.body.classList.add("embedded");
  window.addEventListener("message", (ev) => {
    const d = ev.data;
    if (!d || d.type !== "streamlit:render") return;
    if (noWasm) fallback("no WebAssembly"); // answered once Streamlit listens: a value sent earlier is lost
    else if (d.args && d.args.manifest) start(d.args.manifest);
  });
  post("streamlit:componentReady", { apiVersion: 1 });
  watchHeight();
} else if (noWasm) {
  fallback("no WebAssembly");
} else {
  fetch("manifest.json").then((r) => r.json()).then(start)
    .catch((err) => fallback(`no manifest.json: ${err.message || err}`));
}
