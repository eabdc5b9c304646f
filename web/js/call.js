// One consultation's call: local media, one RTCPeerConnection to the server's media worker,
// remote media, the call controls and the chat beside them. Used by the citizen page and the
// lawyer console alike.
//
// The browser always offers (docs/protocol.md): sendrecv transceivers, VP8/Opus only, no
// simulcast; `rtc:offer` is acked with the worker's answer, which carries all of the worker's
// candidates; our own candidates are trickled with `rtc:candidate` once that answer is in.
// Recovery is always "new peer connection, new offer": the worker replaces the old one.

import { emit, errorText } from './api.js';
import { Chat } from './chat.js';
import { el } from './dom.js';
import { applyTranslations, setText } from './i18n.js';
import { showNotice, showRawNotice } from './views.js';

const DISCONNECT_GRACE_MS = 2000;
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000];
// Errors after which another offer cannot help.
const FATAL_CODES = new Set(['room_closed', 'not_in_room', 'forbidden', 'not_found', 'bad_sdp']);

// Shared with end-to-end tests, which read getStats() from the current peer connection.
window.parleyCall = window.parleyCall || { pc: null };

/** Reorder a transceiver's codecs to only those the media worker forwards and records. */
export function preferCodecs(transceiver, kind) {
  if (typeof transceiver.setCodecPreferences !== 'function') return;
  const caps = RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities(kind);
  if (!caps) return;
  const wanted = kind === 'video' ? 'video/vp8' : 'audio/opus';
  const main = caps.codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  if (!main.length) return;
  // Keep RTX so lost video packets can still be retransmitted; drop every other codec.
  const rtx = kind === 'video' ? caps.codecs.filter((c) => c.mimeType.toLowerCase() === 'video/rtx') : [];
  try {
    transceiver.setCodecPreferences([...main, ...rtx]);
  } catch (err) {
    console.warn('setCodecPreferences failed; using the browser default', err);
  }
}

export async function getLocalMedia(mode) {
  if (mode === 'text' || !navigator.mediaDevices) return { stream: null, error: null };
  const video = mode === 'video' ? { width: 640, height: 480, frameRate: { ideal: 30 } } : false;
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ audio: true, video }), error: null };
  } catch (err) {
    if (!video) return { stream: null, error: err };
    // No camera (or it was refused): still talk if the microphone works.
    try {
      return { stream: await navigator.mediaDevices.getUserMedia({ audio: true }), error: err };
    } catch {
      return { stream: null, error: err };
    }
  }
}

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
    this.iceServers = iceServers;
    this.onHangup = onHangup;
    this.peer = room.peer || null;
    this.peerLeft = false;
    this.mediaState = 'connecting';
    this.pc = null;
    this.localStream = null;
    this.generation = 0;
    this.retries = 0;
    this.retryTimer = null;
    this.graceTimer = null;
    this.closed = false;
    this.render(container);
    this.chat = new Chat({ socket, roomId: room.room_id, selfRole: room.self.role, container: this.chatBox });
    this.chat.load(chat);
    this.onPeer = (event) => this.handlePeer(event);
    this.onReconnect = () => this.renegotiate('socket reconnect');
    // The room moved to another media worker (its worker died): offer again at once.
    this.onMoved = (event) => {
      if (event && event.room_id === this.roomId) this.renegotiate('worker moved');
    };
    // The server's link guard paused video (weak link) or brings it back.
    this.links = new Map(); // participant -> link state of the video they receive
    this.onLink = (event) => {
      if (event && event.room_id === this.roomId) this.setLink(event.participant_id, event.state);
    };
    socket.on('room:peer', this.onPeer);
    socket.on('room:renegotiate', this.onMoved);
    socket.on('call:link', this.onLink);
    socket.io.on('reconnect', this.onReconnect);
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
    this.media = el('div', { class: 'call-media', hidden: mode === 'text' ? '' : undefined }, [
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
        : [el('div', { class: 'call-main' }, [header, this.linkNotice, this.media, controls, this.error]), this.chatBox];
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
    this.localStream = stream;
    if (error) this.showMediaError(error);
    if (stream && this.mode === 'video' && stream.getVideoTracks().length) {
      this.localVideo.srcObject = stream;
    } else {
      this.localVideo.hidden = true;
      this.cameraButton.hidden = true;
    }
    if (!stream) this.muteButton.hidden = true;
    await this.renegotiate('start');
  }

  showMediaError(err) {
    const key = err && err.name === 'NotAllowedError' ? 'call.media_denied' : 'call.media_missing';
    showNotice(this.error, key, undefined, 'error');
  }

  /** Replace the peer connection with a fresh one and offer again. */
  async renegotiate(reason) {
    if (this.closed || this.mode === 'text') return;
    clearTimeout(this.retryTimer);
    clearTimeout(this.graceTimer);
    const generation = ++this.generation;
    this.closePeerConnection();
    this.setMediaState(reason === 'start' ? 'connecting' : 'reconnecting');

    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: 'max-bundle' });
    this.pc = pc;
    window.parleyCall.pc = pc;
    const pending = [];
    let answered = false;
    const remoteStream = new MediaStream();

    pc.addEventListener('icecandidate', (event) => {
      if (!event.candidate || !event.candidate.candidate) return;
      const { candidate, sdpMid, sdpMLineIndex } = event.candidate;
      const payload = { candidate, sdpMid, sdpMLineIndex };
      if (answered) this.sendCandidate(payload);
      else pending.push(payload);
    });
    pc.addEventListener('track', (event) => {
      remoteStream.addTrack(event.track);
      if (this.remoteVideo.srcObject !== remoteStream) this.remoteVideo.srcObject = remoteStream;
      this.playRemote();
    });
    pc.addEventListener('connectionstatechange', () => {
      if (this.pc === pc) this.handleConnectionState(pc.connectionState);
    });

    // One sendrecv transceiver per kind, carrying our track when we have one (it receives anyway).
    const stream = this.localStream;
    const init = { direction: 'sendrecv', streams: stream ? [stream] : [] };
    const audioTrack = stream && stream.getAudioTracks()[0];
    preferCodecs(pc.addTransceiver(audioTrack || 'audio', init), 'audio');
    if (this.mode === 'video') {
      const videoTrack = stream && stream.getVideoTracks()[0];
      preferCodecs(pc.addTransceiver(videoTrack || 'video', init), 'video');
    }

    try {
      await pc.setLocalDescription(await pc.createOffer());
      const ack = await emit(this.socket, 'rtc:offer', { room_id: this.roomId, sdp: pc.localDescription.sdp });
      if (generation !== this.generation || this.closed) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: ack.sdp });
      answered = true;
      for (const candidate of pending.splice(0)) this.sendCandidate(candidate);
      showNotice(this.error, null);
    } catch (err) {
      if (generation !== this.generation || this.closed) return;
      this.handleNegotiationError(err);
    }
  }

  handleNegotiationError(err) {
    console.warn('negotiation failed', err);
    showRawNotice(this.error, errorText(err));
    if (err && FATAL_CODES.has(err.code)) {
      this.setMediaState('failed');
      return;
    }
    this.setMediaState('reconnecting');
    this.scheduleRetry();
  }

  scheduleRetry() {
    clearTimeout(this.retryTimer);
    const delay = RETRY_DELAYS_MS[Math.min(this.retries, RETRY_DELAYS_MS.length - 1)];
    this.retries += 1;
    this.retryTimer = setTimeout(() => {
      // While the socket is down, its own reconnect triggers the next offer.
      if (this.socket.connected) this.renegotiate('retry');
    }, delay);
  }

  sendCandidate(candidate) {
    emit(this.socket, 'rtc:candidate', { room_id: this.roomId, candidate }).catch((err) => {
      // Refused candidates (private addresses, a replaced connection) are expected; ICE goes on.
      console.debug('candidate not accepted', err.code);
    });
  }

  handleConnectionState(state) {
    if (state === 'connected') {
      clearTimeout(this.graceTimer);
      this.retries = 0;
      showNotice(this.error, null);
      this.setMediaState('connected');
    } else if (state === 'failed' || state === 'disconnected') {
      this.setMediaState('reconnecting');
      clearTimeout(this.graceTimer);
      const pc = this.pc;
      this.graceTimer = setTimeout(() => {
        const stillBad = this.pc === pc && ['failed', 'disconnected'].includes(pc.connectionState);
        if (stillBad && this.socket.connected) this.renegotiate('ice ' + pc.connectionState);
      }, DISCONNECT_GRACE_MS);
    }
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
    const tracks = this.localStream ? this.localStream.getAudioTracks() : [];
    if (!tracks.length) return;
    const muted = tracks[0].enabled;
    for (const track of tracks) track.enabled = !muted;
    this.muteButton.setAttribute('aria-pressed', String(muted));
  }

  toggleCamera() {
    const tracks = this.localStream ? this.localStream.getVideoTracks() : [];
    if (!tracks.length) return;
    const off = tracks[0].enabled;
    for (const track of tracks) track.enabled = !off;
    this.cameraButton.setAttribute('aria-pressed', String(off));
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
    const sender = this.pc && this.pc.getSenders().find((s) => s.track && s.track.kind === 'video');
    if (!sender) return;
    const parameters = sender.getParameters();
    if (!parameters.encodings || !parameters.encodings.length) return;
    for (const encoding of parameters.encodings) encoding.active = state !== 'audio_only';
    sender.setParameters(parameters).catch((err) => console.warn('video pause/resume failed', err));
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

  closePeerConnection() {
    if (!this.pc) return;
    const pc = this.pc;
    this.pc = null;
    try {
      pc.close();
    } catch {
      // Already closed.
    }
    if (window.parleyCall.pc === pc) window.parleyCall.pc = null;
  }

  /** Release media and listeners without telling the server (it ended the case). Idempotent. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.generation += 1;
    clearTimeout(this.retryTimer);
    clearTimeout(this.graceTimer);
    this.socket.off('room:peer', this.onPeer);
    this.socket.off('room:renegotiate', this.onMoved);
    this.socket.off('call:link', this.onLink);
    clearTimeout(this.linkTimer);
    this.socket.io.off('reconnect', this.onReconnect);
    this.closePeerConnection();
    if (this.localStream) this.localStream.getTracks().forEach((track) => track.stop());
    this.localStream = null;
    this.localVideo.srcObject = null;
    this.remoteVideo.srcObject = null;
    this.chat.destroy();
    for (const button of [this.muteButton, this.cameraButton, this.hangupButton]) button.disabled = true;
    this.renderStatus();
  }
}
