// A callback dialled by the server through the trunk: each attempt with its time and result
// (answered, busy, no answer, voicemail…), and the end of the tries, on the lawyer's page.

import { el } from './dom.js';
import { setText, setTime } from './i18n.js';

const OUTCOMES = ['answered', 'busy', 'no_answer', 'voicemail', 'rejected', 'failed'];

export class CallbackAttempts {
  constructor(section, list) {
    this.section = section;
    this.list = list;
    this.caseId = null;
    this.seen = new Set();
  }

  /** Show the attempts of a case (after a reload: the ones recorded so far). */
  open(caseId, attempts = []) {
    if (caseId !== this.caseId) {
      this.caseId = caseId;
      this.seen.clear();
      this.list.replaceChildren();
    }
    for (const attempt of attempts) this.add(attempt);
    this.section.hidden = this.list.children.length === 0;
  }

  close() {
    this.open(null);
  }

  /** One attempt as the server pushed it (case:callback); others' cases are ignored. */
  add(attempt) {
    if (!attempt || attempt.case_id !== this.caseId) return;
    const key = `${attempt.gave_up ? 'end' : attempt.attempt}:${attempt.at}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const when = el('time', { class: 'callback-attempt-time' });
    setTime(when, attempt.at, 'seconds');
    const what = el('span', { class: 'callback-attempt-number' });
    const result = el('span', { class: 'callback-attempt-outcome' });
    const outcome = OUTCOMES.includes(attempt.outcome) ? attempt.outcome : 'failed';
    if (attempt.gave_up) {
      setText(what, 'agent.callback_attempts.gave_up', { n: attempt.attempt });
    } else {
      setText(what, 'agent.callback_attempts.attempt', { n: attempt.attempt });
    }
    setText(result, `agent.callback_attempts.outcome.${outcome}`);
    this.list.append(el('li', {
      'data-testid': attempt.gave_up ? 'callback-gave-up' : 'callback-attempt',
      'data-outcome': outcome,
    }, [when, ' ', what, ' ', result]));
    this.section.hidden = false;
  }
}
