// --- offline: the snapshot, the queue of served codes, the sync ---------------------------------
// The venue's network fails at meal time: the table keeps judging from a snapshot of the meal's
// coupons (keyed hashes, never the codes), queues what it serves in IndexedDB with a nonce each,
// and sends the queue when the agent answers again (each nonce is applied once).
const DB_NAME = "pizza-table";
let snapshot = null;  // {key, meal, serving, made_at, entries: {hash: {tier, diet, group, name, redeemed}}}
let offlineSince = null;  // a Date while the agent cannot be reached
const servedOffline = new Set();  // hashes served from the snapshot since it was taken

function idb() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => {
      open.result.createObjectStore("scans", { keyPath: "nonce" });
      open.result.createObjectStore("state");
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function inStore(name, mode, action) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(name, mode);
    const request = action(tx.objectStore(name));
    tx.oncomplete = () => resolve(request ? request.result : undefined);
    tx.onerror = () => reject(tx.error);
  });
}

const queuedScans = () => inStore("scans", "readonly", (s) => s.getAll());
const queueScan = (scan) => inStore("scans", "readwrite", (s) => s.put(scan));
const dropScan = (nonce) => inStore("scans", "readwrite", (s) => s.delete(nonce));
const keepSnapshot = (snap) => inStore("state", "readwrite", (s) => s.put(snap, "snapshot"));
const keptSnapshot = () => inStore("state", "readonly", (s) => s.get("snapshot"));

async function codeHash(code) {
  const data = new TextEncoder().encode(`${snapshot.key}:${code.trim().toUpperCase()}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, 32);
}

function nonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function refreshSnapshot() {
  try {
    const response = await fetch("/api/table/snapshot", { headers: { "X-Pizza": "1" }, cache: "no-store" });
    if (response.status === 401) { location.href = "/login"; return; }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    snapshot = await response.json();
    showConflicts(snapshot.conflicts || []);  // the ones this table took part in, first or second
    servedOffline.clear();
    for (const scan of await queuedScans()) servedOffline.add(scan.hash);  // not synced yet: still served
    await keepSnapshot(snapshot);
    await backOnline();
  } catch (error) {
    wentOffline();
  }
}

function wentOffline() {
  if (!offlineSince) offlineSince = new Date();
  showOffline();
}

async function backOnline() {
  if (offlineSince) offlineSince = null;
  await syncQueue();
  showOffline();
}

async function showOffline() {
  const banner = el("offline");
  const waiting = (await queuedScans()).length;
  if (!offlineSince && !waiting) { banner.hidden = true; return; }
  const since = offlineSince ? `OFFLINE since ${offlineSince.toTimeString().slice(0, 5)} · ` : "";
  const list = snapshot ? `list from ${snapshot.made_at} · ` : "no list yet · ";
  banner.textContent = `${since}${list}${waiting} scan${waiting === 1 ? "" : "s"} waiting`;
  banner.hidden = false;
}

async function judgeOffline(code) {
  if (!snapshot) return { colour: "red", headline: "OFFLINE: no list yet, cannot check", state: "error" };
  const hash = await codeHash(code);
  const entry = snapshot.entries[hash];
  if (!entry) return { colour: "red", headline: "NOT A VALID CODE (offline list)", state: "invalid" };
  const view = { tier: entry.tier, name: entry.name || null, diet: entry.diet || null, group: entry.group || null, hash };
  const queued = (await queuedScans()).some((scan) => scan.hash === hash);  // served here before a reload
  if (entry.redeemed || servedOffline.has(hash) || queued) {
    return { ...view, colour: "red", headline: "ALREADY REDEEMED (offline list)", state: "already_redeemed" };
  }
  return { ...view, colour: "green", headline: `REDEEM ✓ ${entry.tier} (offline)`, state: "valid", offline: true };
}

async function redeemOffline(code, view) {
  servedOffline.add(view.hash);
  await queueScan({ nonce: nonce(), code, hash: view.hash, at: Date.now() / 1000, served: true });
  await showOffline();
  return { ...view, headline: `REDEEMED ✓ ${view.tier} (offline: sent when back)`, state: "redeemed" };
}

let syncing = null;  // one sync at a time: the interval, the "online" event and a scan may all ask for one

async function syncQueue() {
  if (!syncing) syncing = sendQueue().finally(() => { syncing = null; });
  return syncing;
}

async function sendQueue() {
  const scans = (await queuedScans()).sort((a, b) => a.at - b.at);
  if (!scans.length) return;
  const response = await fetch("/api/table/sync", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Pizza": "1" },
    body: JSON.stringify({ scans: scans.map(({ nonce, code, at, served }) => ({ nonce, code, at, served })) }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const conflicts = [];
  for (const result of (await response.json()).results) {
    await dropScan(result.nonce);
    if (result.result === "conflict") conflicts.push(result);
  }
  if (conflicts.length) showConflicts(conflicts);
}

const conflictsShown = new Set();  // by the nonce of the second serving: each conflict once on screen

function showConflicts(conflicts) {
  const list = el("conflicts");
  for (const conflict of conflicts) {
    if (conflictsShown.has(conflict.nonce)) continue;
    conflictsShown.add(conflict.nonce);
    const item = document.createElement("li");
    if (conflict.first !== undefined) {  // from this table's own sync
      const first = conflict.first && conflict.first.table ? ` first served at table ${conflict.first.table}` : "";
      item.textContent = `CONFLICT: ${conflict.line.replace(/^REFUSED /, "")}${first}; served here too while offline`;
    } else {  // from the snapshot: a conflict this table took part in
      item.textContent = `CONFLICT: ${conflict.line}`;
    }
    list.append(item);
  }
  if (conflictsShown.size) list.hidden = false;
}
