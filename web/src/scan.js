// The scanning page. A scan's path: a label read (camera or keyboard-wedge scanner) →
// judged on the device (parse, Ed25519 signature with the published keys, the list of
// re-issued labels) → kept in IndexedDB under a fresh scan id with the device's time →
// sent to the API when there is a network, the same scan id on every retry, so the
// server decides it exactly once → the server's decision shown beside it.

import { parse, verify } from "./label.js";
import * as queue from "./queue.js";
import { signal } from "./feedback.js";

const root = document.getElementById("scanner");
const $ = (id) => document.getElementById(id);
const build = root?.dataset.build || "/static/web/build";
const remembered = (name, fallback) => {
  try {
    return JSON.parse(localStorage.getItem(`serah.${name}`)) ?? fallback;
  } catch {
    return fallback;
  }
};
const remember = (name, value) => localStorage.setItem(`serah.${name}`, JSON.stringify(value));

// What the device knows without the network, refreshed whenever it has one.
let keys = remembered("keys", {});
let revoked = remembered("revocations", {});
let csrf = root?.dataset.csrf || "";
let scans = [];
let syncing = null;
let again = false;
let stopped = false; // signed out: nothing is sent until the page is loaded signed in again

function word(key) {
  const name = key.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
  return $("words").dataset[name] || "";
}

// A reason code (the API's, or the device's own finding) as the verdict people see.
const CATEGORY = {
  accepted: "accepted",
  recorded: "accepted",
  duplicate: "already",
  here_already: "already",
  already_in_consignment: "already",
  already_dispatched: "already",
  already_received: "already",
  belongs_to_other_consignment: "other_consignment",
  in_consignment: "other_consignment",
  not_expected: "other_consignment",
  label_forged: "forged",
  label_unknown_key: "forged",
  label_asset_mismatch: "forged",
  label_revoked: "revoked",
  label_malformed: "unknown",
  unknown_laptop: "unknown",
  unknown_consignment: "unknown",
};
const category = (code) => CATEGORY[code] || "rejected";
const reasonWords = (code, detail) => word(`r_${code}`) || `${word("r_server")} ${detail || code}`;
const uuid = () =>
  crypto.randomUUID?.() ??
  "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
    (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16),
  );

// --- what the scan does -------------------------------------------------------------

function mode() {
  return document.querySelector("input[name=mode]:checked")?.value || "dispatch";
}

// A mode whose route names a consignment (a warehouse's, or a transfer's at the giving
// office) scans into the one typed or linked in the consignment box.
function intoConsignment() {
  return chosen().route.includes("{consignment_id}");
}

function consignment() {
  return intoConsignment() ? $("consignment").value.trim() : "";
}

// The chosen mode's route and the fields it takes beside the scan, as the page declares
// them (services/gateway/web/scan.py): the script knows no route of its own.
function chosen() {
  const radio = document.querySelector("input[name=mode]:checked");
  return {
    route: radio?.dataset.route || "/api/v1/scans/dispatch",
    fields: (radio?.dataset.fields || "").split(" ").filter(Boolean),
  };
}

// Fields a route refuses to do without (the rest may stay empty).
const REQUIRED = new Set(["vendor", "reason"]);

function missingField() {
  return chosen().fields.find((f) => REQUIRED.has(f) && !$(f).value.trim());
}

function request(claimText) {
  const body = { scan_id: uuid(), label: claimText, scanned_at: new Date().toISOString() };
  const { route, fields } = chosen();
  if (intoConsignment()) return { url: route.replace("{consignment_id}", encodeURIComponent(consignment())), body };
  for (const f of fields) body[f] = $(f).value.trim();
  return { url: route, body };
}

function showMode() {
  const m = mode();
  const { fields } = chosen();
  $("consignment-form").hidden = !intoConsignment();
  for (const f of ["condition", "note", "vendor", "reason"]) $(`${f}-row`).hidden = !fields.includes(f);
  $("counts").hidden = !intoConsignment() || !consignment();
  remember("mode", m);
  countUp();
}

// --- one scan -----------------------------------------------------------------------

let last = { text: "", at: 0 };

async function scanned(raw, from) {
  const text = raw.trim();
  if (!text) return;
  // A camera sees the same label many times a second: one scan per label per 3 s.
  if (from === "camera" && text === last.text && Date.now() - last.at < 3000) return;
  last = { text, at: Date.now() };
  if (intoConsignment() && !consignment()) {
    verdictBanner({ category: "rejected", reason: "no_consignment_chosen", words: word("no_consignment") });
    signal("rejected");
    return;
  }
  if (missingField()) {
    verdictBanner({ category: "rejected", reason: "fields_missing", words: word("fill_fields") });
    signal("rejected");
    $(missingField()).focus();
    return;
  }
  const claim = parse(text);
  if (!claim) {
    show({ category: "unknown", words: word("r_label_malformed"), asset: "" }, true);
    return;
  }
  const found = Object.keys(keys).length ? await verify(claim, keys, build) : "unchecked";
  const local =
    found === "forged"
      ? "label_forged"
      : found === "unknown_key"
        ? "label_unknown_key"
        : (revoked[claim.asset] || 0) > claim.generation
          ? "label_revoked"
          : found;
  const place = { mode: mode(), consignment: consignment() };
  const seen = scans.find(
    (s) =>
      s.asset === claim.asset &&
      s.mode === place.mode &&
      s.consignment === place.consignment &&
      (s.state !== "done" || ["accepted", "already"].includes(s.category)),
  );
  if (seen && local === "genuine") {
    show({ category: "already", words: word("r_here_already"), asset: claim.asset }, true);
    return;
  }
  const { url, body } = request(claim.text);
  const scan = {
    ...place,
    scan_id: body.scan_id,
    seq: Date.now() + Math.random(),
    asset: claim.asset,
    url,
    body,
    local,
    state: "waiting",
    category: local === "genuine" || local === "unchecked" ? "waiting" : category(local),
    reason: local,
  };
  await queue.put(scan);
  scans.push(scan);
  // A bad label is flagged at once, network or not; a good one waits for the server's word.
  const flagged = scan.category !== "waiting";
  show(describe(scan), flagged || !navigator.onLine);
  render();
  sync();
}

function describe(scan) {
  let words;
  if (scan.state === "done") words = reasonWords(scan.reason, scan.detail);
  else if (scan.local === "genuine") words = word("r_genuine");
  else if (scan.local === "unchecked") words = word("unknown_keys");
  else words = word(`r_${scan.local}`);
  const shown = scan.state === "pending" && scan.category === "waiting" ? "pending" : scan.category;
  return { category: shown, words, asset: scan.asset, scan_id: scan.scan_id };
}

function show(verdict, sound) {
  verdictBanner(verdict);
  if (sound) signal(["forged", "revoked", "unknown"].includes(verdict.category) ? "bad" : verdict.category);
}

function verdictBanner(v) {
  const box = $("verdict");
  box.dataset.category = v.category;
  box.dataset.scanId = v.scan_id || "";
  $("verdict-title").textContent = word(v.category);
  $("verdict-reason").textContent = v.words;
  $("verdict-asset").textContent = v.asset || "";
}

// --- sending, exactly once per scan id --------------------------------------------------

function sync() {
  if (syncing) {
    again = true;
    return syncing;
  }
  syncing = (async () => {
    do {
      again = false;
      await sendAll();
    } while (again);
  })().finally(() => {
    syncing = null;
    render();
  });
  return syncing;
}

async function sendAll() {
  if (stopped || !navigator.onLine) return;
  for (const scan of scans.filter((s) => s.state !== "done")) {
    const ok = scan.state === "pending" ? await ask(scan) : await send(scan);
    if (!ok) {
      setTimeout(sync, 5000); // the network or the server is away: later, same scan ids
      return;
    }
  }
}

async function send(scan, retried = false) {
  let r;
  try {
    r = await fetch(scan.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(scan.body),
    });
  } catch {
    return false;
  }
  const body = await r.json().catch(() => ({}));
  if (r.status === 401) {
    stopped = true;
    verdictBanner({ category: "rejected", words: word("r_sign_in") });
    return false;
  }
  if (r.status === 403 && body.code === "csrf_token_missing" && !retried && (await freshToken())) {
    return send(scan, true);
  }
  if (r.status === 429 || r.status >= 500) return false;
  if (r.status === 202) {
    scan.state = "pending";
    scan.status_url = body.status_url;
    await queue.put(scan);
    return true;
  }
  if (r.ok) return decided(scan, body.decision === "duplicate" ? "duplicate" : "recorded", body);
  // A refusal: the decision's reason when the deciding service refused the scan, else
  // the door's (not allowed here, not this office): final either way.
  return decided(scan, body.code || `http_${r.status}`, body);
}

async function ask(scan) {
  try {
    const r = await fetch(scan.status_url, { credentials: "same-origin" });
    if (r.status === 404) return true; // not decided yet: asked again on the next round
    if (!r.ok) return false;
    const body = await r.json();
    return decided(scan, body.decision === "accepted" ? "recorded" : body.reason, body);
  } catch {
    return false;
  }
}

async function decided(scan, reason, body) {
  scan.state = "done";
  scan.reason = reason;
  scan.detail = body.detail || "";
  scan.decision = body.decision || "rejected";
  scan.category = category(reason);
  scan.decided_at = new Date().toISOString();
  await queue.put(scan);
  // The newest scan's decision is heard; older ones, synced after a time offline, are listed.
  const newest = scans[scans.length - 1] === scan;
  if (newest) show(describe(scan), scan.local === "genuine" || scan.local === "unchecked" || scan.category !== category(scan.local));
  if (scan.consignment) refreshConsignment(scan.consignment);
  return true;
}

// The page may have been loaded long ago (or from the service worker's copy): the
// current session's token is on a freshly loaded page.
async function freshToken() {
  try {
    const r = await fetch(location.pathname, { credentials: "same-origin", cache: "no-store" });
    const page = new DOMParser().parseFromString(await r.text(), "text/html");
    const token = page.getElementById("scanner")?.dataset.csrf;
    if (token && token !== csrf) {
      csrf = token;
      return true;
    }
  } catch {}
  return false;
}

// --- what the device carries for offline judgement ----------------------------------

async function refreshTrust() {
  try {
    const r = await fetch("/api/v1/label-keys", { credentials: "same-origin" });
    if (r.ok) {
      keys = Object.fromEntries((await r.json()).map((k) => [k.key_id, k.public_key]));
      remember("keys", keys);
    }
    const v = await fetch("/api/v1/label-revocations", { credentials: "same-origin" });
    if (v.ok) {
      revoked = Object.fromEntries((await v.json()).map((x) => [x.asset_id, x.generation]));
      remember("revocations", revoked);
    }
  } catch {}
  root.dataset.keys = String(Object.keys(keys).length);
}

const consignments = remembered("consignments", {});

async function refreshConsignment(id) {
  if (!id) return;
  try {
    const r = await fetch(`/api/v1/consignments/${encodeURIComponent(id)}`, { credentials: "same-origin" });
    if (r.ok) {
      consignments[id] = await r.json();
      remember("consignments", consignments);
    }
  } catch {}
  countUp();
}

// Expected vs scanned vs missing vs unexpected: the server's last word on the
// consignment, with the scans this device holds that the server has not answered yet.
function countUp() {
  const id = consignment();
  $("counts").hidden = !id;
  if (!id) return;
  const doc = consignments[id] || { expected: [], scanned: [], expected_count: null };
  const expected = new Set(doc.expected);
  const scanned = new Set(doc.scanned);
  const unexpected = new Set();
  for (const s of scans.filter((x) => x.consignment === id)) {
    const good = s.state === "done" ? ["accepted", "already"].includes(s.category) : s.category === "waiting";
    if (s.category === "other_consignment" || (good && expected.size && !expected.has(s.asset))) unexpected.add(s.asset);
    else if (good) scanned.add(s.asset);
  }
  const planned = expected.size || doc.expected_count;
  const missing = expected.size ? [...expected].filter((a) => !scanned.has(a)).length : planned ? Math.max(0, planned - scanned.size) : null;
  $("count-expected").textContent = planned ?? "–";
  $("count-scanned").textContent = scanned.size;
  $("count-missing").textContent = missing ?? "–";
  $("count-unexpected").textContent = unexpected.size;
}

// --- the list --------------------------------------------------------------------------

function render() {
  const list = $("scans");
  const items = scans.slice(-50).reverse();
  list.replaceChildren(
    ...items.map((s) => {
      const v = describe(s);
      const li = document.createElement("li");
      li.dataset.scanId = s.scan_id;
      li.dataset.state = s.state;
      li.dataset.category = v.category;
      li.dataset.asset = s.asset;
      li.dataset.mode = s.mode;
      const asset = document.createElement("span");
      asset.className = "asset";
      asset.textContent = s.asset;
      const title = document.createElement("strong");
      title.textContent = ` ${word(v.category)} `;
      const why = document.createElement("span");
      why.textContent = v.words;
      li.append(asset, title, why);
      return li;
    }),
  );
  $("waiting").textContent = scans.filter((s) => s.state !== "done").length;
  $("network").textContent = navigator.onLine ? word("online") : word("offline");
  countUp();
}

// --- the camera ------------------------------------------------------------------------

let stream = null;

async function detector() {
  if ("BarcodeDetector" in window) {
    try {
      if ((await window.BarcodeDetector.getSupportedFormats()).includes("qr_code")) {
        root.dataset.decoder = "native";
        return new window.BarcodeDetector({ formats: ["qr_code"] });
      }
    } catch {}
  }
  const library = await import(`${build}/decoder.js`);
  root.dataset.decoder = "library";
  return library.detector();
}

async function camera() {
  const button = $("camera-toggle");
  if (stream) {
    stream.getTracks().forEach((t) => t.stop());
    stream = null;
    $("camera").hidden = true;
    button.setAttribute("aria-pressed", "false");
    $("camera-state").textContent = word("camera_off");
    return;
  }
  signal("waiting"); // a tap starts the page's audio, which browsers allow only after one
  let found;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false });
    const video = $("camera");
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    found = await detector();
  } catch {
    stream = null;
    $("camera-state").textContent = word("no_camera");
    return;
  }
  button.setAttribute("aria-pressed", "true");
  $("camera-state").textContent = word("camera_on");
  const look = async () => {
    if (!stream) return;
    try {
      for (const code of await found.detect($("camera"))) await scanned(code.rawValue, "camera");
    } catch {}
    setTimeout(look, 150);
  };
  look();
}

// --- offline: the service worker -------------------------------------------------------

async function worker() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register(root.dataset.worker, { scope: location.pathname });
    const ready = await navigator.serviceWorker.ready;
    // Without a native decoder the camera needs the library: kept for offline use too.
    const keep = [];
    if (!("BarcodeDetector" in window)) keep.push(`${build}/decoder.js`, `${build}/zxing_reader.wasm`);
    if (!(await webCryptoEd25519())) keep.push(`${build}/ed25519.js`);
    if (keep.length) ready.active?.postMessage({ keep });
    root.dataset.offline = "ready";
  } catch {}
}

async function webCryptoEd25519() {
  try {
    await crypto.subtle.importKey("raw", new Uint8Array(32).fill(1), { name: "Ed25519" }, false, ["verify"]);
    return true;
  } catch {
    return false;
  }
}

// --- start ---------------------------------------------------------------------------------

async function start() {
  const params = new URLSearchParams(location.search);
  const wanted = params.get("mode") || remembered("mode", "");
  const radio = document.querySelector(`input[name=mode][value="${CSS.escape(wanted)}"]`);
  if (radio) radio.checked = true;
  $("consignment").value = params.get("consignment") || remembered("consignment", "");
  document.querySelectorAll("input[name=mode]").forEach((r) => r.addEventListener("change", showMode));
  $("consignment-form").addEventListener("submit", (e) => {
    e.preventDefault();
    remember("consignment", consignment());
    refreshConsignment(consignment());
    showMode();
    $("code").focus();
  });
  $("manual").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("code").value;
    $("code").value = "";
    scanned(text, "typed");
  });
  $("camera-toggle").addEventListener("click", camera);
  addEventListener("online", () => {
    render();
    refreshTrust();
    sync();
  });
  addEventListener("offline", render);
  scans = await queue.all();
  showMode();
  render();
  $("code").focus();
  root.dataset.ready = "true";
  if (navigator.onLine) {
    await refreshTrust();
    await refreshConsignment(consignment());
    sync();
  }
  worker();
}

if (root) start();
