// The lawyer's case notes: saved with `case:notes` 1.5 s after typing stops, on blur, and on
// demand (before ending the case). Saves run one after another, so an older text never lands
// after a newer one.

import { emit, errorText } from './api.js';
import { formatWhen, setText, t } from './i18n.js';

const DEBOUNCE_MS = 1500;

export class NotesEditor {
  /**
   * @param {object} opts
   * @param {HTMLTextAreaElement} opts.textarea
   * @param {HTMLElement} opts.status  where "saved at …" is shown
   * @param {() => object} opts.socket  returns the current socket
   */
  constructor({ textarea, status, socket }) {
    this.textarea = textarea;
    this.status = status;
    this.socket = socket;
    this.caseId = null;
    this.dirty = false;
    this.timer = null;
    this.saving = Promise.resolve();
    textarea.addEventListener('input', () => {
      this.dirty = true;
      setText(this.status, 'agent.notes_unsaved');
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.save(), DEBOUNCE_MS);
    });
    textarea.addEventListener('blur', () => this.save());
  }

  /** Show the notes of a newly opened case. */
  open(caseId, notes) {
    clearTimeout(this.timer);
    this.caseId = caseId;
    this.dirty = false;
    this.textarea.value = notes || '';
    setText(this.status, 'agent.notes_autosave');
  }

  /** Forget the case (after it ended); unsaved text is dropped. */
  close() {
    clearTimeout(this.timer);
    this.caseId = null;
    this.dirty = false;
  }

  /** Save now if anything changed; resolves when every save so far has finished. */
  save() {
    clearTimeout(this.timer);
    if (!this.dirty || !this.caseId) return this.saving;
    const caseId = this.caseId;
    const notes = this.textarea.value;
    this.dirty = false;
    setText(this.status, 'agent.notes_saving');
    this.saving = this.saving.then(async () => {
      try {
        await emit(this.socket(), 'case:notes', { case_id: caseId, notes });
        if (!this.dirty) setText(this.status, 'agent.notes_saved', { time: formatWhen(new Date().toISOString(), 'short') });
      } catch (err) {
        if (this.caseId === caseId) this.dirty = true;
        this.status.textContent = `${t('agent.notes_failed')} ${errorText(err)}`;
      }
    });
    return this.saving;
  }
}
