// The food-table page: a typed code, a USB barcode scanner (it types, then Enter) or a QR scanned
// with the device camera (BarcodeDetector where the browser has it, the vendored jsQR otherwise).
"use strict";

function el(id) { return document.getElementById(id); }

let current = null;  // the code on screen
let stream = null;

async function post(path, code) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Pizza": "1" },
    body: JSON.stringify({ code }),
  });
  if (response.status === 401) { location.href = "/login"; throw new Error("logged out"); }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function show(view) {
  const screen = el("result");
  screen.className = `result-screen ${view.colour}`;
  screen.dataset.state = view.state;
  el("headline").textContent = view.headline;
  el("mark").textContent = view.colour === "green" ? "✓" : "✗";  // not colour alone: a symbol, and the words
  el("person").textContent = view.name || "";  // roster mode: the name on the badge
  el("person").hidden = !view.name;
  el("diet").textContent = view.diet ? `diet: ${view.diet}` : "";  // the kitchen's kind, as ordered
  el("diet").hidden = !view.diet;
  el("group").textContent = view.group ? `pickup group: ${view.group}` : "";
  el("group").hidden = !view.group;
  el("warning").textContent = view.warning || "";  // a pickup group not due yet
  el("warning").hidden = !view.warning;
  el("redeem").hidden = view.state !== "valid";
  screen.hidden = false;
  (view.state === "valid" ? el("redeem") : el("next")).focus();
}

// Which meal this table serves: named before the first scan, refreshed every minute (a meal ends).
async function serving() {
  try {
    const response = await fetch("/api/table/meal", { headers: { "X-Pizza": "1" } });
    if (response.status === 401) { location.href = "/login"; return; }
    const body = await response.json();
    const zone = body.timezone ? ` · times in ${body.timezone}` : "";
    el("serving").textContent = `Serving: ${body.serving}${zone}`;
    el("serving").dataset.meal = body.meal || "";
  } catch (error) { /* the next refresh tries again; a scan still works */ }
}

function showError(message) {
  show({ colour: "red", headline: message, state: "error" });
}

let currentView = null;
const verdictMs = [];  // what the screen shows for the code (offline: judged from the snapshot)

// A fetch that never reached the agent (the network is down) rejects with a TypeError; an HTTP error
// from the agent is an Error with its message.
const unreachable = (error) => error instanceof TypeError;

async function check(code) {
  code = code.trim();
  if (!code) return;
  current = code;
  try {
    currentView = await post("/api/table/check", code);
    show(currentView);
    refreshSnapshot();
  } catch (error) {
    if (!unreachable(error)) { showError(`NOT CHECKED: ${error.message}`); return; }
    const started = performance.now();
    wentOffline();
    currentView = await judgeOffline(code);
    show(currentView);
    verdictMs.push(performance.now() - started);  // the offline verdict's time (BENCHMARKS.md)
  }
}

async function redeem() {
  if (!current) return;
  el("redeem").disabled = true;
  try {
    show(await post("/api/table/redeem", current));
    refreshSnapshot();
  } catch (error) {
    if (unreachable(error) && currentView && currentView.offline) show(await redeemOffline(current, currentView));
    else showError(`NOT REDEEMED: ${error.message}`);
  }
  el("redeem").disabled = false;
}

function next() {
  el("result").hidden = true;
  current = null;
  el("code").value = "";
  el("code").focus();
}

// --- the camera ---------------------------------------------------------------------------------
async function decoder() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const detector = new BarcodeDetector({ formats: ["qr_code"] });
        return async (video) => (await detector.detect(video))[0]?.rawValue || null;
      }
    } catch (error) { /* fall through to jsQR */ }
  }
  const canvas = el("frame");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (video) => {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    if (!canvas.width) return null;
    context.drawImage(video, 0, 0);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    return window.jsQR(image.data, image.width, image.height)?.data || null;
  };
}

function stopCamera() {
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  el("camera").hidden = true;
}

async function scan() {
  const status = el("scan-status");
  if (!navigator.mediaDevices?.getUserMedia) {
    status.textContent = "No camera here (the page needs https or localhost): type the code or use a USB scanner.";
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch (error) {
    status.textContent = `Camera not available (${error.name}): type the code or use a USB scanner.`;
    return;
  }
  const video = el("camera");
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  status.textContent = "Hold the QR code in front of the camera…";
  const read = await decoder();
  const started = Date.now();
  while (stream && Date.now() - started < 60000) {
    const text = await read(video).catch(() => null);
    if (text) {
      stopCamera();
      status.textContent = "";
      el("code").value = text;
      return check(text);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  stopCamera();
  status.textContent = "No QR code seen: try again, or type it.";
}

document.addEventListener("DOMContentLoaded", () => {
  el("check-form").addEventListener("submit", (event) => { event.preventDefault(); check(el("code").value); });
  el("redeem").addEventListener("click", redeem);
  el("next").addEventListener("click", next);
  el("scan").addEventListener("click", scan);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !el("result").hidden) next();
  });
  serving();
  setInterval(serving, 60000);  // the meal changes on the event's clock
  keptSnapshot().then((kept) => { if (kept && !snapshot) snapshot = kept; }).finally(refreshSnapshot);
  setInterval(refreshSnapshot, 5000);  // the list a table judges by when offline, and the queue sent when back
  window.addEventListener("online", refreshSnapshot);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/table-sw.js").catch(() => {});
});
