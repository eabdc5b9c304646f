// Quality review (质量评查) as people read it, shared by the supervisor's panel and the lawyer's
// "我的质检结果": the state in words, the scores item by item from the checklist data
// (server/quality/checklist.json, sent with GET /api/quality/reviews), the note and the answer.

import { el } from './dom.js';
import { setLocalized, setText, setTime } from './i18n.js';

/** A text node kept translated: <tag data-i18n=key>. */
export function said(tag, key, params, attrs = {}) {
  const node = el(tag, attrs);
  setText(node, key, params);
  return node;
}

/** The review's state in words (waiting / reviewed / answered). */
export function stateNode(review) {
  return said('span', `qa.state.${review.state}`, undefined, { class: `qa-state qa-state-${review.state}`, 'data-testid': 'qa-state' });
}

/** A timestamp node (datetime.js via i18n.setTime), re-rendered on a language switch. */
export function timeNode(iso, form = 'datetime') {
  const node = el('time');
  if (iso) setTime(node, iso, form);
  return node;
}

/** Why a typed score is refused, as a translation key, or null: a whole number 0..max. */
export function scoreProblem(text, max) {
  const value = String(text ?? '').trim();
  if (value === '') return 'qa.error.missing';
  if (!/^\d+$/.test(value) || Number(value) > max) return 'qa.error.range';
  return null;
}

/**
 * The scores item by item, the total, the note, and the answer (or, unless `answering` (the
 * reader is the one to answer it), that none came yet).
 */
export function resultNode(checklist, review, { answering = false } = {}) {
  const rows = checklist.items.map((item) => {
    const name = el('dt');
    setLocalized(name, item);
    const score = (review.scores || {})[item.code];
    return el('div', { class: 'qa-score', 'data-item': item.code }, [
      name, el('dd', { 'data-testid': `qa-result-${item.code}` }, [`${score ?? '—'} / ${item.max}`])]);
  });
  const parts = [
    el('dl', { class: 'qa-scores' }, rows),
    said('p', 'qa.total', { total: review.total ?? '—', max: review.max }, { class: 'qa-total', 'data-testid': 'qa-total' }),
  ];
  if (review.reviewed_at) parts.push(el('p', { class: 'hint' }, [said('span', 'qa.reviewed_at'), ' ', timeNode(review.reviewed_at)]));
  if (review.note) parts.push(el('p', { 'data-testid': 'qa-note' }, [said('strong', 'qa.note'), ' ', review.note]));
  if (review.answer) {
    parts.push(el('p', { 'data-testid': 'qa-answer' }, [said('strong', 'qa.answer'), ' ', review.answer]));
    if (review.answered_at) parts.push(el('p', { class: 'hint' }, [timeNode(review.answered_at)]));
  } else if (review.reviewed_at && !answering) {
    parts.push(said('p', 'qa.no_answer', undefined, { class: 'hint', 'data-testid': 'qa-no-answer' }));
  }
  return el('div', { class: 'qa-result', 'data-testid': 'qa-result' }, parts);
}
