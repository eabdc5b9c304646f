// The lawyer's view of who is waiting (queue:waiting; signaling/hotline/waiting.py): category,
// mode, priority, region and how long — no names, phones or descriptions before an offer —
// marked when the case could come to this lawyer. And the idle hint, which always matches the
// "take next" button's state.

import { findEntry } from './catalogue.js';
import { byTestId, el } from './dom.js';
import { localName, setText, t } from './i18n.js';

const $ = (id) => byTestId(id);

function minutes(seconds) {
  const m = Math.floor(seconds / 60);
  return m < 1 ? t('agent.queue.under_minute') : t('agent.queue.minutes', { n: m });
}

export class WaitingList {
  /** @param {() => object} opts.catalogue  the service catalogue once loaded (names of codes) */
  constructor({ catalogue }) {
    this.catalogue = catalogue;
    this.entries = [];
    this.receivedAt = 0;
    this.count = null;
    this.timer = setInterval(() => this.render(), 30000); // the waits move on between pushes
  }

  /** The queue of a queue:waiting reply or an agent:resume ack. */
  set(entries) {
    this.entries = Array.isArray(entries) ? entries : [];
    this.receivedAt = Date.now();
    this.count = this.entries.length;
    this.render();
  }

  /** Whether a queue:size count means the list should be fetched again. */
  stale(waiting) {
    return typeof waiting === 'number' && waiting !== this.count;
  }

  render() {
    const list = $('queue-list');
    list.replaceChildren();
    const extra = Math.max(0, Math.floor((Date.now() - this.receivedAt) / 1000));
    const catalogue = this.catalogue();
    for (const e of this.entries) {
      const parts = [
        localName(findEntry(catalogue, 'categories', e.category)),
        localName(findEntry(catalogue, 'modes', e.mode)),
        t(`priority.${e.priority}`),
        localName(findEntry(catalogue, 'regions', e.region)),
        t('agent.queue.waited', { wait: minutes(e.waited_s + extra) }),
      ];
      if (e.callback) parts.push(t('agent.badge.callback'));
      list.append(el('li', { 'data-category': e.category, 'data-priority': e.priority, 'data-for-me': String(e.for_me) },
        [parts.join(' · '), e.for_me ? el('strong', {}, [` · ${t('agent.queue.for_me')}`]) : '']));
    }
    $('queue-list-empty').hidden = this.entries.length > 0;
  }
}

/** The hint under the console: what the lawyer can do now, never pointing at a disabled button. */
export function renderIdleHint({ status, offerPending, inCase, waiting }) {
  const hint = $('idle-hint');
  hint.hidden = inCase;
  let key = 'agent.idle';
  if (offerPending || status === 'offered') key = 'agent.idle_offer';
  else if (status === 'away') key = 'agent.idle_away';
  else if (status === 'wrap_up') key = 'agent.idle_wrap_up';
  else if (waiting === 0) key = 'agent.idle_empty';
  hint.dataset.hint = key;
  setText(hint, key);
}
