// Lawyer console: sign in, set availability, answer offers or take the next citizen, consult,
// write notes, record the outcome or transfer, wrap up. The staff token lives in sessionStorage
// (gone when the tab closes).

import { OfferPanel, renderBadges, renderLanguage } from './agent_offer.js';
import { WaitingList, renderIdleHint } from './agent_queue.js';
import { TransferForm } from './agent_transfer.js';
import { emit, errorText, loadIceServers, refusalCode } from './api.js';
import { Call } from './call.js';
import { CallbackAttempts } from './callback_attempts.js';
import { fillCatalogueSelects, findEntry, loadCatalogue } from './catalogue.js';
import { byTestId } from './dom.js';
import { clearFieldError, setFieldError } from './form.js';
import { has, initI18n, setLocalized, setText, setTime, t } from './i18n.js';
import { NotesEditor } from './notes.js';
import { watchMyReviews } from './quality_mine.js';
import { CallRecording } from './recording_call.js';
import { RecordingLinks } from './recording_links.js';
import { connectStaff, submitLogin } from './staff_session.js';
import { showNotice, showRawNotice, showView, watchConnection } from './views.js';

const TOKEN_KEY = 'parley.staff';
const USER_KEY = 'parley.staff.user';

const state = {
  socket: null,
  stopWatching: null,
  stopMyReviews: null,
  catalogue: null,
  status: null,
  caseView: null,
  room: null,
  call: null,
  callRoomId: null,
  notes: null,
  user: {},
  offer: null, // OfferPanel
  queue: null, // WaitingList
  waiting: null, // how many wait (queue:size)
  transfer: null, // TransferForm
  wrapUpUntil: null,
  wrapTimer: null,
  recording: null, // CallRecording: consent dialog and indicator
  recordingLinks: null, // RecordingLinks shown after a consultation ends
};

const $ = (id) => byTestId(id);

function session(method, key, value) {
  try {
    return sessionStorage[method](key, value);
  } catch {
    return null;
  }
}

// ---- sign in / out --------------------------------------------------------------------------

async function onLogin(event) {
  event.preventDefault();
  const reply = await submitLogin();
  if (!reply) return;
  session('setItem', TOKEN_KEY, reply.token);
  session('setItem', USER_KEY, JSON.stringify(reply.user || {}));
  await startSession(reply.token);
}

function showLogin(noticeKey) {
  $('staff-name').hidden = true;
  $('sign-out').hidden = true;
  showNotice($('login-notice'), noticeKey || null, undefined, 'info');
  showView('login');
}

function closeSocket() {
  closeCall();
  if (state.stopWatching) state.stopWatching();
  if (state.stopMyReviews) state.stopMyReviews();
  if (state.socket) state.socket.disconnect();
  state.socket = null;
  state.stopWatching = null;
  state.stopMyReviews = null;
  showNotice($('conn-status'), null);
}

function dropSession() {
  state.offer.hide();
  stopWrapUpTimer();
  closeSocket();
  state.notes.close();
  state.recording.reset();
  state.recordingLinks.clear();
  Object.assign(state, { status: null, caseView: null, room: null });
  $('case-panel').hidden = true;
  $('idle-hint').hidden = false;
  session('removeItem', TOKEN_KEY);
  session('removeItem', USER_KEY);
}

async function signOut() {
  if (state.caseView) await state.notes.save();
  dropSession();
  showLogin('login.signed_out');
}

// ---- session --------------------------------------------------------------------------------

async function startSession(token) {
  closeSocket();
  const socket = await connectStaff(token, () => {
    dropSession();
    showLogin('login.session_expired');
  });
  if (!socket) return;
  state.socket = socket;
  state.stopWatching = watchConnection(socket, $('conn-status'));
  state.stopMyReviews = watchMyReviews(token, { list: $('qa-mine-list'), empty: $('qa-mine-empty') });
  socket.on('queue:size', ({ waiting }) => renderWaiting(waiting));
  socket.on('agent:status', ({ status, wrap_up_until_ms: until }) => renderStatus(status, until));
  socket.on('case:matched', ({ case: caseView, room }) => {
    if (caseView && state.offer.caseId === caseView.id) state.offer.hide();
    openCase(caseView, room, []);
  });
  socket.on('offer:new', (offer) => state.offer.show(offer));
  // A callback the server dials for this lawyer's case: each attempt and its result.
  socket.on('case:callback', (attempt) => state.callbacks.add(attempt));
  socket.on('offer:expired', ({ case_id: caseId } = {}) => state.offer.missed(caseId));
  socket.on('case:ended', ({ case_id: caseId, reason }) => {
    // reason "recording_refused": recording is required and someone refused; back to the queue.
    if (state.caseView && state.caseView.id === caseId) {
      caseClosed(reason === 'recording_refused' ? 'recording.requeued_agent' : undefined);
    }
  });
  socket.on('connect_error', (err) => {
    if (refusalCode(err, socket)) {
      dropSession();
      showLogin('login.session_expired');
    }
  });
  socket.io.on('reconnect', () => resume());
  state.recording.bind(socket);

  let user = {};
  try {
    user = JSON.parse(session('getItem', USER_KEY) || '{}');
  } catch {
    user = {};
  }
  state.user = user;
  $('staff-name').textContent = user.display_name || user.username || '';
  $('staff-name').hidden = !$('staff-name').textContent;
  $('sign-out').hidden = false;
  await resume();
}

async function resume() {
  const socket = state.socket;
  if (!socket) return;
  let ack;
  try {
    ack = await emit(socket, 'agent:resume', {});
  } catch (err) {
    if (err.isTokenError || err.code === 'forbidden') {
      dropSession();
      showLogin(err.code === 'forbidden' ? 'login.not_staff' : 'login.session_expired');
    } else if (document.body.dataset.currentView === 'loading') {
      showRawNotice($('loading-error'), errorText(err));
      $('loading-retry').hidden = false;
    }
    return;
  }
  if (socket !== state.socket) return;
  renderStatus(ack.status, ack.wrap_up_until_ms);
  renderWaiting(ack.waiting);
  state.queue.set(ack.queue);
  if (document.body.dataset.currentView !== 'console') showView('console');
  if (ack.case && ack.case.status === 'in_consultation') openCase(ack.case, ack.room, ack.chat || []);
  else if (state.caseView) caseClosed();
  // The server repeats a pending offer here, so a reload does not lose it.
  if (ack.offer) state.offer.show(ack.offer);
  else if (ack.status !== 'offered') state.offer.hide();
}

// ---- queue and availability -----------------------------------------------------------------

function renderWaiting(waiting) {
  if (typeof waiting !== 'number') return;
  $('queue-waiting').textContent = String(waiting);
  state.waiting = waiting;
  updateTakeNext();
  if (state.queue.stale(waiting) && state.socket) {
    emit(state.socket, 'queue:waiting', {}).then((reply) => state.queue.set(reply.queue)).catch(() => {});
  }
}

function renderStatus(status, wrapUpUntilMs) {
  if (!status) return;
  state.status = status;
  const select = $('agent-availability');
  if (status === 'available' || status === 'away') select.value = status;
  const key = `agent.status.${status}`;
  if (has(key)) setText($('agent-status'), key);
  else $('agent-status').textContent = status;
  renderWrapUp(status === 'wrap_up', wrapUpUntilMs);
  updateTakeNext();
}

// ---- wrap-up after a case: a countdown and "ready" -------------------------------------------

function stopWrapUpTimer() {
  if (state.wrapTimer) clearInterval(state.wrapTimer);
  state.wrapTimer = null;
}

function renderWrapUp(active, untilMs) {
  stopWrapUpTimer();
  state.wrapUpUntil = active && Number.isFinite(untilMs) ? untilMs : null;
  $('agent-ready').hidden = !active;
  const left = $('agent-wrapup');
  if (!active || state.wrapUpUntil === null) {
    showNotice(left, null);
    return;
  }
  const tick = () => {
    const seconds = Math.max(0, Math.ceil((state.wrapUpUntil - Date.now()) / 1000));
    setText(left, 'agent.wrapup_left', { n: seconds });
    left.hidden = false;
    if (seconds === 0) stopWrapUpTimer();
  };
  tick();
  state.wrapTimer = setInterval(tick, 1000);
}

async function onReady() {
  const button = $('agent-ready');
  button.disabled = true;
  showNotice($('console-notice'), null);
  try {
    const ack = await emit(state.socket, 'agent:ready', {});
    renderStatus(ack.status || 'available');
  } catch (err) {
    showRawNotice($('console-notice'), errorText(err));
  } finally {
    button.disabled = false;
  }
}

function updateTakeNext() {
  const offerPending = Boolean(state.offer && state.offer.pending);
  $('take-next').disabled = Boolean(state.caseView || offerPending);
  renderIdleHint({ status: state.status, offerPending, inCase: Boolean(state.caseView), waiting: state.waiting });
}

async function onAvailability() {
  const select = $('agent-availability');
  const wanted = select.value;
  select.disabled = true;
  showNotice($('console-notice'), null);
  try {
    const ack = await emit(state.socket, 'agent:availability', { status: wanted });
    renderStatus(ack.status || wanted);
    if (wanted === 'away' && state.caseView) showNotice($('console-notice'), 'agent.away_after_call');
  } catch (err) {
    if (state.status === 'available' || state.status === 'away') select.value = state.status;
    showRawNotice($('console-notice'), errorText(err));
  } finally {
    select.disabled = false;
  }
}

async function takeNext() {
  const button = $('take-next');
  button.disabled = true;
  showNotice($('console-notice'), null);
  try {
    const ack = await emit(state.socket, 'queue:take_next', {});
    openCase(ack.case, ack.room, []);
  } catch (err) {
    const kind = err.code === 'queue_empty' ? 'info' : 'error';
    showRawNotice($('console-notice'), errorText(err), kind);
    if (err.code === 'agent_busy') await resume();
  } finally {
    updateTakeNext();
  }
}

// ---- the case -------------------------------------------------------------------------------

function renderCatalogueField(testId, list, code) {
  setLocalized($(testId), findEntry(state.catalogue, list, code));
}

function renderCase(caseView) {
  $('case-name').textContent = caseView.name || '';
  $('case-phone').textContent = caseView.phone || caseView.phone_masked || '';
  renderBadges($('case-priority'), $('case-callback-badge'), caseView);
  renderLanguage($('case-language'), state.catalogue, caseView.language);
  // A callback case: the lawyer phones the citizen, so the number comes first.
  const callback = $('case-callback');
  callback.hidden = !caseView.callback;
  const link = $('case-callback-phone');
  const phone = caseView.phone || caseView.phone_masked || '';
  link.textContent = phone;
  if (caseView.phone) link.href = `tel:${caseView.phone.replace(/[^\d+]/g, '')}`;
  else link.removeAttribute('href');
  renderCatalogueField('case-service-type', 'service_types', caseView.service_type);
  renderCatalogueField('case-category', 'categories', caseView.category);
  renderCatalogueField('case-mode', 'modes', caseView.mode);
  renderCatalogueField('case-region', 'regions', caseView.region);
  if (caseView.created_at) setTime($('case-created'), caseView.created_at);
  $('case-description').textContent = caseView.description || '';
}

function openCase(caseView, room, chat) {
  if (!caseView) return;
  const same = state.caseView && state.caseView.id === caseView.id;
  state.caseView = caseView;
  renderCase(caseView);
  if (!same) {
    state.notes.open(caseView.id, caseView.notes);
    $('case-outcome').value = '';
    clearFieldError($('case-outcome'));
    showNotice($('end-error'), null);
    showNotice($('console-notice'), null);
    state.transfer.close();
    state.recordingLinks.clear();
  }
  state.callbacks.open(caseView.id, caseView.callback_attempts || []);
  $('case-panel').hidden = false;
  $('idle-hint').hidden = true;
  updateTakeNext();
  if (room) {
    state.room = room;
    state.recording.update(room);
    startCall(room, chat);
  }
}

async function startCall(room, chat) {
  // Already running or starting for this room (the take_next ack and case:matched both ask).
  if (state.callRoomId === room.room_id) return;
  closeCall();
  state.callRoomId = room.room_id;
  $('rejoin-call').hidden = true;
  showNotice($('call-ended-notice'), null);
  const servers = await loadIceServers();
  if (state.callRoomId !== room.room_id || !state.socket || !state.caseView) return;
  const call = new Call({
    socket: state.socket,
    room,
    iceServers: servers,
    container: document.getElementById('call-root'),
    chat,
    onHangup: () => {
      state.call = null;
      state.callRoomId = null;
      showNotice($('call-ended-notice'), 'agent.call_hung_up');
      $('rejoin-call').hidden = false;
    },
  });
  state.call = call;
  state.recording.mount(call.root);
  call.start().catch((err) => console.error('call start failed', err));
}

function closeCall() {
  if (state.call) state.call.close();
  state.call = null;
  state.callRoomId = null;
}

/** The case is over (our case:end or case:transfer, or the server's case:ended): clear the panel. */
function caseClosed(noticeKey = 'agent.case_closed') {
  const caseId = state.caseView ? state.caseView.id : null;
  closeCall();
  state.recording.reset();
  state.notes.close();
  state.callbacks.close();
  state.caseView = null;
  state.room = null;
  $('case-panel').hidden = true;
  $('idle-hint').hidden = false;
  $('rejoin-call').hidden = true;
  document.getElementById('call-root').replaceChildren();
  state.transfer.close();
  updateTakeNext();
  showNotice($('console-notice'), noticeKey, undefined, 'success');
  // "查看录像" for the consultation that just ended, if it was recorded.
  if (caseId) state.recordingLinks.show(caseId);
}

/** A required recording was refused (by either side): the case went back to the queue. */
async function recordingRefused() {
  if (!state.caseView) return;
  try {
    await state.notes.save();
  } catch {
    // The case may no longer be ours; the notes editor reports its own failures.
  }
  caseClosed('recording.requeued_agent');
  await resume();
}

// ---- wrap-up ----------------------------------------------------------------------------

async function endCase() {
  const outcome = $('case-outcome');
  clearFieldError(outcome);
  showNotice($('end-error'), null);
  if (!outcome.value) {
    setFieldError(outcome, 'agent.choose_outcome');
    outcome.focus();
    return;
  }
  const button = $('end-case');
  button.disabled = true;
  try {
    await state.notes.save();
    await emit(state.socket, 'case:end', { case_id: state.caseView.id, outcome: outcome.value });
    caseClosed();
  } catch (err) {
    showRawNotice($('end-error'), errorText(err));
    if (err.code === 'invalid_state') await resume();
  } finally {
    button.disabled = false;
  }
}

// ---- wiring ---------------------------------------------------------------------------------

async function refreshCatalogue() {
  $('catalogue-error').hidden = true;
  try {
    state.catalogue = await loadCatalogue();
    fillCatalogueSelects(document, state.catalogue);
    if (state.caseView) renderCase(state.caseView);
    if (state.queue) state.queue.render();
  } catch (err) {
    console.warn('catalogue unavailable', err);
    $('catalogue-error').hidden = false;
  }
}

function wire() {
  document.getElementById('login-form').addEventListener('submit', onLogin);
  for (const id of ['login-username', 'login-password']) {
    $(id).addEventListener('input', () => clearFieldError($(id)));
  }
  $('sign-out').addEventListener('click', signOut);
  $('agent-availability').addEventListener('change', onAvailability);
  $('take-next').addEventListener('click', takeNext);
  $('agent-ready').addEventListener('click', onReady);
  state.offer = new OfferPanel({
    socket: () => state.socket,
    catalogue: () => state.catalogue,
    onAccepted: (caseView, room) => {
      openCase(caseView, room, []);
      const heading = document.getElementById('case-details-title');
      heading.tabIndex = -1;
      heading.focus();
    },
    onChange: updateTakeNext,
    notice: $('console-notice'),
  });
  state.queue = new WaitingList({ catalogue: () => state.catalogue });
  state.recording = new CallRecording({ role: 'lawyer', onRefusedRequired: () => recordingRefused() });
  // A new tab with rel="opener" gets a copy of this tab's sessionStorage, so the staff token.
  state.recordingLinks = new RecordingLinks({ token: () => session('getItem', TOKEN_KEY), newTab: true }).place($('console-notice'));
  state.callbacks = new CallbackAttempts($('callback-attempts'), $('callback-attempt-list'));
  state.notes = new NotesEditor({
    textarea: $('case-notes'),
    status: $('notes-status'),
    socket: () => state.socket,
  });
  state.transfer = new TransferForm({
    socket: () => state.socket,
    catalogue: () => state.catalogue,
    selfId: () => state.user.id,
    caseView: () => state.caseView,
    beforeSend: () => state.notes.save(),
    onTransferred: () => caseClosed('agent.transfer.done'),
    onInvalidState: () => resume(),
  });
  $('case-outcome').addEventListener('change', () => clearFieldError($('case-outcome')));
  $('end-case').addEventListener('click', endCase);
  $('rejoin-call').addEventListener('click', () => resume());
  $('catalogue-retry').addEventListener('click', refreshCatalogue);
  $('loading-retry').addEventListener('click', () => {
    const token = session('getItem', TOKEN_KEY);
    if (token) startSession(token);
    else showLogin();
  });
}

async function main() {
  await initI18n();
  wire();
  const catalogue = refreshCatalogue();
  const token = session('getItem', TOKEN_KEY);
  if (token) await startSession(token);
  else showLogin();
  await catalogue;
}

main().catch((err) => {
  console.error(err);
  showRawNotice($('loading-error'), t('error.internal'));
});
