// A mediation room in the browser: one RTCPeerConnection to the media worker carrying our own
// audio+video (sendrecv) and one receiving "slot" per remote participant (recvonly pairs), the
// participant tiles, the room chat and the raised hand. Used by /mediator and /join.
//
// docs/mediation.md: the browser offers 1 sendrecv + (slots - 1) recvonly transceivers of each
// kind; slot i of a kind is the i-th transceiver of that kind. `mediation:slots` says which
// participant the worker forwards on each slot; a slot the server leaves empty gets no packets
// (a caucus), whatever this page does. Negotiation and recovery: media_client.js (including the
// server's `room:renegotiate` when the room moves to another media worker).

import { emit, errorText } from './api.js';
import { el } from './dom.js';
import { applyTranslations, setText, setTime } from './i18n.js';
import { addSendRecv, getLocalMedia, MediaClient, preferCodecs } from './media_client.js';
import { configureLayers, withSimulcast } from './simulcast.js';
import { showNotice, showRawNotice } from './views.js';

const MAX_SLOTS = 7;
const FATAL_CODES = new Set(['room_closed', 'forbidden', 'not_found', 'bad_sdp',
  'no_dtls_fingerprint']);

// For end-to-end tests: the current peer connection and slot -> participant mapping.
window.parleyMediation = window.parleyMediation || { pc: null, slots: [], mids: [] };

export class MediationRoom {
  /**
   * @param {object} opts
   * @param {object} opts.socket  connected socket.io socket
   * @param {string} opts.caseId
   * @param {object} opts.room  the room view from mediation:enter / lobby / resume
   * @param {number} opts.slots  receiving slots to offer (remote participants)
   * @param {RTCIceServer[]} opts.iceServers
   * @param {HTMLElement} opts.container
   * @param {object[]} [opts.chat]  chat history
   * @param {(view: object) => void} [opts.onState]  every new room view
   */
  constructor({ socket, caseId, room, slots, iceServers = [], container, chat = [], onState = () => {} }) {
    this.socket = socket;
    this.caseId = caseId;
    this.view = room;
    this.slotCount = Math.max(1, Math.min(MAX_SLOTS, slots || 1));
    this.onState = onState;
    this.slots = [];
    this.tiles = new Map();
    this.seen = new Set();
    this.closed = false;
    this.render(container);
    for (const message of chat) this.appendChat(message);
    this.handlers = {
      'mediation:state': (v) => v && v.case_id === this.caseId && this.setView(v),
      'mediation:slots': (s) => s && s.case_id === this.caseId && this.setSlots(s.slots || []),
      'mediation:chat': (m) => m && m.case_id === this.caseId && this.appendChat(m),
      'call:link': (l) => l && l.case_id === this.caseId && this.setLink(l.participant_id, l.state),
    };
    for (const [event, fn] of Object.entries(this.handlers)) socket.on(event, fn);
    this.media = new MediaClient({
      socket,
      iceServers,
      offerEvent: 'mediation:offer',
      candidateEvent: 'mediation:candidate',
      target: () => ({ case_id: this.caseId }),
      roomId: () => (this.view ? this.view.room_id : null),
      fatalCodes: FATAL_CODES,
      transceivers: (pc, stream) => this.layOut(pc, stream),
      // Our camera as two layers; the worker gives each of the others the one its link
      // carries (docs/media.md "Simulcast").
      mungeOffer: (sdp) => withSimulcast(sdp),
      onAnswered: () => configureLayers(this.video[0].sender),
      onOffered: () => {
        window.parleyMediation.mids = this.audio.map((a, i) => ({ audio: a.mid, video: this.video[i].mid }));
      },
      onState: (state) => this.setStatus(state),
      onError: (err) => (err ? showRawNotice(this.error, errorText(err)) : showNotice(this.error, null)),
      onPeerConnection: (pc) => {
        window.parleyMediation.pc = pc;
      },
      // After a socket reconnect: fetch the room again (we return to our own group), then offer.
      beforeReconnect: () => this.resume(),
    });
    this.setView(room);
  }

  /**
   * `call:link`: a member's link fell back to audio only ('audio_only'), video is tried again
   * ('trial') or is back ('video'). About this page's own link: the notice shows, and while it
   * is 'audio_only' this page stops sending video too (the weak link is left to the audio).
   * About someone else's: their tile says so; this page keeps sending video to the others.
   */
  setLink(participantId, state) {
    if (!['audio_only', 'trial', 'video'].includes(state)) return;
    if (participantId !== this.selfId) {
      const tile = this.tiles.get(participantId);
      if (tile) tile.dataset.link = state;
      return;
    }
    this.root.dataset.link = state;
    setText(this.linkNotice, `call.link.${state}`);
    this.linkNotice.hidden = false;
    clearTimeout(this.linkTimer);
    if (state === 'video') this.linkTimer = setTimeout(() => { this.linkNotice.hidden = true; }, 4000);
    this.media.setVideoSending(state !== 'audio_only');
  }

  render(container) {
    this.linkNotice = el('p', { class: 'notice', role: 'status', 'data-testid': 'link-notice', hidden: '' });
    this.banner = el('p', { class: 'notice', role: 'status', 'data-testid': 'caucus-banner', hidden: '' });
    this.grid = el('div', { class: 'tiles', 'data-testid': 'tiles' });
    this.localVideo = el('video', { class: 'local-video', 'data-testid': 'local-video', autoplay: '', playsinline: '', 'data-i18n-aria-label': 'call.local_video' });
    this.localVideo.muted = true;
    this.handButton = el('button', { type: 'button', class: 'btn btn-toggle', 'data-testid': 'raise-hand', 'aria-pressed': 'false' });
    setText(this.handButton, 'mediation.raise_hand');
    this.handButton.addEventListener('click', () => this.toggleHand());
    this.muteButton = el('button', { type: 'button', class: 'btn btn-toggle', 'data-testid': 'mute', 'aria-pressed': 'false' });
    setText(this.muteButton, 'call.mute');
    this.muteButton.addEventListener('click', () => this.toggleMute());
    this.error = el('p', { class: 'notice', role: 'alert', 'data-testid': 'call-error', hidden: '' });
    this.status = el('p', { class: 'call-status', role: 'status', 'data-testid': 'call-status' });
    const chatTitle = el('h3', { id: 'med-chat-title', class: 'chat-title' });
    setText(chatTitle, 'chat.title');
    this.chatLog = el('ol', { class: 'chat-log', 'data-testid': 'chat-log', 'aria-live': 'polite', 'aria-labelledby': 'med-chat-title', tabindex: '0' });
    const label = el('label', { for: 'med-chat-input', class: 'visually-hidden' });
    setText(label, 'chat.input_label');
    this.chatInput = el('input', { id: 'med-chat-input', type: 'text', maxlength: '2000', autocomplete: 'off', 'data-testid': 'chat-input', 'data-i18n-placeholder': 'chat.placeholder' });
    const send = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'chat-send' });
    setText(send, 'chat.send');
    const form = el('form', { class: 'chat-form', novalidate: '' }, [label, this.chatInput, send]);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.sendChat();
    });
    this.chatError = el('p', { class: 'notice', role: 'alert', 'data-testid': 'chat-error', hidden: '' });
    this.root = el('div', { class: 'call mediation-room', 'data-testid': 'mediation-room' }, [
      el('div', { class: 'call-main' }, [
        this.status,
        this.banner,
        this.linkNotice,
        this.grid,
        this.localVideo,
        el('div', { class: 'call-controls', role: 'group', 'data-i18n-aria-label': 'call.controls' }, [this.muteButton, this.handButton]),
        this.error,
      ]),
      el('section', { class: 'chat', 'aria-labelledby': 'med-chat-title' }, [chatTitle, this.chatLog, form, this.chatError]),
    ]);
    container.replaceChildren(this.root);
    applyTranslations(this.root);
  }

  get selfId() {
    return this.view && this.view.self ? this.view.self.id : null;
  }

  /** A new room view: tiles, caucus banner, renegotiate if more people than slots. */
  setView(view) {
    this.view = view;
    const caucus = view.caucus || {};
    if (view.ended) showNotice(this.banner, 'mediation.session_ended', undefined, 'info');
    else if (caucus.active && !caucus.with_mediator) showNotice(this.banner, 'mediation.caucus_waiting', undefined, 'info');
    else if (caucus.active) showNotice(this.banner, 'mediation.caucus_private', undefined, 'info');
    else showNotice(this.banner, null);
    this.banner.dataset.state = view.ended ? 'ended' : caucus.active ? (caucus.with_mediator ? 'private' : 'waiting') : 'joint';
    const me = view.self || {};
    this.handButton.setAttribute('aria-pressed', String(Boolean(me.hand_raised)));
    for (const member of view.members || []) {
      if (member.id === this.selfId || member.lobby !== 'admitted') continue;
      this.tile(member.id).update(member);
    }
    for (const [id, tile] of this.tiles) {
      if (!(view.members || []).some((m) => m.id === id && m.lobby === 'admitted')) {
        tile.root.remove();
        this.tiles.delete(id);
      }
    }
    const others = (view.members || []).filter((m) => m.lobby === 'admitted' && m.id !== this.selfId).length;
    if (this.media.pc && others > this.slotCount && this.slotCount < MAX_SLOTS) {
      this.slotCount = Math.min(MAX_SLOTS, others);
      this.media.renegotiate('more participants');
    }
    if (view.ended) this.close();
    this.onState(view);
  }

  tile(id) {
    let tile = this.tiles.get(id);
    if (tile) return tile;
    const video = el('video', { class: 'remote-video', 'data-testid': `remote-video-${id}`, autoplay: '', playsinline: '' });
    const name = el('span', { class: 'tile-name' });
    const role = el('span', { class: 'tile-role' });
    const flags = el('span', { class: 'tile-flags', 'data-testid': `tile-flags-${id}` });
    const root = el('figure', { class: 'tile', 'data-testid': `tile-${id}` }, [video, el('figcaption', {}, [role, ' ', name, ' ', flags])]);
    this.grid.append(root);
    tile = {
      root,
      video,
      phone: false,
      update: (member) => {
        setText(role, `mrole.${member.role}`);
        name.textContent = member.name;
        const marks = [];
        if (member.phone) marks.push('📞');
        if (member.hand_raised) marks.push('✋');
        if (member.muted) marks.push('🔇');
        flags.textContent = marks.join(' ');
        root.dataset.withMe = String(Boolean(member.with_me));
        root.dataset.phone = String(Boolean(member.phone));
        if (tile.phone !== Boolean(member.phone)) {
          tile.phone = Boolean(member.phone);
          this.placeStreams();
        }
      },
    };
    this.tiles.set(id, tile);
    this.placeStreams();
    return tile;
  }

  /** `mediation:slots`: which participant is on each receiving slot. */
  setSlots(slots) {
    this.slots = slots;
    window.parleyMediation.slots = slots;
    this.placeStreams();
  }

  placeStreams() {
    this.slots.forEach((id, index) => {
      const tile = id && this.tiles.get(id);
      // A phone party sends no video: a stream with a video track that never has a frame
      // does not start playing in Chromium, and its audio would stay silent.
      const streams = tile && tile.phone ? this.slotAudio : this.slotStreams;
      const stream = streams && streams[index];
      if (tile && stream && tile.video.srcObject !== stream) {
        tile.video.srcObject = stream;
        tile.video.play().catch(() => {});
      }
    });
    for (const [id, tile] of this.tiles) tile.root.dataset.receiving = String(this.slots.includes(id));
  }

  async start() {
    const { stream, error } = await getLocalMedia('video');
    if (this.closed) {
      if (stream) stream.getTracks().forEach((t) => t.stop());
      return;
    }
    if (error) showNotice(this.error, 'call.media_missing', undefined, 'error');
    if (stream) this.localVideo.srcObject = stream;
    await this.media.start(stream);
  }

  /** Our audio+video (sendrecv) first, then one recvonly pair per further slot. */
  layOut(pc, stream) {
    this.audio = [addSendRecv(pc, stream, 'audio')];
    this.video = [addSendRecv(pc, stream, 'video')];
    for (let i = 1; i < this.slotCount; i += 1) {
      this.audio.push(pc.addTransceiver('audio', { direction: 'recvonly' }));
      this.video.push(pc.addTransceiver('video', { direction: 'recvonly' }));
      preferCodecs(this.audio[i], 'audio');
      preferCodecs(this.video[i], 'video');
    }
    this.slotStreams = this.audio.map((a, i) => new MediaStream([a.receiver.track, this.video[i].receiver.track]));
    this.slotAudio = this.audio.map((a) => new MediaStream([a.receiver.track]));
    for (const tile of this.tiles.values()) tile.video.srcObject = null;
    this.placeStreams();
  }

  setStatus(state) {
    this.status.dataset.state = state;
    setText(this.status, `call.status.${state}`);
  }

  /** The room as the server has it now, with the chat we missed. */
  async resume() {
    const reply = await emit(this.socket, 'mediation:resume', { case_id: this.caseId });
    if (reply.room) this.setView(reply.room);
    for (const message of reply.chat || []) this.appendChat(message);
  }

  appendChat(message) {
    if (!message || this.seen.has(message.id)) return;
    this.seen.add(message.id);
    const sender = message.sender || {};
    const mine = sender.id === this.selfId;
    const who = el('span', { class: 'msg-sender' });
    if (mine) setText(who, 'chat.you');
    else {
      const role = el('span');
      setText(role, `mrole.${sender.role}`);
      who.append(role, ` ${sender.name || ''}`);
    }
    const time = el('time', { class: 'msg-time' });
    setTime(time, message.at, 'short');
    const text = el('p', { class: 'msg-text' });
    text.textContent = message.text;
    this.chatLog.append(el('li', { class: mine ? 'msg msg-self' : 'msg msg-peer', 'data-id': String(message.id) }, [
      el('div', { class: 'msg-meta' }, [who, ' ', time]),
      text,
    ]));
    this.chatLog.scrollTop = this.chatLog.scrollHeight;
  }

  async sendChat() {
    const text = this.chatInput.value.trim();
    if (!text) return;
    showNotice(this.chatError, null);
    try {
      const ack = await emit(this.socket, 'mediation:chat', { case_id: this.caseId, text });
      this.appendChat(ack.message);
      this.chatInput.value = '';
    } catch (err) {
      showRawNotice(this.chatError, errorText(err));
    }
  }

  async toggleHand() {
    const raised = this.handButton.getAttribute('aria-pressed') !== 'true';
    try {
      const ack = await emit(this.socket, 'mediation:hand', { case_id: this.caseId, raised });
      if (ack.room) this.setView(ack.room);
    } catch (err) {
      showRawNotice(this.error, errorText(err));
    }
  }

  toggleMute() {
    const muted = this.media.toggleAudio();
    if (muted !== null) this.muteButton.setAttribute('aria-pressed', String(muted));
  }

  /** Release media and listeners. Idempotent. */
  close() {
    if (this.closed) return;
    this.closed = true;
    for (const [event, fn] of Object.entries(this.handlers)) this.socket.off(event, fn);
    emit(this.socket, 'mediation:leave', { case_id: this.caseId }).catch(() => {});
    this.media.close();
    this.setStatus('ended');
  }
}
