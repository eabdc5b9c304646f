// The browser's side of the media path, shared by every call page (consultation: call.js;
// mediation and the court's session: mediation_call.js): local media, one RTCPeerConnection to
// the server's media worker, negotiation, recovery.
//
// The browser always offers (docs/protocol.md, docs/mediation.md): transceivers laid out by the
// page, VP8/Opus only (the mediation page's camera in two simulcast layers, simulcast.js); the
// offer event is acked with the worker's answer, which carries all of the worker's candidates;
// our own candidates are trickled once that answer is in. Recovery is always "new peer
// connection, new offer" (the worker replaces the old one), on: the server's
// `room:renegotiate` (the room moved to another media worker), a socket.io reconnect, ICE
// `failed`/`disconnected` for more than 2 s, a failed negotiation (retried with back-off
// unless the error says another offer cannot help).

import { emit } from './api.js';

const DISCONNECT_GRACE_MS = 2000;
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000];
// Errors after which another offer cannot help.
export const FATAL_CODES = new Set(['room_closed', 'not_in_room', 'forbidden', 'not_found', 'bad_sdp',
  'no_dtls_fingerprint']);

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

/** Camera and microphone for `mode` ('video' | 'audio' | 'text'); {stream, error}. */
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

/** The sendrecv transceiver of `kind`, carrying our track when we have one (it receives anyway). */
export function addSendRecv(pc, stream, kind) {
  const track = stream && (kind === 'video' ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0]);
  const transceiver = pc.addTransceiver(track || kind, { direction: 'sendrecv', streams: stream ? [stream] : [] });
  preferCodecs(transceiver, kind);
  return transceiver;
}

export class MediaClient {
  /**
   * @param {object} opts
   * @param {object} opts.socket  connected socket.io socket
   * @param {RTCIceServer[]} opts.iceServers  from GET /api/config
   * @param {string} opts.offerEvent  'rtc:offer' | 'mediation:offer'
   * @param {string} opts.candidateEvent  'rtc:candidate' | 'mediation:candidate'
   * @param {() => object} opts.target  what names the room in those events: {room_id} or {case_id}
   * @param {() => string|null} opts.roomId  the media room, to recognise `room:renegotiate`
   * @param {(pc: RTCPeerConnection, stream: MediaStream|null) => void} opts.transceivers  lay out
   *   the transceivers of a new peer connection (the page knows how many and which)
   * @param {(state: string) => void} [opts.onState]  connecting | reconnecting | connected | failed
   * @param {(err: Error|null) => void} [opts.onError]  a negotiation error, null once it is over
   * @param {(event: RTCTrackEvent) => void} [opts.onTrack]
   * @param {(pc: RTCPeerConnection|null) => void} [opts.onPeerConnection]  a new one (or none)
   * @param {(sdp: string) => string} [opts.mungeOffer]  our offer as set and sent (simulcast)
   * @param {(pc: RTCPeerConnection) => void} [opts.onOffered]  after setLocalDescription (mids known)
   * @param {(pc: RTCPeerConnection) => Promise<void>} [opts.onAnswered]  after the answer is set
   * @param {() => Promise<void>} [opts.beforeReconnect]  after a socket reconnect, before offering
   * @param {Set<string>} [opts.fatalCodes]
   */
  constructor(opts) {
    this.opts = opts;
    this.socket = opts.socket;
    this.fatalCodes = opts.fatalCodes || FATAL_CODES;
    this.pc = null;
    this.localStream = null;
    this.generation = 0;
    this.retries = 0;
    this.retryTimer = null;
    this.graceTimer = null;
    this.started = false; // nothing to recover before the first offer (or in a text-only call)
    this.closed = false;
    this.onRenegotiate = (event) => {
      if (event && event.room_id && event.room_id === this.opts.roomId()) this.renegotiate('worker moved');
    };
    this.onReconnect = async () => {
      if (this.opts.beforeReconnect) {
        try {
          await this.opts.beforeReconnect();
        } catch (err) {
          console.warn('resume before renegotiating failed', err);
        }
      }
      this.renegotiate('socket reconnect');
    };
    this.socket.on('room:renegotiate', this.onRenegotiate);
    this.socket.io.on('reconnect', this.onReconnect);
  }

  /** Take the local stream (or none) and make the first offer. */
  async start(stream) {
    this.localStream = stream;
    this.started = true;
    await this.renegotiate('start');
  }

  state(value) {
    if (this.opts.onState) this.opts.onState(value);
  }

  error(err) {
    if (this.opts.onError) this.opts.onError(err);
  }

  /** Replace the peer connection with a fresh one and offer again. */
  async renegotiate(reason) {
    if (this.closed || !this.started) return;
    clearTimeout(this.retryTimer);
    clearTimeout(this.graceTimer);
    const generation = ++this.generation;
    this.closePeerConnection();
    this.state(reason === 'start' ? 'connecting' : 'reconnecting');

    const pc = new RTCPeerConnection({ iceServers: this.opts.iceServers || [], bundlePolicy: 'max-bundle' });
    this.pc = pc;
    if (this.opts.onPeerConnection) this.opts.onPeerConnection(pc);
    const pending = [];
    let answered = false;
    pc.addEventListener('icecandidate', (event) => {
      if (!event.candidate || !event.candidate.candidate) return;
      const { candidate, sdpMid, sdpMLineIndex } = event.candidate;
      const payload = { candidate, sdpMid, sdpMLineIndex };
      if (answered) this.sendCandidate(payload);
      else pending.push(payload);
    });
    if (this.opts.onTrack) pc.addEventListener('track', (event) => this.opts.onTrack(event));
    pc.addEventListener('connectionstatechange', () => {
      if (this.pc === pc) this.handleConnectionState(pc);
    });
    this.opts.transceivers(pc, this.localStream);

    try {
      const offer = await pc.createOffer();
      const sdp = this.opts.mungeOffer ? this.opts.mungeOffer(offer.sdp) : offer.sdp;
      await pc.setLocalDescription({ type: 'offer', sdp });
      if (this.opts.onOffered) this.opts.onOffered(pc);
      const ack = await emit(this.socket, this.opts.offerEvent, { ...this.opts.target(), sdp: pc.localDescription.sdp });
      if (generation !== this.generation || this.closed) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: ack.sdp });
      if (this.opts.onAnswered) await this.opts.onAnswered(pc);
      answered = true;
      for (const candidate of pending.splice(0)) this.sendCandidate(candidate);
      this.error(null);
    } catch (err) {
      if (generation !== this.generation || this.closed) return;
      console.warn('negotiation failed', err);
      this.error(err);
      if (err && this.fatalCodes.has(err.code)) {
        this.state('failed');
        return;
      }
      this.state('reconnecting');
      this.scheduleRetry();
    }
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
    emit(this.socket, this.opts.candidateEvent, { ...this.opts.target(), candidate }).catch((err) => {
      // Refused candidates (private addresses, a replaced connection) are expected; ICE goes on.
      console.debug('candidate not accepted', err.code);
    });
  }

  handleConnectionState(pc) {
    const state = pc.connectionState;
    if (state === 'connected') {
      clearTimeout(this.graceTimer);
      this.retries = 0;
      this.error(null);
      this.state('connected');
    } else if (state === 'failed' || state === 'disconnected') {
      this.state('reconnecting');
      clearTimeout(this.graceTimer);
      this.graceTimer = setTimeout(() => {
        const stillBad = this.pc === pc && ['failed', 'disconnected'].includes(pc.connectionState);
        if (stillBad && this.socket.connected) this.renegotiate('ice ' + pc.connectionState);
      }, DISCONNECT_GRACE_MS);
    }
  }

  /** Mute or unmute our microphone; returns whether it is muted now (null: no microphone). */
  toggleAudio() {
    return toggleTracks(this.localStream ? this.localStream.getAudioTracks() : []);
  }

  /** Turn our camera off or on; returns whether it is off now (null: no camera). */
  toggleVideo() {
    return toggleTracks(this.localStream ? this.localStream.getVideoTracks() : []);
  }

  /**
   * Stop or resume sending video without renegotiating (the worker's audio-only fallback,
   * call:link): the encoder pauses, the track and its transceiver stay.
   */
  setVideoSending(active) {
    const sender = this.pc && this.pc.getSenders().find((s) => s.track && s.track.kind === 'video');
    if (!sender) return;
    const parameters = sender.getParameters();
    if (!parameters.encodings || !parameters.encodings.length) return;
    for (const encoding of parameters.encodings) encoding.active = active;
    sender.setParameters(parameters).catch((err) => console.warn('video pause/resume failed', err));
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
    if (this.opts.onPeerConnection) this.opts.onPeerConnection(null);
  }

  /** Stop media, drop the connection and the listeners. Idempotent. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.generation += 1;
    clearTimeout(this.retryTimer);
    clearTimeout(this.graceTimer);
    this.socket.off('room:renegotiate', this.onRenegotiate);
    this.socket.io.off('reconnect', this.onReconnect);
    this.closePeerConnection();
    if (this.localStream) this.localStream.getTracks().forEach((track) => track.stop());
    this.localStream = null;
  }
}

function toggleTracks(tracks) {
  if (!tracks.length) return null;
  const off = tracks[0].enabled;
  for (const track of tracks) track.enabled = !off;
  return off;
}
