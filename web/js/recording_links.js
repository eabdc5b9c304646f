// "查看录像" links to a case's recordings (GET /api/cases/{case_id}/recordings), shown in the
// lawyer console after a consultation ends and in the citizen's rating and done views.
// A recording may still be closing its last file when the case ends, so an empty list is asked
// again a few times.

import { getJSON } from './api.js';
import { el } from './dom.js';
import { applyTranslations, setText, setTime } from './i18n.js';

const RETRY_DELAYS_MS = [2000, 5000, 10000];

export class RecordingLinks {
  /**
   * @param {object} opts
   * @param {() => string | null} opts.token  the Bearer token to use
   * @param {boolean} [opts.newTab]  open the playback page in a new tab (the lawyer keeps the console)
   */
  constructor({ token, newTab = false }) {
    this.token = token;
    this.newTab = newTab;
    this.caseId = null;
    this.timer = null;
    this.generation = 0;
    this.title = el('h2', { class: 'recording-links-title' });
    setText(this.title, 'recording.links.title');
    this.list = el('ul', { class: 'recording-links-list' });
    this.root = el('section', { class: 'recording-links', 'data-testid': 'recording-links', hidden: '' }, [this.title, this.list]);
    applyTranslations(this.root);
  }

  /** Put the box after (or, with where = "append", inside) an element of the page. */
  place(anchor, where = 'after') {
    if (!anchor) return this;
    if (where === 'append') anchor.append(this.root);
    else anchor.after(this.root);
    return this;
  }

  /** Look up and show the recordings of caseId (again if asked for the same case). */
  show(caseId) {
    this.clear();
    if (!caseId) return;
    this.caseId = caseId;
    this.load(this.generation, 0);
  }

  async load(generation, attempt) {
    let reply;
    try {
      const token = this.token();
      if (!token) return;
      reply = await getJSON(`/api/cases/${encodeURIComponent(this.caseId)}/recordings`, token);
    } catch (err) {
      // No recordings route yet, no access, network trouble: simply no links.
      console.debug('recordings unavailable', err && err.code);
      reply = null;
    }
    if (generation !== this.generation) return;
    const recordings = (reply && Array.isArray(reply.recordings) ? reply.recordings : []).filter((r) => r && r.page_url);
    if (!recordings.length) {
      if (reply && attempt < RETRY_DELAYS_MS.length) {
        this.timer = setTimeout(() => this.load(generation, attempt + 1), RETRY_DELAYS_MS[attempt]);
      }
      return;
    }
    this.render(recordings);
  }

  render(recordings) {
    const items = recordings.map((recording, index) => {
      const link = el('a', { href: recording.page_url, class: 'recording-link', 'data-testid': 'recording-link', 'data-recording-id': recording.id });
      if (this.newTab) {
        link.target = '_blank';
        // "opener" so the new tab gets a copy of this tab's sessionStorage (the staff token).
        link.rel = 'opener';
      }
      const label = el('span');
      if (recordings.length > 1) setText(label, 'recording.links.view_n', { n: index + 1 });
      else setText(label, 'recording.links.view');
      link.append(label);
      const parts = [link];
      if (recording.started_at) {
        const time = el('time', { class: 'hint' });
        setTime(time, recording.started_at, 'short');
        parts.push(' ', time);
      }
      if (recording.status && recording.status !== 'complete') {
        const status = el('span', { class: 'hint recording-link-status' });
        setText(status, `recording.status.${recording.status}`);
        parts.push(' ', status);
      }
      return el('li', {}, parts);
    });
    this.list.replaceChildren(...items);
    this.root.hidden = false;
  }

  clear() {
    this.generation += 1;
    clearTimeout(this.timer);
    this.timer = null;
    this.caseId = null;
    this.list.replaceChildren();
    this.root.hidden = true;
  }
}
