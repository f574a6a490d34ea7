// Scans kept on the device (IndexedDB) under their scan ids until the server has decided
// them: a scan survives a closed tab, a restarted phone and a week without a network.

const DB = "serah-scans";
const STORE = "scans";
let opened = null;

function db() {
  opened ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "scan_id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return opened;
}

async function run(mode, work) {
  const tx = (await db()).transaction(STORE, mode);
  const req = work(tx.objectStore(STORE));
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(req && req.result);
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

export const put = (scan) => run("readwrite", (s) => s.put(scan));

/** Every scan kept, oldest first. */
export async function all() {
  const scans = await run("readonly", (s) => s.getAll());
  return scans.sort((a, b) => a.seq - b.seq);
}
