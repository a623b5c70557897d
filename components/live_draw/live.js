// aelab's live Draw: a drawing pad whose digit goes through every model and the reference classifier in the browser
// (onnxruntime-web, WebAssembly), at most once per animation frame while the pen moves. The same file runs inside
// the Streamlit app (a components-v1 iframe: args arrive by postMessage) and in the offline edition (manifest.json).
//
// Test contract (issue 19): each model's reconstruction is an element with data-model="<name>" and
// data-mse="<value>"; the input's reading is the element with data-reads="<digit>".
import { canvasToMnist, inkExtent, inkFromRgba, SIZE, SMALL_INK } from "./preprocess.js";
import { Graph, Unsupported } from "./tinyonnx.mjs";

const PIXELS = SIZE * SIZE;
const STROKE = 16; // ae.data.preprocess.CANVAS_STROKE on its 256-pixel canvas: MNIST's pen
const CACHE = "aelab-live-v2"; // hash- and version-named files only: their content never changes
const embedded = new URLSearchParams(location.search).has("streamlitUrl");
const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d", { willReadFrequently: true });
const live = (window.__liveDraw = {
  frames: [], infer: [], classify: [], engines: { tiny: 0, ort: 0 }, ready: false, firstResultAt: null, fallback: null, input: null, hashes: {}, error: null,
});
const state = { classes: null, lastReads: new Map(), strokes: [], current: null, background: null, digits: [], nextDigit: 0, models: [], classifier: null, selected: null, key: "", sent: 0, showAll: false, version: 0, turn: 0, latest: new Map(), behind: false, inputRead: null,
  framePending: false, busy: false, dirty: false, ort: null, manifest: null };
const sessions = new Map();

// Every word the pad shows: English here (the offline edition's), replaced by the app's catalogue for the student's
// language (ui/locales/*.json, keys "live.*", handed over as the component's args.text).
const TEXT = {
  pad: "Drawing pad: draw one digit", undo: "↶ Undo", undo_title: "Take back the last stroke", clear: "✕ Clear",
  clear_title: "Wipe the pad", digit: "Test digit", digit_title: "Put an MNIST test digit on the pad",
  send: "Use in the lab", send_title: "Hand this 28×28 digit to the other pages of the lab",
  small: "That is very small. Like MNIST, every drawing is scaled up to fill the frame, so a dot or a tiny digit becomes a fat blob. Draw the digit larger.",
  loading: "Loading the models into your browser ...",
  hint: "Draw a digit on the black square: every model rebuilds it while the pen moves, here in your browser.",
  sees: "What the model sees (28×28)", recon: "Reconstruction", error: "|error| (black 0, white 1)",
  reads: "Classifier reads", strip: "Every model, same input",
  more_title: "Fetch and run the other models too", more_n: "Show every model ({n} more)",
  more_list: "Not on the strip yet: {names}.", unavailable: "Live mode is not available in this browser ({reason}).",
  running: "{n} models running in your browser.", preparing: "Being prepared on the server: {names}.",
  not_here: "Not here: {list}.", test_digit: "Test digit #{index}, label {label}: draw over it, or Clear.",
  failed: "Error: {error}", broken: "cannot run in the browser: {why}",
  tile_title: "{name}: weights {sha} ({origin}); click to see it large",
  tile_label: "{name}: its reconstruction above its error map", pending: "being prepared on the server ...",
  loading_model: "loading ...", tile_reads: " · reads {digit}",
  tile_alt: "{name}'s reconstruction above its error map: MSE {mse}{reads}", recon_by: "Reconstruction by {name}",
  reads_title: "Input read as {input} ({sure}% sure), reconstruction as {output}",
};
const tr = (key, values = {}) => (TEXT[key] ?? key).replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));

// The page's fixed words in the language handed over: elements name their key in data-text, data-title, data-label.
function applyText(text, lang) {
  if (text) Object.assign(TEXT, text);
  if (lang) document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-text]")) el.textContent = tr(el.dataset.text);
  for (const el of document.querySelectorAll("[data-title]")) el.title = tr(el.dataset.title);
  for (const el of document.querySelectorAll("[data-label]")) el.setAttribute("aria-label", tr(el.dataset.label));
  if (!state.manifest) $("status").textContent = tr("loading"); // later, the status says what the models do
}

function post(type, extra) {
  if (embedded) window.parent.postMessage({ isStreamlitMessage: true, type, ...extra }, "*");
}

function fallback(reason) {
  live.fallback = reason;
  $("status").textContent = tr("unavailable", { reason });
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

// onnxruntime-web, fetched only for a graph the small interpreter cannot run (14 MB of WebAssembly, 3.7 MB compressed).
async function runtime(manifest) {
  if (state.ort) return state.ort;
  if (!manifest.runtime) throw new Unsupported("onnxruntime-web is not installed on the server");
  const dir = manifest.runtime.dir;
  const ort = await import(`./${dir}/ort.wasm.bundle.min.mjs`);
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which an iframe in Streamlit does not have
  ort.env.wasm.wasmBinary = await cachedBytes(`${dir}/${manifest.runtime.wasm}`);
  state.ort = ort;
  return ort;
}

// One graph, run by the small interpreter, or by onnxruntime-web when the interpreter refuses it. Either way
// run(data, dims) resolves to {data, dims} of the graph's first output.
async function graph(bytes) {
  try {
    const g = new Graph(bytes);
    live.engines.tiny += 1;
    return { run: async (data, dims) => g.run({ [g.inputNames[0]]: { data, dims } })[g.outputNames[0]] };
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    const ort = await runtime(state.manifest);
    const s = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    live.engines.ort += 1;
    return {
      run: async (data, dims) => {
        const out = (await s.run({ [s.inputNames[0]]: new ort.Tensor("float32", data, dims) }))[s.outputNames[0]];
        return { data: out.data, dims: out.dims };
      },
    };
  }
}

function session(base, file) {
  if (!sessions.has(file)) sessions.set(file, cachedBytes(base + file).then(graph));
  return sessions.get(file);
}

async function loadModel(m, base) {
  if (m.loading) return m.loading;
  m.loading = (async () => {
    for (let wait = 2000; m.precision === "pending"; wait = Math.min(2 * wait, 15000)) {
      try { // being exported on the server: its files appear under the names the manifest gave
        const [enc, dec] = await Promise.all([session(base, m.files.encoder), session(base, m.files.decoder)]);
        Object.assign(m, { enc, dec, precision: "ready" });
      } catch (err) {
        sessions.delete(m.files.encoder);
        sessions.delete(m.files.decoder);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    if (!m.enc) Object.assign(m, { enc: await session(base, m.files.encoder), dec: await session(base, m.files.decoder) });
    m.ready = true;
    schedule();
  })().catch((err) => { m.broken = String(err.message || err).slice(0, 160); markBroken(m); });
  return m.loading;
}

async function load(manifest) {
  state.classes = manifest.classes || null; // the reader's answers in words, in the student's language
  const key = JSON.stringify([manifest.models.map((m) => [m.name, m.sha]), manifest.classifier && manifest.classifier.sha]);
  if (key === state.key) return;
  const firstLoad = !state.key;
  state.key = key;
  state.inputRead = null; // another reader (another dataset) reads the input again
  state.lastReads.clear();
  live.ready = false;
  const t0 = performance.now();
  const base = manifest.base || "models/";
  const models = manifest.models.map((m) => ({ ...m }));
  state.showAll = state.showAll || models.every((m) => m.shown);
  if (manifest.picked && firstLoad) state.selected = manifest.picked;
  if (!models.some((m) => m.name === state.selected)) state.selected = (models.find((m) => m.shown) || models[0] || {}).name;
  state.models = models;
  buildStrip();
  // The picked model, the strip's and the classifier first: the pad is ready when they are; the rest on demand.
  const first = models.filter((m) => m.shown || state.showAll || m.name === state.selected);
  const classifier = manifest.classifier ? session(base, manifest.classifier.files.classifier) : null;
  await Promise.all([...first.map((m) => loadModel(m, base)), classifier]);
  if (key !== state.key) return; // a newer manifest arrived meanwhile
  state.classifier = classifier ? await classifier : null;
  live.hashes = Object.fromEntries(models.map((m) => [m.name, m.sha]));
  live.ready = true;
  live.loadMs = performance.now() - t0;
  status();
  schedule();
}

function showEveryModel() {
  state.showAll = true;
  const base = state.manifest.base || "models/";
  buildStrip();
  for (const m of state.models) loadModel(m, base).then(status);
}

function status() {
  const running = state.models.filter((m) => m.ready).length, off = Object.entries(state.manifest.unavailable || {});
  const waiting = state.models.filter((m) => m.precision === "pending" && !m.broken).map((m) => m.name);
  $("status").textContent = tr("running", { n: running }) +
    (waiting.length ? " " + tr("preparing", { names: waiting.join(", ") }) : "") +
    (off.length ? " " + tr("not_here", { list: off.map(([n, why]) => `${n} (${why})`).join("; ") }) : "");
}

function point(e) {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * (pad.width / r.width), (e.clientY - r.top) * (pad.height / r.height)];
}

function paint() {
  state.version += 1; // a new input: every reconstruction and reading is due again
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
$("more").addEventListener("click", showEveryModel);
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
  $("status").textContent = tr("test_digit", { index: d.index, label: d.label });
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
    compute().catch((err) => { live.error = String(err); $("status").textContent = tr("failed", { error: err }); })
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
  if (state.behind) state.dirty = true; // another frame, for the tiles still behind
  const t2 = performance.now();
  render(x, recs, reads);
  const t3 = performance.now();
  performance.measure("aelab-frame", { start: t0, end: t3 });
  live.frames.push(t3 - t0);
  live.infer.push(t2 - t1);
  if (live.firstResultAt === null) live.firstResultAt = t3;
}

function markBroken(m) {
  const tile = document.querySelector(`#strip [data-model="${CSS.escape(m.name)}"]`);
  if (tile) { tile.querySelector("span").textContent = tr("broken", { why: m.broken }); tile.removeAttribute("data-model"); }
}

const visible = (m) => m.ready && !m.broken && (state.showAll || m.shown || m.name === state.selected);

// A frame spends about BUDGET_MS on the models: the one shown large and the input's reading come first, every frame;
// then, while time is left, that reconstruction's reading, the strip's models in turn and (once the pen is up) their
// readings. However many models are shown, the pen never waits for them: each gets the newest input within a few
// frames, and frames go on after the pen stops until every tile has caught up.
const BUDGET_MS = 8;

async function reconstruct(m, x) {
  try {
    const z = await m.enc.run(x, [1, 1, SIZE, SIZE]);
    const y = (await m.dec.run(z.data, z.dims)).data;
    let sum = 0;
    const err = new Float32Array(PIXELS);
    for (let i = 0; i < PIXELS; i++) { err[i] = Math.abs(x[i] - y[i]); sum += err[i] * err[i]; }
    const mse = sum / PIXELS;
    const r = { model: m, image: y, err, mse, psnr: mse <= 0 ? Infinity : 10 * Math.log10(1 / mse), version: state.version };
    r.reads = state.lastReads.get(m.name) || null; // its last reading, until it is read again
    state.latest.set(m.name, r);
    return r;
  } catch (err) { // one model that cannot run here must not stop the others
    m.broken = String(err.message || err).slice(0, 160);
    markBroken(m);
    return null;
  }
}

async function classify(images) {
  const batch = new Float32Array(PIXELS * images.length);
  images.forEach((img, i) => batch.set(img, PIXELS * i));
  const t0 = performance.now();
  const logits = (await state.classifier.run(batch, [images.length, 1, SIZE, SIZE])).data;
  live.classify.push(performance.now() - t0);
  return images.map((_, i) => softmaxTop(logits.subarray(10 * i, 10 * i + 10)));
}

async function readRec(r) {
  [r.reads] = await classify([r.image]);
  r.read = true;
  state.lastReads.set(r.model.name, r.reads);
}

async function infer(x) {
  const t0 = performance.now(), models = state.models.filter(visible), over = () => performance.now() - t0 > BUDGET_MS;
  const sel = models.find((m) => m.name === state.selected), others = models.filter((m) => m !== sel);
  const fresh = (m) => state.latest.get(m.name)?.version === state.version;
  const mine = sel && (fresh(sel) ? state.latest.get(sel.name) : await reconstruct(sel, x));
  if (state.classifier && state.inputRead?.version !== state.version) { // once per input, not per catch-up frame
    state.inputRead = { version: state.version, reads: (await classify([x]))[0] };
  }
  const reads = state.classifier ? state.inputRead.reads : null;
  if (reads && mine && !mine.read && !over()) await readRec(mine);
  const turn = state.turn % Math.max(1, others.length);
  for (const m of [...others.slice(turn), ...others.slice(0, turn)]) {
    if (over()) break;
    state.turn += 1;
    if (!fresh(m)) await reconstruct(m, x);
  }
  const unread = () => models.map((m) => state.latest.get(m.name)).filter((r) => r && r.version === state.version && !r.read);
  if (reads && !state.current) for (const r of unread()) { if (over()) break; await readRec(r); }
  state.behind = models.some((m) => !m.broken && !fresh(m)) || Boolean(reads && !state.current && unread().length);
  return { recs: models.map((m) => state.latest.get(m.name)).filter(Boolean), reads };
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
  for (const m of state.models.filter((m) => state.showAll || m.shown || m.name === state.selected)) {
    const tile = document.createElement("div");
    tile.className = "tile";
    tile.dataset.model = m.name;
    tile.dataset.hash = m.sha;
    tile.title = tr("tile_title", { name: m.name, sha: m.sha, origin: m.origin });
    tile.tabIndex = 0; // Tab reaches every tile, Enter or Space picks it
    tile.setAttribute("role", "button");
    const canvas = document.createElement("canvas");
    canvas.width = SIZE;
    canvas.height = 2 * SIZE;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", tr("tile_label", { name: m.name }));
    const cap = document.createElement("div");
    cap.className = "cap";
    cap.innerHTML = `<b></b><br><span></span>`;
    cap.querySelector("b").textContent = m.name;
    if (!m.ready) cap.querySelector("span").textContent = tr(m.precision === "pending" ? "pending" : "loading_model");
    tile.append(canvas, cap);
    const pick = () => { state.selected = m.name; schedule(); };
    tile.addEventListener("click", pick);
    tile.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(); } });
    strip.append(tile);
  }
  const rest = state.models.filter((m) => !(state.showAll || m.shown || m.name === state.selected));
  // Every model of the registry is named on the page; the ones not on the strip yet are fetched on demand.
  for (const id of ["more", "more-list"]) $(id).classList.toggle("hidden", !rest.length);
  $("more").textContent = tr("more_n", { n: rest.length });
  $("more-list").textContent = tr("more_list", { names: rest.map((m) => m.name).join(", ") });
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

function familiar(m, mse) { // the share of m's test images it rebuilds better than this input (null: unknown)
  const f = state.manifest.familiarity, errs = m.familiarity;
  if (!f || !errs || !errs.length) return null;
  if (mse <= errs[0]) return 0;
  if (mse >= errs[errs.length - 1]) return 1;
  let i = 1;
  while (errs[i] < mse) i++;
  const t = (mse - errs[i - 1]) / (errs[i] - errs[i - 1] || 1);
  return f.levels[i - 1] + t * (f.levels[i] - f.levels[i - 1]);
}

function familiarWords(share, brief) { // ae.measure.familiarity's sentence (or its short form), filled in here
  const f = state.manifest.familiarity, odd = share >= f.unfamiliar;
  const kind = brief ? (odd ? "short_unfamiliar" : "short") : odd ? "unfamiliar" : share >= f.unusual ? "unusual" : "familiar";
  return [kind, f.words[kind].replace("{pct}", (100 * share).toFixed(odd && !brief ? 1 : 0))];
}

function className(i) {
  return state.classes && state.classes[i] !== undefined ? state.classes[i] : String(i);
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
    const readText = r.reads ? tr("tile_reads", { digit: className(r.reads[0]) }) : ""; // while the pen moves: its reading at the last lift
    const share = familiar(r.model, r.mse), odd = share === null ? "" : ` · ${familiarWords(share, true)[1]}`;
    tile.querySelector("span").textContent = `MSE ${r.mse.toFixed(4)} · ${r.psnr.toFixed(1)} dB${readText}${odd}`;
    tile.querySelector("canvas").setAttribute("aria-label", tr("tile_alt", { name: r.model.name, mse: r.mse.toFixed(4), reads: readText }));
    tile.setAttribute("aria-pressed", String(r.model.name === state.selected));
    tile.dataset.mse = r.mse.toPrecision(6);
    tile.classList.toggle("selected", r.model.name === state.selected);
  }
  const sel = recs.find((r) => r.model.name === state.selected) || recs[0];
  if (!sel) return;
  gray($("recon"), sel.image);
  heat($("error"), sel.err);
  $("recon-cap").textContent = tr("recon_by", { name: sel.model.name });
  $("mse-label").textContent = `MSE (${sel.model.name})`;
  $("mse").textContent = sel.mse.toFixed(5);
  $("psnr").textContent = `${sel.psnr.toFixed(1)} dB`;
  const share = familiar(sel.model, sel.mse), [kind, text] = share === null ? ["", ""] : familiarWords(share, false);
  const f = state.manifest.familiarity;
  $("familiar").textContent = text ? `${f.words.question.replace("{name}", sel.model.name)} ${text}` : "";
  $("familiar").dataset.kind = kind;
  $("familiar").classList.toggle("warn", kind === "unfamiliar");
  $("reads").parentElement.classList.toggle("hidden", !state.classifier);
  const el = $("reads");
  if (reads) {
    const out = sel.reads ? className(sel.reads[0]) : "?";
    el.textContent = `${className(reads[0])} → ${out}`;
    el.title = tr("reads_title", { input: className(reads[0]), sure: Math.round(100 * reads[1]), output: out });
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
if (embedded) {
  document.body.classList.add("embedded");
  window.addEventListener("message", (ev) => {
    const d = ev.data;
    if (d && d.type === "streamlit:render" && d.args && d.args.manifest) {
      applyText(d.args.text, d.args.lang);
      start(d.args.manifest);
    }
  });
  post("streamlit:componentReady", { apiVersion: 1 });
  watchHeight();
} else {
  fetch("manifest.json").then((r) => r.json()).then(start)
    .catch((err) => fallback(`no manifest.json: ${err.message || err}`));
}
