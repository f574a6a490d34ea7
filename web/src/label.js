// A scanned label, judged on the device as events/labels.py judges it on the server:
// exactly one spelling is a label, and its Ed25519 signature over SERAH1|ASSET|GEN|KID
// must verify with a published key. Nothing here trusts the network.

const LABEL = new RegExp(
  "^(HTTPS?://[A-Z0-9](?:[A-Z0-9-]*[A-Z0-9])?(?:\\.[A-Z0-9](?:[A-Z0-9-]*[A-Z0-9])?)*" +
    "(?::[1-9][0-9]{0,4})?(?:/[A-Za-z0-9._~-]+)*)" +
    "/L/(SRH[0-9A-HJKMNP-TV-Z]{10})/([1-9][0-9]{0,2})([A-Z][A-Z0-9]{0,7})/([A-Z2-7]{103})$",
);
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** The label's parts, or null for anything that is not exactly a Serah label. */
export function parse(text) {
  const m = LABEL.exec(text);
  if (!m) return null;
  const signature = base32(m[5]);
  if (!signature) return null;
  return { text, asset: m[2], generation: Number(m[3]), keyId: m[4], signature };
}

// RFC 4648 base-32 without padding; the last character's 3 unused bits must be zero,
// so no second spelling of the same signature passes (as on the server).
function base32(chars) {
  const out = new Uint8Array(64);
  let bits = 0, value = 0, n = 0;
  for (const c of chars) {
    value = (value << 5) | B32.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >> bits) & 0xff;
    }
  }
  return n === 64 && (value & ((1 << bits) - 1)) === 0 ? out : null;
}

export function b64url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

let fallback = null;
async function verifyWithLibrary(build, key, sig, msg) {
  fallback ??= import(`${build}/ed25519.js`);
  return (await fallback).verify(sig, msg, key);
}

/**
 * "genuine", "forged" (a trusted key did not sign exactly this) or "unknown_key".
 * WebCrypto's Ed25519 where the browser has it (and the page is a secure context),
 * else the bundled library.
 */
export async function verify(claim, keys, build) {
  const raw = keys[claim.keyId];
  if (!raw) return "unknown_key";
  const key = b64url(raw);
  const msg = new TextEncoder().encode(`SERAH1|${claim.asset}|${claim.generation}|${claim.keyId}`);
  let ok;
  try {
    const k = await crypto.subtle.importKey("raw", key, { name: "Ed25519" }, false, ["verify"]);
    ok = await crypto.subtle.verify({ name: "Ed25519" }, k, claim.signature, msg);
  } catch {
    ok = await verifyWithLibrary(build, key, claim.signature, msg);
  }
  return ok ? "genuine" : "forged";
}
