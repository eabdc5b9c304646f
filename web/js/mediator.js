// Mediator console (/mediator): sign in, create and accept cases, invite participants (link and
// short code), schedule, the lobby with admit/refuse, the room with controls (mute, remove,
// caucus, recording pause, end), documents, risk flag and closing. Token in sessionStorage.

import { connectSocket, emit, errorText, getJSON, loadIceServers, localMessage, postJSON } from './api.js';
import { fillCatalogueSelects, loadCatalogue } from './catalogue.js';
import { byTestId, el } from './dom.js';
import { identifier } from './ident.js';
import { formatWhen, has, initI18n, setText, setTime, t } from './i18n.js';
import { mountAgreementPanel } from './agreement_panel.js';
import { MediationRoom } from './mediation_call.js';
import { showNotice, showRawNotice, showView, watchConnection } from './views.js';

const TOKEN_KEY = 'parley.mediator';
const $ = (id) => byTestId(id);
const state = { token: null, socket: null, caseId: null, view: null, room: null, roomView: null };

function session(method, key, value) {
  try {
    return sessionStorage[method](key, value);
  } catch {
    return null;
  }
}

async function onLogin(event) {
  event.preventDefault();
  showNotice($('login-error'), null);
  try {
    const reply = await postJSON('/api/login', { username: $('login-username').value.trim(), password: $('login-password').value });
    session('setItem', TOKEN_KEY, reply.token);
    $('staff-name').textContent = reply.user.display_name;
    $('staff-name').hidden = false;
    await startSession(reply.token);
  } catch (err) {
    showRawNotice($('login-error'), errorText(err));
  }
}

async function startSession(token) {
  state.token = token;
  showView('loading');
  try {
    state.socket = await connectSocket(token);
  } catch (err) {
    session('removeItem', TOKEN_KEY);
    showView('login');
    if (!err.isTokenError) showRawNotice($('login-error'), errorText(err));
    return;
  }
  watchConnection(state.socket, $('conn-status'));
  state.socket.on('mediation:state', (view) => {
    if (view && view.case_id === state.caseId) renderRoomView(view);
  });
  state.socket.on('mediation:locked', (event) => {
    if (event && event.case_id === state.caseId) openCase(state.caseId).catch(() => {});
  });
  state.socket.on('mediation:case', (event) => {
    if (event && event.case_id === state.caseId) openCase(state.caseId).catch(() => {});
  });
  state.socket.io.on('reconnect', () => {
    if (state.caseId) openCase(state.caseId).catch(() => {});
  });
  fillCatalogueSelects(document, await loadCatalogue());
  showView('console');
  await refreshCases();
}

/** A case's state in words (the code itself if a new one has no translation yet). */
function statusText(status) {
  return has(`mstatus.${status}`) ? t(`mstatus.${status}`) : status;
}

async function refreshCases() {
  const reply = await getJSON('/api/mediations', state.token);
  const list = $('case-list');
  list.replaceChildren(...reply.cases.map((c) => {
    const button = el('button', { type: 'button', class: 'btn btn-block', 'data-testid': `open-case-${c.id}` });
    setText(button, 'mediator.case_item', { parties: `${c.applicant.name} / ${c.respondent.name}`,
      status: statusText(c.status), at: formatWhen(c.created_at, 'short'), number: c.number || t('mediator.no_number') });
    button.addEventListener('click', () => openCase(c.id));
    return el('li', {}, [button]);
  }));
}

async function onCreate(event) {
  event.preventDefault();
  showNotice($('create-error'), null);
  try {
    const reply = await postJSON('/api/mediations', {
      applicant_name: $('create-applicant-name').value.trim(),
      applicant_phone: $('create-applicant-phone').value.trim(),
      respondent_name: $('create-respondent-name').value.trim(),
      respondent_phone: $('create-respondent-phone').value.trim(),
      category: $('create-category').value,
      statement: $('create-statement').value.trim(),
    }, state.token);
    await refreshCases();
    await openCase(reply.case.id);
  } catch (err) {
    showRawNotice($('create-error'), errorText(err));
  }
}

async function openCase(caseId) {
  if (state.caseId !== caseId && state.room) {
    state.room.close();
    state.room = null;
  }
  state.caseId = caseId;
  const view = await getJSON(`/api/mediations/${caseId}`, state.token);
  state.view = view;
  const c = view.case;
  $('case-panel').hidden = false;
  $('case-number').textContent = c.number || t('mediator.no_number');
  $('case-status').textContent = statusText(c.status);
  $('case-status').dataset.status = c.status;
  $('case-parties').textContent = `${c.applicant.name} / ${c.respondent.name}`;
  $('case-statement').textContent = c.statement;
  if (c.deadline_at) setTime($('case-deadline'), c.deadline_at, 'deadline');
  $('accept-form').hidden = c.status !== 'created';
  renderDocuments(view.documents);
  renderLocks(view.participants);
  if (!state.agreement || state.agreement.caseId !== caseId) {
    // The agreement panel (docs/agreements.md), one per open case.
    if (state.agreement) state.agreement.root.remove();
    state.agreement = null;
    state.agreement = await mountAgreementPanel({ container: $('case-panel'), socket: state.socket,
      token: state.token, caseId, role: 'mediator', participants: () => (state.view ? state.view.participants : []) });
  }
  const objections = view.participants.filter((p) => p.objection);
  if (objections.length) showNotice($('case-notice'), 'mediator.objection', { name: objections.map((p) => p.name).join(', ') }, 'error');
  else showNotice($('case-notice'), null);
  if (c.room_id && !state.room) {
    const reply = await emit(state.socket, 'mediation:resume', { case_id: caseId });
    if (reply.room) renderRoomView(reply.room);
  }
}

async function onAccept(event) {
  event.preventDefault();
  await act(() => postJSON(`/api/mediations/${state.caseId}/accept`, {
    disclosure: byTestId('accept-disclosure').value.trim() || '无利害关系',
    conflict_declared: byTestId('accept-conflict').checked,
  }, state.token), $('case-notice'));
  await openCase(state.caseId);
}

/**
 * The invitations of the open case, from the case view (so they survive a reload): role, name,
 * the short code the party types at /join, its expiry; the link (which carries the party's
 * token) only in the session that made it, as the server keeps no copy of it.
 */
async function onInvite(event) {
  event.preventDefault();
  showNotice($('invite-error'), null);
  try {
    const side = $('invite-side').value;
    const phone = $('invite-phone').value.trim();
    const reply = await postJSON(`/api/mediations/${state.caseId}/invitations`, {
      role: $('invite-role').value, name: $('invite-name').value.trim(),
      id_last4: $('invite-id4').value.trim(), ...(side ? { side } : {}), ...(phone ? { phone } : {}),
    }, state.token);
    showInvitation(reply);
  } catch (err) {
    showRawNotice($('invite-error'), errorText(err));
  }
}

// The server never gives staff a party's token. With a phone on file the one-time code went to
// that phone and only where it went is shown; without one the code is shown once, to hand over.
function showInvitation(reply) {
  const p = reply.participant;
  const role = el('span');
  setText(role, `mrole.${p.role}`);
  const parts = [role, ` ${p.name} `];
  if (reply.code) {
    const code = el('code', { 'data-testid': `invite-code-${p.id}` });
    code.textContent = reply.code;
    const link = identifier(reply.link, { testid: `invite-link-${p.id}`, href: reply.link, head: 28, tail: 6 });
    const keys = el('span', { class: 'hint', 'data-testid': `invite-keys-${p.id}` }, [t('mediator.invite_keys', { keys: reply.phone_keys })]);
    parts.push(code, ' ', link, ' ', keys, ' ', el('span', { class: 'hint' }, [t('mediator.invite_once')]));
  } else {
    parts.push(el('span', { 'data-testid': `invite-sent-${p.id}` }, [t('mediator.invite_sent', { phone: reply.sent_to })]));
  }
  $('invite-results').append(el('li', { 'data-participant': p.id }, parts));
}

// Locked identity checks (too many wrong tries): shown with the way out, a re-issued invitation.
function renderLocks(participants) {
  const list = $('invite-locks');
  list.replaceChildren();
  for (const p of participants.filter((x) => x.locked)) {
    const button = el('button', { type: 'button', class: 'btn', 'data-testid': `reissue-${p.id}` }, [t('mediator.reissue')]);
    button.addEventListener('click', async () => {
      const reply = await act(() => postJSON(`/api/mediations/${state.caseId}/invitations/${p.id}/reissue`, {}, state.token), $('case-notice'));
      if (reply) showInvitation(reply);
      await openCase(state.caseId);
    });
    list.append(el('li', { class: 'notice', 'data-kind': 'error', 'data-testid': `locked-${p.id}` }, [
      t(`mediator.locked_${p.locked.scope}`, { name: p.name }), ' ', button]));
  }
}

async function onSchedule(event) {
  event.preventDefault();
  const local = $('schedule-at').value;
  if (!local) return;
  await act(() => postJSON(`/api/mediations/${state.caseId}/schedule`, { at: new Date(local).toISOString() }, state.token), $('case-notice'));
}

async function act(fn, errorEl) {
  try {
    return await fn();
  } catch (err) {
    showRawNotice(errorEl || $('room-error'), errorText(err));
    return null;
  }
}

async function control(event, payload = {}) {
  showNotice($('room-error'), null);
  const reply = await act(() => emit(state.socket, event, { case_id: state.caseId, ...payload }));
  if (reply && reply.room) renderRoomView(reply.room);
  return reply;
}

async function enterRoom() {
  showNotice($('room-error'), null);
  const reply = await act(() => emit(state.socket, 'mediation:enter', { case_id: state.caseId }));
  if (!reply) return;
  if (state.room) state.room.close();
  state.room = new MediationRoom({
    socket: state.socket,
    caseId: state.caseId,
    room: reply.room,
    slots: reply.media_slots,
    iceServers: await loadIceServers(),
    container: document.getElementById('room-root'),
    chat: reply.chat,
    onState: (view) => renderControls(view),
  });
  renderControls(reply.room);
  await state.room.start();
}

function renderRoomView(view) {
  if (state.room) state.room.setView(view);
  else renderControls(view);
}

function memberButton(testid, key, onClick) {
  const button = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': testid });
  setText(button, key);
  button.addEventListener('click', onClick);
  return button;
}

// A member on the phone line (docs/telephony.md): no video, hears only whom the caucus allows.
function phoneBadge(m) {
  if (!m.phone) return '';
  const badge = el('span', { class: 'badge', 'data-testid': `phone-${m.id}` });
  setText(badge, 'mediator.by_phone');
  return badge;
}

function renderControls(view) {
  state.roomView = view;
  const waiting = (view.members || []).filter((m) => m.lobby === 'waiting');
  $('lobby-list').replaceChildren(...waiting.map((m) => {
    const name = el('span', { class: 'member-name' });
    name.textContent = `${m.name} `;
    const role = el('span');
    setText(role, `mrole.${m.role}`);
    return el('li', { 'data-testid': `lobby-${m.id}` }, [role, name, phoneBadge(m),
      memberButton(`admit-${m.id}`, 'mediator.admit', () => control('mediation:admit', { participant_id: m.id })),
      memberButton(`refuse-${m.id}`, 'mediator.refuse', () => control('mediation:refuse', { participant_id: m.id })),
    ]);
  }));
  const admitted = (view.members || []).filter((m) => m.lobby === 'admitted' && m.id !== (view.self && view.self.id));
  // During a caucus each member's group in words: with the mediator, or waiting apart.
  const me = (view.members || []).find((m) => view.self && m.id === view.self.id);
  const myGroup = me ? me.group : null;
  const where = (m) => {
    if (m.group === null || m.group === undefined) return '';
    return ` · ${t(m.group === myGroup ? 'mediator.group_with_you' : 'mediator.group_apart')}`;
  };
  $('member-list').replaceChildren(...admitted.map((m) => {
    const name = el('span', { class: 'member-name' });
    name.textContent = `${m.name}${m.hand_raised ? ' ✋' : ''}${where(m)}`;
    const role = el('span');
    setText(role, `mrole.${m.role}`);
    return el('li', { 'data-testid': `member-${m.id}` }, [role, name, phoneBadge(m),
      memberButton(`mute-${m.id}`, m.muted ? 'mediator.unmute' : 'mediator.mute', () => control('mediation:mute', { participant_id: m.id, muted: !m.muted })),
      memberButton(`remove-${m.id}`, 'mediator.remove', () => control('mediation:remove', { participant_id: m.id })),
    ]);
  }));
  const caucus = view.caucus || {};
  $('caucus-end').disabled = !caucus.active;
  $('recording-toggle').setAttribute('aria-pressed', String(Boolean(view.recording_paused)));
  setText($('recording-toggle'), view.recording_paused ? 'mediator.resume_recording' : 'mediator.pause_recording');
}

function renderDocuments(documents) {
  $('doc-list').replaceChildren(...documents.map((d) => {
    const name = el('span');
    name.textContent = `${d.filename} (${d.content_type}, ${Math.ceil(d.size / 1024)} KB) `;
    return el('li', {}, [name, memberButton(`show-doc-${d.id}`, 'mediator.show_doc', () => control('mediation:show_document', { document_id: d.id }))]);
  }));
}

async function upload() {
  const file = $('doc-file').files[0];
  if (!file) return;
  showNotice($('doc-error'), null);
  const response = await fetch(`/api/mediations/${state.caseId}/documents?filename=${encodeURIComponent(file.name)}`, {
    method: 'POST', body: file, headers: { Authorization: `Bearer ${state.token}` },
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    showRawNotice($('doc-error'), (body && body.error && localMessage(body.error.message)) || `HTTP ${response.status}`);
    return;
  }
  await openCase(state.caseId);
}

async function main() {
  await initI18n();
  document.getElementById('login-form').addEventListener('submit', onLogin);
  document.getElementById('create-form').addEventListener('submit', onCreate);
  document.getElementById('accept-form').addEventListener('submit', onAccept);
  document.getElementById('invite-form').addEventListener('submit', onInvite);
  document.getElementById('schedule-form').addEventListener('submit', onSchedule);
  $('room-enter').addEventListener('click', enterRoom);
  $('caucus-start').addEventListener('click', () => control('mediation:caucus', { with_side: 'applicant' }));
  $('caucus-start-respondent').addEventListener('click', () => control('mediation:caucus', { with_side: 'respondent' }));
  $('caucus-end').addEventListener('click', () => control('mediation:caucus_end'));
  $('recording-toggle').addEventListener('click', () => control('mediation:recording', { paused: !(state.roomView && state.roomView.recording_paused) }));
  $('end-session').addEventListener('click', () => control('mediation:end'));
  $('doc-upload').addEventListener('click', upload);
  $('flag-risk').addEventListener('click', () => act(() => postJSON(`/api/mediations/${state.caseId}/risk`, { note: 'escalation risk flagged in the console' }, state.token)));
  $('close-case').addEventListener('click', async () => {
    await act(() => postJSON(`/api/mediations/${state.caseId}/close`, { outcome: $('close-outcome').value }, state.token));
    await openCase(state.caseId);
  });
  const token = session('getItem', TOKEN_KEY);
  if (token) await startSession(token);
  else showView('login');
}

main().catch((err) => {
  console.error(err);
  showRawNotice($('loading-error'), String(err));
});
