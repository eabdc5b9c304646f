// "我的质检结果" on the lawyer's console: every finished quality review of my own cases with its
// scores and the reviewer's note, and a box to answer it once (POST
// /api/quality/reviews/{id}/answer); the answer is then shown here and to the reviewer. A lawyer
// drawn as the reviewer of a colleague's case scores it here too (the same form as supervisors).

import { errorText, postJSON } from './api.js';
import { el } from './dom.js';
import { bindCounter, clearFieldError, setFieldError } from './form.js';
import { pollList } from './polled_list.js';
import { caseHeading, recordingLinks } from './quality_panel.js';
import { scoringForm } from './quality_form.js';
import { resultNode, said, timeNode } from './quality_view.js';

const REFRESH_MS = 60000;
const ANSWER_MAX = 2000;

function answerBox(review, token, done) {
  const id = `qa-answer-${review.id}`;
  const input = el('textarea', { id, rows: '3', maxlength: String(ANSWER_MAX), 'aria-describedby': `${id}-count`, 'data-testid': 'qa-answer-input' });
  const count = el('p', { id: `${id}-count`, class: 'counter' });
  const error = el('p', { id: `${id}-error`, class: 'field-error', 'data-testid': 'qa-answer-error', hidden: '' });
  const submit = said('button', 'qa.answer_submit', undefined, { type: 'submit', class: 'btn btn-primary', 'data-testid': 'qa-answer-submit' });
  const form = el('form', { class: 'form qa-answer', novalidate: '' }, [
    el('div', { class: 'field' }, [said('label', 'qa.answer_label', undefined, { for: id }), input, count, error]),
    submit,
  ]);
  bindCounter(input, count, ANSWER_MAX);
  input.addEventListener('input', () => clearFieldError(input));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!input.value.trim()) {
      setFieldError(input, 'qa.error.answer');
      input.focus();
      return;
    }
    submit.disabled = true;
    try {
      await postJSON(`/api/quality/reviews/${review.id}/answer`, { answer: input.value.trim() }, token);
      done();
    } catch (err) {
      submit.disabled = false;
      setFieldError(input, 'error.bad_request');
      error.textContent = errorText(err);
    }
  });
  return form;
}

/** Fill the list with my reviewed cases; returns a function that stops it. */
export function watchMyReviews(token, { list, empty }) {
  const item = (review, checklist) => el('li', { class: 'qa-mine-item', 'data-testid': 'qa-mine-row', 'data-review': String(review.id), 'data-state': review.state }, [
    caseHeading(review, said('span', 'qa.mine_reviewer', { name: review.reviewer_name })),
    el('p', { class: 'hint' }, [said('span', 'qa.drawn_at'), ' ', timeNode(review.drawn_at, 'date')]),
    recordingLinks(review),
    resultNode(checklist, review, { answering: review.mine_to_answer }),
    review.mine_to_answer ? answerBox(review, token, () => poller.refresh()) : '',
  ]);
  const toReview = (review, checklist) => el('li', { class: 'qa-mine-item', 'data-testid': 'qa-todo-row', 'data-review': String(review.id) }, [
    caseHeading(review, said('span', 'qa.todo_handler', { handler: review.handler_name })),
    recordingLinks(review),
    scoringForm(checklist, review, token, () => poller.refresh()),
  ]);
  let shown = '';
  const poller = pollList({
    path: '/api/quality/reviews', token, key: 'reviews', intervalMs: REFRESH_MS,
    show: (rows, reply) => {
      // Reviews of my own work once scored (one still waiting for its reviewer is not shown).
      const mine = rows.filter((r) => r.about_me && r.reviewed_at);
      const todo = rows.filter((r) => r.mine_to_review);
      // Redrawn only when something changed, so what is being typed is not wiped by a poll;
      // the words follow a language switch by themselves (data-i18n, data-time).
      const key = JSON.stringify([todo.map((r) => r.id), mine.map((r) => [r.id, r.state])]);
      if (key === shown) return;
      shown = key;
      list.replaceChildren(...todo.map((r) => toReview(r, reply.checklist)), ...mine.map((r) => item(r, reply.checklist)));
      empty.hidden = mine.length + todo.length > 0;
    },
  });
  return () => {
    poller.stop();
    list.replaceChildren();  // nothing of one lawyer's results stays for the next sign-in
  };
}
