// One consultation's call: local media, the media worker's connection (media_client.js), remote
// media, the call controls and the chat beside them. Used by the citizen page and the lawyer
// console alike. One sendrecv transceiver per kind (audio, and video in video mode).

import { emit, errorText } from './api.js';
import { Chat } from './chat.js';
import { el } from './dom.js';
import { applyTranslations, setText } from './i18n.js';
import { addSendRecv, getLocalMedia, MediaClient, preferCodecs } from './media_client.js';
import { showNotice, showRawNotice } from './views.js';

// Shared with end-to-end tests, which read getStats() from the current peer connection.
window.parleyCall = window.parleyCall || { pc: null };

export class Call {
  /**
   * @param {object} opts
   * @param {object} opts.socket  connected socket.io socket
   * @param {object} opts.room  RoomView {room_id, case_id, mode, self, peer}
   * @param {RTCIceServer[]} opts.iceServers  from GET /api/config
   * @param {HTMLElement} opts.container  where the call is rendered
   * @param {object[]} [opts.chat]  chat history
   * @param {() => void} [opts.onHangup]  called after this side hung up
   */
  constructor({ socket, room, iceServers = [], container, chat = [], onHangup = () => {} }) {
    this.socket = socket;
    this.room = room;
    this.mode = room.mode;
    this.onHangup = onHangup;
    this.peer = room.peer || null;
    this.peerLeft = false;
    this.mediaState = 'connecting';
    this.closed = false;
    this.render(container);
    this.chat = new Chat({ socket, roomId: room.room_id, selfRole: room.self.role, container: this.chatBox });
    this.chat.load(chat);
    this.onPeer = (event) => this.handlePeer(event);
    socket.on('room:peer', this.onPeer);
    // The server's link guard paused video (weak link) or brings it back.
    this.links = new Map(); // participant -> link state of the video they receive
    this.onLink = (event) => {
      if (event && event.room_id === this.roomId) this.setLink(event.participant_id, event.state);
    };
    socket.on('call:link', this.onLink);
    this.remoteStream = null;
    // More than one when a supervisor joined before this page loaded (live assist).
    this.audioSlots = Math.max(1, Math.min(4, room.audio_slots || 1));
    this.extraAudio = [];
    this.media = new MediaClient({
      socket,
      iceServers,
      offerEvent: 'rtc:offer',
      candidateEvent: 'rtc:candidate',
      target: () => ({ room_id: this.roomId }),
      roomId: () => this.roomId,
      transceivers: (pc, stream) => {
        addSendRecv(pc, stream, 'audio');
        if (this.mode === 'video') addSendRecv(pc, stream, 'video');
        // A supervisor who joined (live assist) is heard on further audio slots.
        this.extraAudio = [];
        for (let slot = 1; slot < this.audioSlots; slot++) {
          const extra = pc.addTransceiver('audio', { direction: 'recvonly' });
          preferCodecs(extra, 'audio');
          this.extraAudio.push(extra);
        }
      },
      onState: (state) => this.setMediaState(state),
      onError: (err) => (err ? showRawNotice(this.error, errorText(err)) : showNotice(this.error, null)),
      onTrack: (event) => {
        if (this.extraAudio.includes(event.transceiver)) {
          this.assistAudio.srcObject = new MediaStream([event.track]);
          this.assistAudio.play().catch(() => {});
          return;
        }
        this.remoteStream.addTrack(event.track);
        if (this.remoteVideo.srcObject !== this.remoteStream) this.remoteVideo.srcObject = this.remoteStream;
        this.playRemote();
      },
      onPeerConnection: (pc) => {
        window.parleyCall.pc = pc;
        // A fresh stream per connection: the old one's tracks have ended.
        if (pc) this.remoteStream = new MediaStream();
      },
    });
    this.renderPeer();
  }

  get roomId() {
    return this.room.room_id;
  }

  render(container) {
    const mode = this.mode;
    this.peerRole = el('span', { class: 'peer-role' });
    this.peerName = el('span', { class: 'peer-name' });
    this.status = el('p', { class: 'call-status', role: 'status', 'data-testid': 'call-status' });
    const modeLabel = el('span', { class: 'call-mode', 'data-testid': 'call-mode' });
    setText(modeLabel, `mode.${mode}`);
    const header = el('div', { class: 'call-header' }, [
      el('p', { class: 'call-peer', 'data-testid': 'call-peer' }, [this.peerRole, ' ', this.peerName]),
      modeLabel,
      this.status,
    ]);

    this.remoteVideo = el('video', {
      class: mode === 'video' ? 'remote-video' : 'remote-video visually-hidden',
      'data-testid': 'remote-video',
      autoplay: '',
      playsinline: '',
      'data-i18n-aria-label': 'call.remote_video',
    });
    this.localVideo = el('video', {
      class: 'local-video',
      'data-testid': 'local-video',
      autoplay: '',
      playsinline: '',
      'data-i18n-aria-label': 'call.local_video',
      hidden: mode === 'video' ? undefined : '',
    });
    this.localVideo.muted = true;
    this.playButton = el('button', { type: 'button', class: 'btn btn-primary play-remote', 'data-testid': 'play-remote', hidden: '' });
    setText(this.playButton, 'call.play_remote');
    this.playButton.addEventListener('click', () => this.playRemote());
    const audioCard = el('div', { class: 'audio-card', 'aria-hidden': 'true', hidden: mode === 'audio' ? undefined : '' });
    setText(audioCard, 'call.audio_only');
    this.assistAudio = el('audio', { autoplay: '', 'data-testid': 'assist-audio' });
    this.mediaBox = el('div', { class: 'call-media', hidden: mode === 'text' ? '' : undefined }, [
      this.assistAudio,
      this.remoteVideo,
      audioCard,
      this.localVideo,
      this.playButton,
    ]);

    this.muteButton = el('button', { type: 'button', class: 'btn btn-toggle', 'data-testid': 'mute', 'aria-pressed': 'false', hidden: mode === 'text' ? '' : undefined });
    setText(this.muteButton, 'call.mute');
    this.muteButton.addEventListener('click', () => this.toggleMute());
    this.cameraButton = el('button', { type: 'button', class: 'btn btn-toggle', 'data-testid': 'camera', 'aria-pressed': 'false', hidden: mode === 'video' ? undefined : '' });
    setText(this.cameraButton, 'call.camera_off');
    this.cameraButton.addEventListener('click', () => this.toggleCamera());
    this.hangupButton = el('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'hangup' });
    setText(this.hangupButton, mode === 'text' ? 'call.leave_chat' : 'call.hangup');
    this.hangupButton.addEventListener('click', () => this.hangup());
    const controls = el('div', { class: 'call-controls', role: 'group', 'data-i18n-aria-label': 'call.controls' }, [
      this.muteButton,
      this.cameraButton,
      this.hangupButton,
    ]);

    this.error = el('p', { class: 'notice', role: 'alert', 'data-testid': 'call-error', hidden: '' });
    this.linkNotice = el('p', { class: 'notice', role: 'status', 'data-testid': 'call-link', hidden: '' });
    this.chatBox = el('div', { class: 'call-chat' });
    // Text mode: the chat is the consultation, so it comes before "leave" in reading order.
    const parts =
      mode === 'text'
        ? [el('div', { class: 'call-main' }, [header, this.error]), this.chatBox, controls]
        : [el('div', { class: 'call-main' }, [header, this.linkNotice, this.mediaBox, controls, this.error]), this.chatBox];
    this.root = el('div', { class: `call call-${mode}`, 'data-testid': 'call', 'data-mode': mode }, parts);
    container.replaceChildren(this.root);
    applyTranslations(this.root);
  }

  renderPeer() {
    if (this.peer) {
      setText(this.peerRole, `role.${this.peer.role}`);
      this.peerName.textContent = this.peer.name || '';
    } else {
      setText(this.peerRole, 'call.no_peer');
      this.peerName.textContent = '';
    }
    this.renderStatus();
  }

  renderStatus() {
    let key;
    if (this.closed) key = 'call.status.ended';
    else if (!this.peer) key = this.peerLeft ? 'call.status.peer_left' : 'call.status.waiting_peer';
    else if (this.mode === 'text') key = 'call.status.text';
    else key = `call.status.${this.mediaState}`;
    this.status.dataset.state = key.split('.').pop();
    setText(this.status, key);
  }

  setMediaState(state) {
    this.mediaState = state;
    this.renderStatus();
  }

  handlePeer(event) {
    if (!event || event.room_id !== this.roomId) return;
    if (event.event === 'supervisor_joined' || event.event === 'supervisor_left') {
      // Live assist: say who is listening in, and offer a slot to hear them (or drop it).
      const key = event.event === 'supervisor_joined' ? 'call.supervisor_joined' : 'call.supervisor_left';
      showNotice(this.linkNotice, key, { name: (event.peer && event.peer.name) || '' });
      const slots = event.event === 'supervisor_joined' ? Math.max(2, event.slots || 2) : 1;
      if (slots !== this.audioSlots) {
        this.audioSlots = slots;
        this.media.renegotiate('supervisor');
      }
      return;
    }
    if (event.event === 'left') {
      this.peer = null;
      this.peerLeft = true;
    } else {
      this.peer = event.peer || this.peer;
      this.peerLeft = false;
    }
    this.renderPeer();
  }

  /** Get local media (unless text mode) and make the first offer. */
  async start() {
    if (this.mode === 'text') {
      this.renderStatus();
      return;
    }
    const { stream, error } = await getLocalMedia(this.mode);
    if (this.closed) {
      if (stream) stream.getTracks().forEach((track) => track.stop());
      return;
    }
    if (error) this.showMediaError(error);
    if (stream && this.mode === 'video' && stream.getVideoTracks().length) {
      this.localVideo.srcObject = stream;
    } else {
      this.localVideo.hidden = true;
      this.cameraButton.hidden = true;
    }
    if (!stream) this.muteButton.hidden = true;
    await this.media.start(stream);
  }

  showMediaError(err) {
    const key = err && err.name === 'NotAllowedError' ? 'call.media_denied' : 'call.media_missing';
    showNotice(this.error, key, undefined, 'error');
  }

  playRemote() {
    const playing = this.remoteVideo.play();
    if (!playing) return;
    playing.then(
      () => {
        this.playButton.hidden = true;
      },
      (err) => {
        // Autoplay with sound refused (no user gesture yet, e.g. after a reload): ask for a tap.
        if (err && err.name === 'NotAllowedError') this.playButton.hidden = false;
      },
    );
  }

  toggleMute() {
    const muted = this.media.toggleAudio();
    if (muted !== null) this.muteButton.setAttribute('aria-pressed', String(muted));
  }

  toggleCamera() {
    const off = this.media.toggleVideo();
    if (off !== null) this.cameraButton.setAttribute('aria-pressed', String(off));
  }

  /**
   * A side's link state from the server. While either side is 'audio_only' this page does not
   * send video (the weak link is left to the audio); 'trial' and 'video' send it again. The
   * notice shows the call's state and goes once video is back.
   */
  setLink(participantId, reported) {
    if (!['audio_only', 'trial', 'video'].includes(reported)) return;
    this.links.set(participantId, reported);
    const states = [...this.links.values()];
    const state = states.includes('audio_only') ? 'audio_only' : states.includes('trial') ? 'trial' : 'video';
    this.root.dataset.link = state;
    setText(this.linkNotice, `call.link.${state}`);
    this.linkNotice.hidden = false;
    clearTimeout(this.linkTimer);
    if (state === 'video') this.linkTimer = setTimeout(() => { this.linkNotice.hidden = true; }, 4000);
    this.media.setVideoSending(state !== 'audio_only');
  }

  /** Hang up from this side: tell the server, release everything, notify the page. */
  async hangup() {
    if (this.closed) return;
    const done = emit(this.socket, 'call:hangup', { room_id: this.roomId }).catch((err) => {
      console.warn('hangup not acknowledged', err.code);
    });
    this.close();
    this.onHangup();
    await done;
  }

  /** Release media and listeners without telling the server (it ended the case). Idempotent. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.socket.off('room:peer', this.onPeer);
    this.socket.off('call:link', this.onLink);
    clearTimeout(this.linkTimer);
    this.media.close();
    this.localVideo.srcObject = null;
    this.remoteVideo.srcObject = null;
    this.chat.destroy();
    for (const button of [this.muteButton, this.cameraButton, this.hangupButton]) button.disabled = true;
    this.renderStatus();
  }
}
