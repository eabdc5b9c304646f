// A supervisor-page list kept filled from one GET route: fetched now and every intervalMs,
// drawn again when the language changes.

import { getJSON } from './api.js';
import { onLanguageChange } from './i18n.js';

/**
 * @param {object} opts
 * @param {string} opts.path   the route, e.g. '/api/follow-ups'
 * @param {string} opts.token  the staff token
 * @param {string} opts.key    the reply's field holding the rows
 * @param {number} opts.intervalMs
 * @param {(rows: object[], reply: object) => void} opts.show  draws the rows (the whole reply too)
 * @returns {{ refresh: () => Promise<void>, stop: () => void }}
 */
export function pollList({ path, token, key, intervalMs, show }) {
  let rows = [];
  let reply = {};
  const render = () => show(rows, reply);
  const refresh = async () => {
    try {
      reply = await getJSON(path, token);
      rows = reply[key];
      render();
    } catch (err) {
      console.warn(`${path} unavailable`, err);
    }
  };
  refresh();
  const timer = setInterval(refresh, intervalMs);
  const unsubscribe = onLanguageChange(render);
  return {
    refresh,
    stop() {
      clearInterval(timer);
      unsubscribe();
    },
  };
}
