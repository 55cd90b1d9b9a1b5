// The dashboard: polls /api/status every two seconds (plain requests survive flaky venue Wi-Fi
// better than a held-open stream) and renders with textContent only: nothing from the server is HTML.
"use strict";

const POLL_MS = 2000;
let lastOk = 0;

function el(id) { return document.getElementById(id); }

function cell(row, text) {
  const td = document.createElement("td");
  td.dir = "auto";  // a name or diet in Arabic or Hebrew reads right to left, in its own cell
  td.textContent = text === null || text === undefined ? "–" : String(text);
  row.appendChild(td);
  return td;
}

function ms(value) { return value === null || value === undefined ? "–" : `${Math.round(value)} ms`; }

function sparkline(points, max) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 120 24");
  const line = document.createElementNS(ns, "polyline");
  const n = Math.max(points.length - 1, 1);
  line.setAttribute("points", points.map((v, i) => `${(i * 120) / n},${22 - (20 * v) / Math.max(max, 1)}`).join(" "));
  svg.appendChild(line);
  return svg;
}

function render(s) {
  el("verdict").textContent = s.verdict;
  // Replicas: each serves this page; the switches pressed here reach the one answering participants.
  const replicas = el("replicas");
  replicas.hidden = !s.replicas;
  if (s.replicas) {
    const seen = s.replicas.peers.map((p) => `${p.name} (${p.role})`).join(", ") || "–";
    replicas.textContent = `Replicas: this is ${s.replicas.this} (${s.replicas.role}) · ` +
      `${s.replicas.doing}: ${s.replicas.active || "nobody right now"} · seen: ${seen}`;
  }
  el("scoring-note").hidden = !s.scoring_note;
  el("scoring-note").textContent = s.scoring_note ? `NOTE: ${s.scoring_note}` : "";
  const banner = el("banner");
  banner.hidden = !s.banner;
  banner.textContent = s.banner || "";

  const providers = el("providers").querySelector("tbody");
  providers.replaceChildren();
  for (const [name, p] of Object.entries(s.providers)) {
    const row = document.createElement("tr");
    row.dataset.provider = name;
    cell(row, name);
    cell(row, p.configured ? p.state : "no key");
    cell(row, `${p.failures}/${p.threshold}`);
    cell(row, ms(p.p50_ms));
    cell(row, ms(p.p95_ms));
    const history = s.history.map((h) => h.failures[name] || 0);
    cell(row, "").appendChild(sparkline(history, p.threshold));
    providers.appendChild(row);
  }

  const replies = s.replies || {};
  el("reply-p50").textContent = ms(replies.p50_ms);
  el("reply-p95").textContent = ms(replies.p95_ms);
  el("reply-count").textContent = replies.replies || 0;
  el("participants").textContent = s.coupons.participants;

  const coupons = el("coupons").querySelector("tbody");
  coupons.replaceChildren();
  for (const [tier, issued] of Object.entries(s.coupons.issued)) {
    const row = document.createElement("tr");
    row.dataset.tier = tier;
    cell(row, tier);
    cell(row, issued).className = "issued";
    cell(row, s.coupons.redeemed[tier] || 0).className = "redeemed";
    cell(row, s.coupons.left[tier] === null ? "no limit" : s.coupons.left[tier]).className = "left";
    coupons.appendChild(row);
  }
  el("voided").textContent = s.coupons.voided;
  el("flagged").textContent = s.flagged;
  const tables = Object.entries(s.tables || {});  // each table's scans: redeemed, refused, conflicts
  el("tables").replaceChildren(...(tables.length ? tables : [["no scans yet", null]]).map(([name, counts]) => {
    const item = document.createElement("li");
    item.dataset.table = name;
    item.textContent = counts ? `${name}: ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(", ")}` : name;
    return item;
  }));
  el("table-conflicts").textContent = s.table_conflicts ?
    `${s.table_conflicts} code(s) served twice by tables that were offline: see \`status\`` : "";
  el("table-conflicts").hidden = !s.table_conflicts;

  const layers = el("layers").querySelector("tbody");
  layers.replaceChildren();
  for (const [key, count] of Object.entries(s.layer_usage)) {
    const [step, layer] = key.split(":");
    const row = document.createElement("tr");
    cell(row, step);
    cell(row, layer);
    cell(row, count);
    layers.appendChild(row);
  }

  el("rate-refused").textContent = s.rate_limit.refused;
  el("rate-senders").textContent = s.rate_limit.senders_limited;
  el("hedges").textContent = "hedges: " + Object.entries(s.hedges)
    .map(([chain, h]) => `${chain} ${h.silent + h.speculative} of ${h.calls} calls`).join(" · ");
  el("spend").textContent = "spend: " + (Object.entries(s.spend)
    .map(([name, e]) => `${name} $${e.cost_usd.toFixed(4)}`).join(" · ") || "none");
  renderMeals(s.plan, s.orders || {});
}

// The event plan (EVENT_PLAN): now / next, and the vendor's counts per meal, tier and diet.
function renderMeals(plan, orders) {
  el("meals").hidden = !plan;
  if (!plan) return;
  const now = plan.serving ? `now: ${plan.serving.name}` : "no meal now";
  el("plan-now").textContent = `${now}` + (plan.next ? ` · next: ${plan.next.name} at ${plan.next.starts.slice(11, 16)}` : "");
  const body = el("orders").querySelector("tbody");
  body.replaceChildren();
  for (const meal of plan.meals) {
    const tiers = orders[meal.id] || {};
    const names = Object.keys(tiers).length ? Object.keys(tiers) : ["–"];
    for (const tier of names) {
      const row = document.createElement("tr");
      row.dataset.meal = meal.id;
      cell(row, meal.name);
      cell(row, tier);
      cell(row, Object.entries(tiers[tier] || {}).map(([diet, n]) => `${n} ${diet}`).join(", ") || "none yet");
      const link = document.createElement("a");
      link.href = `/orders/${encodeURIComponent(meal.id)}`;
      link.textContent = "order sheet";
      const td = document.createElement("td");
      td.appendChild(link);
      row.appendChild(td);
      body.appendChild(row);
    }
  }
}

async function poll() {
  try {
    const response = await fetch("/api/status", { cache: "no-store" });
    if (response.status === 401 || response.status === 403) { location.href = "/login"; return; }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    await pollReviews();
    lastOk = Date.now();
    el("freshness").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    const ago = lastOk ? Math.round((Date.now() - lastOk) / 1000) : "?";
    el("freshness").textContent = `connection lost (last update ${ago} s ago), retrying…`;
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

// The story as text nodes, each suspected passage in a <mark>: never innerHTML, so a story's markup stays text.
function markedStory(story, passages) {
  const holder = document.createElement("p");
  holder.dir = "auto";  // a story in Arabic or Hebrew reads right to left
  holder.className = "story";
  const spans = [];
  for (const passage of passages) {
    let at = story.indexOf(passage);
    while (passage && at >= 0) { spans.push([at, at + passage.length]); at = story.indexOf(passage, at + passage.length); }
  }
  spans.sort((a, b) => a[0] - b[0]);
  let cursor = 0;
  for (const [start, end] of spans) {
    if (start < cursor) continue;
    holder.append(document.createTextNode(story.slice(cursor, start)));
    const mark = document.createElement("mark");
    mark.textContent = story.slice(start, end);
    holder.append(mark);
    cursor = end;
  }
  holder.append(document.createTextNode(story.slice(cursor)));
  return holder;
}

// The judges' queue, a page at a time (the server pages it: one entry per participant, oldest first).
let reviewPage = 1;
const openEntries = new Set(); // entries whose "+N more from the same participant" the organizer opened

// One waiting story: its line, the story (already on one line: the server shows newlines as ⏎), its buttons.
function reviewItem(item) {
  const head = document.createElement("p");
  head.textContent = `${item.id} · gave ${item.given_tier} (score ${item.given_score}) · judge's uncapped score ` +
    `${item.judge_score} → ${item.judge_tier} · ${item.why} · participant ${item.participant}`;
  const approve = document.createElement("button");
  approve.textContent = "Approve";
  approve.className = "approve";
  approve.addEventListener("click", () => control("approve", item.id).then(pollReviews));
  const reason = document.createElement("input");
  reason.maxLength = 200;
  reason.placeholder = "reason (optional)";
  reason.className = "reason";
  const reject = document.createElement("button");
  reject.textContent = "Reject";
  reject.className = "reject danger";
  reject.addEventListener("click", () => control("reject", `${item.id} ${reason.value}`.trim()).then(pollReviews));
  const row = document.createElement("div");
  row.className = "row";
  row.append(approve, reason, reject);
  return [head, markedStory(item.story, item.passages), row];
}

function renderReviews(queue) {
  el("reviews-count").textContent = `${queue.count} waiting`;
  el("reviews-page").textContent = queue.pages > 1 ?
    `page ${queue.page} of ${queue.pages} · ${queue.participants} participants, oldest first` : "";
  el("reviews-prev").hidden = queue.page <= 1;
  el("reviews-next").hidden = queue.page >= queue.pages;
  const list = el("reviews");
  list.replaceChildren();
  for (const item of queue.waiting) {
    const entry = document.createElement("li");
    entry.dataset.review = item.id;
    entry.append(...reviewItem(item));
    if (item.same_participant.length) {
      const more = document.createElement("details");
      more.open = openEntries.has(item.id);
      more.addEventListener("toggle", () => { if (more.open) openEntries.add(item.id); else openEntries.delete(item.id); });
      const summary = document.createElement("summary");
      summary.textContent = `+${item.same_participant.length} more from the same participant`;
      more.append(summary);
      for (const other of item.same_participant) {
        const box = document.createElement("div");
        box.className = "more-item";
        box.dataset.review = other.id;
        box.append(...reviewItem(other));
        more.append(box);
      }
      entry.append(more);
    }
    list.append(entry);
  }
}

async function pollReviews() {
  try {
    const response = await fetch(`/api/reviews?page=${reviewPage}`, { cache: "no-store" });
    if (!response.ok) return;
    const queue = await response.json();
    if (queue.page > queue.pages) { reviewPage = queue.pages; return pollReviews(); } // the queue got shorter
    renderReviews(queue);
  } catch (error) { /* the status poll says the connection is lost */ }
}

async function control(command, args = "") {
  const result = el("control-result");
  result.textContent = "…";
  try {
    const response = await fetch("/api/control", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Pizza": "1" },
      body: JSON.stringify({ command, args }),
    });
    const body = await response.json();
    result.textContent = body.result || body.error || `HTTP ${response.status}`;
  } catch (error) {
    result.textContent = `not sent: ${error}`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  el("pause").addEventListener("click", () => control("pause", el("pause-message").value));
  el("resume").addEventListener("click", () => control("resume"));
  el("force").addEventListener("click", () => {
    const layer = el("force-layer").value;
    control("force", layer === "off" ? "off" : `${layer} ${el("force-minutes").value}`.trim());
  });
  el("void").addEventListener("click", () => {
    const code = el("void-code").value.trim();
    if (code && confirm(`Void ${code}? It will fail at the table.`)) control("void", `${code} ${el("void-reason").value}`.trim());
  });
  el("reload").addEventListener("click", () => control("reload"));
  el("reset").addEventListener("click", () => control("reset"));
  el("reviews-prev").addEventListener("click", () => { reviewPage = Math.max(1, reviewPage - 1); pollReviews(); });
  el("reviews-next").addEventListener("click", () => { reviewPage += 1; pollReviews(); });
  poll();
});
