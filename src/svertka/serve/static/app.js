// The page of `svertka serve`: draw or upload an input, see the prediction, every layer's
// feature maps, the arithmetic of one clicked cell, filters, Grad-CAM/saliency, and a
// training run with its loss curve. Plain JavaScript, no framework: the page talks to the
// JSON endpoints documented in docs/serve-api.md and keeps its state in `state` below.
"use strict";

(() => {
  const i18n = window.svertkaI18n;
  const t = i18n.t;

  const MB = 1024 * 1024;
  const MAPS_SHOWN = 64; // channels drawn at first; the rest on request
  const PREDICT_EVERY_MS = 150; // live prediction while the pointer moves
  const TRAIN_POLL_MS = 300;
  const TRAIN_LIVE_MS = 2000; // re-predict the current input this often while training
  const INK = 18;

  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;

  const state = {
    model: null,
    maxUploadMb: 8,
    inputId: null,
    input: null, // the prediction's "input" object
    top: [],
    timing: null,
    lastBlob: null,
    lastSource: null,
    lastName: "",
    views: new Map(), // layer name -> view (see buildLayers)
    selected: null, // {layer, channel, y, x}
    cellShown: null, // what the cell panel shows, to re-render on a language switch
    overlay: null, // "gradcam" | "saliency" | null
    overlayClass: null, // class index chosen by clicking a top row, or null for the top one
    overlayShown: null, // {method, label}
    filters: null, // {layer, shape} of the filters shown
    message: null, // {key, params}
    train: { phase: "idle", losses: [], iteration: 0, epoch: 0, accuracy: null, error: null },
  };

  // ---------- server access ----------

  class ApiError extends Error {
    constructor(status, detail) {
      super(typeof detail === "string" ? detail : `HTTP ${status}`);
      this.status = status;
      this.detail = detail;
    }
  }

  async function api(path, options) {
    let response;
    try {
      response = await fetch(path, options);
    } catch (err) {
      throw new ApiError(0, String(err.message || err));
    }
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!response.ok) {
      if (body && typeof body.error === "string") throw new ApiError(response.status, body.error);
      if (response.status === 413) {
        throw new ApiError(413, { key: "err.413", params: { limit: state.maxUploadMb } });
      }
      const plain = text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 300);
      throw new ApiError(response.status, plain || `HTTP ${response.status}`);
    }
    return body;
  }

  // ---------- messages ----------

  function resolve(value) {
    return value && typeof value === "object" ? t(value.key, value.params) : value;
  }

  function renderMessage() {
    const m = state.message;
    if (!m) {
      $("message").textContent = "";
      return;
    }
    const params = {};
    for (const [k, v] of Object.entries(m.params || {})) params[k] = resolve(v);
    $("message").textContent = t(m.key, params);
  }

  function showMessage(key, params = {}) {
    state.message = { key, params };
    renderMessage();
  }

  function showError(key, err, params = {}) {
    if (err instanceof ApiError && err.status === 0) {
      showMessage("err.network", { detail: err.detail });
    } else {
      showMessage(key, { ...params, detail: err instanceof ApiError ? err.detail : String(err) });
    }
    console.error(err);
  }

  function clearMessage() {
    state.message = null;
    renderMessage();
  }

  // ---------- numbers and colours ----------

  function fmt(v, digits = 4) {
    if (v === null || v === undefined || Number.isNaN(Number(v))) return "—";
    const s = Number(v).toFixed(digits);
    return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
  }

  const pct = (p) => `${(100 * p).toFixed(1)}%`;
  const shapeText = (shape) => shape.join("×");

  function lutFrom(stops) {
    const lut = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) {
      const f = (i / 255) * (stops.length - 1);
      const k = Math.min(Math.floor(f), stops.length - 2);
      const a = stops[k];
      const b = stops[k + 1];
      const u = f - k;
      for (let j = 0; j < 3; j++) lut[i * 3 + j] = a[j] + (b[j] - a[j]) * u;
    }
    return lut;
  }

  // viridis for maps that are never negative (after ReLU: bright = strong response);
  // blue-white-red, centred on zero, for signed maps
  const VIRIDIS = lutFrom([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98],
    [253, 231, 37]]);
  const DIVERGING = lutFrom([[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130],
    [178, 24, 43]]);
  const gradientCss = (lut) => {
    const parts = [];
    for (let i = 0; i <= 4; i++) {
      const k = Math.round((i / 4) * 255) * 3;
      parts.push(`rgb(${lut[k]},${lut[k + 1]},${lut[k + 2]})`);
    }
    return `linear-gradient(to right, ${parts.join(",")})`;
  };

  function scaleFor(lo, hi) {
    if (lo < 0) {
      const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
      return { lut: DIVERGING, lo: -m, hi: m };
    }
    return { lut: VIRIDIS, lo: 0, hi: hi > 0 ? hi : 1 };
  }

  // the background of a number in the cell panel: blue below zero, red above, by magnitude
  function cellColour(v, maxAbs) {
    const u = maxAbs > 0 ? Math.min(1, Math.abs(v) / maxAbs) : 0;
    const k = Math.round(127.5 + (v >= 0 ? u : -u) * 127.5) * 3;
    return {
      bg: `rgb(${DIVERGING[k]},${DIVERGING[k + 1]},${DIVERGING[k + 2]})`,
      fg: u > 0.6 ? "#fff" : "#111",
    };
  }

  // ---------- drawing ----------

  const draw = {
    canvas: null,
    ctx: null,
    down: false,
    ink: false,
    last: null,
    lastAsk: 0,
    inFlight: false,
    pending: false,
    exampleIndex: 0,
    preview: false, // the canvas shows an uploaded picture, not a drawing
  };

  function resetCanvas() {
    const { ctx, canvas } = draw;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = INK;
    ctx.strokeStyle = "#000";
    ctx.fillStyle = "#000";
    draw.ink = false;
    draw.preview = false;
  }

  function canvasPoint(ev) {
    const r = draw.canvas.getBoundingClientRect();
    return {
      x: ((ev.clientX - r.left) * draw.canvas.width) / r.width,
      y: ((ev.clientY - r.top) * draw.canvas.height) / r.height,
    };
  }

  function dot(p) {
    draw.ctx.beginPath();
    draw.ctx.arc(p.x, p.y, INK / 2, 0, 2 * Math.PI);
    draw.ctx.fill();
  }

  function line(a, b) {
    draw.ctx.beginPath();
    draw.ctx.moveTo(a.x, a.y);
    draw.ctx.lineTo(b.x, b.y);
    draw.ctx.stroke();
  }

  function strokeStart(ev) {
    if (ev.pointerType === "mouse" && ev.button !== 0) return;
    ev.preventDefault();
    if (draw.canvas.setPointerCapture && ev.pointerId !== undefined) {
      try {
        draw.canvas.setPointerCapture(ev.pointerId);
      } catch {
        // a synthetic event may have no capturable pointer
      }
    }
    clearMessage();
    if (draw.preview) resetCanvas();
    draw.down = true;
    draw.last = canvasPoint(ev);
    dot(draw.last);
    draw.ink = true;
  }

  function strokeMove(ev) {
    if (!draw.down) return;
    ev.preventDefault();
    const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [];
    for (const e of events.length ? events : [ev]) {
      const p = canvasPoint(e);
      line(draw.last, p);
      draw.last = p;
    }
    const now = performance.now();
    if (now - draw.lastAsk >= PREDICT_EVERY_MS) {
      draw.lastAsk = now;
      askPredict();
    }
  }

  function strokeEnd(ev) {
    if (!draw.down) return;
    if (ev) ev.preventDefault();
    draw.down = false;
    draw.lastAsk = performance.now();
    predictFinal();
  }

  function setupDrawing() {
    draw.canvas = $("draw");
    draw.ctx = draw.canvas.getContext("2d", { willReadFrequently: false });
    resetCanvas();
    const c = draw.canvas;
    if (window.PointerEvent) {
      c.addEventListener("pointerdown", strokeStart);
      c.addEventListener("pointermove", strokeMove);
      c.addEventListener("pointerup", strokeEnd);
      c.addEventListener("pointercancel", strokeEnd);
    } else {
      const touch = (handler) => (ev) => {
        const p = ev.changedTouches[0];
        const prevent = () => ev.preventDefault();
        handler({ clientX: p.clientX, clientY: p.clientY, preventDefault: prevent });
      };
      c.addEventListener("mousedown", strokeStart);
      c.addEventListener("mousemove", strokeMove);
      window.addEventListener("mouseup", strokeEnd);
      c.addEventListener("touchstart", touch(strokeStart), { passive: false });
      c.addEventListener("touchmove", touch(strokeMove), { passive: false });
      c.addEventListener("touchend", touch(strokeEnd), { passive: false });
    }
    $("clear").addEventListener("click", clearAll);
    $("example").addEventListener("click", drawExample);
  }

  // a few hand-made strokes (280 x 280 canvas) so a reader can start without drawing
  const EXAMPLES = [
    [[[72, 68], [208, 68], [132, 236]]],
    [[[84, 104], [104, 70], [150, 58], [194, 84], [194, 124], [150, 170], [86, 226], [208, 226]]],
    [[[82, 78], [140, 58], [194, 88], [184, 128], [132, 144], [190, 166], [200, 206],
      [150, 232], [80, 214]]],
    [[[140, 56], [96, 80], [84, 140], [96, 204], [140, 228], [184, 204], [196, 140],
      [184, 80], [140, 56]]],
    [[[168, 236], [168, 60], [80, 172], [212, 172]]],
  ];

  function drawExample() {
    clearMessage();
    resetCanvas();
    const strokes = EXAMPLES[draw.exampleIndex % EXAMPLES.length];
    draw.exampleIndex += 1;
    for (const stroke of strokes) {
      const pts = stroke.map(([x, y]) => ({ x, y }));
      dot(pts[0]);
      for (let i = 1; i < pts.length; i++) line(pts[i - 1], pts[i]);
    }
    draw.ink = true;
    askPredict();
  }

  // the drawing as PNG bytes, made at once: Chromium's canvas.toBlob encodes in idle time,
  // which a page busy drawing maps gave it only after 80-120 ms (benchmarks/serve.py, before)
  function canvasBlob() {
    const url = draw.canvas.toDataURL("image/png");
    const text = atob(url.slice(url.indexOf(",") + 1));
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return Promise.resolve(new Blob([bytes], { type: "image/png" }));
  }

  // at most one canvas prediction in flight; a request made meanwhile runs when it returns
  function askPredict() {
    draw.pending = true;
    pumpPredict();
  }

  // the drawing as the pen leaves it: asked at once, even while a live prediction is in
  // flight (whichever answer is older is dropped when it comes back late: see predict)
  async function predictFinal() {
    draw.pending = false;
    if (!draw.ink) return;
    const blob = await canvasBlob();
    await predict(blob, "canvas", "");
  }

  async function pumpPredict() {
    if (draw.inFlight || !draw.pending) return;
    draw.pending = false;
    if (!draw.ink) return;
    draw.inFlight = true;
    try {
      const blob = await canvasBlob();
      await predict(blob, "canvas", "");
    } finally {
      draw.inFlight = false;
      if (draw.pending) pumpPredict();
    }
  }

  // ---------- prediction ----------

  let predictSeq = 0;
  let appliedSeq = 0;

  async function predict(blob, source, name, { quiet = false } = {}) {
    const seq = ++predictSeq;
    const t0 = performance.now();
    let r;
    try {
      r = await api(`api/predict?source=${source}&top=5`, {
        method: "POST",
        headers: { "Content-Type": blob.type || "application/octet-stream" },
        body: blob,
      });
    } catch (err) {
      if (seq >= appliedSeq && !quiet) {
        if (source === "upload") showError("err.upload", err, { name });
        else showError("err.predict", err);
      }
      return false;
    }
    if (seq < appliedSeq) return false; // a later request already answered
    appliedSeq = seq;
    state.lastBlob = blob;
    state.lastSource = source;
    state.lastName = name;
    applyPrediction(r, performance.now() - t0);
    return true;
  }

  function applyPrediction(r, roundTrip) {
    state.inputId = r.id;
    state.input = r.input;
    state.top = r.top || [];
    state.timing = { ms: r.ms, rt: roundTrip };
    const img = $("input-view");
    img.src = r.input.png;
    img.hidden = false;
    $("input-empty").hidden = true;
    renderInputCaption();
    renderTop();
    renderTiming();
    for (const view of state.views.values()) view.wait.hidden = true;
    scheduleRefresh();
  }

  function renderTop() {
    const list = $("top");
    list.textContent = "";
    for (const row of state.top) {
      const li = document.createElement("li");
      li.className = "top-row";
      li.dataset.index = String(row.index);
      li.dataset.label = String(row.label);
      li.dataset.probability = String(row.probability);
      li.tabIndex = 0;
      if (state.overlayClass === row.index) li.classList.add("selected");
      const label = document.createElement("span");
      label.className = "top-label";
      label.textContent = row.label;
      const bar = document.createElement("span");
      bar.className = "top-bar";
      const fill = document.createElement("span");
      fill.style.width = `${Math.max(0, Math.min(100, 100 * row.probability))}%`;
      bar.append(fill);
      const p = document.createElement("span");
      p.className = "top-prob";
      p.textContent = pct(row.probability);
      li.append(label, bar, p);
      list.append(li);
    }
    const best = state.top.length ? String(state.top[0].label) : "—";
    $("prediction").textContent = best;
    $("prediction").classList.toggle("long", best.length > 3);
  }

  function renderTiming() {
    const el = $("timing");
    if (!state.timing) {
      el.textContent = "";
      return;
    }
    el.dataset.ms = String(state.timing.ms);
    el.dataset.roundTrip = String(state.timing.rt);
    el.textContent = t("pred.timing", {
      ms: Number(state.timing.ms).toFixed(1),
      rt: Math.round(state.timing.rt),
    });
  }

  function renderInputCaption() {
    const el = $("input-caption");
    if (!state.model || !state.input) {
      el.textContent = "";
      return;
    }
    const [h, w, c] = state.model.input_shape;
    const kind = state.model.kind === "images" ? "images" : "digits";
    el.textContent = t(`input.caption.${kind}`, { h, w, c });
  }

  function renderDrawTitle() {
    const kind = state.model ? state.model.kind : "digits";
    const key = `draw.title.${["digits", "letters", "images"].includes(kind) ? kind : "digits"}`;
    $("draw-title").dataset.i18n = key;
    $("draw-title").textContent = t(key);
  }

  function clearAll() {
    clearMessage();
    resetCanvas();
    draw.pending = false;
    predictSeq += 1;
    appliedSeq = predictSeq; // answers still on their way are dropped
    state.inputId = null;
    state.input = null;
    state.top = [];
    state.timing = null;
    state.lastBlob = null;
    state.selected = null;
    state.cellShown = null;
    state.overlayClass = null;
    setOverlay(null);
    $("input-view").hidden = true;
    $("input-view").removeAttribute("src");
    $("input-empty").hidden = false;
    $("rf-box").hidden = true;
    $("cell").hidden = true;
    $("cell-empty").hidden = false;
    renderInputCaption();
    renderTop();
    renderTiming();
    for (const view of state.views.values()) blankLayer(view);
  }

  // ---------- upload ----------

  async function onUpload(ev) {
    const file = ev.target.files && ev.target.files[0];
    ev.target.value = ""; // choosing the same file again fires change again
    if (!file) return;
    clearMessage();
    const limit = state.maxUploadMb;
    if (file.size > limit * MB) {
      showMessage("err.too_big", { name: file.name, size: (file.size / MB).toFixed(1), limit });
      return;
    }
    if (await predict(file, "upload", file.name)) showUploaded(file);
  }

  // the uploaded picture in the drawing area, fitted; the next stroke starts on a clean sheet
  async function showUploaded(file) {
    resetCanvas();
    draw.preview = true;
    try {
      const bitmap = await createImageBitmap(file);
      const { width: W, height: H } = draw.canvas;
      const k = Math.min(W / bitmap.width, H / bitmap.height);
      const w = bitmap.width * k;
      const h = bitmap.height * k;
      draw.ctx.drawImage(bitmap, (W - w) / 2, (H - h) / 2, w, h);
      bitmap.close();
    } catch {
      // a format the browser cannot draw (the server read it): the sheet stays blank
    }
  }

  // ---------- layers ----------

  const observer =
    "IntersectionObserver" in window
      ? new IntersectionObserver(
          (entries) => {
            for (const entry of entries) {
              const view = state.views.get(entry.target.dataset.layer);
              if (!view) continue;
              view.visible = entry.isIntersecting;
              if (view.visible && state.inputId) loadLayer(view).catch(() => {});
            }
          },
          { rootMargin: "400px 0px" },
        )
      : null;

  function buildLayers() {
    const root = $("layers");
    root.textContent = "";
    state.views.clear();
    const layers = state.model.layers.filter((L) => L.type !== "InputLayer");
    const last = layers[layers.length - 1];
    for (const info of layers) {
      const view = {
        info,
        el: document.createElement("section"),
        maps: document.createElement("div"),
        canvases: [],
        data: null,
        loadedFor: null,
        loading: null,
        visible: !observer,
        shown: 0,
        isOutput: info === last,
      };
      view.el.className = "layer";
      view.el.dataset.layer = info.name;
      view.el.dataset.type = info.type;
      view.el.dataset.cell = info.cell || "other";
      const header = document.createElement("header");
      header.className = "layer-info";
      view.header = header;
      view.maps.className = info.spatial ? "maps" : "maps bars-strip";
      const wait = document.createElement("p");
      wait.className = "placeholder layer-wait";
      wait.dataset.i18n = "layer.waiting";
      wait.textContent = t("layer.waiting");
      wait.hidden = !!state.inputId;
      view.wait = wait;
      view.el.append(header, view.maps, wait);
      if (info.spatial) buildMaps(view);
      else buildBars(view);
      renderLayerInfo(view);
      root.append(view.el);
      state.views.set(info.name, view);
      if (observer) observer.observe(view.el);
    }
  }

  function spatialShape(info) {
    const [h, w, c] = info.output_shape;
    return { h, w, c };
  }

  function buildMaps(view) {
    const { h, w, c } = spatialShape(view.info);
    view.scale = Math.max(3, Math.min(16, Math.ceil(56 / Math.max(h, w))));
    addMaps(view, Math.min(c, MAPS_SHOWN));
    if (c > MAPS_SHOWN) {
      const more = document.createElement("button");
      more.type = "button";
      more.className = "more";
      more.addEventListener("click", () => {
        addMaps(view, c);
        more.remove();
      });
      view.more = more;
      view.el.append(more);
    }
    view.maps.addEventListener("click", (ev) => {
      const canvas = ev.target.closest("canvas.map");
      if (!canvas) return;
      const r = canvas.getBoundingClientRect();
      const x = Math.min(w - 1, Math.max(0, Math.floor(((ev.clientX - r.left) / r.width) * w)));
      const y = Math.min(h - 1, Math.max(0, Math.floor(((ev.clientY - r.top) / r.height) * h)));
      selectCell(view, Number(canvas.dataset.channel), y, x);
    });
    view.maps.addEventListener("keydown", (ev) => {
      const canvas = ev.target.closest("canvas.map");
      if (!canvas) return;
      const ch = Number(canvas.dataset.channel);
      const sel = state.selected;
      const here = sel && sel.layer === view.info.name && sel.channel === ch;
      let y = here ? sel.y : Math.floor(h / 2);
      let x = here ? sel.x : Math.floor(w / 2);
      const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      if (ev.key in moves && here) {
        y = Math.min(h - 1, Math.max(0, y + moves[ev.key][0]));
        x = Math.min(w - 1, Math.max(0, x + moves[ev.key][1]));
      } else if (ev.key !== "Enter" && ev.key !== " " && !(ev.key in moves)) {
        return;
      }
      ev.preventDefault();
      selectCell(view, ch, y, x);
    });
  }

  function addMaps(view, upTo) {
    const { h, w } = spatialShape(view.info);
    for (let ch = view.shown; ch < upTo; ch++) {
      const canvas = document.createElement("canvas");
      canvas.className = "map";
      canvas.dataset.channel = String(ch);
      canvas.width = w * view.scale;
      canvas.height = h * view.scale;
      canvas.tabIndex = 0;
      canvas.title = t("layer.map", { c: ch, layer: view.info.name });
      view.maps.append(canvas);
      view.canvases[ch] = canvas;
      if (view.data) paintChannel(view, ch);
    }
    view.shown = Math.max(view.shown, upTo);
  }

  function buildBars(view) {
    const canvas = document.createElement("canvas");
    canvas.className = "bars";
    const n = view.info.output_shape.reduce((a, b) => a * b, 1);
    view.n = n;
    const labelled = view.isOutput && state.model.classes.length === n && n <= 40;
    view.labelled = labelled;
    canvas.width = 480;
    canvas.height = labelled ? 84 : 64;
    view.bars = canvas;
    const L = barLayout(view);
    if (L.kind === "grid") canvas.height = Math.max(24, Math.min(240, L.rows * L.size));
    canvas.addEventListener("mousemove", (ev) => {
      if (!view.data || !view.data.values) return;
      const r = canvas.getBoundingClientRect();
      const i = barIndex(view, (ev.clientX - r.left) / r.width, (ev.clientY - r.top) / r.height);
      if (i === null) return;
      const name = labelled ? ` (${state.model.classes[i]})` : "";
      canvas.title = `#${i}${name}: ${fmt(view.data.values[i])}`;
    });
    view.maps.append(canvas);
  }

  function barLayout(view) {
    const W = view.bars.width;
    if (view.n <= 128) return { kind: "bars", step: W / view.n };
    const cols = Math.min(W, Math.ceil(Math.sqrt(view.n * 8)));
    const size = Math.max(1, Math.floor(W / cols));
    return { kind: "grid", cols, size, rows: Math.ceil(view.n / cols) };
  }

  function barIndex(view, fx, fy) {
    const L = barLayout(view);
    const px = fx * view.bars.width;
    const py = fy * view.bars.height;
    let i;
    if (L.kind === "bars") i = Math.floor(px / L.step);
    else i = Math.floor(py / L.size) * L.cols + Math.floor(px / L.size);
    return i >= 0 && i < view.n ? i : null;
  }

  function renderLayerInfo(view) {
    const info = view.info;
    const header = view.header;
    header.textContent = "";
    const part = (cls, text) => {
      const s = document.createElement("span");
      s.className = cls;
      s.textContent = text;
      header.append(s);
      return s;
    };
    part("layer-name", info.name);
    const typeKey = `type.${info.type}`;
    part("layer-type", i18n.has(typeKey) ? `${t(typeKey)} (${info.type})` : info.type);
    part("layer-shape", t("layer.output", { shape: shapeText(info.output_shape) }));
    part("layer-params", t("layer.params", { n: info.params }));
    const rf = info.receptive_field;
    part(
      "layer-rf",
      rf
        ? t("layer.rf", { h: rf.size[0], w: rf.size[1], j: rf.jump[0] === rf.jump[1]
            ? rf.jump[0] : rf.jump.join("×") })
        : t("layer.rf.whole"),
    );
    if (info.activation) part("layer-act", t("layer.activation", { a: actName(info.activation) }));
    if (info.cell === "conv") {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "layer-filters";
      b.dataset.i18n = "layer.filters";
      b.textContent = t("layer.filters");
      b.addEventListener("click", () => showFilters(info.name));
      header.append(b);
    }
    if (!info.spatial) part("layer-count", t("layer.values", { n: view.n }));
    const legend = document.createElement("span");
    legend.className = "legend";
    view.legend = legend;
    header.append(legend);
    renderLegend(view);
    if (view.more) view.more.textContent = t("layer.more", { n: spatialShape(info).c });
    for (const canvas of view.canvases) {
      if (canvas) canvas.title = t("layer.map", { c: canvas.dataset.channel, layer: info.name });
    }
  }

  function renderLegend(view) {
    const legend = view.legend;
    legend.textContent = "";
    if (!view.data || !view.info.spatial) return;
    const s = scaleFor(view.data.min, view.data.max);
    const lo = document.createElement("span");
    lo.textContent = fmt(view.data.min, 2);
    const bar = document.createElement("span");
    bar.className = "legend-bar";
    bar.style.background = gradientCss(s.lut);
    const hi = document.createElement("span");
    hi.textContent = fmt(view.data.max, 2);
    legend.append(lo, bar, hi);
  }

  function actName(a) {
    const names = { relu: "ReLU", leaky_relu: "LeakyReLU", elu: "ELU", gelu: "GELU",
      selu: "SELU", prelu: "PReLU", sigmoid: "sigmoid", tanh: "tanh", softmax: "softmax" };
    if (!a || a === "linear") return t("act.linear");
    return names[a] || a;
  }

  function blankLayer(view) {
    view.data = null;
    view.loadedFor = null;
    view.loading = null;
    view.wait.hidden = false;
    delete view.el.dataset.input;
    view.el.classList.remove("loading");
    for (const canvas of view.canvases) {
      if (canvas) canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    }
    if (view.bars) view.bars.getContext("2d").clearRect(0, 0, view.bars.width, view.bars.height);
    renderLegend(view);
  }

  // the feature maps of `view` for the current input: fetched once per input, on demand
  function loadLayer(view) {
    const id = state.inputId;
    if (!id) return Promise.resolve(null);
    if (view.loadedFor === id) return Promise.resolve(view.data);
    if (view.loading && view.loading.id === id) return view.loading.promise;
    view.el.classList.add("loading");
    const name = view.info.name;
    const promise = api(`api/features?input=${enc(id)}&layer=${enc(name)}`)
      .then((data) => {
        if (state.inputId === id) {
          view.data = data;
          view.loadedFor = id;
          view.el.dataset.input = id;
          view.wait.hidden = true;
          paintLayer(view);
        }
        return data;
      })
      .catch((err) => {
        if (state.inputId === id) showError("err.features", err, { layer: name });
        throw err;
      })
      .finally(() => {
        if (view.loading && view.loading.id === id) {
          view.loading = null;
          view.el.classList.remove("loading");
        }
      });
    view.loading = { id, promise };
    return promise;
  }

  function paintLayer(view) {
    renderLegend(view);
    if (view.info.spatial) {
      for (let ch = 0; ch < view.shown; ch++) paintChannel(view, ch);
    } else {
      paintBars(view);
    }
  }

  const offscreen = document.createElement("canvas");

  function paintChannel(view, ch) {
    const canvas = view.canvases[ch];
    const data = view.data;
    if (!canvas || !data || !data.maps) return;
    const map = data.maps[ch];
    const h = map.length;
    const w = map[0].length;
    const { lut, lo, hi } = scaleFor(data.min, data.max);
    offscreen.width = w;
    offscreen.height = h;
    const octx = offscreen.getContext("2d");
    const img = octx.createImageData(w, h);
    const span = hi - lo || 1;
    for (let y = 0; y < h; y++) {
      const row = map[y];
      for (let x = 0; x < w; x++) {
        const k = Math.max(0, Math.min(255, Math.round(((row[x] - lo) / span) * 255))) * 3;
        const o = (y * w + x) * 4;
        img.data[o] = lut[k];
        img.data[o + 1] = lut[k + 1];
        img.data[o + 2] = lut[k + 2];
        img.data[o + 3] = 255;
      }
    }
    octx.putImageData(img, 0, 0);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(offscreen, 0, 0, canvas.width, canvas.height);
    const sel = state.selected;
    const here = !!sel && sel.layer === view.info.name && sel.channel === ch;
    canvas.classList.toggle("selected", here);
    if (here) {
      const s = canvas.width / w;
      const grow = s < 8 ? 1 : -1; // a small cell gets its outline around it, not inside
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#ff2d55";
      ctx.strokeRect(sel.x * s - grow, sel.y * s - grow, s + 2 * grow, s + 2 * grow);
    }
  }

  function paintBars(view) {
    const canvas = view.bars;
    const values = view.data && view.data.values;
    if (!values) return;
    const ctx = canvas.getContext("2d");
    const W = canvas.width;
    const H = canvas.height;
    ctx.clearRect(0, 0, W, H);
    let lo = Math.min(0, ...values);
    let hi = Math.max(0, ...values);
    if (hi === lo) hi = lo + 1;
    const L = barLayout(view);
    if (L.kind === "bars") {
      const plotH = view.labelled ? H - 18 : H;
      const zero = plotH * (hi / (hi - lo));
      const best = view.labelled ? values.indexOf(Math.max(...values)) : -1;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        const y = zero - (v / (hi - lo)) * plotH;
        ctx.fillStyle = i === best ? "#e4572e" : v >= 0 ? "#3b6fb6" : "#8fb3de";
        const x0 = i * L.step + (L.step > 4 ? 1 : 0);
        ctx.fillRect(x0, Math.min(y, zero), Math.max(1, L.step - (L.step > 4 ? 2 : 0)),
          Math.max(1, Math.abs(zero - y)));
      }
      ctx.fillStyle = "#888";
      ctx.fillRect(0, Math.round(zero), W, 1);
      if (view.labelled) {
        ctx.fillStyle = "#333";
        ctx.font = "12px system-ui, sans-serif";
        ctx.textAlign = "center";
        for (let i = 0; i < values.length; i++) {
          let label = String(state.model.classes[i]);
          while (label.length > 1 && ctx.measureText(label).width > L.step - 2) {
            label = `${label.slice(0, -2)}…`; // shorten long class names to the bar's width
          }
          ctx.fillText(label, (i + 0.5) * L.step, H - 4);
        }
      }
    } else {
      const s = scaleFor(lo, hi);
      const span = s.hi - s.lo || 1;
      for (let i = 0; i < values.length; i++) {
        const k = Math.max(0, Math.min(255, Math.round(((values[i] - s.lo) / span) * 255))) * 3;
        ctx.fillStyle = `rgb(${s.lut[k]},${s.lut[k + 1]},${s.lut[k + 2]})`;
        ctx.fillRect((i % L.cols) * L.size, Math.floor(i / L.cols) * L.size, L.size, L.size);
      }
    }
  }

  // after a new prediction: reload what is on screen, the clicked cell and the overlay;
  // while the pointer is down this runs at most every 250 ms, as the server has one worker
  let refreshTimer = null;
  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      refreshViews();
    }, draw.down ? 250 : 0);
  }

  function refreshViews() {
    if (!state.inputId) return;
    for (const view of state.views.values()) {
      if (view.visible) loadLayer(view).catch(() => {});
    }
    if (state.selected) {
      const view = state.views.get(state.selected.layer);
      if (view) {
        const { channel, y, x } = state.selected;
        selectCell(view, channel, y, x, { quiet: true });
      }
    }
    if (state.overlay) fetchOverlay();
  }

  // ---------- one cell ----------

  let cellSeq = 0;

  async function selectCell(view, channel, y, x, { quiet = false } = {}) {
    const previous = state.selected;
    state.selected = { layer: view.info.name, channel, y, x };
    if (previous) {
      const old = state.views.get(previous.layer);
      if (old && old.data) paintChannel(old, previous.channel);
    }
    if (!state.inputId) {
      showMessage("err.no_input");
      return;
    }
    const id = state.inputId;
    const seq = ++cellSeq;
    const panel = $("cell");
    panel.dataset.state = "loading";
    if (!quiet) {
      $("cell-empty").hidden = true;
      panel.hidden = false;
    }
    let features = null;
    let cell = null;
    try {
      features = await loadLayer(view);
      if (view.data) paintChannel(view, channel);
      const query = `input=${enc(id)}&layer=${enc(view.info.name)}`
        + `&channel=${channel}&y=${y}&x=${x}`;
      // /api/cell explains convolutions and poolings; other image layers (batch norm, Add)
      // give their value and receptive field only
      if (view.info.spatial) cell = await api(`api/cell?${query}`);
    } catch (err) {
      if (seq === cellSeq && state.inputId === id) {
        panel.dataset.state = "error";
        showError("err.cell", err);
      }
      return;
    }
    if (seq !== cellSeq || state.inputId !== id) return;
    state.cellShown = { layer: view.info.name, channel, y, x, id, features, cell };
    renderCell();
    panel.dataset.state = "ready";
    panel.dataset.input = id;
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderCell() {
    const shown = state.cellShown;
    if (!shown) return;
    const view = state.views.get(shown.layer);
    const { channel, y, x, features, cell } = shown;
    $("cell-title").textContent = t("cell.heading", { layer: shown.layer, c: channel, y, x });
    let mapValue = cell ? cell.value : null;
    if (features && features.maps) mapValue = features.maps[channel][y][x];
    const valueEl = $("cell-value");
    valueEl.textContent = fmt(mapValue);
    valueEl.dataset.value = String(mapValue);
    const body = $("cell-body");
    body.textContent = "";
    $("cell-note").textContent = "";
    $("cell-explain").textContent = "";
    const kind = cell && cell.cell;
    if (kind === "conv" && cell.conv) renderConv(body, cell, view, mapValue);
    else if (kind === "pool" && cell.pool) renderPool(body, cell, mapValue);
    else $("cell-explain").textContent = t("cell.other", { type: view.info.type });
    renderReceptiveField(cell && cell.receptive_field);
  }

  function matrixTable(blocks, { id, cls, tdClass, digits, pad }) {
    // blocks: one kh x kw array per input channel, drawn as one tbody each
    const table = el("table", `matrix ${cls}`);
    if (id) table.id = id;
    let maxAbs = 0;
    for (const v of blocks.flat(2)) maxAbs = Math.max(maxAbs, Math.abs(v));
    blocks.forEach((block, k) => {
      const tbody = document.createElement("tbody");
      tbody.dataset.k = String(k);
      block.forEach((row, i) => {
        const tr = document.createElement("tr");
        row.forEach((v, j) => {
          const td = el("td", tdClass, fmt(v, digits));
          if (v === null) {
            td.classList.add("pad"); // outside the input: padding, never used
            tr.append(td);
            return;
          }
          td.dataset.value = String(v);
          td.title = String(v);
          const c = cellColour(v, maxAbs);
          td.style.background = c.bg;
          td.style.color = c.fg;
          if (pad && pad[i][j]) td.classList.add("pad");
          tr.append(td);
        });
        tbody.append(tr);
      });
      table.append(tbody);
    });
    return table;
  }

  function labelled(caption, node, op) {
    const fig = el("figure", "matrix-figure");
    fig.append(el("figcaption", "", caption));
    if (op) {
      // the operator travels with its matrix, so a wide kernel wraps to the next line whole
      const pair = el("div", "matrix-with-op");
      pair.append(el("span", "op", op), node);
      fig.append(pair);
    } else {
      fig.append(node);
    }
    return fig;
  }

  // which window cells lie outside the input (zeros of the padding); known only for a
  // layer that reads the input itself, where the receptive field equals the kernel
  function paddingMask(view, rf, kh, kw) {
    const field = view.info.receptive_field;
    if (!rf || !field || field.size[0] !== kh || field.size[1] !== kw) return null;
    const [H, W] = state.model.input_shape;
    const axis = (lo, hi, k, n) => {
      const inside = hi - lo;
      const flags = new Array(k).fill(false);
      if (inside >= k) return flags;
      if (lo === 0 && hi === n) return null;
      if (lo === 0) for (let i = 0; i < k - inside; i++) flags[i] = true;
      else for (let i = inside; i < k; i++) flags[i] = true;
      return flags;
    };
    const rows = axis(rf.top, rf.bottom, kh, H);
    const cols = axis(rf.left, rf.right, kw, W);
    if (!rows || !cols) return null;
    if (!rows.some(Boolean) && !cols.some(Boolean)) return null;
    return rows.map((r) => cols.map((c) => r || c));
  }

  function sliceChannel(a3, k) {
    return a3.map((row) => row.map((v) => v[k]));
  }

  function term(v) {
    const s = fmt(v);
    return s.startsWith("-") ? `(${s})` : s;
  }

  function numberSpan(id, v, tag = "span") {
    const s = el(tag, "num", fmt(v));
    if (id) s.id = id;
    s.dataset.value = String(v);
    return s;
  }

  function renderConv(body, cell, view, mapValue) {
    const conv = cell.conv;
    const kh = conv.kernel.length;
    const kw = conv.kernel[0].length;
    const shownCh = conv.kernel[0][0].length;
    const cin = conv.channels || shownCh;
    $("cell-explain").textContent = t("cell.explain.conv", { c: cell.channel });
    const windows = [];
    const kernels = [];
    const products = [];
    for (let k = 0; k < shownCh; k++) {
      windows.push(sliceChannel(conv.window, k));
      kernels.push(sliceChannel(conv.kernel, k));
      products.push(sliceChannel(conv.products, k));
    }
    const pad = shownCh === 1 ? paddingMask(view, cell.receptive_field, kh, kw) : null;
    const row = el("div", "conv-row");
    row.append(
      labelled(t("cell.window"), matrixTable(windows, { cls: "conv-window", tdClass: "window",
        digits: 3, pad })),
      labelled(t("cell.kernel"), matrixTable(kernels, { cls: "conv-kernel", tdClass: "kernel",
        digits: 3 }), "⊙"),
      labelled(t("cell.products"), matrixTable(products, { id: "cell-products",
        cls: "conv-products", tdClass: "product", digits: 4, pad }), "="),
    );
    const perChannel = conv.per_channel
      || products.map((p) => p.flat().reduce((a, b) => a + b, 0));

    // several input channels: one channel's window, kernel and products at a time (every
    // channel's numbers stay in the tables; the tabs choose the one drawn)
    let showChannel = null;
    if (shownCh > 1) {
      const tabs = el("div", "channel-tabs");
      tabs.append(el("span", "hint", `${t("cell.input_channel")}:`));
      const buttons = [];
      showChannel = (k) => {
        for (const table of row.querySelectorAll("table.matrix")) {
          table.querySelectorAll("tbody").forEach((tb, i) => { tb.hidden = i !== k; });
        }
        buttons.forEach((b, i) => b.setAttribute("aria-pressed", String(i === k)));
        for (const s of body.querySelectorAll(".channel-sum")) {
          s.classList.toggle("current", Number(s.dataset.k) === k);
        }
        state.cellChannel = k;
      };
      for (let k = 0; k < shownCh; k++) {
        const b = el("button", "channel-tab", String(k));
        b.type = "button";
        b.addEventListener("click", () => showChannel(k));
        buttons.push(b);
        tabs.append(b);
      }
      body.append(tabs);
    }
    body.append(row);
    if (pad) {
      const legend = el("p", "hint pad-legend");
      legend.append(el("span", "pad-swatch"), document.createTextNode(t("cell.pad")));
      body.append(legend);
    }

    // the notes' line: Σ of the products, plus the bias, through the activation
    const formula = el("div", "formula");
    const sums = el("div", "formula-line");
    sums.append(el("span", "sym", "Σ = "));
    if (cin === 1) {
      const flat = products[0].flat();
      const terms = flat.length <= 49 ? flat.map(term)
        : [...flat.slice(0, 6).map(term), "…", ...flat.slice(-2).map(term)];
      sums.append(document.createTextNode(`${terms.join(" + ")} = `));
    } else {
      // Σ = Σ0 + Σ1 + ... = (their values) = total, one sum per input channel
      const symbols = el("span", "channel-symbols");
      const names = cin <= 8 ? perChannel.map((_, k) => k) : [0, 1, null, cin - 1];
      names.forEach((k, i) => {
        if (i > 0) symbols.append(" + ");
        if (k === null) symbols.append("…");
        else symbols.append("Σ", el("sub", "", String(k)));
      });
      sums.append(symbols, " = ");
      perChannel.forEach((v, k) => {
        if (k > 0) sums.append(" + ");
        const part = el("span", "channel-sum", term(v));
        part.dataset.k = String(k);
        part.dataset.value = String(v);
        part.title = `Σ${k}`;
        sums.append(part);
      });
      sums.append(" = ");
    }
    sums.append(numberSpan("cell-products-sum", conv.sum, "strong"));
    formula.append(sums);

    const act = conv.activation || "linear";
    const out = el("div", "formula-line");
    out.append(el("span", "sym", "Σ + b = "), `${fmt(conv.sum)} + `);
    const bias = numberSpan("cell-bias", conv.bias);
    if (conv.bias < 0) out.append("(", bias, ")");
    else out.append(bias);
    out.append(" = ", numberSpan("cell-sum", conv.pre_activation));
    out.append(el("span", "arrow", ` → ${actName(act)} → `));
    out.append(numberSpan("cell-activation", conv.output, "strong"));
    out.append(checkMark(conv.output, mapValue));
    formula.append(out);
    body.append(formula);
    body.append(el("p", "hint", `b — ${t("cell.bias")}`));

    if (showChannel) {
      const keep = state.cellChannel;
      showChannel(Number.isInteger(keep) && keep < shownCh ? keep : 0);
    }
    if (conv.channels_shown && conv.channels_shown < cin) {
      $("cell-note").textContent = t("cell.note.channels", { cin, shown: conv.channels_shown });
    } else if (cin > 1) {
      $("cell-note").textContent = t("cell.note.channels.all", { cin });
    }
  }

  function checkMark(value, mapValue) {
    const same = mapValue !== null && Math.abs(value - mapValue) <= 0.00005 + 1e-9;
    const mark = el("span", same ? "check ok" : "check", same ? ` ${t("cell.check")} ✓`
      : ` ≈ ${fmt(mapValue)}`);
    return mark;
  }

  function renderPool(body, cell, mapValue) {
    const pool = cell.pool;
    const ph = pool.window.length;
    const pw = pool.window[0].length;
    $("cell-explain").textContent = t(`cell.explain.pool.${pool.mode === "max" ? "max"
      : "average"}`, { ph, pw });
    const table = matrixTable([pool.window], { id: "cell-window", cls: "pool-window",
      tdClass: "window-value", digits: 4 });
    if (pool.chosen) {
      const [i, j] = pool.chosen;
      const td = table.querySelectorAll("tr")[i].querySelectorAll("td")[j];
      td.classList.add("chosen");
    }
    body.append(labelled(t("cell.pool.window", { c: cell.channel }), table));
    const flat = pool.window.flat().filter((v) => v !== null); // null: padding, left out
    const lineEl = el("div", "formula-line");
    if (pool.mode === "max") {
      lineEl.append(document.createTextNode(`max(${flat.map((v) => fmt(v)).join(", ")}) = `));
    } else {
      lineEl.append(document.createTextNode(`(${flat.map(term).join(" + ")}) / ${flat.length} = `));
    }
    lineEl.append(numberSpan("cell-activation", pool.output, "strong"));
    lineEl.append(checkMark(pool.output, mapValue));
    const formula = el("div", "formula");
    formula.append(lineEl);
    body.append(formula);
  }

  function renderReceptiveField(rf) {
    const box = $("rf-box");
    const text = $("cell-rf");
    if (!rf || !state.model) {
      box.hidden = true;
      text.textContent = "";
      return;
    }
    const [H, W] = state.model.input_shape;
    box.style.left = `${(100 * rf.left) / W}%`;
    box.style.top = `${(100 * rf.top) / H}%`;
    box.style.width = `${(100 * (rf.right - rf.left)) / W}%`;
    box.style.height = `${(100 * (rf.bottom - rf.top)) / H}%`;
    for (const k of ["top", "left", "bottom", "right"]) box.dataset[k] = String(rf[k]);
    box.hidden = false;
    text.textContent = t("cell.rf", {
      top: rf.top,
      bottom: rf.bottom - 1,
      left: rf.left,
      right: rf.right - 1,
      h: rf.bottom - rf.top,
      w: rf.right - rf.left,
    });
  }

  // ---------- filters ----------

  function filterLayer() {
    const sel = state.selected && state.views.get(state.selected.layer);
    if (sel && sel.info.cell === "conv") return sel.info.name;
    if (state.filters) return state.filters.layer;
    const first = [...state.views.values()].find((v) => v.info.cell === "conv");
    return first ? first.info.name : null;
  }

  async function showFilters(name) {
    clearMessage();
    const layer = name || filterLayer();
    if (!layer) {
      showMessage("err.no_conv");
      return;
    }
    let r;
    try {
      r = await api(`api/filters?layer=${enc(layer)}`);
    } catch (err) {
      showError("err.filters", err);
      return;
    }
    state.filters = { layer: r.layer || layer, shape: r.shape };
    const box = $("filters");
    box.textContent = "";
    box.dataset.layer = state.filters.layer;
    r.images.forEach((src, c) => {
      const img = document.createElement("img");
      img.className = "filter";
      img.src = src;
      img.dataset.channel = String(c);
      img.alt = t("filters.item", { c });
      img.title = t("filters.item", { c });
      img.addEventListener("click", () => findMap(state.filters.layer, c));
      box.append(img);
    });
    renderFiltersCaption();
    if (!name) return;
    $("filters").scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function renderFiltersCaption() {
    const caption = $("filters-caption");
    if (!state.filters) return;
    delete caption.dataset.i18n;
    const [kh, kw, cin, cout] = state.filters.shape;
    caption.textContent = t("filters.heading", { layer: state.filters.layer, kh, kw, cin, cout });
    for (const img of $("filters").querySelectorAll("img.filter")) {
      img.title = img.alt = t("filters.item", { c: img.dataset.channel });
    }
  }

  function findMap(layer, c) {
    const view = state.views.get(layer);
    if (!view) return;
    if (c >= view.shown) {
      addMaps(view, spatialShape(view.info).c);
      if (view.more) view.more.remove();
    }
    const canvas = view.canvases[c];
    if (!canvas) return;
    canvas.scrollIntoView({ block: "center", behavior: "smooth" });
    canvas.classList.remove("flash");
    void canvas.offsetWidth; // restart the animation
    canvas.classList.add("flash");
  }

  // ---------- Grad-CAM and saliency ----------

  function setOverlay(method) {
    state.overlay = method;
    $("show-gradcam").setAttribute("aria-pressed", String(method === "gradcam"));
    $("show-saliency").setAttribute("aria-pressed", String(method === "saliency"));
    if (!method) {
      $("overlay").hidden = true;
      $("overlay").removeAttribute("src");
      state.overlayShown = null;
      renderOverlayCaption();
    }
  }

  function toggleOverlay(method) {
    clearMessage();
    if (state.overlay === method) {
      setOverlay(null);
      return;
    }
    if (!state.inputId) {
      showMessage("err.no_input");
      return;
    }
    setOverlay(method);
    fetchOverlay();
  }

  let overlaySeq = 0;
  async function fetchOverlay() {
    const method = state.overlay;
    const id = state.inputId;
    if (!method || !id) return;
    const seq = ++overlaySeq;
    const cls = state.overlayClass === null ? "" : `&class=${state.overlayClass}`;
    let r;
    try {
      r = await api(`api/attribution?input=${enc(id)}&method=${method}${cls}`);
    } catch (err) {
      if (seq === overlaySeq) {
        showError("err.attribution", err, { method: method === "gradcam" ? "Grad-CAM"
          : "saliency" });
        setOverlay(null);
      }
      return;
    }
    if (seq !== overlaySeq || state.overlay !== method) return;
    const img = $("overlay");
    img.src = r.overlay;
    img.hidden = false;
    img.dataset.method = method;
    img.dataset.class = String(r.class);
    img.style.opacity = String($("overlay-opacity").value / 100);
    state.overlayShown = { method, label: r.label };
    renderOverlayCaption();
  }

  function renderOverlayCaption() {
    const s = state.overlayShown;
    $("overlay-caption").textContent = s ? t(`attr.shown.${s.method}`, { label: s.label }) : "";
  }

  function chooseClass(row) {
    const index = Number(row.dataset.index);
    state.overlayClass = state.overlayClass === index ? null : index;
    renderTop();
    if (state.overlay) fetchOverlay();
    else toggleOverlay("gradcam");
  }

  // ---------- training ----------

  let trainTimer = null;
  let lastLive = 0;

  function setTrainButtons() {
    const busy = ["starting", "running", "stopping"].includes(state.train.phase);
    const allowed = !!(state.model && state.model.trainable_here);
    $("train-start").disabled = busy || !allowed;
    $("train-epochs").disabled = busy || !allowed;
    $("train-stop").disabled = state.train.phase !== "running";
  }

  function renderTrainStatus() {
    const s = state.train;
    const el2 = $("train-status");
    el2.dataset.state = s.phase;
    const last = s.losses.length ? fmt(s.losses[s.losses.length - 1]) : "—";
    // the server counts finished epochs; the reader counts the one under way, from 1
    const total = s.epochs || "?";
    const epoch = s.epochs ? Math.min(s.epoch + 1, s.epochs) : s.epoch + 1;
    const params = { epoch, total, it: s.iteration, loss: last, error: s.error,
      acc: s.accuracy === null ? "—" : pct(s.accuracy) };
    let text;
    if (s.phase === "idle") {
      text = state.model && !state.model.trainable_here ? t("train.unavailable") : t("train.idle");
    } else {
      text = t(`train.${s.phase}`, params);
    }
    el2.textContent = text;
    setTrainButtons();
  }

  async function trainStart() {
    clearMessage();
    const input = $("train-epochs");
    const epochs = Math.max(1, Math.min(50, Math.round(Number(input.value) || 1)));
    input.value = String(epochs);
    state.train = { phase: "starting", losses: [], iteration: 0, epoch: 0, accuracy: null,
      error: null, epochs };
    renderTrainStatus();
    drawLoss();
    try {
      await api("api/train/start", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ epochs, batch_size: 32, learning_rate: 0.001 }),
      });
    } catch (err) {
      state.train.phase = "idle";
      renderTrainStatus();
      showError("err.train", err);
      return;
    }
    state.train.phase = "running";
    renderTrainStatus();
    pollTrain(0);
  }

  async function trainStop() {
    clearTimeout(trainTimer);
    state.train.phase = "stopping";
    renderTrainStatus();
    try {
      await api("api/train/stop", { method: "POST" });
      applyTrainStatus(await api("api/train/status"));
    } catch (err) {
      showError("err.train", err);
    }
    endTraining("stopped");
  }

  function pollTrain(delay = TRAIN_POLL_MS) {
    clearTimeout(trainTimer);
    trainTimer = setTimeout(async () => {
      if (state.train.phase !== "running") return;
      let s;
      try {
        s = await api("api/train/status");
      } catch (err) {
        showError("err.train", err);
        pollTrain(TRAIN_POLL_MS * 4);
        return;
      }
      if (state.train.phase !== "running") return; // Stop was pressed meanwhile
      applyTrainStatus(s);
      if (s.running) {
        if (state.lastBlob && !draw.down && performance.now() - lastLive > TRAIN_LIVE_MS) {
          lastLive = performance.now();
          predict(state.lastBlob, state.lastSource, state.lastName, { quiet: true });
        }
        pollTrain();
      } else {
        endTraining(s.error ? "failed" : "done");
      }
    }, delay);
  }

  function applyTrainStatus(s) {
    const tr = state.train;
    tr.losses = Array.isArray(s.losses) ? s.losses : [];
    tr.iteration = s.iteration ?? tr.losses.length;
    tr.epoch = s.epoch ?? 0;
    tr.accuracy = s.test_accuracy ?? null;
    tr.error = s.error || null;
    if (s.epochs) tr.epochs = s.epochs; // if the server tells the epochs asked for
    drawLoss();
    renderTrainStatus();
  }

  function endTraining(phase) {
    clearTimeout(trainTimer);
    state.train.phase = state.train.error ? "failed" : phase;
    renderTrainStatus();
    if (state.train.error) showMessage("err.train", { detail: state.train.error });
    refreshAfterTraining();
  }

  // the model's weights changed: every view is recomputed for the same drawing
  async function refreshAfterTraining() {
    for (const view of state.views.values()) {
      view.loadedFor = null;
      view.loading = null;
    }
    if (state.lastBlob) await predict(state.lastBlob, state.lastSource, state.lastName);
    if (state.filters) showFilters(state.filters.layer);
  }

  function drawLoss() {
    const canvas = $("loss-curve");
    const losses = state.train.losses;
    const dpr = window.devicePixelRatio || 1;
    const cssW = canvas.clientWidth || 360;
    const cssH = canvas.clientHeight || 170;
    if (canvas.width !== Math.round(cssW * dpr)) canvas.width = Math.round(cssW * dpr);
    if (canvas.height !== Math.round(cssH * dpr)) canvas.height = Math.round(cssH * dpr);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    const m = { l: 44, r: 10, t: 16, b: 26 };
    const w = cssW - m.l - m.r;
    const h = cssH - m.t - m.b;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#555";
    ctx.strokeStyle = "#bbb";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(m.l, m.t);
    ctx.lineTo(m.l, m.t + h);
    ctx.lineTo(m.l + w, m.t + h);
    ctx.stroke();
    ctx.textAlign = "left";
    ctx.fillText(t("train.loss"), m.l + 4, m.t - 4);
    ctx.textAlign = "right";
    ctx.fillText(t("train.iteration"), m.l + w, m.t + h + 22);
    canvas.dataset.points = String(losses.length);
    if (!losses.length) {
      ctx.textAlign = "center";
      ctx.fillStyle = "#888";
      ctx.fillText(t("train.nodata"), m.l + w / 2, m.t + h / 2);
      return;
    }
    const finite = losses.filter(Number.isFinite);
    const top = Math.max(...finite, 1e-6) * 1.05;
    const n = losses.length;
    const X = (i) => m.l + (n === 1 ? w / 2 : (i / (n - 1)) * w);
    const Y = (v) => m.t + h - (Math.min(v, top) / top) * h;
    ctx.textAlign = "right";
    ctx.fillStyle = "#555";
    for (const f of [0, 0.5, 1]) {
      const v = top * f;
      ctx.fillText(v.toFixed(v < 1 ? 2 : 1), m.l - 4, Y(v) + 4);
      ctx.strokeStyle = "#eee";
      ctx.beginPath();
      ctx.moveTo(m.l + 1, Y(v));
      ctx.lineTo(m.l + w, Y(v));
      ctx.stroke();
    }
    ctx.textAlign = "left";
    ctx.fillText("0", m.l, m.t + h + 12);
    ctx.textAlign = "right";
    ctx.fillText(String(n), m.l + w, m.t + h + 12);
    const path = (values, colour, width) => {
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.beginPath();
      values.forEach((v, i) => (i ? ctx.lineTo(X(i), Y(v)) : ctx.moveTo(X(i), Y(v))));
      ctx.stroke();
    };
    path(losses, "rgba(59,111,182,0.35)", 1);
    let ema = losses[0];
    const smooth = losses.map((v) => (ema = 0.9 * ema + 0.1 * v));
    path(smooth, "#1f4e8c", 2);
  }

  // ---------- language ----------

  function setLanguage(lang) {
    i18n.setLang(lang);
    try {
      localStorage.setItem("svertka.lang", i18n.lang);
    } catch {
      // storage can be disabled; the choice then lasts for this page only
    }
    $("lang-en").setAttribute("aria-pressed", String(i18n.lang === "en"));
    $("lang-ru").setAttribute("aria-pressed", String(i18n.lang === "ru"));
    renderDrawTitle();
    renderInputCaption();
    renderTiming();
    renderOverlayCaption();
    renderMessage();
    for (const view of state.views.values()) renderLayerInfo(view);
    if (state.cellShown) renderCell();
    renderFiltersCaption();
    renderTrainStatus();
    drawLoss();
  }

  // ---------- start ----------

  function onInputHover(ev) {
    const img = $("input-view");
    if (!state.input || img.hidden) return;
    const r = img.getBoundingClientRect();
    const [H, W] = state.model.input_shape;
    const x = Math.floor(((ev.clientX - r.left) / r.width) * W);
    const y = Math.floor(((ev.clientY - r.top) / r.height) * H);
    const values = state.input.values;
    if (!values || y < 0 || x < 0 || y >= values.length || x >= values[0].length) return;
    $("input-frame").title = t("input.pixel", { y, x, v: fmt(values[y][x]) });
  }

  async function start() {
    setupDrawing();
    setLanguage(i18n.initialLang());
    $("lang-en").addEventListener("click", () => setLanguage("en"));
    $("lang-ru").addEventListener("click", () => setLanguage("ru"));
    $("upload").addEventListener("change", onUpload);
    $("show-gradcam").addEventListener("click", () => toggleOverlay("gradcam"));
    $("show-saliency").addEventListener("click", () => toggleOverlay("saliency"));
    $("show-filters").addEventListener("click", () => showFilters(null));
    $("overlay-opacity").addEventListener("input", (ev) => {
      $("overlay").style.opacity = String(ev.target.value / 100);
    });
    $("train-start").addEventListener("click", trainStart);
    $("train-stop").addEventListener("click", trainStop);
    $("input-frame").addEventListener("mousemove", onInputHover);
    $("top").addEventListener("click", (ev) => {
      const row = ev.target.closest(".top-row");
      if (row) chooseClass(row);
    });
    $("top").addEventListener("keydown", (ev) => {
      const row = ev.target.closest(".top-row");
      if (row && (ev.key === "Enter" || ev.key === " ")) {
        ev.preventDefault();
        chooseClass(row);
      }
    });
    if ("ResizeObserver" in window) new ResizeObserver(() => drawLoss()).observe($("loss-curve"));
    drawLoss();

    try {
      state.model = await api("api/model");
    } catch (err) {
      $("layers").textContent = "";
      showError("err.model", err);
      return;
    }
    const limit = Number(state.model.max_upload_mb); // present when the server says it
    if (limit > 0) state.maxUploadMb = limit;
    $("model-name").textContent = state.model.name;
    document.body.dataset.kind = state.model.kind;
    renderDrawTitle();
    buildLayers();
    renderTrainStatus();
    document.body.dataset.ready = "true";
    if (state.model.trainable_here) {
      try {
        const s = await api("api/train/status");
        if (s.running) {
          state.train.phase = "running";
          applyTrainStatus(s);
          pollTrain();
        } else if (s.losses && s.losses.length) {
          applyTrainStatus(s);
          state.train.phase = s.error ? "failed" : "done";
          renderTrainStatus();
        }
      } catch {
        // the status is a nicety here; a real failure shows when the reader presses Start
      }
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
