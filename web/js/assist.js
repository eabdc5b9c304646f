// Live assist on the supervisor page (docs/early-warning.md): the consultations going on, listen
// to one without being heard (receive-only: two slots of each kind, the citizen and the lawyer),
// then join it (the microphone goes on; the parties' pages add a slot to hear us).

import { emit, errorText, loadIceServers } from './api.js';
import { el } from './dom.js';
import { t } from './i18n.js';
import { MediaClient, preferCodecs } from './media_client.js';

const REFRESH_MS = 5000;
const SLOTS = 2;

// For end-to-end tests: the listening peer connection.
window.parleyAssist = window.parleyAssist || { pc: null, state: null };

export function watchAssist(socket, { list, empty, panel, status, error }) {
  let current = null; // {case_id, room_id, mode, state, media, stream}
  let iceServers = [];
  const audio = el('audio', { autoplay: '', 'data-testid': 'assist-audio' });
  const video = el('video', { autoplay: '', playsinline: '', muted: '', class: 'remote-video', 'data-testid': 'assist-video' });
  video.muted = true;
  panel.replaceChildren(video, audio);

  const fail = (err) => {
    error.textContent = err ? errorText(err) : '';
    error.hidden = !err;
  };

  const stop = async () => {
    if (!current) return;
    const leaving = current;
    current = null;
    leaving.media.close();
    if (leaving.stream) leaving.stream.getTracks().forEach((track) => track.stop());
    window.parleyAssist.pc = null;
    window.parleyAssist.state = null;
    status.textContent = '';
    try {
      await emit(socket, 'assist:leave', { case_id: leaving.case_id });
    } catch (err) {
      fail(err);
    }
    refresh();
  };

  const connect = async (room, stream) => {
    const remote = new MediaStream();
    const media = new MediaClient({
      socket,
      iceServers,
      offerEvent: 'assist:offer',
      candidateEvent: 'assist:candidate',
      target: () => ({ room_id: room.room_id }),
      roomId: () => room.room_id,
      transceivers: (pc, local) => {
        const kinds = room.mode === 'video' ? ['audio', 'video'] : ['audio'];
        for (const kind of kinds) {
          for (let slot = 0; slot < SLOTS; slot++) {
            const track = slot === 0 && kind === 'audio' && local ? local.getAudioTracks()[0] : null;
            const transceiver = track
              ? pc.addTransceiver(track, { direction: 'sendrecv', streams: [local] })
              : pc.addTransceiver(kind, { direction: 'recvonly' });
            preferCodecs(transceiver, kind);
          }
        }
      },
      onError: fail,
      onTrack: (event) => {
        remote.addTrack(event.track);
        if (event.track.kind === 'video' && !video.srcObject) video.srcObject = new MediaStream([event.track]);
        if (event.track.kind === 'audio') audio.srcObject = remote;
      },
      onPeerConnection: (pc) => { window.parleyAssist.pc = pc; },
    });
    await media.start(stream);
    return media;
  };

  const listen = async (row) => {
    fail(null);
    await stop();
    try {
      if (!iceServers.length) iceServers = await loadIceServers();
      const room = await emit(socket, 'assist:listen', { case_id: row.case_id });
      current = { ...room, media: null, stream: null };
      current.media = await connect(room, null);
      window.parleyAssist.state = 'listening';
      status.textContent = t('assist.listening');
      render(lastRows);
    } catch (err) {
      fail(err);
    }
  };

  const join = async () => {
    if (!current) return;
    fail(null);
    try {
      const room = await emit(socket, 'assist:join', { case_id: current.case_id });
      let stream = null;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (err) {
        fail(err);
      }
      current.media.close();
      current.stream = stream;
      current.media = await connect(room, stream);
      window.parleyAssist.state = 'joined';
      status.textContent = t('assist.joined');
      render(lastRows);
    } catch (err) {
      fail(err);
    }
  };

  const button = (testid, key, action) => {
    const node = el('button', { type: 'button', class: 'btn', 'data-testid': testid }, [t(key)]);
    node.addEventListener('click', action);
    return node;
  };

  let lastRows = [];
  const render = (rows) => {
    lastRows = rows;
    list.replaceChildren(...rows.map((row) => {
      const mine = current && current.case_id === row.case_id;
      const buttons = mine
        ? [window.parleyAssist.state !== 'joined' ? button('assist-join', 'assist.join', join) : null,
          button('assist-leave', 'assist.leave', stop)]
        : [button('assist-listen', 'assist.listen', () => listen(row))];
      return el('li', { 'data-testid': 'assist-row', 'data-case': row.case_id },
        [`${row.category} · ${row.region} · ${t(`mode.${row.mode}`)} `, ...buttons.filter(Boolean)]);
    }));
    empty.hidden = rows.length > 0;
  };

  const refresh = async () => {
    try {
      render((await emit(socket, 'assist:live', {})).consultations);
    } catch (err) {
      console.warn('live consultations unavailable', err);
    }
  };
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return () => {
    clearInterval(timer);
    stop();
  };
}
