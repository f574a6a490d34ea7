// The QR decoder for browsers without a native BarcodeDetector: ZXing compiled to
// WebAssembly, its .wasm served from this site beside this file (never from a CDN).
import { BarcodeDetector, setZXingModuleOverrides } from "barcode-detector/ponyfill";

const here = new URL(".", import.meta.url).href;
setZXingModuleOverrides({ locateFile: (path, prefix) => (path.endsWith(".wasm") ? here + path : prefix + path) });

export function detector() {
  return new BarcodeDetector({ formats: ["qr_code"] });
}

// The URLs the service worker keeps so the decoder also starts without a network.
export const files = [import.meta.url, here + "zxing_reader.wasm"];
