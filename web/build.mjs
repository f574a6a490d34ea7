// Bundles the pages' scripts from src/ into the gateway's static files (served at
// /static/web/build/), minified, with the QR decoder's WebAssembly beside them: no
// page loads anything from another origin. Run by scripts/setup after `npm ci`.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { constants, gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "services", "gateway", "web", "static", "build");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const common = { bundle: true, minify: true, target: ["es2020"], legalComments: "none", logLevel: "warning" };
// The scanning page's script, and the two it loads only when the browser lacks a native
// part: the QR decoder (no BarcodeDetector) and Ed25519 (no WebCrypto Ed25519); and the
// auditor dashboard's chart.
await build({
  ...common,
  entryPoints: { scan: "src/scan.js", decoder: "src/decoder.js", ed25519: "src/ed25519.js", dashboard: "src/dashboard.js" },
  format: "esm",
  outdir: out,
});
copyFileSync(join(here, "node_modules", "zxing-wasm", "dist", "reader", "zxing_reader.wasm"), join(out, "zxing_reader.wasm"));

// The service worker names its cache after what it caches, so a new release replaces it.
const release = createHash("sha256");
for (const name of ["scan.js", "decoder.js", "ed25519.js", "zxing_reader.wasm"]) release.update(readFileSync(join(out, name)));
await build({
  ...common,
  entryPoints: { sw: "src/sw.js" },
  format: "iife",
  outdir: out,
  define: { RELEASE: JSON.stringify(release.digest("hex").slice(0, 16)) },
});

// Each file also gzipped beside itself, at the highest level once here rather than per
// request: the gateway sends it to browsers that take gzip (the service worker is served
// by its own route and stays plain).
for (const name of readdirSync(out)) {
  if (name === "sw.js") continue;
  writeFileSync(join(out, `${name}.gz`), gzipSync(readFileSync(join(out, name)), { level: constants.Z_BEST_COMPRESSION }));
}
