// The supervisor's quality review panel (质量评查, 双随机; docs/ui.md, "Quality review"): draw a
// sample of closed consultations over a period (POST /api/quality/samples; the seed is shown so
// the draw can be made again), the reviews of the region with case, handler, reviewer and state
// (GET /api/quality/reviews), and one opened: the case's recordings, the scoring form when it is
// mine to score, else its scores and the reviewed person's answer.

import { errorText, postJSON } from './api.js';
import { isoDay } from './datetime.js';
import { el } from './dom.js';
import { identifier } from './ident.js';
import { clearFieldError, clearFormErrors, setFieldError } from './form.js';
import { setText } from './i18n.js';
import { pollList } from './polled_list.js';
import { scoringForm } from './quality_form.js';
import { resultNode, said, stateNode, timeNode } from './quality_view.js';

const REFRESH_MS = 30000;
const DEFAULT_DAYS = 30;

/** Links to the case's recordings (the playback page opens in a new tab with this sign-in). */
export function recordingLinks(review) {
  if (!review.recordings.length) return said('p', 'qa.no_recording', undefined, { class: 'hint', 'data-testid': 'qa-no-recording' });
  return el('ul', { class: 'qa-recordings' }, review.recordings.map((r, i) => {
    // "opener" so the new tab gets a copy of this tab's sessionStorage (the staff token).
    const link = el('a', { href: r.page_url, target: '_blank', rel: 'opener', 'data-testid': 'qa-recording-link', 'data-recording-id': r.id });
    setText(link, review.recordings.length > 1 ? 'recording.links.view_n' : 'recording.links.view', { n: i + 1 });
    return el('li', {}, [link]);
  }));
}

/** "案件 1f3a…9c2e · <who>": the case number shortened, copied whole by its button. */
export function caseHeading(review, who) {
  return el('h3', { class: 'qa-heading', 'data-testid': 'qa-detail-title' }, [
    said('span', 'qa.case'), ' ', identifier(review.case_id, { testid: 'qa-detail-case' }), ' · ', who]);
}

function drawBody(form) {
  const value = (name) => form.querySelector(`[data-testid="qa-${name}"]`);
  clearFormErrors(form);
  const problems = [];
  const n = value('n').value.trim();
  if (!/^\d+$/.test(n) || Number(n) < 1 || Number(n) > 100) problems.push([value('n'), 'qa.error.n']);
  const since = value('since').value;
  const until = value('until').value;
  if (since && until && since > until) problems.push([value('until'), 'qa.error.period']);
  const seed = value('seed').value.trim();
  if (seed && !/^\d{1,18}$/.test(seed)) problems.push([value('seed'), 'qa.error.seed']);
  for (const [field, key] of problems) setFieldError(field, key);
  if (problems.length) {
    problems[0][0].focus();
    return null;
  }
  return { n: Number(n), since: since || null, until: until || null, ...(seed ? { seed: Number(seed) } : {}) };
}

/** Wire the panel (its static parts are in supervisor.html); returns a function that stops it. */
export function watchQuality(token, { form, drawn, drawError, table, empty, detail }) {
  let checklist = { items: [] };
  let openId = null;
  // The form is the page's own and outlives a session: its listeners go when the panel stops.
  const wired = new AbortController();
  const { signal } = wired;
  const today = new Date();
  form.querySelector('[data-testid="qa-since"]').value = isoDay(new Date(today.getTime() - DEFAULT_DAYS * 86400000));
  form.querySelector('[data-testid="qa-until"]').value = isoDay(today);
  for (const input of form.querySelectorAll('input')) input.addEventListener('input', () => clearFieldError(input), { signal });

  const open = (review) => {
    openId = review.id;
    const parts = [
      caseHeading(review, said('span', 'qa.detail_handler', { handler: review.handler_name })),
      recordingLinks(review),
    ];
    if (review.mine_to_review) {
      parts.push(scoringForm(checklist, review, token, async () => {
        await poller.refresh();
        setText(drawn, 'qa.saved');
      }));
    } else {
      parts.push(review.reviewed_at ? resultNode(checklist, review) : said('p', 'qa.waiting_for', { name: review.reviewer_name }, { class: 'hint' }));
    }
    const close = said('button', 'qa.close', undefined, { type: 'button', class: 'btn btn-small', 'data-testid': 'qa-close' });
    close.addEventListener('click', () => {
      openId = null;
      detail.hidden = true;
      detail.replaceChildren();
    });
    parts.push(close);
    detail.dataset.review = String(review.id);
    detail.replaceChildren(...parts);
    detail.hidden = false;
  };

  const row = (review) => {
    const button = said('button', review.mine_to_review ? 'qa.score' : 'qa.view', undefined,
      { type: 'button', class: 'btn btn-small', 'data-testid': 'qa-open' });
    button.addEventListener('click', () => open(review));
    return el('tr', { 'data-testid': 'qa-row', 'data-review': String(review.id), 'data-case': review.case_id, 'data-state': review.state, class: review.mine_to_review ? 'qa-mine' : undefined }, [
      el('th', { scope: 'row' }, [identifier(review.case_id, { testid: 'qa-case' })]),
      el('td', {}, [review.handler_name]),
      el('td', { 'data-testid': 'qa-reviewer' }, [review.reviewer_name]),
      el('td', {}, [timeNode(review.drawn_at, 'date')]),
      el('td', {}, [stateNode(review), review.total !== null ? ` ${review.total}/${review.max}` : '']),
      el('td', {}, [button]),
    ]);
  };

  const poller = pollList({
    path: '/api/quality/reviews', token, key: 'reviews', intervalMs: REFRESH_MS,
    show: (rows, reply) => {
      checklist = reply.checklist || checklist;
      table.tBodies[0].replaceChildren(...rows.map(row));
      empty.hidden = rows.length > 0;
      // An opened review that was only being read follows the list (its answer may come); a
      // form being filled in is left alone.
      const current = rows.find((r) => r.id === openId);
      if (current && !(current.mine_to_review && detail.querySelector('form'))) open(current);
    },
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    drawError.hidden = true;
    const body = drawBody(form);
    if (!body) return;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const reply = await postJSON('/api/quality/samples', body, token);
      setText(drawn, 'qa.drawn', { n: reply.reviews.length, candidates: reply.candidates, seed: String(reply.seed) });
      drawn.dataset.seed = String(reply.seed);
      await poller.refresh();
    } catch (err) {
      const field = err.field && form.querySelector(`[data-testid="qa-${err.field}"]`);
      if (field) setFieldError(field, 'error.bad_request');
      drawError.textContent = errorText(err);
      drawError.hidden = false;
    } finally {
      button.disabled = false;
    }
  }, { signal });
  return () => {
    wired.abort();
    poller.stop();
    detail.hidden = true;
    detail.replaceChildren();
    delete drawn.dataset.i18n;
    drawn.textContent = '';
    table.tBodies[0].replaceChildren();
  };
}
