// Rating a mediation or an application (一单一评) and seeing whether it was followed up (回访):
// GET /api/ratings/mine, else a form that POSTs /api/ratings. Used by the parties' mediation
// page (join.js) once the mediation ended and by the application page (apply.js) once it closed.

import { errorText, getJSON, postJSON } from './api.js';
import { formatDate } from './datetime.js';
import { el } from './dom.js';
import { t } from './i18n.js';

const REASONS = ['waited_too_long', 'not_understood', 'attitude', 'not_solved', 'other'];

/** What the author sees of their rating and its follow-up. */
export function ratingSummary(rating) {
  const parts = [t('rate.mine', { score: rating.score })];
  const f = rating.follow_up;
  if (f && f.done) parts.push(t('rate.followed_up', { result: t(`rate.result.${f.result}`), at: formatDate(f.done_at) }));
  else if (f) parts.push(t('rate.follow_up_due', { due: formatDate(f.due) }));
  return parts.join(' · ');
}

/** Fill `container` with the rating of (kind, id) or a form for it. */
export async function mountRating(container, { kind, subjectId, token }) {
  const query = `/api/ratings/mine?subject_kind=${kind}&subject_id=${encodeURIComponent(subjectId)}`;
  let found = null;
  try {
    found = (await getJSON(query, token)).rating;
  } catch (err) {
    console.warn('rating unavailable', err);
    return;
  }
  container.hidden = false;
  if (found) {
    container.replaceChildren(el('p', { 'data-testid': 'rate-summary' }, [ratingSummary(found)]));
    return;
  }
  let score = 0;
  const buttons = [1, 2, 3, 4, 5].map((n) => {
    const b = el('button', { type: 'button', class: 'btn rating-btn', 'aria-pressed': 'false', 'data-testid': `rate-${n}` }, [t(`rating.score_${n}`)]);
    b.addEventListener('click', () => {
      score = n;
      buttons.forEach((x, i) => x.setAttribute('aria-pressed', String(i + 1 === n)));
    });
    return b;
  });
  const checks = REASONS.map((r) => {
    const box = el('input', { type: 'checkbox', id: `rate-reason-${r}`, value: r, 'data-testid': `rate-reason-${r}` });
    return [box, el('div', { class: 'field field-check' }, [box, el('label', { for: `rate-reason-${r}` }, [t(`rating.reason.${r}`)])])];
  });
  const complaint = el('input', { type: 'checkbox', id: 'rate-complaint', 'data-testid': 'rate-complaint' });
  const comment = el('textarea', { id: 'rate-comment', rows: '3', maxlength: '500', 'data-testid': 'rate-comment' });
  const error = el('p', { class: 'notice', 'data-kind': 'error', role: 'alert', hidden: '' });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'rate-submit' }, [t('rating.submit')]);
  const form = el('form', { class: 'form', novalidate: '' }, [
    el('h2', {}, [t('rating.title')]),
    el('div', { class: 'rating-buttons', role: 'group', 'aria-label': t('rating.title') }, buttons),
    el('fieldset', { class: 'rating-reasons' }, [el('legend', {}, [t('rating.reasons')]), ...checks.map(([, row]) => row),
      el('div', { class: 'field field-check' }, [complaint, el('label', { for: 'rate-complaint' }, [t('rating.complaint')])])]),
    el('div', { class: 'field' }, [el('label', { for: 'rate-comment' }, [t('rating.comment')]), comment]),
    error, submit,
  ]);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!score) {
      error.textContent = t('rating.choose_score');
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      const rating = await postJSON('/api/ratings', {
        subject_kind: kind, subject_id: subjectId, score,
        reasons: checks.filter(([box]) => box.checked).map(([box]) => box.value),
        comment: comment.value.trim() || null, complaint: complaint.checked,
      }, token);
      container.replaceChildren(el('p', { 'data-testid': 'rate-summary' }, [ratingSummary(rating)]));
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
      submit.disabled = false;
    }
  });
  container.replaceChildren(form);
}
