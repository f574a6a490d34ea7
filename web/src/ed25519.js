// Ed25519 for browsers whose WebCrypto lacks it (or pages outside a secure context, where
// WebCrypto is absent): loaded only then. Strict RFC 8032 checks, as the server makes them.
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";

ed.hashes.sha512 = sha512;

export function verify(signature, message, publicKey) {
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
