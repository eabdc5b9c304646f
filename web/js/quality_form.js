// The reviewer's scoring form: one whole-number field per checklist item (0..its max, as the
// checklist data says) and a comment; each refusal is said under its own field, whether found
// here or by the server (field "scores.<item>", POST /api/quality/reviews/{id}).

import { errorText, postJSON } from './api.js';
import { el } from './dom.js';
import { bindCounter, clearFieldError, clearFormErrors, setFieldError } from './form.js';
import { setLocalized } from './i18n.js';
import { said, scoreProblem } from './quality_view.js';

const NOTE_MAX = 2000;

function scoreField(item, reviewId) {
  // Ids unique on the page (a lawyer may have several forms open); test ids per item.
  const id = `qa-${reviewId}-score-${item.code}`;
  const label = el('label', { for: id });
  setLocalized(label, item);
  const range = said('span', 'qa.range', { max: item.max }, { class: 'hint', id: `${id}-hint` });
  const input = el('input', {
    id, type: 'text', inputmode: 'numeric', autocomplete: 'off', required: '', size: '3',
    'aria-describedby': `${id}-hint`, 'data-testid': `qa-score-${item.code}`, 'data-max': String(item.max),
  });
  const error = el('p', { id: `${id}-error`, class: 'field-error', 'data-testid': `qa-score-${item.code}-error`, hidden: '' });
  input.addEventListener('input', () => clearFieldError(input));
  return { input, node: el('div', { class: 'field qa-field' }, [label, ' ', range, input, error]) };
}

/** The form for `review`; `onDone()` after the scores are saved. */
export function scoringForm(checklist, review, token, onDone) {
  const fields = new Map(checklist.items.map((item) => [item.code, scoreField(item, review.id)]));
  const noteId = `qa-${review.id}-note`;
  const note = el('textarea', { id: noteId, rows: '3', maxlength: String(NOTE_MAX), 'aria-describedby': `${noteId}-count`, 'data-testid': 'qa-note-input' });
  const count = el('p', { id: `${noteId}-count`, class: 'counter' });
  const error = el('p', { class: 'notice', 'data-kind': 'error', role: 'alert', 'data-testid': 'qa-submit-error', hidden: '' });
  const submit = said('button', 'qa.submit', undefined, { type: 'submit', class: 'btn btn-primary', 'data-testid': 'qa-submit' });
  const form = el('form', { class: 'form qa-form', 'data-testid': 'qa-form', novalidate: '' }, [
    ...[...fields.values()].map((f) => f.node),
    el('div', { class: 'field' }, [said('label', 'qa.comment', undefined, { for: noteId }), note, count]),
    error, submit,
  ]);
  bindCounter(note, count, NOTE_MAX);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    error.hidden = true;
    const scores = {};
    let first = null;
    for (const item of checklist.items) {
      const { input } = fields.get(item.code);
      const problem = scoreProblem(input.value, item.max);
      if (problem) {
        setFieldError(input, problem, { max: item.max });
        first = first || input;
      } else {
        scores[item.code] = Number(input.value.trim());
      }
    }
    if (first) {
      first.focus();
      return;
    }
    submit.disabled = true;
    try {
      await postJSON(`/api/quality/reviews/${review.id}`, { scores, note: note.value.trim() }, token);
      onDone();
    } catch (err) {
      submit.disabled = false;
      const code = String(err.field || '').startsWith('scores.') ? err.field.slice('scores.'.length) : null;
      const field = code && fields.get(code);
      if (field) {
        const item = checklist.items.find((i) => i.code === code);
        setFieldError(field.input, 'qa.error.range', { max: item.max });
        field.input.focus();
      } else {
        error.textContent = errorText(err);
        error.hidden = false;
      }
    }
  });
  return form;
}
