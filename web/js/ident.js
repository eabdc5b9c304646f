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
