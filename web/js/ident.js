// Long identifiers (hashes, case and application ids, invitation links) on a page: shown
// shortened ("ded877e1…d30d867d", never wider than a phone), the whole value in the element's
// title and data-full, and a copy button next to it. Copying uses the Clipboard API, and falls
// back to selecting a hidden field for browsers that refuse it outside a secure context.

import { el } from './dom.js';
import { setText } from './i18n.js';

const COPIED_MS = 2000;

/** "abcdefgh…stuvwxyz" when `value` is longer than head + tail + 1 characters (tail may be 0). */
export function shorten(value, head = 8, tail = 8) {
  const text = String(value || '');
  if (text.length <= head + tail + 1) return text;
  return `${text.slice(0, head)}…${tail > 0 ? text.slice(-tail) : ''}`;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const field = el('textarea', { class: 'visually-hidden', readonly: '' });
    field.value = text;
    document.body.append(field);
    field.select();
    let done = false;
    try {
      done = document.execCommand('copy');
    } catch {
      done = false;
    }
    field.remove();
    return done;
  }
}

/**
 * An identifier element: <span class="ident" data-full>, its short form in <code> and a copy
 * button. `testid` marks the span (the button is `${testid}-copy`); with `href` the short form is
 * a link to it.
 */
export function identifier(value, { testid, head = 8, tail = 8, href } = {}) {
  const full = String(value || '');
  const shown = href
    ? el('a', { href, class: 'ident-value', title: full, target: '_blank', rel: 'noopener' }, [shorten(full, head, tail)])
    : el('code', { class: 'ident-value', title: full }, [shorten(full, head, tail)]);
  const button = el('button', { type: 'button', class: 'btn btn-small ident-copy', 'data-testid': testid ? `${testid}-copy` : undefined });
  setText(button, 'ident.copy');
  button.setAttribute('data-i18n-aria-label', 'ident.copy_label');
  const status = el('span', { class: 'ident-status', role: 'status' });
  const root = el('span', { class: 'ident', 'data-testid': testid, 'data-full': full }, [shown, ' ', button, status]);
  button.addEventListener('click', async () => {
    const ok = await copyText(full);
    setText(status, ok ? 'ident.copied' : 'ident.copy_failed');
    setTimeout(() => {
      status.textContent = '';
      delete status.dataset.i18n;
    }, COPIED_MS);
  });
  return root;
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/**
 * What is wrong with an 18-character resident ID number (GB 11643, ISO 7064 MOD 11-2), as a
 * code, or '' when it is valid: 'length', 'digits', 'birth' (not a real date) or 'check' (the
 * last character). The same rule as server/agreements/content.py id_number_valid.
 */
export function residentIdProblem(value) {
  const number = String(value || '').trim().toUpperCase();
  if (number.length !== 18) return 'length';
  if (!/^[0-9]{17}[0-9X]$/.test(number)) return 'digits';
  const y = Number(number.slice(6, 10));
  const m = Number(number.slice(10, 12));
  const d = Number(number.slice(12, 14));
  const born = new Date(Date.UTC(y, m - 1, d));
  if (born.getUTCFullYear() !== y || born.getUTCMonth() !== m - 1 || born.getUTCDate() !== d) return 'birth';
  let total = 0;
  for (let i = 0; i < 17; i += 1) total += Number(number[i]) * ID_WEIGHTS[i];
  return ID_CHECK[total % 11] === number[17] ? '' : 'check';
}

/** The birth date (YYYY-MM-DD) and sex ('male' | 'female') a valid resident ID number encodes. */
export function residentIdFacts(value) {
  const number = String(value || '').trim().toUpperCase();
  return { birth: `${number.slice(6, 10)}-${number.slice(10, 12)}-${number.slice(12, 14)}`,
    sex: Number(number[16]) % 2 === 1 ? 'male' : 'female' };
}
