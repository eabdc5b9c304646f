// Talking to the server: REST with fetch, socket.io with acknowledgements.
// Every failure becomes an ApiError carrying a stable code (docs/protocol.md, "Error codes"),
// plus the client-side codes "network" (no reply) and "timeout" (no ack within 10 s).

import { io } from '/static/vendor/socket.io.esm.min.js';
import { currentLang, has, t } from './i18n.js';

const ACK_TIMEOUT_MS = 10000;
const TOKEN_CODES = new Set(['token_missing', 'token_invalid', 'token_expired']);

export class ApiError extends Error {
  constructor(code, message = '', field = undefined, status = undefined) {
    super(message || code);
    this.name = 'ApiError';
    this.code = code;
    this.field = field;
    this.status = status;
  }

  /** Whether the token was refused, so it should be thrown away. */
  get isTokenError() {
    return TOKEN_CODES.has(this.code);
  }
}

function fromBody(body, status) {
  const error = body && typeof body === 'object' ? body.error : null;
  if (error && typeof error.code === 'string') {
    return new ApiError(error.code, error.message, error.field, status);
  }
  return new ApiError(status >= 500 ? 'internal' : 'bad_request', `HTTP ${status}`, undefined, status);
}

async function request(method, path, { body, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (err) {
    throw new ApiError('network', String(err));
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw fromBody(data, response.status);
  return data;
}

/** GET a JSON resource. */
export function getJSON(path, token) {
  return request('GET', path, { token });
}

/** POST a JSON body and return the JSON reply. */
export function postJSON(path, body, token) {
  return request('POST', path, { body, token });
}

let iceServers = null;

/** ICE servers from GET /api/config, fetched once; [] if unavailable (the worker's answer
 * carries its own candidates, so host candidates may still do). */
export async function loadIceServers() {
  if (!iceServers) {
    try {
      iceServers = (await getJSON('/api/config')).ice_servers || [];
    } catch (err) {
      console.warn('ICE configuration unavailable', err);
      return [];
    }
  }
  return iceServers;
}

/**
 * The code of a connection the server refused ("token_expired", ...), or null for network trouble
 * (socket.io keeps retrying those by itself). The code is read from err.data.code as the protocol
 * says; failing that from the message; a refusal without any code counts as token_invalid.
 */
export function refusalCode(err, socket) {
  const data = err && err.data;
  if (data && typeof data.code === 'string') return data.code;
  const match = /token_(missing|invalid|expired)/.exec((err && err.message) || '');
  if (match) return match[0];
  // socket.io stops retrying (active = false) only when the server itself said no.
  return socket.active ? null : 'token_invalid';
}

/**
 * Open the socket.io connection and wait for the first successful connect.
 * Rejects with an ApiError when the server refuses the token (no retry makes sense then);
 * network trouble is retried by socket.io itself, onWaiting() is called so the page can say so.
 */
export function connectSocket(token, { onWaiting } = {}) {
  // forceNew: a fresh manager per session, so nothing from a previous token lingers.
  const socket = io({ auth: { token }, forceNew: true });
  return new Promise((resolve, reject) => {
    const onConnect = () => {
      socket.off('connect_error', onError);
      resolve(socket);
    };
    const onError = (err) => {
      const code = refusalCode(err, socket);
      if (code) {
        socket.off('connect', onConnect);
        socket.off('connect_error', onError);
        socket.disconnect();
        reject(new ApiError(code, err && err.message));
        return;
      }
      if (onWaiting) onWaiting(err);
    };
    socket.once('connect', onConnect);
    socket.on('connect_error', onError);
  });
}

/**
 * Emit an event with an acknowledgement and a 10 s deadline.
 * Returns the ack ({ok: true, ...}); throws ApiError on {error} or on timeout.
 */
export async function emit(socket, event, payload = {}) {
  let ack;
  try {
    ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
  } catch (err) {
    throw new ApiError('timeout', String(err));
  }
  if (ack && ack.error) throw fromBody(ack, 0);
  if (!ack || typeof ack !== 'object') throw new ApiError('internal', `no ack body for ${event}`);
  return ack;
}

/** A message for people: the translation of the error code, else the server's own message. */
export function errorText(err) {
  const code = err && err.code ? err.code : 'internal';
  const key = `error.${code}`;
  // A refused field is named in words when we know it ("身份证号后4位有误"), never as its path.
  const field = err && err.field ? String(err.field).split('.').filter((part) => !/^\d+$/.test(part)).pop() : '';
  if (code === 'bad_request' && field && has(`field.${field}`)) return t('error.bad_field', { field: t(`field.${field}`) });
  // A refusal the server worded for people ("中文 / English", or zh-CN naming the field) says
  // more than "提交的信息有误"; shown in the viewer's language only.
  const own = localMessage(err && err.message);
  if (code === 'bad_request' && own && (/ \/ /.test(err.message) || /[\u4e00-\u9fff]/.test(own))) return own;
  if (has(key)) return t(key);
  return own || t('error.internal');
}

/** The viewer's half of a server message written "中文 / English" (the whole when not so). */
export function localMessage(message) {
  const text = String(message || '');
  const at = text.indexOf(' / ');
  if (at < 0) return text;
  return currentLang() === 'en' ? text.slice(at + 3) : text.slice(0, at);
}
