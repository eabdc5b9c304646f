// The supervisor's early warnings (docs/early-warning.md): every alert with why it fired (the
// rule, the figures, the thresholds), acknowledged by the signed-in supervisor; the last day's
// transfers, escalations and live assist. GET /api/alerts, then `alert:raised` / `alert:acked`.

import { getJSON, postJSON, errorText } from './api.js';
import { formatDateTime } from './datetime.js';
import { el } from './dom.js';
import { onLanguageChange, t } from './i18n.js';

const REFRESH_MS = 30000;

function pairs(object) {
  return Object.entries(object || {}).map(([k, v]) => `${k}=${Array.isArray(v) ? v.length : v}`).join(', ');
}

/** Fill the section's lists; returns a function that stops it. */
export function watchAlerts(socket, token, { list, empty, events, eventsEmpty }) {
  let board = { alerts: [], events: [], escalations: [] };
  const render = () => {
    list.replaceChildren(...board.alerts.map((a) => alertItem(a)));
    empty.hidden = board.alerts.length > 0;
    const rows = [
      ...board.escalations.map((m) => el('li', { 'data-kind': 'escalation', 'data-case': m.case_id },
        [`${t('ew.event.escalation')} · ${m.category} · ${m.note || ''}`])),
      ...board.events.map((e) => el('li', { 'data-kind': e.kind, 'data-case': e.case_id },
        [`${t(`ew.event.${e.kind}`)} · ${formatDateTime(e.at)} · ${e.actor}`])),
    ];
    events.replaceChildren(...rows);
    eventsEmpty.hidden = rows.length > 0;
  };
  const alertItem = (a) => {
    const x = a.explanation || {};
    const why = t('ew.why', { rule: a.rule, figures: pairs(x.figures), thresholds: pairs(x.thresholds) });
    const parts = [
      el('strong', {}, [`${t(`ew.severity.${a.severity}`)} · ${t(`ew.kind.${a.kind}`)} · ${a.scope}`]),
      el('p', { class: 'hint', 'data-testid': 'ew-why' }, [why]),
      el('p', { class: 'hint' }, [formatDateTime(a.raised_at) + (a.open ? '' : ` · ${t('ew.cleared')}`)]),
    ];
    if (a.acked) {
      parts.push(el('p', { 'data-testid': 'ew-acked' }, [
        t('ew.acked', { name: a.acked.by, at: formatDateTime(a.acked.at) }) + (a.acked.note ? ` · ${a.acked.note}` : '')]));
    } else {
      const note = el('input', { type: 'text', maxlength: '500', 'aria-label': t('ew.ack_note'), placeholder: t('ew.ack_note'), 'data-testid': 'ew-ack-note' });
      const button = el('button', { type: 'button', class: 'btn', 'data-testid': 'ew-ack' }, [t('ew.ack')]);
      const error = el('p', { class: 'notice', role: 'alert', hidden: '' });
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          replace(await postJSON(`/api/alerts/${a.id}/ack`, { note: note.value.trim() || null }, token));
        } catch (err) {
          error.textContent = errorText(err);
          error.hidden = false;
          button.disabled = false;
        }
      });
      parts.push(el('div', { class: 'ew-ack' }, [note, button, error]));
    }
    return el('li', { 'data-testid': 'ew-alert', 'data-rule': a.rule, 'data-severity': a.severity, 'data-acked': String(Boolean(a.acked)) }, parts);
  };
  const replace = (alert) => {
    board.alerts = [alert, ...board.alerts.filter((a) => a.id !== alert.id)].sort((a, b) => b.id - a.id);
    render();
  };
  const refresh = async () => {
    try {
      board = await getJSON('/api/alerts', token);
      render();
    } catch (err) {
      console.warn('alerts unavailable', err);
    }
  };
  socket.on('alert:raised', replace);
  socket.on('alert:acked', replace);
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  const unsubscribe = onLanguageChange(render);
  return () => {
    clearInterval(timer);
    unsubscribe();
    socket.off('alert:raised', replace);
    socket.off('alert:acked', replace);
  };
}
