// Invitee page (/join): invitation link or short code, lobby (device check, identity, consents,
// the sham-mediation warning), waiting until admitted, then the mediation room.
// The invitation token is kept in localStorage["parley.invite"], so a reload returns to the room
// (and, during a caucus, to the invitee's own group: the server decides).

import { connectSocket, emit, errorText, getJSON, loadIceServers, postJSON } from './api.js';
import { byTestId, el } from './dom.js';
import { initI18n, setText, setTime, t } from './i18n.js';
import { mountAgreementPanel } from './agreement_panel.js';
import { MediationRoom } from './mediation_call.js';
import { mountRating } from './rate_case.js';
import { showNotice, showRawNotice, showView, watchConnection } from './views.js';

const STORE = 'parley.invite';
const $ = (id) => byTestId(id);
const state = { token: null, caseId: null, socket: null, room: null, preview: null, view: null };

function claimsOf(token) {
  try {
    const body = token.split('.')[0].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(decodeURIComponent(escape(atob(body))));
  } catch {
    return null;
  }
}

function remember(token) {
  const claims = claimsOf(token);
  if (!claims || !claims.case) return false;
  state.token = token;
  state.caseId = claims.case;
  try {
    localStorage.setItem(STORE, JSON.stringify({ token, case_id: claims.case }));
  } catch {
    // private mode: this page still works until it is closed
  }
  return true;
}

function forget() {
  try {
    localStorage.removeItem(STORE);
  } catch {
    // nothing stored
  }
  state.token = null;
}

async function redeem(code) {
  showNotice($('join-error'), null);
  try {
    const reply = await postJSON('/api/mediation/join', { code });
    remember(reply.token);
    await start();
    return true;
  } catch (err) {
    showRawNotice($('join-error'), errorText(err));
    return false;
  }
}

async function onCode(event) {
  event.preventDefault();
  await redeem($('join-code').value.trim());
}

async function start() {
  showView('loading');
  try {
    state.socket = await connectSocket(state.token);
  } catch (err) {
    forget();
    showView('code');
    showRawNotice($('join-error'), errorText(err));
    return;
  }
  watchConnection(state.socket, $('conn-status'));
  state.socket.on('mediation:state', onState);
  state.socket.on('mediation:document', onDocument);
  state.socket.on('mediation:case', () => loadCase().catch(() => {}));
  state.socket.on('court:session', onCourtSession);
  await loadCase();
  // The agreement (docs/agreements.md): shown, commented on and signed from this page.
  mountAgreementPanel({ container: document.getElementById('main'), socket: state.socket,
    token: state.token, caseId: state.caseId, role: 'invitee' }).catch(() => {});
  const reply = await emit(state.socket, 'mediation:resume', { case_id: state.caseId });
  const presided = reply.room && !reply.room.ended && (reply.room.members || []).some((m) => m.role === 'presiding');
  $('lobby-court-session').hidden = !presided;
  if (reply.room && reply.room.self) route(reply.room, reply);
  else showLobby();
}

async function loadCase() {
  const view = await getJSON(`/api/mediations/${state.caseId}`, state.token);
  state.view = view;
  $('lobby-case-number').textContent = view.case.number || t('mediator.no_number');
  $('lobby-case').textContent = view.case.statement;
  if (view.case.scheduled_at) setTime($('lobby-schedule'), view.case.scheduled_at);
  $('lobby-disclosure').textContent = view.case.disclosure || '';
  if (view.self && !$('lobby-identity-name').value) $('lobby-identity-name').value = '';
  // Once it ended (after the sessions, with or without an agreement) the parties rate it.
  if (ENDED.has(view.case.status)) {
    mountRating($('lobby-rating'), { kind: 'mediation', subjectId: state.caseId, token: state.token });
  }
  return view;
}

const ENDED = new Set(['settled', 'failed', 'refused', 'withdrawn']);

function route(roomView, reply) {
  const lobby = roomView.self && roomView.self.lobby;
  if (lobby === 'admitted') enterRoom(roomView, reply);
  else if (lobby === 'waiting') showView('waiting');
  else if (lobby === 'refused' || lobby === 'removed') {
    setText($('lobby-refused'), `lobby.${lobby}`);
    showView('refused');
  } else showLobby();
}

async function showLobby() {
  showView('lobby');
  if (state.preview || !navigator.mediaDevices) return;
  try {
    state.preview = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    $('lobby-preview').srcObject = state.preview;
    setText($('lobby-device-status'), 'lobby.device_ok');
  } catch {
    setText($('lobby-device-status'), 'lobby.device_missing');
  }
}

async function onLobby(event) {
  event.preventDefault();
  showNotice($('lobby-error'), null);
  const button = $('lobby-enter');
  button.disabled = true;
  try {
    const reply = await emit(state.socket, 'mediation:lobby', {
      case_id: state.caseId,
      name: $('lobby-identity-name').value.trim(),
      id_last4: $('lobby-identity-id4').value.trim(),
      consent_mediation: $('lobby-consent-mediation').checked,
      consent_recording: $('lobby-consent-recording').checked,
      // The warning is shown above this button; entering confirms it was read.
      sham_warning_read: true,
    });
    route(reply.room, reply);
  } catch (err) {
    showRawNotice($('lobby-error'), errorText(err));
  } finally {
    button.disabled = false;
  }
}

async function respond(decision) {
  try {
    await postJSON(`/api/mediations/${state.caseId}/respond`, { decision }, state.token);
    setText($('lobby-refused'), decision === 'refuse' ? 'lobby.you_refused' : 'lobby.you_objected');
    if (decision === 'refuse') showView('refused');
  } catch (err) {
    showRawNotice($('lobby-error'), errorText(err));
  }
}

function onState(view) {
  if (!view || view.case_id !== state.caseId) return;
  if (!state.room) route(view, null);
}

async function enterRoom(view, reply) {
  if (state.room) return;
  if (state.preview) {
    state.preview.getTracks().forEach((t) => t.stop());
    state.preview = null;
  }
  const full = reply && reply.media_slots ? reply : await emit(state.socket, 'mediation:resume', { case_id: state.caseId });
  showView('room');
  state.room = new MediationRoom({
    socket: state.socket,
    caseId: state.caseId,
    room: full.room || view,
    slots: full.media_slots,
    iceServers: await loadIceServers(),
    container: document.getElementById('room-root'),
    chat: full.chat || [],
    onState: (v) => {
      if (v.self && v.self.lobby === 'removed') {
        state.room.close();
        setText($('lobby-refused'), 'lobby.removed');
        showView('refused');
      }
    },
  });
  await state.room.start();
}

// The court opened its confirmation session (docs/agreements.md): a new room of this case; the
// party comes in through the lobby as for a mediation session.
function onCourtSession(invitation) {
  if (!invitation || invitation.case_id !== state.caseId) return;
  $('lobby-court-session').hidden = false;
  if (state.room) {
    state.room.close();
    state.room = null;
  }
  showLobby();
}

async function onDocument(event) {
  if (!event || event.case_id !== state.caseId) return;
  const doc = event.document;
  const link = el('a', { href: '#', 'data-testid': `shown-doc-${doc.id}` });
  link.textContent = doc.filename;
  link.addEventListener('click', async (e) => {
    e.preventDefault();
    const response = await fetch(`/api/mediations/${state.caseId}/documents/${doc.id}`, {
      headers: { Authorization: `Bearer ${state.token}` },
    });
    const url = URL.createObjectURL(await response.blob());
    window.open(url, '_blank', 'noopener');
  });
  $('shown-documents').append(el('li', {}, [link]));
}

async function main() {
  await initI18n();
  document.getElementById('code-form').addEventListener('submit', onCode);
  document.getElementById('lobby-form').addEventListener('submit', onLobby);
  $('lobby-object').addEventListener('click', () => respond('object'));
  $('lobby-refuse').addEventListener('click', () => respond('refuse'));
  // The link carries the one-time code (#code=...), never a token: the token is handed out by
  // the server to whoever redeems the code first, and kept only in this browser.
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromLink = hash.get('code');
  if (fromLink) history.replaceState(null, '', location.pathname);
  let stored = null;
  try {
    stored = JSON.parse(localStorage.getItem(STORE) || 'null');
  } catch {
    stored = null;
  }
  if (fromLink) {
    showView('code');
    $('join-code').value = fromLink;
    // A code is spent once: opening the same link again falls back to this browser's token.
    if (!(await redeem(fromLink)) && stored && stored.token && remember(stored.token)) await start();
  } else if (stored && stored.token && remember(stored.token)) {
    await start();
  } else {
    showView('code');
  }
}

main().catch((err) => {
  console.error(err);
  showRawNotice($('loading-error'), String(err));
});
