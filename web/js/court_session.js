// The court's confirmation session in a room (docs/agreements.md), on /court: the clerk opens a
// new room of the mediation case and presides (admit, refuse, mute, remove, end) over the same
// room as a mediation (web/js/mediation_call.js); the parties come in through their /join lobby.

import { connectSocket, emit, errorText, loadIceServers, postJSON } from './api.js';
import { byTestId, el } from './dom.js';
import { formatWhen, setText, t } from './i18n.js';
import { MediationRoom } from './mediation_call.js';
import { showRawNotice } from './views.js';

const $ = (id) => byTestId(id);

export class CourtSession {
  /**
   * @param {object} opts
   * @param {string} opts.token  the clerk's token
   * @param {() => object} opts.application  the application open on the page
   * @param {() => Promise<void>} opts.refresh  re-read the application after the session ends
   */
  constructor({ token, application, refresh }) {
    this.token = token;
    this.application = application;
    this.refresh = refresh;
    this.socket = null;
    this.room = null;
    this.caseId = null;
    $('court-room-start').addEventListener('click', () => this.guard(() => this.start()));
    $('court-room-end').addEventListener('click', () => this.guard(() => this.end()));
  }

  async guard(fn) {
    $('court-room-error').hidden = true;
    try {
      await fn();
    } catch (err) {
      showRawNotice($('court-room-error'), errorText(err));
    }
  }

  /** Show the application's session (not started, in progress, held) and the start button. */
  show(a) {
    const held = a.session_room;
    const live = Boolean(held && !held.ended_at);
    $('court-room-start').hidden = a.status !== 'submitted';
    setText($('court-room-start'), live ? 'court.room_return' : 'court.room_start');
    $('court-room-end').hidden = !this.room;
    const status = $('court-room-status');
    status.dataset.state = !held ? 'none' : (live ? 'live' : 'ended');
    if (!held) status.textContent = '';
    else if (live) status.textContent = t('court.room_live', { at: formatWhen(held.started_at, 'short') });
    else {
      const names = (held.attended || []).map((m) => `${m.name} (${t(`mrole.${m.role}`)})`).join(', ');
      status.textContent = t('court.room_held', { from: formatWhen(held.started_at, 'short'), to: formatWhen(held.ended_at, 'short'), who: names });
    }
    if (a.case_id !== this.caseId && this.room) this.leave();
  }

  async start() {
    const a = this.application().application;
    if (!this.socket) {
      this.socket = await connectSocket(this.token);
      this.socket.on('mediation:state', (view) => {
        if (view && view.case_id === this.caseId) this.renderControls(view);
      });
    }
    const opened = await postJSON(`/api/court/applications/${a.id}/room`, {}, this.token);
    // The socket's own enter: the same room, with the chat history and this browser's slots.
    const reply = await emit(this.socket, 'mediation:enter', { case_id: a.case_id });
    this.caseId = a.case_id;
    if (this.room) this.room.close();
    $('court-room-panel').hidden = false;
    this.room = new MediationRoom({
      socket: this.socket,
      caseId: a.case_id,
      room: reply.room,
      slots: reply.media_slots,
      iceServers: await loadIceServers(),
      container: document.getElementById('court-room-root'),
      chat: reply.chat,
      onState: (view) => this.renderControls(view),
    });
    this.renderControls(reply.room);
    this.show(opened.application);
    await this.room.start();
  }

  async end() {
    const a = this.application().application;
    await postJSON(`/api/court/applications/${a.id}/room/end`, {}, this.token);
    this.leave();
    await this.refresh();
  }

  leave() {
    if (this.room) this.room.close();
    this.room = null;
    this.caseId = null;
    $('court-room-lobby').replaceChildren();
    $('court-room-members').replaceChildren();
    $('court-room-end').hidden = true;
  }

  async control(event, payload) {
    $('court-room-error').hidden = true;
    try {
      const reply = await emit(this.socket, event, { case_id: this.caseId, ...payload });
      if (reply && reply.room) {
        if (this.room) this.room.setView(reply.room);
        this.renderControls(reply.room);
      }
    } catch (err) {
      showRawNotice($('court-room-error'), errorText(err));
    }
  }

  button(testid, key, onClick) {
    const button = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': testid });
    setText(button, key);
    button.addEventListener('click', onClick);
    return button;
  }

  renderControls(view) {
    if (!view || !this.room) return;
    const members = view.members || [];
    const label = (m) => {
      const role = el('span');
      setText(role, `mrole.${m.role}`);
      const name = el('span', { class: 'member-name' });
      name.textContent = ` ${m.name}${m.hand_raised ? ' ✋' : ''} `;
      return [role, name];
    };
    $('court-room-lobby').replaceChildren(...members.filter((m) => m.lobby === 'waiting').map((m) =>
      el('li', { 'data-testid': `court-lobby-${m.id}` }, [...label(m),
        this.button(`court-admit-${m.id}`, 'mediator.admit', () => this.control('mediation:admit', { participant_id: m.id })),
        this.button(`court-refuse-${m.id}`, 'mediator.refuse', () => this.control('mediation:refuse', { participant_id: m.id }))])));
    const self = view.self && view.self.id;
    $('court-room-members').replaceChildren(...members.filter((m) => m.lobby === 'admitted' && m.id !== self).map((m) =>
      el('li', { 'data-testid': `court-member-${m.id}` }, [...label(m),
        this.button(`court-mute-${m.id}`, m.muted ? 'mediator.unmute' : 'mediator.mute', () => this.control('mediation:mute', { participant_id: m.id, muted: !m.muted })),
        this.button(`court-remove-${m.id}`, 'mediator.remove', () => this.control('mediation:remove', { participant_id: m.id }))])));
    $('court-room-end').hidden = Boolean(view.ended);
  }
}
