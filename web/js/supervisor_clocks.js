// The supervisor's legal clocks (限时办结): every application whose time limit is about to lapse
// or has lapsed, soonest first, refreshed every 30 seconds.

import { clockText } from './clocks.js';
import { el } from './dom.js';
import { t } from './i18n.js';
import { pollList } from './polled_list.js';

const REFRESH_MS = 30000;

/** Keep list filled from GET /api/registry/clocks; returns a function that stops it. */
export function watchClocks(token, list, empty) {
  return pollList({
    path: '/api/registry/clocks', token, key: 'clocks', intervalMs: REFRESH_MS,
    show: (rows) => {
      list.replaceChildren(...rows.map((c) => el('li', {
        'data-state': c.state, 'data-code': c.code, 'data-number': c.number,
      }, [`${c.number} · ${clockText(c)} · ${t(`clock.state.${c.state}`)}`])));
      empty.hidden = rows.length > 0;
    },
  }).stop;
}
