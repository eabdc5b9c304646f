// The agreement panel (docs/agreements.md), shared by the mediator console and the invitee page:
// the current version as text, its hash, checks and signers; the mediator drafts and saves
// (optimistic concurrency: a stale save is refused with version_conflict); parties comment on a
// clause, confirm their identity and sign with their own browser-held key; the 30-day window,
// the joint application for judicial confirmation and the court's decision (with its receipt).

import { emit, errorText, getJSON, postJSON } from './api.js';
import { byTestId, el } from './dom.js';
import { formatWhen, has, t } from './i18n.js';
import { identifier } from './ident.js';
import { signVersion } from './sign.js';
import { AgreementEditor } from './agreement_editor.js';
import { clauseHeading, clauses, problemText } from './agreement_labels.js';
import { agreementText } from './agreement_text.js';

function line(testid, text) {
  return el('p', { 'data-testid': testid }, [text]);
}

/** Who a required signer is, from the agreement's own parties and mediators. */
function signerName(content, participantId) {
  const found = [...(content.parties || []), ...(content.mediators || [])].find((p) => p.participant_id === participantId);
  return found ? found.name : '';
}

export class AgreementPanel {
  constructor({ root, socket, token, caseId, role, participants = () => [] }) {
    this.root = root;
    this.participants = participants;
    this.editor = null; // the mediator's structured editor, kept across live updates
    this.saving = false; // a save is under way (its own push comes before its reply)
    this.socket = socket;
    this.token = token;
    this.caseId = caseId;
    this.role = role; // 'mediator' | 'invitee'
    this.selfId = null;
    this.view = null;
    // Whether signing takes a code sent to the signer's phone (the server says, per signer).
    this.codeRequired = false;
    this.notice = '';
    socket.on('agreement:updated', (view) => {
      if (view.agreement && view.agreement.case_id === this.caseId) this.render(view);
    });
    socket.on('agreement:decision', (event) => {
      if (event.case_id === this.caseId) this.receive(event.application_id).catch(() => {});
    });
    socket.on('agreement:reminder', (event) => {
      if (event.case_id !== this.caseId) return;
      this.notice = t('agreement.reminder', { days: event.days_left, date: formatWhen(event.deadline_at) });
      this.load().catch(() => {});
    });
  }

  async load() {
    const view = await emit(this.socket, 'agreement:open', { case_id: this.caseId });
    this.selfId = view.self || this.selfId;
    if (view.signing) this.codeRequired = Boolean(view.signing.code_required);
    this.render(view);
    return view;
  }

  async act(fn) {
    const error = byTestId('agreement-error', this.root);
    if (error) error.hidden = true;
    try {
      await fn();
    } catch (err) {
      if (error) {
        error.textContent = errorText(err);
        error.dataset.code = err.code || '';
        error.hidden = false;
      }
    }
  }

  async draft() {
    await this.act(async () => this.render(await emit(this.socket, 'agreement:draft', { case_id: this.caseId })));
  }

  /** Save the editor's content on the version it started from (a stale base: version_conflict). */
  async save(content, base) {
    const error = byTestId('agreement-error', this.root);
    if (error) error.hidden = true;
    const editor = this.editor;
    const revision = editor ? editor.revision : 0;
    this.saving = true;
    try {
      const view = await emit(this.socket, 'agreement:save', { case_id: this.caseId, base_version: base, content });
      this.saving = false;
      if (editor && editor === this.editor && editor.revision !== revision) {
        // Typed on while the save was under way: those edits stay, on top of the saved version.
        editor.base = view.version.number;
      } else {
        this.editor = null;
      }
      this.render(view);
    } catch (err) {
      this.saving = false;
      if (err.code === 'bad_request' && err.field && String(err.field).startsWith('content.') && this.editor) {
        // Shown once, at the field the server named (its message names the party or term).
        this.editor.showRefusal(err.field, err.message || errorText(err));
        return;
      }
      if (error) {
        error.textContent = errorText(err);
        error.dataset.code = err.code || '';
        error.hidden = false;
        if (err.code === 'version_conflict') error.append(' ', this.reloadButton());
      }
    }
  }

  reloadButton() {
    const button = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'agreement-reload' }, [t('agr.reload')]);
    button.addEventListener('click', () => {
      this.editor = null;
      this.load().catch(() => {});
    });
    return button;
  }

  async comment() {
    await this.act(async () => {
      const view = await emit(this.socket, 'agreement:comment', {
        case_id: this.caseId, version: this.view.version.number,
        clause: byTestId('comment-clause', this.root).value,
        text: byTestId('comment-text', this.root).value.trim(),
      });
      this.render(view);
    });
  }

  async sign() {
    await this.act(async () => {
      const body = await signVersion(this.selfId, this.view.version);
      if (this.role === 'invitee') {
        body.identity = {
          name: byTestId('sign-name', this.root).value.trim(),
          id_last4: byTestId('sign-id4', this.root).value.trim(),
        };
        const code = this.codeRequired ? byTestId('sign-code', this.root).value.trim() : '';
        if (code) body.code = code;
      }
      this.render(await postJSON(`/api/mediations/${this.caseId}/agreement/signatures`, body, this.token));
    });
  }

  async sendCode() {
    await this.act(async () => {
      const reply = await postJSON(`/api/mediations/${this.caseId}/agreement/signing-code`, {}, this.token);
      const sent = byTestId('sign-code-sent', this.root);
      if (sent) {
        sent.textContent = t('agreement.code_sent', { phone: reply.sent_to, minutes: Math.round(reply.expires_in_s / 60) });
        sent.hidden = false;
      }
    });
  }

  async pdf() {
    await this.act(async () => {
      const response = await fetch(`/api/mediations/${this.caseId}/agreement/pdf`, {
        headers: { Authorization: `Bearer ${this.token}` },
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      window.open(URL.createObjectURL(await response.blob()), '_blank', 'noopener');
    });
  }

  async apply() {
    await this.act(async () => {
      await postJSON(`/api/mediations/${this.caseId}/agreement/applications`,
        { court_code: byTestId('apply-court', this.root).value }, this.token);
      await this.load();
    });
  }

  async confirmApplication(id) {
    await this.act(async () => {
      await postJSON(`/api/mediations/${this.caseId}/agreement/applications/${id}/confirm`, {}, this.token);
      await this.load();
    });
  }

  async receive(applicationId) {
    await postJSON(`/api/mediations/${this.caseId}/agreement/applications/${applicationId}/receipt`, {}, this.token);
    await this.load();
  }

  render(view) {
    this.view = view;
    const root = this.root;
    root.replaceChildren();
    root.append(el('h2', {}, [t('agreement.title')]));
    if (this.notice) root.append(el('p', { class: 'notice', role: 'status', 'data-testid': 'agreement-reminder' }, [this.notice]));
    const error = el('p', { class: 'notice', 'data-kind': 'error', role: 'alert', 'data-testid': 'agreement-error', hidden: '' });
    if (!view.agreement) {
      root.append(line('agreement-status', t('agreement.none')));
      if (this.role === 'mediator') {
        const button = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'agreement-draft' }, [t('agreement.draft')]);
        button.addEventListener('click', () => this.draft());
        root.append(button);
      }
      root.append(error);
      return;
    }
    const { agreement, version } = view;
    const content = JSON.parse(version.canonical).content;
    if (view.case_number) root.append(line('agreement-case-number', t('agreement.case_number', { number: view.case_number })));
    const status = line('agreement-status', t(`agreement.status_${agreement.status}`));
    status.dataset.status = agreement.status;
    root.append(status);
    const meta = line('agreement-version', t('agreement.version', { n: version.number, author: version.author }));
    meta.dataset.version = String(version.number);
    meta.append(' SHA-256 ', identifier(version.sha256, { testid: 'agreement-sha256' }));
    root.append(meta);
    if (agreement.effective_at) {
      root.append(line('agreement-effective', t('agreement.effective_at', { at: formatWhen(agreement.effective_at) })));
      const deadline = line('agreement-deadline', t('agreement.deadline', { at: formatWhen(agreement.confirmation_deadline, 'deadline') }));
      deadline.dataset.deadline = agreement.confirmation_deadline;
      root.append(deadline);
    }
    const editing = this.role === 'mediator' && agreement.status === 'drafting';
    if (editing) {
      // Kept while it holds unsaved edits: another editor's version then shows as a notice, and
      // saving on the old base is refused (version_conflict), never merged silently.
      if (!this.editor || !this.editor.dirty) {
        this.editor = new AgreementEditor({ content, base: version.number, participants: this.participants(),
          onSave: (edited, base) => this.save(edited, base) });
      } else if (this.editor.base !== version.number && !this.saving) {
        root.append(el('p', { class: 'notice', role: 'status', 'data-testid': 'agreement-newer' },
          [t('agr.newer', { n: version.number, author: version.author }), ' ', this.reloadButton()]));
      }
      if (this.editor.base === version.number) this.editor.showProblems([...view.problems, ...view.findings]);
      root.append(this.editor.root);
    } else {
      this.editor = null;
      root.append(agreementText(content));
      // Each problem once, in the viewer's language, naming its party or term.
      const checks = el('ul', { 'data-testid': 'agreement-findings' });
      for (const p of view.problems) checks.append(el('li', { 'data-code': p.code, 'data-kind': 'problem' }, [problemText(content, p)]));
      for (const f of view.findings) checks.append(el('li', { 'data-code': f.code, 'data-kind': f.severity }, [problemText(content, f)]));
      if (checks.children.length) root.append(el('h3', {}, [t('agr.checks')]), checks);
    }

    const signers = el('ul', { 'data-testid': 'agreement-signers' });
    for (const s of view.signers) {
      const who = view.signatures.find((x) => x.signer_id === s.participant_id && !x.voided_at && x.version === version.number);
      signers.append(el('li', { 'data-testid': `signer-${s.participant_id}`, 'data-signed': String(s.signed) },
        [who ? t('agreement.signed_by', { name: who.name, at: formatWhen(who.signed_at, 'short'), fp: who.fingerprint.slice(0, 16) })
          : t('agreement.unsigned', { name: signerName(content, s.participant_id) })]));
    }
    root.append(signers);

    const pdf = el('button', { type: 'button', class: 'btn', 'data-testid': 'agreement-pdf' }, [t('agreement.pdf')]);
    pdf.addEventListener('click', () => this.pdf());
    root.append(pdf);

    const mine = view.signers.find((s) => s.participant_id === this.selfId);
    if (mine && !mine.signed && agreement.status === 'drafting') root.append(this.signForm(view));
    if (this.role === 'invitee' && agreement.status === 'drafting') root.append(this.commentForm(content));
    if (agreement.status === 'effective' && this.role === 'invitee' && mine && mine.party) root.append(this.applicationForm(view));
    for (const a of view.applications) {
      const item = line(`application-${a.id}`, t('agreement.application', { court: a.court.name || a.court.code, status: t(`agreement.application_${a.status}`) }));
      item.dataset.status = a.status;
      root.append(item);
      if (a.decision) {
        const ground = a.decision.ground && has(`court.ground.${a.decision.ground}`) ? t(`court.ground.${a.decision.ground}`) : a.decision.ground || '';
        const decision = line('agreement-decision', t(`agreement.decision_${a.decision.decision}`, { ground }));
        decision.dataset.decision = a.decision.decision;
        root.append(decision);
      }
    }
    if (view.comments.length) {
      const list = el('ul', { 'data-testid': 'agreement-comments' });
      for (const c of view.comments) {
        list.append(el('li', { 'data-clause': c.clause }, [t('agr.comment_line', {
          author: c.author, heading: clauseHeading(content, c.clause), n: c.version, text: c.text })]));
      }
      root.append(list);
    }
    root.append(error);
  }

  signForm(view) {
    const form = el('form', { class: 'form', 'data-testid': 'sign-form', novalidate: '' });
    if (!view.esign_allowed) {
      form.append(el('p', { class: 'notice', 'data-kind': 'error', 'data-testid': 'sign-excluded' }, [t('agreement.esign_excluded')]));
      return form;
    }
    form.append(el('p', { class: 'hint' }, [t('agreement.sign_hint'), ' ', identifier(view.version.sha256, { testid: 'sign-sha256' })]));
    if (this.role === 'invitee') {
      form.append(
        el('label', { for: 'sign-name' }, [t('lobby.name')]),
        el('input', { id: 'sign-name', type: 'text', maxlength: '50', autocomplete: 'name', 'data-testid': 'sign-name' }),
        el('label', { for: 'sign-id4' }, [t('lobby.id4')]),
        el('input', { id: 'sign-id4', type: 'text', maxlength: '4', 'data-testid': 'sign-id4' }),
      );
      if (this.codeRequired) {
        const send = el('button', { type: 'button', class: 'btn', 'data-testid': 'sign-code-send' }, [t('agreement.code_send')]);
        send.addEventListener('click', () => this.sendCode());
        form.append(
          send,
          el('p', { class: 'hint', hidden: '', role: 'status', 'data-testid': 'sign-code-sent' }),
          el('label', { for: 'sign-code' }, [t('agreement.code_label')]),
          el('input', {
            id: 'sign-code', type: 'text', inputmode: 'numeric', maxlength: '6', autocomplete: 'one-time-code', 'data-testid': 'sign-code',
          }),
        );
      }
    }
    const button = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'sign-submit' }, [t('agreement.sign')]);
    form.append(button);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.sign();
    });
    return form;
  }

  commentForm(content) {
    const form = el('form', { class: 'form', 'data-testid': 'comment-form', novalidate: '' });
    // Clauses by their headings, as the text above shows them.
    const clause = el('select', { 'data-testid': 'comment-clause', 'aria-label': t('agreement.clause') });
    for (const c of clauses(content)) clause.append(el('option', { value: c.clause }, [c.heading]));
    const text = el('input', { type: 'text', maxlength: '1000', 'data-testid': 'comment-text', 'aria-label': t('agreement.comment') });
    const button = el('button', { type: 'submit', class: 'btn', 'data-testid': 'comment-submit' }, [t('agreement.comment')]);
    form.append(clause, text, button);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.comment();
    });
    return form;
  }

  applicationForm(view) {
    const box = el('div', { 'data-testid': 'apply-box' });
    const open = view.applications.find((a) => ['proposed', 'submitted', 'confirmed'].includes(a.status));
    if (open) {
      if (open.status === 'proposed' && !(this.selfId in open.confirmations)) {
        const confirm = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'application-confirm' }, [t('agreement.confirm_application')]);
        confirm.addEventListener('click', () => this.confirmApplication(open.id));
        box.append(confirm);
      }
      return box;
    }
    const select = el('select', { 'data-testid': 'apply-court', 'aria-label': t('agreement.court') });
    box.append(select);
    getJSON(`/api/mediations/${this.caseId}/agreement/courts`, this.token).then((reply) => {
      for (const c of reply.courts) select.append(el('option', { value: c.code }, [c.name]));
    }).catch(() => {});
    const button = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'apply-submit' }, [t('agreement.apply')]);
    button.addEventListener('click', () => this.apply());
    box.append(button);
    return box;
  }
}

/** Add the agreement panel to ``container`` and load it; returns the panel. */
export async function mountAgreementPanel({ container, socket, token, caseId, role, participants }) {
  const root = el('section', { class: 'panel agreement-panel', 'data-testid': 'agreement-panel', 'aria-live': 'polite' });
  container.append(root);
  const panel = new AgreementPanel({ root, socket, token, caseId, role, participants });
  try {
    await panel.load();
  } catch (err) {
    // Never break the page that hosts the panel.
    root.append(el('p', { class: 'notice', 'data-kind': 'error', 'data-testid': 'agreement-error' }, [errorText(err)]));
  }
  return panel;
}
