// Switching between the views of a page and showing page-level notices.
// A view is a <section data-view="name">; exactly one is visible at a time.

import { setText } from './i18n.js';

/** Show the view called name, hide the others, and move focus to its heading for screen readers. */
export function showView(name, { focus = true } = {}) {
  let shown = null;
  for (const section of document.querySelectorAll('[data-view]')) {
    const visible = section.dataset.view === name;
    section.hidden = !visible;
    if (visible) shown = section;
  }
  document.body.dataset.currentView = name;
  if (shown && focus) {
    const heading = shown.querySelector('h1, h2');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: false });
    }
  }
  return shown;
}

/** Show a translated notice in el (kind: "info" | "error" | "success"); key null hides it. */
export function showNotice(el, key, params, kind = 'info') {
  if (!el) return;
  if (!key) {
    el.hidden = true;
    el.textContent = '';
    delete el.dataset.i18n;
    return;
  }
  el.dataset.kind = kind;
  setText(el, key, params);
  el.hidden = false;
}

/** Show an untranslatable message (from the server) in el. */
export function showRawNotice(el, message, kind = 'error') {
  if (!el) return;
  delete el.dataset.i18n;
  delete el.dataset.i18nArgs;
  el.dataset.kind = kind;
  el.textContent = message;
  el.hidden = false;
}

/** Reflect the socket's connection state in a banner element (hidden while connected). */
export function watchConnection(socket, banner) {
  const update = () => {
    if (socket.connected) showNotice(banner, null);
    else showNotice(banner, 'conn.reconnecting', undefined, 'error');
  };
  socket.on('connect', update);
  socket.on('disconnect', update);
  update();
  return () => {
    socket.off('connect', update);
    socket.off('disconnect', update);
  };
}
