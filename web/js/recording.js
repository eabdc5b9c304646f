// The playback page, /recordings/{id} (docs/protocol.md, "Recording"): the recording's header,
// one <video> per participant side by side, one play/pause and one seek slider for all of them,
// the timeline of events, the download link.
//
// One global clock t_ms (milliseconds since the recording started) drives every player: each
// participant's segments are consecutive WebM files on that same clock, so at time t a player
// shows the segment containing t at (t - start_ms) / 1000 seconds, switches file when a segment
// ends, and shows "此时无画面" where it has none. The clock is held while a player that should
// be showing something is still buffering, so the players do not drift apart.
//
// The links in the reply expire after 10 minutes: a video that fails because its link was
// refused (403) makes the page ask for fresh playback data once and carry on from where it was.

import { ApiError, errorText, getJSON } from './api.js';
import { byTestId, el } from './dom.js';
import { applyTranslations, formatWhen, has, initI18n, onLanguageChange, setText, t } from './i18n.js';
import { identifier } from './ident.js';
import { durationMs, eventOffsetMs, formatClock, localSeconds, segmentIndexAt, sortedSegments } from './recording_time.js';
import { showNotice, showRawNotice, showView } from './views.js';

const STAFF_KEY = 'parley.staff';
// A supervisor opening a recording from the quality review panel (web/js/quality_panel.js).
const SUPERVISOR_KEY = 'parley.supervisor';
const CITIZEN_KEY = 'parley.citizen';
const TICK_MS = 200;
// Off by more than this and a player is moved back to where the clock says.
const DRIFT_S = 0.35;
// The links live 10 minutes; a download after 9 asks for fresh ones first.
const LINK_FRESH_MS = 9 * 60 * 1000;
const HAVE_METADATA = 1;
const HAVE_FUTURE_DATA = 3;

const $ = (id) => byTestId(id);

const page = {
  id: null,
  token: null,
  data: null,
  fetchedAt: 0,
  players: [], // {pid, role, name, segments, video, placeholder, index, failed, box}
  duration: 0,
  // The clock: t while paused; while playing t = tStart + (now - wallStart).
  t: 0,
  playing: false,
  stalled: false,
  tStart: 0,
  wallStart: 0,
  timer: null,
  dragging: false,
  refetching: null,
  refetchUsed: false,
};

// For tests and curious people: the shared clock.
window.parleyPlayback = {
  get t() {
    return clockNow();
  },
  get playing() {
    return page.playing;
  },
  seek: (ms) => seek(ms),
  play: () => play(),
  pause: () => pause(),
};

function storageGet(store, key) {
  try {
    return window[store].getItem(key);
  } catch {
    return null;
  }
}

/** The recording id from /recordings/{id} (or ?id= when the page is opened as a static file). */
function recordingId() {
  const match = /^\/recordings\/([^/]+)\/?$/.exec(location.pathname);
  if (match) return decodeURIComponent(match[1]);
  return new URLSearchParams(location.search).get('id');
}

// ---- loading ----------------------------------------------------------------------------------

function isRefusal(err) {
  return err instanceof ApiError && (err.status === 401 || err.status === 403 || err.isTokenError || err.code === 'forbidden');
}

/** GET the playback data with the staff token, else the citizen's; remembers the one that worked. */
async function fetchPlayback() {
  const path = `/api/recordings/${encodeURIComponent(page.id)}`;
  if (page.token) return getJSON(path, page.token);
  const tokens = [storageGet('sessionStorage', STAFF_KEY), storageGet('sessionStorage', SUPERVISOR_KEY), storageGet('localStorage', CITIZEN_KEY)].filter(Boolean);
  if (!tokens.length) throw new ApiError('token_missing', '', undefined, 401);
  let refusal = null;
  for (const token of tokens) {
    try {
      const data = await getJSON(path, token);
      page.token = token;
      return data;
    } catch (err) {
      if (!isRefusal(err)) throw err;
      refusal = err;
    }
  }
  throw refusal;
}

function showError(err) {
  pause();
  const refused = isRefusal(err);
  const box = $('recording-error');
  if (refused) {
    const key = err.code === 'token_missing' ? 'recording.no_token' : err.isTokenError ? 'recording.token_refused' : 'recording.forbidden';
    showNotice(box, key, undefined, 'error');
  } else if (err && (err.status === 404 || err.code === 'not_found')) {
    showNotice(box, 'recording.not_found', undefined, 'error');
  } else {
    showRawNotice(box, errorText(err));
  }
  $('recording-signin').hidden = !refused;
  $('recording-retry').hidden = refused || (err && err.status === 404);
  showView('error');
}

async function load() {
  showView('loading', { focus: false });
  let data;
  try {
    data = await fetchPlayback();
  } catch (err) {
    showError(err);
    return;
  }
  page.data = data;
  page.fetchedAt = Date.now();
  render();
  showView('playback');
}

// ---- rendering ----------------------------------------------------------------------------------

function roleKey(role) {
  if (has(`role.${role}`)) return `role.${role}`;
  if (has(`mrole.${role}`)) return `mrole.${role}`;
  return 'role.unknown';
}

function renderMeta() {
  const recording = page.data.recording || {};
  if (recording.case_id) $('recording-case').replaceChildren(identifier(recording.case_id, { testid: 'recording-case-id' }));
  else $('recording-case').textContent = '—';
  const status = $('recording-status');
  status.dataset.status = recording.status || '';
  if (recording.status && has(`recording.status.${recording.status}`)) setText(status, `recording.status.${recording.status}`);
  else status.textContent = recording.status || '—';
  $('recording-started').textContent = formatWhen(recording.started_at, 'seconds') || '—';
  const ended = $('recording-ended');
  if (recording.ended_at) {
    delete ended.dataset.i18n;
    ended.textContent = formatWhen(recording.ended_at, 'seconds');
  } else {
    setText(ended, recording.status === 'recording' ? 'recording.still_recording' : 'recording.unknown');
  }
  $('recording-duration').textContent = formatClock(page.duration);
  $('recording-interrupted').hidden = recording.status !== 'interrupted';
  // The server serves each viewer only what they could hear and see live (docs/security.md):
  // say so when parts were cut, so a silent stretch is not taken for a fault.
  const cut = (page.data.participants || []).some((p) => (p.segments || []).some((s) => s.redacted));
  $('recording-withheld').hidden = !cut;
}

function participantName(pid) {
  const p = (page.data.participants || []).find((x) => x.participant_id === pid);
  return p ? p : null;
}

function renderPlayers() {
  for (const player of page.players) {
    player.video.removeAttribute('src');
    player.video.load();
  }
  const box = $('recording-videos');
  page.players = (page.data.participants || []).map((p) => buildPlayer(p));
  box.replaceChildren(...page.players.map((p) => p.box));
  box.dataset.count = String(page.players.length);
  applyTranslations(box);
  if (!page.players.length) {
    const none = el('p', { class: 'hint', 'data-testid': 'recording-no-participants' });
    setText(none, 'recording.no_participants');
    box.append(none);
  }
}

function buildPlayer(p) {
  const pid = p.participant_id;
  const captionId = `recording-caption-${pid}`;
  const role = el('span', { class: 'recording-role' });
  setText(role, roleKey(p.role));
  const caption = el('figcaption', { id: captionId, class: 'recording-caption' }, [role, ' ', el('span', { class: 'recording-name' }, [p.name || ''])]);
  const video = el('video', {
    class: 'recording-video',
    'data-testid': `recording-video-${pid}`,
    'data-participant': pid,
    playsinline: '',
    preload: 'auto',
    'aria-labelledby': captionId,
  });
  const placeholder = el('p', { class: 'recording-placeholder', 'data-testid': `recording-placeholder-${pid}`, 'aria-hidden': 'true', hidden: '' });
  setText(placeholder, 'recording.no_picture');
  const screen = el('div', { class: 'recording-screen' }, [video, placeholder]);
  const box = el('figure', { class: 'recording-player', 'data-participant': pid }, [screen, caption]);
  const player = { pid, role: p.role, name: p.name, segments: sortedSegments(p.segments), video, placeholder, index: -1, url: null, failed: false, box };
  video.addEventListener('loadedmetadata', () => syncPlayer(player, clockNow(), true));
  video.addEventListener('loadeddata', () => {
    player.failed = false;
    page.refetchUsed = false;
  });
  video.addEventListener('error', () => onVideoError(player));
  video.addEventListener('ended', () => tick());
  return player;
}

function eventLabelKey(kind) {
  return has(`recording.event.${kind}`) ? `recording.event.${kind}` : null;
}

function renderTimeline() {
  const list = $('recording-timeline');
  const recording = page.data.recording || {};
  const events = (page.data.timeline || [])
    .map((event) => ({ event, at: eventOffsetMs(event, recording.started_at) }))
    .filter((x) => x.at !== null)
    .sort((a, b) => a.at - b.at);
  const items = events.map(({ event, at }) => {
    const button = el('button', { type: 'button', class: 'timeline-item', 'data-at-ms': String(at), 'data-kind': event.kind || '' });
    const clock = el('span', { class: 'timeline-at' }, [formatClock(at)]);
    const what = el('span', { class: 'timeline-kind' });
    const key = eventLabelKey(event.kind);
    if (key) setText(what, key, event.seconds !== undefined ? { s: Math.round(event.seconds) } : undefined);
    else what.textContent = event.kind || '';
    const parts = [clock, ' ', what];
    const who = event.participant_id && participantName(event.participant_id);
    if (who) {
      const role = el('span');
      setText(role, roleKey(who.role));
      parts.push(' ', el('span', { class: 'timeline-who' }, [role, ' ', who.name || '']));
    } else if (event.group !== undefined && event.group !== null) {
      const group = el('span', { class: 'timeline-who' });
      setText(group, 'recording.event.group', { group: String(event.group) });
      parts.push(' ', group);
    }
    button.append(...parts);
    button.addEventListener('click', () => seek(at));
    return el('li', {}, [button]);
  });
  list.replaceChildren(...items);
  $('recording-timeline-empty').hidden = items.length > 0;
}

function renderDownload() {
  const link = $('recording-download');
  if (page.data.download_url) {
    link.href = page.data.download_url;
    link.hidden = false;
  } else {
    link.removeAttribute('href');
    link.hidden = true;
  }
}

function render() {
  pause();
  page.duration = durationMs(page.data);
  const seekInput = $('recording-seek');
  seekInput.max = String(page.duration);
  renderMeta();
  renderPlayers();
  renderTimeline();
  renderDownload();
  // Open on the first picture rather than on a black gap before the first frame.
  seek(page.t > 0 ? Math.min(page.t, page.duration) : firstMs());
}

/** The earliest moment anyone has a segment (0 when nobody has any). */
function firstMs() {
  const starts = page.players.filter((p) => p.segments.length).map((p) => p.segments[0].start_ms);
  return starts.length ? Math.max(0, Math.min(...starts)) : 0;
}

// ---- the clock ------------------------------------------------------------------------------

function clockNow() {
  if (!page.playing || page.stalled) return page.t;
  return Math.min(page.duration, page.tStart + (performance.now() - page.wallStart));
}

function setClock(ms) {
  page.t = Math.max(0, Math.min(page.duration, ms));
  page.tStart = page.t;
  page.wallStart = performance.now();
}

function play() {
  if (!page.data || page.playing) return;
  if (page.t >= page.duration) setClock(firstMs());
  else setClock(page.t);
  page.playing = true;
  page.stalled = false;
  renderPlayButton();
  for (const player of page.players) syncPlayer(player, page.t, true);
  clearInterval(page.timer);
  page.timer = setInterval(tick, TICK_MS);
  tick();
}

function pause() {
  if (page.playing) page.t = clockNow();
  page.playing = false;
  page.stalled = false;
  clearInterval(page.timer);
  page.timer = null;
  for (const player of page.players) player.video.pause();
  renderPlayButton();
}

function seek(ms) {
  if (!page.data) return;
  setClock(Number(ms) || 0);
  for (const player of page.players) syncPlayer(player, page.t, true);
  renderClock();
}

/** Whether a player that should show something is still loading it. */
function buffering(player) {
  if (player.index < 0 || player.failed) return false;
  const video = player.video;
  return !video.ended && video.readyState < HAVE_FUTURE_DATA;
}

function tick() {
  if (!page.playing) return;
  const now = clockNow();
  page.t = now;
  if (now >= page.duration) {
    pause();
    setClock(page.duration);
    renderClock();
    return;
  }
  for (const player of page.players) syncPlayer(player, now, false);
  // Hold the clock (and every player) while one of them is still loading its part.
  const waiting = page.players.some(buffering);
  if (waiting && !page.stalled) {
    page.stalled = true;
    for (const player of page.players) player.video.pause();
  } else if (!waiting && page.stalled) {
    page.stalled = false;
    setClock(page.t);
    for (const player of page.players) syncPlayer(player, page.t, false);
  }
  renderClock();
}

/** Put one player where the global clock says: the right file, the right second, playing or not. */
function syncPlayer(player, now, force) {
  const video = player.video;
  const index = segmentIndexAt(player.segments, now);
  if (index < 0) {
    player.index = -1;
    if (!video.paused) video.pause();
    video.classList.add('is-idle');
    player.placeholder.hidden = false;
    setText(player.placeholder, 'recording.no_picture');
    player.box.dataset.active = 'false';
    return;
  }
  const segment = player.segments[index];
  player.box.dataset.active = 'true';
  player.box.dataset.segment = String(index);
  if (player.url !== segment.url) {
    player.url = segment.url;
    player.failed = false;
    video.src = segment.url;
    force = true;
  }
  player.index = index;
  if (player.failed) {
    video.classList.add('is-idle');
    player.placeholder.hidden = false;
    return;
  }
  video.classList.remove('is-idle');
  player.placeholder.hidden = true;
  const target = localSeconds(segment, now);
  // The file ran out a little before its end_ms: keep its last frame until the next segment.
  if (Number.isFinite(video.duration) && target >= video.duration - 0.05) {
    if (!video.paused) video.pause();
    return;
  }
  if (video.readyState >= HAVE_METADATA && (force || Math.abs(video.currentTime - target) > DRIFT_S)) {
    try {
      video.currentTime = target;
    } catch {
      // Not seekable yet: loadedmetadata syncs again.
    }
  }
  const shouldPlay = page.playing && !page.stalled;
  if (shouldPlay && video.paused && !video.ended) {
    const promise = video.play();
    if (promise) promise.catch((err) => console.debug('play refused', err && err.name));
  } else if (!shouldPlay && !video.paused) {
    video.pause();
  }
}

// ---- expired links -----------------------------------------------------------------------------

/** Fresh playback data (new signed links), keeping the clock and play state. */
async function refetch() {
  if (page.refetching) return page.refetching;
  page.refetching = (async () => {
    const data = await fetchPlayback();
    page.data = data;
    page.fetchedAt = Date.now();
    const byPid = new Map((data.participants || []).map((p) => [p.participant_id, p]));
    for (const player of page.players) {
      const fresh = byPid.get(player.pid);
      player.segments = sortedSegments(fresh ? fresh.segments : []);
      player.url = null;
      player.failed = false;
    }
    page.duration = durationMs(data);
    $('recording-seek').max = String(page.duration);
    renderDownload();
    for (const player of page.players) syncPlayer(player, clockNow(), true);
  })();
  try {
    await page.refetching;
  } finally {
    page.refetching = null;
  }
}

/** What the server said about a link: its HTTP status, or 0 if it could not be asked. */
async function probe(url) {
  try {
    const response = await fetch(url, { method: 'HEAD', credentials: 'same-origin', cache: 'no-store' });
    return response.status;
  } catch {
    return 0;
  }
}

async function onVideoError(player) {
  const url = player.url;
  if (!url || player.video.getAttribute('src') !== url) return;
  const status = await probe(url);
  if (player.url !== url) return;
  const expired = status === 401 || status === 403 || status === 410 || (status === 0 && Date.now() - page.fetchedAt > LINK_FRESH_MS);
  if (expired && !page.refetchUsed) {
    page.refetchUsed = true;
    try {
      await refetch();
      return;
    } catch (err) {
      showRawNotice($('recording-playback-error'), isRefusal(err) ? t('recording.forbidden') : errorText(err));
    }
  }
  player.failed = true;
  player.video.classList.add('is-idle');
  player.placeholder.hidden = false;
  setText(player.placeholder, status === 404 ? 'recording.file_missing' : 'recording.cannot_play');
  showNotice($('recording-playback-error'), 'recording.some_failed', undefined, 'error');
}

async function onDownload(event) {
  if (Date.now() - page.fetchedAt < LINK_FRESH_MS) return;
  event.preventDefault();
  try {
    await refetch();
    location.assign(page.data.download_url);
  } catch (err) {
    showRawNotice($('recording-playback-error'), errorText(err));
  }
}

// ---- controls -----------------------------------------------------------------------------------

function renderPlayButton() {
  const button = $('recording-play');
  button.setAttribute('aria-pressed', String(page.playing));
  setText(button, page.playing ? 'recording.pause' : 'recording.play');
}

let shownSecond = -1;

function renderClock() {
  const now = clockNow();
  const input = $('recording-seek');
  if (!page.dragging) input.value = String(Math.round(now));
  const text = `${formatClock(now)} / ${formatClock(page.duration)}`;
  const second = Math.floor(now / 1000);
  if (second !== shownSecond || input.getAttribute('aria-valuetext') === null) {
    shownSecond = second;
    input.setAttribute('aria-valuetext', text);
    $('recording-clock').textContent = text;
  }
}

function wire() {
  $('recording-play').addEventListener('click', () => (page.playing ? pause() : play()));
  const input = $('recording-seek');
  input.addEventListener('pointerdown', () => {
    page.dragging = true;
  });
  const release = () => {
    page.dragging = false;
  };
  input.addEventListener('pointerup', release);
  input.addEventListener('pointercancel', release);
  input.addEventListener('input', () => seek(Number(input.value)));
  input.addEventListener('change', () => {
    release();
    seek(Number(input.value));
  });
  $('recording-download').addEventListener('click', onDownload);
  $('recording-retry').addEventListener('click', load);
  onLanguageChange(() => {
    if (page.data) {
      renderMeta();
      renderTimeline();
    }
  });
}

async function main() {
  await initI18n();
  wire();
  page.id = recordingId();
  if (!page.id) {
    showError(new ApiError('not_found', '', undefined, 404));
    return;
  }
  await load();
}

main().catch((err) => {
  console.error(err);
  showError(err);
});
