// Citizen page: intake form -> waiting in the queue -> consultation -> rating.
// The case token lives in localStorage, so a reload (or coming back later) resumes the same case.

import { connectSocket, emit, errorText, loadIceServers, refusalCode } from './api.js';
import { Call } from './call.js';
import { fillCatalogueSelects, loadCatalogue } from './catalogue.js';
import { byTestId, el } from './dom.js';
import { bindCounter } from './form.js';
import { initI18n, setText, t } from './i18n.js';
import { identifier } from './ident.js';
import { wireIntakeForm } from './intake.js';
import { CallRecording } from './recording_call.js';
import { RecordingLinks } from './recording_links.js';
import { showNotice, showRawNotice, showView, watchConnection } from './views.js';

const TOKEN_KEY = 'parley.citizen';
// The room the citizen left with "hang up", so a reload shows the rating, not the call again.
const HUNG_UP_KEY = 'parley.citizen.hung_up_room';
// Set when the intake reply said the service was closed (the case became a callback request).
const CLOSED_KEY = 'parley.citizen.closed';

const state = {
  socket: null,
  stopWatching: null,
  call: null,
  callRoomId: null,
  caseView: null,
  room: null,
  score: 0,
  pendingRating: null,
  intakeForm: null,
  recording: null, // CallRecording: consent dialog and indicator
  ratingLinks: null, // RecordingLinks in the rating view
  doneLinks: null, // RecordingLinks in the done view
};

const $ = (id) => byTestId(id);

function storage(method, key, value) {
  try {
    return localStorage[method](key, value);
  } catch {
    return null;
  }
}

// ---- intake ---------------------------------------------------------------------------------

async function refreshCatalogue() {
  $('catalogue-error').hidden = true;
  try {
    fillCatalogueSelects(document, await loadCatalogue());
  } catch (err) {
    console.warn('catalogue unavailable', err);
    $('catalogue-error').hidden = false;
  }
}

function showIntake(noticeKey) {
  if (noticeKey) showNotice($('intake-notice'), noticeKey, undefined, 'info');
  showView('intake');
}

// ---- session --------------------------------------------------------------------------------

function closeSocket() {
  closeCall();
  if (state.stopWatching) state.stopWatching();
  if (state.socket) state.socket.disconnect();
  state.socket = null;
  state.stopWatching = null;
  showNotice($('conn-status'), null);
}

function forgetCase() {
  storage('removeItem', TOKEN_KEY);
  storage('removeItem', HUNG_UP_KEY);
  storage('removeItem', CLOSED_KEY);
  closeSocket();
  Object.assign(state, { caseView: null, room: null, pendingRating: null });
  showNotice($('waiting-notice'), null);
  state.recording.reset();
  state.ratingLinks.clear();
  state.doneLinks.clear();
}

async function startSession(token) {
  closeSocket();
  showView('loading');
  showNotice($('loading-error'), null);
  $('loading-retry').hidden = true;
  let socket;
  try {
    socket = await connectSocket(token, {
      onWaiting: () => showNotice($('conn-status'), 'conn.connecting', undefined, 'info'),
    });
  } catch (err) {
    if (err.isTokenError) {
      forgetCase();
      showIntake('intake.notice.session_expired');
    } else {
      showRawNotice($('loading-error'), errorText(err));
      $('loading-retry').hidden = false;
    }
    return;
  }
  state.socket = socket;
  state.stopWatching = watchConnection(socket, $('conn-status'));
  socket.on('queue:update', renderQueue);
  socket.on('case:matched', onMatched);
  socket.on('case:ended', onEnded);
  socket.on('case:transferred', onTransferred);
  socket.on('case:requeued', onRequeued);
  // A backend is down for now (the server retries by itself): say so, keep the page. When it
  // is back, ask again: a push sent meanwhile (case:matched from another process) may be lost.
  socket.on('service:status', ({ state: status }) => {
    const wasRecovering = !$('service-status').hidden;
    $('service-status').hidden = status !== 'recovering';
    if (wasRecovering && status === 'ok') resume();
  });
  state.recording.bind(socket);
  socket.on('connect_error', (err) => {
    if (refusalCode(err, socket)) {
      forgetCase();
      showIntake('intake.notice.session_expired');
    }
  });
  // Anything may have happened while we were away: ask again.
  socket.io.on('reconnect', () => resume());
  await resume();
}

async function resume() {
  const socket = state.socket;
  if (!socket) return;
  let ack;
  try {
    ack = await emit(socket, 'case:resume', {});
  } catch (err) {
    if (['forbidden', 'not_found'].includes(err.code) || err.isTokenError) {
      forgetCase();
      showIntake('intake.notice.session_expired');
    } else if (document.body.dataset.currentView === 'loading') {
      showRawNotice($('loading-error'), errorText(err));
      $('loading-retry').hidden = false;
    }
    return;
  }
  if (socket !== state.socket) return;
  applyCase(ack);
}

function isRated(caseView) {
  return caseView.rating !== null && caseView.rating !== undefined;
}

function applyCase({ case: caseView, queue, room, chat }) {
  state.caseView = caseView;
  if (room) state.room = room;
  switch (caseView.status) {
    case 'waiting':
      closeCall();
      renderQueue(queue);
      showView('waiting');
      break;
    case 'in_consultation':
      if (!room) {
        // Matched, but the room is not ready yet: keep waiting, the match event follows.
        renderQueue(queue);
        showView('waiting');
      } else if (storage('getItem', HUNG_UP_KEY) === room.room_id) {
        if (isRated(caseView)) showDone();
        else showRating();
      } else {
        startCall(room, chat || []);
      }
      break;
    case 'ended':
      closeCall();
      if (isRated(caseView)) showDone();
      else showRating();
      break;
    default:
      // abandoned (left the queue) or anything unknown: start afresh.
      forgetCase();
      showIntake('intake.notice.left_queue');
  }
}

// ---- waiting --------------------------------------------------------------------------------

/** Human-readable estimate, e.g. "约 3 分钟". */
function etaText(seconds) {
  if (seconds === null || seconds === undefined || seconds < 0) return ['queue.eta.unknown'];
  if (seconds < 60) return ['queue.eta.under_minute'];
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return ['queue.eta.minutes', { n: minutes }];
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? ['queue.eta.hours_minutes', { h: hours, m: rest }] : ['queue.eta.hours', { h: hours }];
}

function renderQueue(queue) {
  renderCallback(queue);
  if (!queue) {
    $('queue-position').textContent = '–';
    setText($('queue-eta'), 'queue.eta.unknown');
    return;
  }
  $('queue-position').textContent = String(queue.position);
  setText($('queue-eta'), ...etaText(queue.eta_seconds));
  if (typeof queue.waiting === 'number') setText($('queue-waiting-total'), 'waiting.total', { n: queue.waiting });
  if (state.caseView) {
    const label = el('span');
    setText(label, 'waiting.case_id');
    $('queue-case-id').replaceChildren(label, identifier(state.caseView.id, { testid: 'queue-case-id-value', tail: 4 }));
  }
}

/** The callback offer, or the confirmation that a lawyer will phone (docs/protocol.md, "Routing"). */
function renderCallback(queue) {
  const closed = storage('getItem', CLOSED_KEY) === '1';
  const requested = Boolean((queue && queue.callback) || (state.caseView && state.caseView.callback));
  $('service-closed').hidden = !closed;
  // A closed-hours intake is already a callback request; the closed notice says so.
  if (requested && !closed) {
    showNotice($('callback-status'), 'waiting.callback_confirmed', undefined, 'success');
  } else {
    showNotice($('callback-status'), null);
  }
  $('callback-offer').hidden = requested || closed || !(queue && queue.callback_offer);
  // "Keep this page open, we connect you" no longer applies when we phone them instead.
  for (const el of document.querySelectorAll('.waiting-live')) el.hidden = requested || closed;
}

async function requestCallback() {
  const button = $('callback-request');
  button.disabled = true;
  showNotice($('waiting-error'), null);
  try {
    const ack = await emit(state.socket, 'queue:callback', {});
    if (state.caseView) state.caseView.callback = true;
    if (ack.queue) renderQueue({ ...ack.queue, callback: true });
    else renderCallback({ callback: true });
    // The button just disappeared: keep the keyboard where the confirmation is.
    const status = $('callback-status');
    status.tabIndex = -1;
    status.focus();
  } catch (err) {
    if (err.code === 'invalid_state') await resume();
    else showRawNotice($('waiting-error'), errorText(err));
  } finally {
    button.disabled = false;
  }
}

/** The lawyer passed the case to a colleague: back to the queue, keeping the place. */
function onTransferred({ case_id: caseId }) {
  if (state.caseView && state.caseView.id !== caseId) return;
  closeCall();
  state.recording.reset();
  storage('removeItem', HUNG_UP_KEY);
  state.pendingRating = null;
  if (state.caseView) state.caseView.status = 'waiting';
  showNotice($('waiting-notice'), 'waiting.transferred', undefined, 'info');
  showView('waiting');
  // queue:update follows; asking once more covers a missed one.
  resume();
}

/** A required recording was refused (docs/protocol.md, "Recording"): back to the queue. */
function onRequeued({ case_id: caseId } = {}) {
  if (state.caseView && caseId && state.caseView.id !== caseId) return;
  const self = state.recording.decision === 'refused';
  state.recording.reset();
  closeCall();
  storage('removeItem', HUNG_UP_KEY);
  state.pendingRating = null;
  if (state.caseView) state.caseView.status = 'waiting';
  showNotice($('waiting-notice'), self ? 'recording.requeued_self' : 'recording.requeued_peer', undefined, 'info');
  showView('waiting');
  // queue:update follows; asking once more covers a missed one.
  resume();
}

async function leaveQueue() {
  const button = $('queue-leave');
  button.disabled = true;
  showNotice($('waiting-error'), null);
  try {
    await emit(state.socket, 'queue:leave', {});
    forgetCase();
    showIntake('intake.notice.left_queue');
  } catch (err) {
    if (err.code === 'invalid_state') await resume();
    else showRawNotice($('waiting-error'), errorText(err));
  } finally {
    button.disabled = false;
  }
}

// ---- call -----------------------------------------------------------------------------------

async function startCall(room, chat) {
  state.room = room;
  // Already running or starting for this room (resume and case:matched may both ask).
  state.recording.update(room);
  if (state.callRoomId === room.room_id) {
    showView('call', { focus: false });
    return;
  }
  closeCall();
  state.callRoomId = room.room_id;
  const servers = await loadIceServers();
  if (state.callRoomId !== room.room_id || !state.socket) return;
  const call = new Call({
    socket: state.socket,
    room,
    iceServers: servers,
    container: document.getElementById('call-root'),
    chat,
    onHangup: () => {
      storage('setItem', HUNG_UP_KEY, room.room_id);
      state.recording.reset();
      state.call = null;
      state.callRoomId = null;
      showRating();
    },
  });
  state.call = call;
  state.recording.mount(call.root);
  showView('call');
  call.start().catch((err) => console.error('call start failed', err));
}

function closeCall() {
  if (state.call) state.call.close();
  state.call = null;
  state.callRoomId = null;
}

function onMatched({ case: caseView, room }) {
  state.caseView = caseView;
  showNotice($('waiting-notice'), null);
  storage('removeItem', HUNG_UP_KEY);
  startCall(room, []);
}

function onEnded({ case_id: caseId, referral }) {
  if (state.caseView && state.caseView.id !== caseId) return;
  if (referral) showReferral(referral);
  closeCall();
  state.recording.reset();
  if (state.caseView) state.caseView.status = 'ended';
  if (state.pendingRating) {
    submitRating(state.pendingRating);
  } else if (document.body.dataset.currentView !== 'done') {
    showRating();
  }
}

/** The lawyer handed the case to mediation or legal aid: a draft the citizen confirms. */
function showReferral({ application_id: id, number, item }) {
  setText($('referral-text'), `referral.${item}`, { number });
  $('referral-link').href = `/apply#a=${id}`;
  $('referral').hidden = false;
}

// ---- rating ---------------------------------------------------------------------------------

function showRating() {
  const ended = state.caseView && state.caseView.status === 'ended';
  $('rejoin-call').hidden = ended || !state.room;
  if (!ended && !state.pendingRating) showNotice($('rating-pending'), 'rating.lawyer_wrapping_up');
  else if (ended) showNotice($('rating-pending'), null);
  if (state.caseView) state.ratingLinks.show(state.caseView.id);
  if (document.body.dataset.currentView !== 'rating') {
    selectScore(0);
    showNotice($('rating-error'), null);
    showView('rating');
  }
}

function selectScore(score) {
  state.score = score;
  for (const button of document.querySelectorAll('.rating-btn')) {
    button.setAttribute('aria-pressed', String(Number(button.dataset.score) === score));
  }
  if (score) {
    const error = document.getElementById('rating-score-error');
    error.hidden = true;
  }
}

async function submitRating(payload) {
  const submit = $('rating-submit');
  submit.disabled = true;
  showNotice($('rating-error'), null);
  try {
    await emit(state.socket, 'case:rate', payload);
    state.pendingRating = null;
    showDone();
  } catch (err) {
    if (err.code === 'already_rated') {
      state.pendingRating = null;
      showDone();
    } else if (err.code === 'invalid_state' && state.caseView && state.caseView.status !== 'ended') {
      // The lawyer has not closed the case yet; send it when case:ended arrives.
      state.pendingRating = payload;
      showNotice($('rating-pending'), 'rating.queued');
    } else {
      showRawNotice($('rating-error'), errorText(err));
    }
  } finally {
    submit.disabled = false;
  }
}

function onRatingSubmit(event) {
  event.preventDefault();
  if (!state.score) {
    const error = document.getElementById('rating-score-error');
    setText(error, 'rating.choose_score');
    error.hidden = false;
    document.querySelector('.rating-btn').focus();
    return;
  }
  const payload = { score: state.score };
  const comment = document.getElementById('rating-comment').value.trim();
  if (comment) payload.comment = comment.slice(0, 500);
  payload.reasons = [...document.querySelectorAll('[data-testid="rating-reasons"] input[value]:checked')]
    .map((box) => box.value);
  payload.complaint = document.getElementById('rating-complaint').checked;
  submitRating(payload);
}

function showDone() {
  closeCall();
  state.recording.reset();
  if (state.caseView) state.doneLinks.show(state.caseView.id);
  showView('done');
}

function newCase() {
  forgetCase();
  state.intakeForm.reset();
  showIntake();
}

// ---- wiring ---------------------------------------------------------------------------------

function wire() {
  state.recording = new CallRecording({ role: 'citizen' });
  const citizenToken = () => storage('getItem', TOKEN_KEY);
  state.ratingLinks = new RecordingLinks({ token: citizenToken }).place($('rejoin-call'));
  state.doneLinks = new RecordingLinks({ token: citizenToken }).place($('rating-done'));
  state.intakeForm = wireIntakeForm(async (reply) => {
    storage('setItem', TOKEN_KEY, reply.token);
    storage('removeItem', HUNG_UP_KEY);
    if (reply.open === false) storage('setItem', CLOSED_KEY, '1');
    else storage('removeItem', CLOSED_KEY);
    await startSession(reply.token);
  });
  bindCounter(document.getElementById('rating-comment'), $('rating-comment-count'), 500);

  $('catalogue-retry').addEventListener('click', refreshCatalogue);
  $('loading-retry').addEventListener('click', () => {
    const token = storage('getItem', TOKEN_KEY);
    if (token) startSession(token);
    else showIntake();
  });
  $('queue-leave').addEventListener('click', leaveQueue);
  $('callback-request').addEventListener('click', requestCallback);
  for (const button of document.querySelectorAll('.rating-btn')) {
    button.addEventListener('click', () => selectScore(Number(button.dataset.score)));
  }
  document.getElementById('rating-form').addEventListener('submit', onRatingSubmit);
  $('rejoin-call').addEventListener('click', () => {
    storage('removeItem', HUNG_UP_KEY);
    resume();
  });
  $('new-case').addEventListener('click', newCase);
}

async function main() {
  await initI18n();
  wire();
  const catalogue = refreshCatalogue();
  const token = storage('getItem', TOKEN_KEY);
  if (token) {
    await startSession(token);
  } else {
    showView('intake', { focus: false });
  }
  await catalogue;
}

main().catch((err) => {
  console.error(err);
  showRawNotice($('loading-error'), t('error.internal'));
});
