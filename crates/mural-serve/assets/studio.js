"use strict";
// Every piece of prompt text goes in through textContent: text, never markup.
const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v; else e.setAttribute(k, v);
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
// With a token, /files/ needs the Authorization header too, which an
// <img src> cannot send: such images are fetched and shown as blob: URLs.
const image = (url, props = {}) => {
  const img = el("img", props);
  if (!token()) { img.src = url; return img; }
  fetch(url, { headers: headers() })
    .then(r => { if (!r.ok) throw new Error("HTTP " + r.status); return r.blob(); })
    .then(b => { img.src = URL.createObjectURL(b); img.addEventListener("load", () => URL.revokeObjectURL(img.src), { once: true }); })
    .catch(() => { img.alt = "(the image could not be loaded)"; });
  return img;
};
const status = (msg, error = false) => { $("status").textContent = msg; $("status").className = error ? "error" : ""; };

async function api(path, body) {
  const r = await fetch(path, body === undefined ? { headers: headers() } : { method: "POST", headers: headers(), body: JSON.stringify(body) });
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
    fill($("target"), o.targets.map(t => [t, t]), "dalle");
    const styles = [["", "(none)"], ...o.styles.map(s => [s.id, s.id])];
    fill($("style"), styles, "");
    fill($("writer"), o.writers.map(w => [w, w]), "builtin");
    fill($("painter"), o.painters.map(p => [p, p]), o.default_painter);
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

function showPrompts(prompts) {
  $("prompts").replaceChildren(...prompts.map(p => {
    const li = el("li", {}, el("p", { class: "prompt-text", text: p.prompt }));
    if (p.negative_prompt) li.append(el("p", { class: "negative", text: "Negative: " + p.negative_prompt }));
    li.append(el("div", { class: "row" }, copyButton(p.prompt), el("span", { class: "negative", text: "seed " + p.seed })));
    return li;
  }));
}

function addImage(img) {
  const fig = el("li", {},
    image(img.url, { alt: img.prompt, width: img.width, height: img.height }),
    el("p", { class: "caption", text: "seed " + img.seed }));
  $("images").append(fig);
}

async function generate(body) {
  $("go").disabled = true;
  $("prompts").replaceChildren();
  $("images").replaceChildren();
  status("Writing…");
  try {
    const job = await api("/v1/jobs", body);
    const q = token() ? "?token=" + encodeURIComponent(token()) : "";
    const es = new EventSource("/v1/jobs/" + encodeURIComponent(job.id) + "/events" + q);
    es.addEventListener("prompts", (e) => { showPrompts(JSON.parse(e.data).prompts); status("Painting…"); });
    es.addEventListener("image", (e) => addImage(JSON.parse(e.data)));
    es.addEventListener("done", (e) => { es.close(); status("Done: run " + JSON.parse(e.data).run_id + " is in the gallery."); $("go").disabled = false; loadGallery(); });
    es.addEventListener("error", (e) => {
      es.close(); $("go").disabled = false;
      let msg = "the job stopped";
      try { msg = JSON.parse(e.data).error.message; } catch {}
      status(msg, true);
    });
  } catch (e) { status(e.message, true); $("go").disabled = false; }
}

$("make").addEventListener("submit", (e) => {
  e.preventDefault();
  const idea = $("idea").value.trim();
  if (!idea) { status("Type an idea first.", true); $("idea").focus(); return; }
  generate({
    idea, target: $("target").value, style: $("style").value || null, writer: $("writer").value,
    painter: $("painter").value, n: Number($("n").value) || 1, size: $("size").value,
  });
});

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
  $("detail-images").replaceChildren(...run.images.map(i => image(i.url, { alt: i.prompt })));
  $("detail-recipe").textContent = JSON.stringify(run.recipe, null, 2);
  $("detail").showModal();
  $("rerun").focus();
}
function again(newSeed) {
  const r = current.recipe || {};
  $("detail").close();
  generate({
    idea: r.idea || current.idea, target: r.target, style: r.style || null, painter: r.painter,
    n: r.n || 1, size: (r.width && r.height) ? r.width + "x" + r.height : undefined,
    seed: newSeed ? Math.floor(Math.random() * 4294967295) : r.seed,
  });
}
$("rerun").addEventListener("click", () => again(false));
$("vary").addEventListener("click", () => again(true));
$("close").addEventListener("click", () => $("detail").close());

init();
