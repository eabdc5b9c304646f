// The citizen's intake form: client-side checks mirroring the server's, POST /api/intake,
// and server field errors shown next to their field.

import { errorText, postJSON } from './api.js';
import { byTestId } from './dom.js';
import { bindCounter, clearFieldError, clearFormErrors, setFieldError } from './form.js';
import { has, setText } from './i18n.js';
import { showNotice, showRawNotice } from './views.js';

const PHONE_RE = /^1[3-9]\d{9}$/;
const FIELDS = ['name', 'phone', 'service_type', 'category', 'mode', 'region', 'language', 'description'];
// Priority grounds the citizen may declare (docs/protocol.md, "Routing"); sent as booleans.
const PRIORITY_GROUNDS = ['elderly', 'disabled', 'legal_aid', 'urgent'];
const DESCRIPTION_MAX = 2000;

const form = () => document.getElementById('intake-form');
const fieldFor = (name) => document.getElementById(`intake-${name.replace('_', '-')}`);

/** Strip what people type around a mobile number: spaces, dashes, a +86 prefix. */
export function normalizePhone(raw) {
  return raw.replace(/[\s-]/g, '').replace(/^\+86/, '');
}

// Intake service types that are applications (server/catalogue): service type -> catalogue item.
const APPLICATION_ITEMS = { mediation: 'mediation', legal_aid: 'legal_aid' };

function readIntake() {
  const value = (name) => fieldFor(name).value;
  return {
    name: value('name').trim(),
    phone: normalizePhone(value('phone')),
    service_type: value('service_type'),
    category: value('category'),
    mode: value('mode'),
    region: value('region'),
    // Mandarin unless the citizen picks a dialect (the select may be empty if the catalogue failed).
    language: value('language') || 'zh',
    description: value('description').trim(),
    ...Object.fromEntries(PRIORITY_GROUNDS.map((name) => [name, fieldFor(name).checked])),
  };
}

/** Client-side checks; returns [[field name, message key], ...]. */
function validateIntake(body) {
  const problems = [];
  if (!body.name || body.name.length > 50) problems.push(['name', 'intake.invalid.name']);
  if (!PHONE_RE.test(body.phone)) problems.push(['phone', 'intake.invalid.phone']);
  for (const name of ['service_type', 'category', 'mode', 'region']) {
    if (!body[name]) problems.push([name, `intake.invalid.${name}`]);
  }
  if (!body.description || body.description.length > DESCRIPTION_MAX) {
    problems.push(['description', 'intake.invalid.description']);
  }
  return problems;
}

function showServerError(err) {
  if (err.field && FIELDS.includes(err.field)) {
    const field = fieldFor(err.field);
    const key = `intake.invalid.${err.field}`;
    setFieldError(field, has(key) ? key : 'error.bad_request');
    field.focus();
  } else {
    showRawNotice(byTestId('intake-error'), errorText(err));
  }
}

/**
 * Wire the form. onCreated({case_id, token, open, callback}) runs after a 201; the form stays
 * filled in, so a citizen who leaves the queue can send it again.
 */
export function wireIntakeForm(onCreated) {
  const intake = form();
  const submit = byTestId('intake-submit');
  const refreshCounter = bindCounter(fieldFor('description'), byTestId('intake-description-count'), DESCRIPTION_MAX);
  for (const name of FIELDS) {
    const field = fieldFor(name);
    field.addEventListener('input', () => {
      if (field.getAttribute('aria-invalid') === 'true') clearFieldError(field);
    });
  }
  // Mediation and legal aid are applications to an institution, not a queue for a lawyer:
  // the one window takes them at /apply (docs/one-window.md).
  fieldFor('service_type').addEventListener('change', () => {
    const item = APPLICATION_ITEMS[fieldFor('service_type').value];
    const notice = byTestId('intake-apply');
    notice.hidden = !item;
    if (item) byTestId('intake-apply-link').href = `/apply?item=${item}`;
    submit.disabled = Boolean(item);
  });
  intake.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(intake);
    showNotice(byTestId('intake-error'), null);
    showNotice(byTestId('intake-notice'), null);
    const body = readIntake();
    const problems = validateIntake(body);
    if (problems.length) {
      for (const [name, key] of problems) setFieldError(fieldFor(name), key);
      fieldFor(problems[0][0]).focus();
      return;
    }
    submit.disabled = true;
    setText(submit, 'intake.submitting');
    let reply;
    try {
      reply = await postJSON('/api/intake', body);
    } catch (err) {
      showServerError(err);
      return;
    } finally {
      submit.disabled = false;
      setText(submit, 'intake.submit');
    }
    await onCreated(reply);
  });
  return {
    /** Empty the form for a new request. */
    reset() {
      intake.reset();
      clearFormErrors(intake);
      refreshCounter();
    },
  };
}
