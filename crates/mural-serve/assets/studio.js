"use strict";
// Every piece of prompt text goes in through textContent (or a form
// field's value): text, never markup.
const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v;
    else if (k === "value") e.value = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};
const token = () => localStorage.getItem("mural-token") || "";
const headers = () => {
  const h = { "content-type": "application/json" };
  if (token()) h.authorization = "Bearer " + token();
  return h;
};
// An image's bytes as a blob: URL (fetched with the Authorization header,
// which an <img src> cannot send when files need the token).
const blobUrl = (url) => fetch(url, { headers: headers() })
  .then(r => { if (!r.ok) throw new Error("HTTP " + r.status); return r.blob(); })
  .then(b => URL.createObjectURL(b));
const image = (url, props = {}) => {
  const img = el("img", props);
  if (!token()) { img.src = url; return img; }
  blobUrl(url)
    .then(u => { img.src = u; img.addEventListener("load", () => URL.revokeObjectURL(u), { once: true }); })
    .catch(() => { img.alt = "(the image could not be loaded)"; });
  return img;
};
const status = (msg, error = false) => { $("status").textContent = msg; $("status").className = error ? "error" : ""; };

async function api(path, body, method) {
  const init = { headers: headers() };
  if (body !== undefined) { init.method = "POST"; init.body = JSON.stringify(body); }
  if (method) init.method = method;
  const r = await fetch(path, init);
  const data = await r.json().catch(() => ({}));
  if (r.status === 401) { $("token-box").hidden = false; $("token").focus(); }
  if (!r.ok) throw new Error((data.error && data.error.message) || ("HTTP " + r.status));
  return data;
}

function fill(select, items, chosen) {
  select.replaceChildren(...items.map(([value, label]) => {
    const o = el("option", { value, text: label });
    if (value === chosen) o.selected = true;
    return o;
  }));
}

async function init() {
  $("token").addEventListener("change", () => { localStorage.setItem("mural-token", $("token").value); loadOptions(); loadGallery(); });
  await loadOptions();
  await loadGallery();
}

async function loadOptions() {
  try {
    const o = await api("/v1/options");
    // mural.toml's [defaults] choose where each picker starts
    fill($("target"), o.targets.map(t => [t, t]), o.default_target || "dalle");
    const styles = [["", "(none)"], ...o.styles.map(s => [s.id, s.id])];
    fill($("style"), styles, o.default_style || "");
    fill($("writer"), o.writers.map(w => [w, w]), o.default_writer || "builtin");
    fill($("painter"), o.painters.map(p => [p, p]), o.default_painter);
    if (o.default_size) { $("size").value = o.default_size; $("size").dispatchEvent(new Event("input")); }
    if (o.default_n) $("n").value = String(o.default_n);
  } catch (e) { status(e.message, true); }
}

function copyButton(text) {
  const b = el("button", { type: "button", class: "secondary", text: "Copy" });
  b.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(text); b.textContent = "Copied"; }
    catch { b.textContent = "Copy failed"; }
    setTimeout(() => (b.textContent = "Copy"), 1500);
  });
  return b;
}

// ------------------------------------------------------------- the form

const seedValue = () => { const v = $("seed").value.trim(); return v === "" ? null : Number(v); };
const negativeValue = () => $("negative").value.trim() || null;

function formRequest() {
  return {
    idea: $("idea").value.trim(), target: $("target").value, style: $("style").value || null,
    writer: $("writer").value, painter: $("painter").value, n: Number($("n").value) || 1,
    size: $("size").value.trim(), seed: seedValue(), negative: negativeValue(),
  };
}

$("aspect").addEventListener("change", () => { if ($("aspect").value) $("size").value = $("aspect").value; });
$("size").addEventListener("input", () => {
  const match = [...$("aspect").options].find(o => o.value === $("size").value.trim());
  $("aspect").value = match ? match.value : "";
});

// Ctrl+Enter (Cmd+Enter on a Mac) in the idea box generates.
$("idea").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("make").requestSubmit(); }
});

$("make").addEventListener("submit", (e) => {
  e.preventDefault();
  const body = formRequest();
  if (!body.idea) { status("Type an idea first.", true); $("idea").focus(); return; }
  generate(body);
});

// Write only: the prompts, each editable and paintable as written.
$("write").addEventListener("click", async () => {
  const r = formRequest();
  if (!r.idea) { status("Type an idea first.", true); $("idea").focus(); return; }
  status("Writing…");
  $("prompts").replaceChildren();
  $("images").replaceChildren();
  try {
    const out = await api("/v1/prompts", { idea: r.idea, target: r.target, style: r.style, writer: r.writer, n: r.n, seed: r.seed });
    showPrompts(out.prompts);
    status("Written: edit a prompt if you like, then paint it as written.");
  } catch (e) { status(e.message, true); }
});

// ---------------------------------------------------------- the prompts

function showPrompts(prompts) {
  $("prompts").replaceChildren(...prompts.map(promptItem));
}

function promptItem(p) {
  const text = el("p", { class: "prompt-text", text: p.prompt });
  const li = el("li", {}, text);
  if (p.negative_prompt) li.append(el("p", { class: "negative", text: "Negative: " + p.negative_prompt }));
  const edit = el("button", { type: "button", class: "secondary edit", text: "Edit" });
  const row = el("div", { class: "row" }, copyButton(p.prompt), edit, el("span", { class: "negative", text: "seed " + p.seed }));
  li.append(row);
  edit.addEventListener("click", () => {
    const area = el("textarea", { class: "prompt-edit", "aria-label": "Prompt to paint as written", value: p.prompt });
    const paint = el("button", { type: "button", class: "paint-written", text: "Paint as written" });
    paint.addEventListener("click", () => {
      const prompt = area.value.trim();
      if (!prompt) { status("The prompt is empty.", true); area.focus(); return; }
      const r = formRequest();
      // the written negative, plus the form's
      const negative = [p.negative_prompt, r.negative].filter(Boolean).join(", ") || null;
      generate({ idea: prompt, rewrite: false, target: r.target, painter: r.painter, n: 1, size: r.size, seed: p.seed, negative }, { keepPrompts: true });
    });
    text.replaceWith(area);
    edit.replaceWith(paint);
    area.focus();
  });
  return li;
}

// ----------------------------------------------------------- the images

function addImage(img) {
  const pic = image(img.url, { alt: img.prompt, width: img.width, height: img.height, class: "zoom", tabindex: "0" });
  pic.addEventListener("click", () => enlarge(img));
  pic.addEventListener("keydown", (e) => { if (e.key === "Enter") enlarge(img); });
  $("images").append(el("li", {}, pic, el("p", { class: "caption", text: "seed " + img.seed })));
}

// The lightbox: the full image and a download link (a blob: URL, fetched
// with the token when one is needed; released when the box closes).
let shown = null;
async function enlarge(img) {
  $("lightbox-caption").textContent = img.prompt || "";
  $("lightbox-img").alt = img.prompt || "";
  $("download").setAttribute("download", "mural-" + (img.id ?? "image") + ".png");
  $("lightbox").showModal();
  try {
    const u = await blobUrl(img.url);
    if (shown) URL.revokeObjectURL(shown);
    shown = u;
    $("lightbox-img").src = u;
    $("download").href = u;
  } catch (e) { $("lightbox-caption").textContent = "(the image could not be loaded: " + e.message + ")"; }
}
$("lightbox-close").addEventListener("click", () => $("lightbox").close());
$("lightbox").addEventListener("close", () => {
  if (shown) { URL.revokeObjectURL(shown); shown = null; }
  $("lightbox-img").removeAttribute("src");
  $("download").href = "#";
});

// ------------------------------------------------------------- the jobs

let running = null;
function progress(kept, total) {
  $("progress").textContent = total ? kept + " / " + total : "";
  $("progress-bar").hidden = !total;
  $("progress-bar").max = total || 1;
  $("progress-bar").value = kept;
}
function busy(on) {
  $("go").disabled = on; $("write").disabled = on;
  $("cancel").hidden = !on; $("cancel").disabled = false;
}

async function generate(body, opts = {}) {
  busy(true);
  if (!opts.keepPrompts) $("prompts").replaceChildren();
  $("images").replaceChildren();
  status("Writing…");
  try {
    follow(await api("/v1/jobs", body), opts.keepPrompts);
  } catch (e) { status(e.message, true); busy(false); }
}

// Listens to a job's events: prompts, each image with "kept / total",
// then done, cancelled or error.
function follow(job, keepPrompts = false) {
  running = job;
  progress(0, job.n);
  const q = token() ? "?token=" + encodeURIComponent(token()) : "";
  const es = new EventSource("/v1/jobs/" + encodeURIComponent(job.id) + "/events" + q);
  const end = () => { es.close(); running = null; busy(false); loadGallery(); };
  es.addEventListener("prompts", (e) => {
    const p = JSON.parse(e.data).prompts;
    if (!keepPrompts) showPrompts(p);
    progress(0, p.length);
    status("Painting…");
  });
  es.addEventListener("image", (e) => { const i = JSON.parse(e.data); addImage(i); progress(i.kept, i.total); });
  es.addEventListener("done", (e) => { const d = JSON.parse(e.data); end(); status("Done: run " + d.run_id + " is in the gallery."); });
  es.addEventListener("cancelled", (e) => {
    const d = JSON.parse(e.data); end();
    status("Cancelled: kept " + d.kept + " of " + d.total + (d.run_id ? " (run " + d.run_id + ")." : "."));
  });
  es.addEventListener("error", (e) => {
    let msg = "the job stopped";
    try { msg = JSON.parse(e.data).error.message; } catch {}
    end(); status(msg, true);
  });
}

$("cancel").addEventListener("click", async () => {
  if (!running) return;
  $("cancel").disabled = true;
  status("Cancelling…");
  try { await api("/v1/jobs/" + encodeURIComponent(running.id), undefined, "DELETE"); }
  catch (e) { status(e.message, true); }
});

// ---------------------------------------------------------- the gallery

async function loadGallery() {
  try {
    const q = $("search").value.trim();
    const g = await api("/v1/gallery?limit=60" + (q ? "&search=" + encodeURIComponent(q) : ""));
    $("gallery").replaceChildren(...g.runs.filter(r => r.images.length).map(run => {
      const first = run.images[0];
      const card = el("button", { type: "button", class: "card", "aria-label": "Run " + run.id + ": " + run.idea },
        image(first.url, { alt: "" }),
        el("p", { class: "caption", text: "#" + run.id + " · " + run.idea }));
      card.addEventListener("click", () => openRun(run));
      return el("li", { "data-run": String(run.id) }, card);
    }));
  } catch (e) { status(e.message, true); }
}

$("gallery-search").addEventListener("submit", (e) => { e.preventDefault(); loadGallery(); });

let current = null;
function openRun(run) {
  current = run;
  $("detail-h").textContent = "Run #" + run.id;
  $("detail-idea").textContent = run.idea;
  $("detail-images").replaceChildren(...run.images.map(i => {
    const pic = image(i.url, { alt: i.prompt, class: "zoom", tabindex: "0" });
    pic.addEventListener("click", () => enlarge(i));
    pic.addEventListener("keydown", (e) => { if (e.key === "Enter") enlarge(i); });
    return pic;
  }));
  $("detail-recipe").textContent = JSON.stringify(run.recipe, null, 2);
  $("detail").showModal();
  $("rerun").focus();
}
// Re-run paints the recorded prompts again, as written.
$("rerun").addEventListener("click", async () => {
  const id = current.id;
  $("detail").close();
  busy(true);
  $("prompts").replaceChildren();
  $("images").replaceChildren();
  status("Re-running run " + id + "…");
  try { follow(await api("/v1/runs/" + id + "/rerun", {})); }
  catch (e) { status(e.message, true); busy(false); }
});
// Vary writes the idea again with a new seed.
$("vary").addEventListener("click", () => {
  const r = current.recipe || {};
  $("detail").close();
  generate({
    idea: r.idea || current.idea, target: r.target, style: r.style || null, painter: r.painter,
    n: r.n || 1, size: (r.width && r.height) ? r.width + "x" + r.height : undefined,
    seed: Math.floor(Math.random() * 4294967295), negative: r.negative || null,
  });
});
$("close").addEventListener("click", () => $("detail").close());

init();
