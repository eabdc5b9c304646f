// The recording consent dialog (docs/protocol.md, "Recording"): the notice text exactly as the
// server sent it, in the current language, whether this service must be recorded, and two
// buttons. A native modal <dialog> (the page behind it is inert while it is open) with
// role="dialog" and aria-modal spelled out, Tab kept inside, Escape closes it undecided (the
// call indicator offers to reopen it). It does not stop the call: media may already flow,
// nothing is recorded before everyone consented.

import { el } from './dom.js';
import { applyTranslations, currentLang, onLanguageChange, setLocalized, setText } from './i18n.js';
import { showNotice, showRawNotice } from './views.js';

const FOCUSABLE = 'button:not([disabled]), [href], input:not([disabled]), [tabindex]:not([tabindex="-1"])';

export class ConsentDialog {
  /**
   * @param {object} opts
   * @param {(decision: "granted" | "refused") => Promise<void>} opts.onDecide  sends the decision;
   *   rejects with an ApiError to keep the dialog open with a message
   * @param {() => void} [opts.onClose]  the dialog closed (decided or Escape)
   * @param {string} opts.role  "citizen" | "lawyer" (words about what a refusal does)
   */
  constructor({ onDecide, onClose = () => {}, role = 'citizen' }) {
    this.onDecide = onDecide;
    this.onClose = onClose;
    this.role = role;
    this.returnFocus = null;
    this.busy = false;
    this.notice = null;
    this.build();
    onLanguageChange(() => this.renderText());
  }

  build() {
    this.title = el('h2', { id: 'recording-consent-title', class: 'consent-title', tabindex: '-1' });
    setText(this.title, 'recording.consent.title');
    this.text = el('p', { id: 'recording-consent-text', class: 'consent-text', 'data-testid': 'recording-consent-text' });
    // The ledger stores both languages as the text shown, so the other one is there too, folded
    // under "English version" / "中文版本": a viewer reads only their own language unless they ask.
    this.otherText = el('p', { class: 'consent-text consent-text-other', 'data-testid': 'recording-consent-text-other' });
    this.otherSummary = el('summary', { 'data-testid': 'recording-consent-other-language' });
    this.other = el('details', { class: 'consent-other' }, [this.otherSummary, this.otherText]);
    this.requirement = el('p', { id: 'recording-consent-required', class: 'consent-required', 'data-testid': 'recording-consent-required' });
    this.version = el('p', { class: 'hint consent-version', 'data-testid': 'recording-consent-version' });
    this.error = el('p', { class: 'notice', 'data-kind': 'error', role: 'alert', 'data-testid': 'recording-consent-error', hidden: '' });
    this.accept = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'recording-consent-accept' });
    setText(this.accept, 'recording.consent.accept');
    this.refuse = el('button', { type: 'button', class: 'btn', 'data-testid': 'recording-consent-refuse' });
    setText(this.refuse, 'recording.consent.refuse');
    this.accept.addEventListener('click', () => this.decide('granted'));
    this.refuse.addEventListener('click', () => this.decide('refused'));
    this.dialog = el(
      'dialog',
      {
        class: 'consent-dialog',
        role: 'dialog',
        'aria-modal': 'true',
        'aria-labelledby': 'recording-consent-title',
        'aria-describedby': 'recording-consent-text recording-consent-required',
        'data-testid': 'recording-consent',
      },
      [
        this.title,
        this.text,
        this.other,
        this.requirement,
        this.version,
        this.error,
        el('div', { class: 'consent-actions' }, [this.accept, this.refuse]),
      ],
    );
    // Escape: close undecided (the indicator can reopen it); the browser's own "cancel".
    this.dialog.addEventListener('cancel', (event) => {
      if (this.busy) event.preventDefault();
    });
    this.dialog.addEventListener('close', () => {
      this.restoreFocus();
      this.onClose();
    });
    this.dialog.addEventListener('keydown', (event) => this.trapTab(event));
    document.body.append(this.dialog);
    applyTranslations(this.dialog);
  }

  get isOpen() {
    return this.dialog.open;
  }

  /** Show the notice {version, zh, en}; `required` says whether a refusal sends the case back. */
  open({ notice, required }) {
    const n = notice || {};
    // Both languages kept, so a language switch while it is open re-renders the text.
    this.notice = n;
    this.renderText();
    setText(this.requirement, required ? `recording.consent.required_${this.role === 'lawyer' ? 'lawyer' : 'citizen'}` : 'recording.consent.optional');
    this.requirement.dataset.required = String(Boolean(required));
    setText(this.version, 'recording.consent.version', { version: n.version ?? '' });
    this.version.hidden = n.version === undefined || n.version === null;
    showNotice(this.error, null);
    this.setBusy(false);
    if (!this.dialog.open) {
      const active = document.activeElement;
      this.returnFocus = active && active !== document.body ? active : null;
      try {
        this.dialog.showModal();
      } catch {
        this.dialog.setAttribute('open', '');
      }
      // Focus the title first so the notice is read from the start, not the "agree" button.
      this.title.focus();
    }
  }

  /** The notice in the current language, the other one (if it differs) folded below it. */
  renderText() {
    const n = this.notice || {};
    const zh = n.zh || n.en || '';
    const en = n.en || n.zh || '';
    setLocalized(this.text, { code: '', zh, en });
    this.text.lang = currentLang() === 'en' ? 'en' : 'zh-CN';
    setLocalized(this.otherText, { code: '', zh: en, en: zh });
    this.otherText.lang = currentLang() === 'en' ? 'zh-CN' : 'en';
    setText(this.otherSummary, currentLang() === 'en' ? 'recording.consent.in_chinese' : 'recording.consent.in_english');
    this.other.hidden = !n.zh || !n.en || n.zh === n.en;
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  setBusy(busy) {
    this.busy = busy;
    this.accept.disabled = busy;
    this.refuse.disabled = busy;
    this.dialog.setAttribute('aria-busy', String(busy));
  }

  async decide(decision) {
    if (this.busy) return;
    this.setBusy(true);
    showNotice(this.error, null);
    try {
      await this.onDecide(decision);
      this.setBusy(false);
      this.close();
    } catch (err) {
      this.setBusy(false);
      showRawNotice(this.error, (err && err.userText) || (err && err.message) || String(err));
      (decision === 'granted' ? this.accept : this.refuse).focus();
    }
  }

  /** Keep Tab and Shift+Tab inside the dialog. */
  trapTab(event) {
    if (event.key !== 'Tab') return;
    const items = [...this.dialog.querySelectorAll(FOCUSABLE)].filter((node) => !node.hidden && node.offsetParent !== null);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    const active = document.activeElement;
    const inside = this.dialog.contains(active);
    if (event.shiftKey && (active === first || active === this.title || !inside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !inside)) {
      event.preventDefault();
      first.focus();
    }
  }

  restoreFocus() {
    const target = this.returnFocus;
    this.returnFocus = null;
    if (target && target.isConnected && typeof target.focus === 'function') target.focus();
  }

  destroy() {
    this.close();
    this.dialog.remove();
  }
}
