// Supervisor page: sign in (role supervisor), then live hotline figures: totals, per queue, per
// region, agents by state, and the alerts on now. `sup:snapshot` once per connection, then
// `sup:figures` every 2 s and `sup:alert` when an alert starts (docs/protocol.md, "Routing").

import { emit, errorText, refusalCode } from './api.js';
import { loadCatalogue } from './catalogue.js';
import { byTestId, el } from './dom.js';
import { clearFieldError } from './form.js';
import { formatWhen, initI18n, onLanguageChange, setText, t } from './i18n.js';
import {
  alertKey,
  alertText,
  formatCount,
  formatDuration,
  formatRating,
  formatShare,
  label,
  scopeCategory,
  stateText,
} from './supervisor_format.js';
import { connectStaff, submitLogin } from './staff_session.js';
import { showNotice, showRawNotice, showView, watchConnection } from './views.js';
import { watchClocks } from './supervisor_clocks.js';
import { onFigures, startReports } from './reports.js';
import { watchAlerts } from './early_warning.js';
import { watchAssist } from './assist.js';
import { watchFollowUps } from './follow_ups.js';
import { watchQuality } from './quality_panel.js';

const TOKEN_KEY = 'parley.supervisor';
const USER_KEY = 'parley.supervisor.user';
const SUPERVISOR = 'supervisor';
// Figures come every 2 s; after this long without any, say the numbers are old.
const STALE_AFTER_MS = 6000;
// Order of the counts by state; states the server adds later follow.
const STATE_ORDER = ['available', 'offered', 'busy', 'wrap_up', 'away', 'offline'];

const state = {
  socket: null,
  stopWatching: null,
  catalogue: null,
  figures: null,
  receivedAt: 0,
  staleTimer: null,
  // Alerts shown: key -> <li>, so values refresh in place and only new alerts are announced.
  alertItems: new Map(),
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
  showNotice($('login-notice'), null);
  const reply = await submitLogin();
  if (!reply) return;
  const user = reply.user || {};
  if (user.role !== SUPERVISOR) {
    // Signed in, but not as a supervisor: keep no token, say why.
    showNotice($('login-error'), 'sup.not_supervisor', { role: roleText(user.role) }, 'error');
    return;
  }
  session('setItem', TOKEN_KEY, reply.token);
  session('setItem', USER_KEY, JSON.stringify(user));
  await startSession(reply.token);
}

function roleText(role) {
  const key = `role.${role}`;
  const text = t(key);
  return text === key ? String(role || '') : text;
}

function storedUser() {
  try {
    return JSON.parse(session('getItem', USER_KEY) || '{}');
  } catch {
    return {};
  }
}

function showLogin(noticeKey, kind = 'info') {
  $('staff-name').hidden = true;
  $('sign-out').hidden = true;
  showNotice($('login-notice'), noticeKey || null, undefined, kind);
  showView('login');
}

function closeSocket() {
  if (state.stopClocks) state.stopClocks();
  state.stopClocks = null;
  if (state.stopReports) state.stopReports();
  state.stopReports = null;
  for (const stop of state.stopLive || []) stop();
  state.stopLive = [];
  if (state.stopWatching) state.stopWatching();
  if (state.socket) state.socket.disconnect();
  if (state.staleTimer) clearInterval(state.staleTimer);
  Object.assign(state, { socket: null, stopWatching: null, staleTimer: null });
  showNotice($('conn-status'), null);
}

function dropSession() {
  closeSocket();
  state.figures = null;
  state.alertItems.clear();
  $('sup-alerts').replaceChildren();
  session('removeItem', TOKEN_KEY);
  session('removeItem', USER_KEY);
}

// ---- session --------------------------------------------------------------------------------

async function startSession(token) {
  closeSocket();
  const user = storedUser();
  if (user.role && user.role !== SUPERVISOR) {
    dropSession();
    showLogin('sup.not_supervisor_short', 'error');
    return;
  }
  const socket = await connectStaff(token, () => {
    dropSession();
    showLogin('login.session_expired');
  });
  if (!socket) return;
  state.socket = socket;
  state.stopWatching = watchConnection(socket, $('conn-status'));
  socket.on('sup:figures', (figures) => applyFigures(figures));
  socket.on('sup:alert', ({ alerts } = {}) => addAlerts(alerts || []));
  socket.on('connect_error', (err) => {
    if (refusalCode(err, socket)) {
      dropSession();
      showLogin('login.session_expired');
    }
  });
  socket.io.on('reconnect', () => snapshot());
  $('staff-name').textContent = user.display_name || user.username || '';
  $('staff-name').hidden = !$('staff-name').textContent;
  $('sign-out').hidden = false;
  state.staleTimer = setInterval(renderFreshness, 1000);
  state.stopClocks = watchClocks(token, $('sup-clocks'), $('sup-clocks-empty'));
  state.stopReports = startReports(token);
  state.stopLive = [
    watchAlerts(socket, token, { list: $('ew-alerts'), empty: $('ew-empty'), events: $('ew-events'), eventsEmpty: $('ew-events-empty') }),
    watchFollowUps(token, { list: $('fu-list'), empty: $('fu-empty') }),
    watchQuality(token, { form: $('qa-draw'), drawn: $('qa-drawn'), drawError: $('qa-draw-error'), table: $('qa-table'), empty: $('qa-empty'), detail: $('qa-detail') }),
    watchAssist(socket, { list: $('assist-list'), empty: $('assist-empty'), panel: $('assist-media'), status: $('assist-status'), error: $('assist-error') }),
  ];
  await snapshot();
}

async function snapshot() {
  const socket = state.socket;
  if (!socket) return;
  let ack;
  try {
    ack = await emit(socket, 'sup:snapshot', {});
  } catch (err) {
    if (err.isTokenError || err.code === 'forbidden') {
      dropSession();
      showLogin(err.code === 'forbidden' ? 'sup.not_supervisor_short' : 'login.session_expired', 'error');
    } else if (document.body.dataset.currentView === 'loading') {
      showRawNotice($('loading-error'), errorText(err));
      $('loading-retry').hidden = false;
    } else {
      showRawNotice($('sup-error'), errorText(err));
    }
    return;
  }
  if (socket !== state.socket) return;
  showNotice($('sup-error'), null);
  if (document.body.dataset.currentView !== 'dashboard') showView('dashboard');
  applyFigures(ack.figures);
}

// ---- rendering ------------------------------------------------------------------------------

function applyFigures(figures) {
  if (!figures || typeof figures !== 'object') return;
  state.figures = figures;
  state.receivedAt = Date.now();
  render();
  onFigures(figures);
}

function render() {
  const figures = state.figures;
  if (!figures) return;
  renderFreshness();
  renderTotals(figures.totals || {});
  $('sup-overdue').textContent = figures.agreements ? formatCount(figures.agreements.overdue) : '—';
  renderQueues(figures.queues || []);
  renderRegions(figures.regions || []);
  renderAgents(figures.agents || [], figures.agents_by_state || {});
  renderAlerts(figures.alerts || []);
}

function renderFreshness() {
  if (!state.figures) return;
  setText($('sup-updated'), 'sup.updated', { time: formatWhen(state.figures.at, 'seconds') });
  const stale = Date.now() - state.receivedAt > STALE_AFTER_MS;
  const notice = $('sup-stale');
  // Set once when the figures go stale, so the status region is not re-announced every second.
  if (stale && notice.hidden) showNotice(notice, 'sup.stale', { time: formatWhen(state.figures.at, 'seconds') }, 'error');
  else if (!stale && !notice.hidden) showNotice(notice, null);
}

function renderTotals(totals) {
  $('sup-waiting').textContent = formatCount(totals.waiting);
  $('sup-longest-wait').textContent = formatDuration(totals.longest_wait_s);
  $('sup-service-level').textContent = formatShare(totals.service_level);
  $('sup-asa').textContent = formatDuration(totals.asa_s);
  $('sup-abandonment').textContent = formatShare(totals.abandonment_rate);
  $('sup-avg-rating').textContent = formatRating(totals.avg_rating);
  $('sup-answered').textContent = t('sup.answered_of', {
    answered: formatCount(totals.answered),
    queued: formatCount(totals.queued),
  });
}

function fillBody(table, rows) {
  table.tBodies[0].replaceChildren(...rows);
}

function emptyRow(columns, key) {
  return el('tr', {}, [el('td', { colspan: String(columns), class: 'empty' }, [t(key)])]);
}

function renderQueues(queues) {
  const rows = queues.map((queue) => {
    const name = label(state.catalogue, 'categories', queue.category);
    const nameCell = el('th', { scope: 'row' }, [name]);
    if (queue.alert) nameCell.append(' ', el('span', { class: 'badge badge-alert' }, [t('sup.alert_badge')]));
    return el('tr', {
      'data-category': queue.category,
      'data-alert': queue.alert ? 'true' : 'false',
      class: queue.alert ? 'row-alert' : undefined,
      'aria-label': queue.alert ? t('sup.queue_alert_row', { queue: name }) : undefined,
    }, [
      nameCell,
      el('td', {}, [formatCount(queue.waiting)]),
      el('td', {}, [formatDuration(queue.longest_wait_s)]),
      el('td', {}, [formatShare(queue.service_level)]),
      el('td', {}, [formatDuration(queue.asa_s)]),
      el('td', {}, [formatShare(queue.abandonment_rate)]),
      el('td', {}, [formatRating(queue.avg_rating)]),
    ]);
  });
  fillBody($('sup-queue-table'), rows.length ? rows : [emptyRow(7, 'sup.no_queues')]);
}

function renderRegions(regions) {
  const rows = regions.map((region) => el('tr', { 'data-region': region.region }, [
    el('th', { scope: 'row' }, [label(state.catalogue, 'regions', region.region)]),
    el('td', {}, [formatCount(region.waiting)]),
    el('td', {}, [formatDuration(region.longest_wait_s)]),
    el('td', {}, [formatCount(region.agents_on_duty)]),
  ]));
  fillBody($('sup-region-table'), rows.length ? rows : [emptyRow(4, 'sup.no_regions')]);
}

function renderAgents(agents, byState) {
  const states = [
    ...STATE_ORDER.filter((name) => name in byState),
    ...Object.keys(byState).filter((name) => !STATE_ORDER.includes(name)),
  ];
  $('sup-agent-counts').replaceChildren(...states.map((name) => el('li', { 'data-state': name }, [
    el('span', { class: 'state-dot', 'data-state': name, 'aria-hidden': 'true' }),
    `${stateText(name)} `,
    el('strong', {}, [formatCount(byState[name])]),
  ])));
  const rows = agents.map((agent) => el('tr', { 'data-agent': agent.id, 'data-state': agent.state }, [
    el('th', { scope: 'row' }, [agent.display_name || agent.id]),
    el('td', {}, [label(state.catalogue, 'regions', agent.region)]),
    el('td', {}, [
      el('span', { class: 'state-dot', 'data-state': agent.state, 'aria-hidden': 'true' }),
      stateText(agent.state),
    ]),
  ]));
  fillBody($('sup-agents-table'), rows.length ? rows : [emptyRow(3, 'sup.no_agents')]);
}

/**
 * Show exactly these alerts. An alert already listed keeps its <li> and only its text node's
 * value changes, which aria-relevant="additions" does not announce; a new alert is a new <li>,
 * announced at once.
 */
function renderAlerts(alerts) {
  const list = $('sup-alerts');
  const wanted = new Map(alerts.map((alert) => [alertKey(alert), alert]));
  for (const [key, item] of state.alertItems) {
    if (!wanted.has(key)) {
      item.remove();
      state.alertItems.delete(key);
    }
  }
  for (const [key, alert] of wanted) {
    const text = alertText(alert, state.catalogue);
    let item = state.alertItems.get(key);
    if (!item) {
      item = el('li', { class: 'sup-alert', 'data-kind': alert.kind, 'data-scope': alert.scope }, [text]);
      state.alertItems.set(key, item);
      list.append(item);
    } else if (item.firstChild && item.firstChild.nodeValue !== text) {
      item.firstChild.nodeValue = text;
    }
    const category = scopeCategory(alert.scope);
    if (category) item.dataset.category = category;
  }
  $('sup-alerts-empty').hidden = state.alertItems.size > 0;
}

/** sup:alert: alerts that just started; shown at once, the next figures confirm them. */
function addAlerts(alerts) {
  const current = state.figures ? state.figures.alerts || [] : [];
  const merged = new Map(current.map((alert) => [alertKey(alert), alert]));
  for (const alert of alerts) merged.set(alertKey(alert), alert);
  if (state.figures) state.figures.alerts = [...merged.values()];
  renderAlerts([...merged.values()]);
}

// ---- wiring ---------------------------------------------------------------------------------

async function refreshCatalogue() {
  $('catalogue-error').hidden = true;
  try {
    state.catalogue = await loadCatalogue();
    render();
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
  $('sign-out').addEventListener('click', () => {
    dropSession();
    showLogin('login.signed_out');
  });
  $('catalogue-retry').addEventListener('click', refreshCatalogue);
  $('loading-retry').addEventListener('click', () => {
    const token = session('getItem', TOKEN_KEY);
    if (token) startSession(token);
    else showLogin();
  });
  // Labels, durations and alert wording depend on the language (alerts are reworded in place).
  onLanguageChange(render);
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
