// Field-level validation messages: shown next to the field, linked with aria-describedby,
// flagged with aria-invalid, so screen readers announce them with the field.

import { setText } from './i18n.js';

function errorElement(field) {
  return document.getElementById(`${field.id}-error`);
}

/** Show a translated message under field. */
export function setFieldError(field, key, params) {
  const el = errorElement(field);
  if (el) {
    setText(el, key, params);
    el.hidden = false;
  }
  field.setAttribute('aria-invalid', 'true');
  const ids = new Set((field.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean));
  if (el) ids.add(el.id);
  field.setAttribute('aria-describedby', [...ids].join(' '));
}

/** Show a message from the server (already human-readable) under field. */
export function setFieldErrorRaw(field, message) {
  setFieldError(field, 'error.bad_request');
  const el = errorElement(field);
  if (el && message) {
    delete el.dataset.i18n;
    el.textContent = message;
  }
}

/** Remove field's message. */
export function clearFieldError(field) {
  const el = errorElement(field);
  if (el) {
    el.hidden = true;
    el.textContent = '';
    delete el.dataset.i18n;
  }
  field.removeAttribute('aria-invalid');
  const ids = (field.getAttribute('aria-describedby') || '')
    .split(/\s+/)
    .filter((id) => id && (!el || id !== el.id));
  if (ids.length) field.setAttribute('aria-describedby', ids.join(' '));
  else field.removeAttribute('aria-describedby');
}

/** Remove every field message inside form. */
export function clearFormErrors(form) {
  for (const field of form.querySelectorAll('[aria-invalid="true"]')) clearFieldError(field);
}

/** Keep counter showing "n / max" for field; returns a function that refreshes it. */
export function bindCounter(field, counter, max) {
  const refresh = () => setText(counter, 'form.count', { n: field.value.length, max });
  field.addEventListener('input', refresh);
  refresh();
  return refresh;
}
