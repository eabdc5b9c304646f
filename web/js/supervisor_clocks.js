// The supervisor's legal clocks (限时办结): every application whose time limit is about to lapse
// or has lapsed, soonest first, refreshed every 30 seconds.

import { getJSON } from './api.js';
import { clockText } from './clocks.js';
import { el } from './dom.js';
import { onLanguageChange, t } from './i18n.js';

const REFRESH_MS = 30000;

/** Keep list filled from GET /api/registry/clocks; returns a function that stops it. */
export function watchClocks(token, list, empty) {
  let rows = [];
  const render = () => {
    list.replaceChildren(...rows.map((c) => el('li', {
      'data-state': c.state, 'data-code': c.code, 'data-number': c.number,
    }, [`${c.number} · ${clockText(c)} · ${t(`clock.state.${c.state}`)}`])));
    empty.hidden = rows.length > 0;
  };
  const refresh = async () => {
    try {
      rows = (await getJSON('/api/registry/clocks', token)).clocks;
      render();
    } catch (err) {
      console.warn('clocks unavailable', err);
    }
  };
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  const unsubscribe = onLanguageChange(render);
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}
