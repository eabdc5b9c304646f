// Internal transfer (内部流转) from the lawyer console: the case goes back to the queue at its
// place, for another category and/or a named colleague, with a note (case:transfer).

import { emit, errorText } from './api.js';
import { findEntry } from './catalogue.js';
import { byTestId } from './dom.js';
import { bindCounter, clearFieldError, clearFormErrors, setFieldError, setFieldErrorRaw } from './form.js';
import { has, localName, onLanguageChange, t } from './i18n.js';
import { showNotice, showRawNotice } from './views.js';

const NOTE_MAX = 500;
// Server field names -> our fields.
const FIELDS = { category: 'transfer-category', agent_id: 'transfer-agent', note: 'transfer-note' };

const $ = (id) => byTestId(id);

export class TransferForm {
  /**
   * @param {object} opts
   * @param {() => object} opts.socket  the current socket
   * @param {() => object} opts.catalogue  the catalogue (or null)
   * @param {() => string|undefined} opts.selfId  the signed-in lawyer (left out of the targets)
   * @param {() => object|null} opts.caseView  the open case
   * @param {() => Promise<void>} opts.beforeSend  e.g. save the notes
   * @param {() => void} opts.onTransferred  the case left this lawyer
   * @param {() => Promise<void>} opts.onInvalidState  ask the server what state we are in
   */
  constructor(opts) {
    Object.assign(this, opts);
    this.form = document.getElementById('transfer-form');
    this.toggle = $('transfer');
    this.lawyers = [];
    this.refreshCount = bindCounter($('transfer-note'), $('transfer-note-count'), NOTE_MAX);
    this.toggle.addEventListener('click', () => (this.form.hidden ? this.open() : this.close(true)));
    $('transfer-cancel').addEventListener('click', () => this.close(true));
    this.form.addEventListener('submit', (event) => this.submit(event));
    // Either target satisfies "choose a target", whose message sits under the category.
    for (const id of ['transfer-category', 'transfer-agent']) {
      $(id).addEventListener('change', () => {
        clearFieldError($('transfer-category'));
        clearFieldError($('transfer-agent'));
      });
    }
    $('transfer-note').addEventListener('input', () => clearFieldError($('transfer-note')));
    // Lawyer labels mix catalogue names and statuses; rebuild them in the new language.
    onLanguageChange(() => this.renderLawyers());
  }

  open() {
    this.form.hidden = false;
    this.toggle.setAttribute('aria-expanded', 'true');
    $('transfer-category').focus();
    this.loadLawyers();
  }

  /** Empty and fold the form (a new case, a closed case, cancel). */
  close(focusToggle = false) {
    this.form.reset();
    clearFormErrors(this.form);
    showNotice($('transfer-error'), null);
    this.form.hidden = true;
    this.toggle.setAttribute('aria-expanded', 'false');
    this.refreshCount();
    if (focusToggle) this.toggle.focus();
  }

  async loadLawyers() {
    const status = $('transfer-directory-status');
    showNotice(status, 'agent.transfer.loading');
    try {
      const ack = await emit(this.socket(), 'agent:directory', {});
      this.lawyers = Array.isArray(ack.lawyers) ? ack.lawyers : [];
      this.renderLawyers();
      const others = this.lawyers.some((lawyer) => lawyer.id !== this.selfId());
      showNotice(status, others ? null : 'agent.transfer.no_lawyers');
    } catch (err) {
      showRawNotice(status, errorText(err));
    }
  }

  lawyerLabel(lawyer) {
    const region = localName(findEntry(this.catalogue(), 'regions', lawyer.region));
    const key = `agent.status.${lawyer.status}`;
    const status = has(key) ? t(key) : lawyer.status || '';
    return [lawyer.display_name || lawyer.id, region, status].filter(Boolean).join(' · ');
  }

  renderLawyers() {
    const select = $('transfer-agent');
    const chosen = select.value;
    select.replaceChildren(select.options[0]);
    for (const lawyer of this.lawyers) {
      if (lawyer.id === this.selfId()) continue;
      const option = document.createElement('option');
      option.value = lawyer.id;
      option.textContent = this.lawyerLabel(lawyer);
      select.append(option);
    }
    if ([...select.options].some((option) => option.value === chosen)) select.value = chosen;
  }

  async submit(event) {
    event.preventDefault();
    clearFormErrors(this.form);
    showNotice($('transfer-error'), null);
    const caseView = this.caseView();
    if (!caseView) return;
    const category = $('transfer-category').value;
    const agentId = $('transfer-agent').value;
    const note = $('transfer-note').value.trim();
    const problems = [];
    if (!category && !agentId) problems.push([$('transfer-category'), 'agent.transfer.choose_target']);
    if (!note || note.length > NOTE_MAX) problems.push([$('transfer-note'), 'agent.transfer.note_required']);
    if (problems.length) {
      for (const [field, key] of problems) setFieldError(field, key);
      problems[0][0].focus();
      return;
    }
    const payload = { case_id: caseView.id, note };
    if (category) payload.category = category;
    if (agentId) payload.agent_id = agentId;
    const button = $('transfer-submit');
    button.disabled = true;
    try {
      await this.beforeSend();
      await emit(this.socket(), 'case:transfer', payload);
      this.onTransferred();
    } catch (err) {
      const fieldId = err.field && FIELDS[err.field];
      if (fieldId) {
        setFieldErrorRaw($(fieldId), err.message);
        $(fieldId).focus();
      } else {
        showRawNotice($('transfer-error'), errorText(err));
      }
      if (err.code === 'invalid_state') await this.onInvalidState();
    } finally {
      button.disabled = false;
    }
  }
}
