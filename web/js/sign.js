// Electronic signatures in the browser (docs/agreements.md): an ECDSA P-256 key pair made with
// WebCrypto, the private key NOT extractable, kept in IndexedDB per participant; the signature
// covers the 32 bytes of SHA-256 of the exact canonical text of one agreement version.

const DB_NAME = 'parley-keys';
const STORE = 'keys';

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** This participant's key pair: loaded from IndexedDB, or made once and stored there. */
export async function signingKey(participantId) {
  const found = await withStore('readonly', (store) => store.get(participantId));
  if (found) return found;
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false,
    ['sign', 'verify']);
  await withStore('readwrite', (store) => store.put(pair, participantId));
  return pair;
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(text) {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function base64url(buffer) {
  let binary = '';
  for (const b of new Uint8Array(buffer)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** SHA-256 (hex) of the UTF-8 bytes of text. */
export async function sha256Hex(text) {
  return hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/**
 * Sign one version: checks our own hash of the canonical text against the stated one first, so
 * what is signed is exactly the text shown. Returns the body fields for the signature request.
 */
export async function signVersion(participantId, version) {
  const digest = await sha256Hex(version.canonical);
  if (digest !== version.sha256) throw new Error('hash of the shown text differs from the stated hash');
  const pair = await signingKey(participantId);
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey,
    fromHex(digest));
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
  return {
    version: version.number,
    sha256: digest,
    signature: base64url(signature),
    public_key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
  };
}
