// The supervisor's follow-ups (回访): every low rating and complaint with its reasons, comment and
// due date; the call and its result are recorded here (POST /api/follow-ups/{id}), which writes
// them on the case's timeline and shows the rating's author that it was followed up.

import { errorText, postJSON } from './api.js';
import { formatDate } from './datetime.js';
import { el } from './dom.js';
import { t } from './i18n.js';
import { pollList } from './polled_list.js';

const REFRESH_MS = 30000;
const RESULTS = ['resolved', 'explained', 'unreachable', 'escalated'];

export function watchFollowUps(token, { list, empty }) {
  const item = (row) => {
    const reasons = row.reasons.map((r) => t(`rating.reason.${r}`)).join('、') || '—';
    const note = el('textarea', { rows: '2', maxlength: '2000', 'aria-label': t('fu.note'), placeholder: t('fu.note'), 'data-testid': 'fu-note' });
    const result = el('select', { 'aria-label': t('fu.result'), 'data-testid': 'fu-result' },
      RESULTS.map((r) => el('option', { value: r }, [t(`rate.result.${r}`)])));
    const error = el('p', { class: 'notice', 'data-kind': 'error', role: 'alert', hidden: '' });
    const button = el('button', { type: 'button', class: 'btn', 'data-testid': 'fu-close' }, [t('fu.close')]);
    button.addEventListener('click', async () => {
      if (!note.value.trim()) {
        note.focus();
        return;
      }
      button.disabled = true;
      try {
        await postJSON(`/api/follow-ups/${row.follow_up.id}`, { note: note.value.trim(), result: result.value }, token);
        poller.refresh();
      } catch (err) {
        error.textContent = errorText(err);
        error.hidden = false;
        button.disabled = false;
      }
    });
    return el('li', { 'data-testid': 'fu-row', 'data-subject': row.subject_id, 'data-complaint': String(row.complaint) }, [
      el('strong', {}, [t('fu.row', { kind: t(`fu.kind.${row.subject_kind}`), score: row.score, reasons, due: formatDate(row.follow_up.due) })]),
      row.comment ? el('p', { class: 'hint' }, [row.comment]) : '',
      note, result, button, error,
    ]);
  };
  const poller = pollList({
    path: '/api/follow-ups', token, key: 'follow_ups', intervalMs: REFRESH_MS,
    show: (rows) => {
      list.replaceChildren(...rows.map(item));
      empty.hidden = rows.length > 0;
    },
  });
  return poller.stop;
}
