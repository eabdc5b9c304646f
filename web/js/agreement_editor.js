// The mediator's structured agreement editor (docs/agreements.md), in place of raw JSON: the
// sections in the law's order (parties; facts and disputed issues; responsibility; the agreed
// terms with amount, place, way and deadline; other terms), each party's details as form
// controls (sex and ethnicity as choices, dates as date pickers, the resident ID checked as it is
// typed), terms added, removed and reordered with obligor and obligee chosen by name.
//
// Every problem is shown once, next to its field, naming its party or term: the server's
// problems and findings by their path (parties.0.id_number), an edge refusal by its field
// (content.obligations.0.amount), and what is found while typing. The editor keeps its own copy
// of the content and the version it started from, so a save on a stale base is refused by the
// server (version_conflict) rather than overwriting the other editor's version.

import { el } from './dom.js';
import { currentLang, t } from './i18n.js';
import { residentIdFacts, residentIdProblem } from './ident.js';
import { ETHNIC_GROUPS } from './ethnic_groups.js';
import { SECTIONS, partyLabel, problemText, termLabel } from './agreement_labels.js';

const AMOUNT = /^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$/;
const OPTIONAL = ['sex', 'date_of_birth', 'ethnicity', 'id_number', 'phone', 'legal_representative', 'domicile_region', 'participant_id'];
const TERM_OPTIONAL = ['amount', 'act', 'place', 'method', 'deadline'];
const KINDS = ['payment', 'delivery', 'act', 'forbearance', 'status', 'ownership'];

function clone(value) {
  return JSON.parse(JSON.stringify(value));
}

function nextId(prefix, taken) {
  let n = 1;
  while (taken.includes(`${prefix}${n}`)) n += 1;
  return `${prefix}${n}`;
}

/** What the browser finds wrong while typing (the server checks the same again). */
export function liveProblem(field, value, party) {
  const text = String(value || '').trim();
  if (field === 'amount' && text && !AMOUNT.test(text)) return t('agr.err.amount');
  if (field === 'id_number' && text && (!party || (party.id_type || 'resident_id') === 'resident_id')) {
    const problem = residentIdProblem(text);
    if (problem) return t(`agr.err.id_${problem}`);
  }
  return '';
}

export class AgreementEditor {
  /**
   * `content`: the version's content; `base`: its number; `participants`: the case's invitees
   * ([{id, name, role}]) a party may be linked to as its signer; `onSave(content, base)`.
   */
  constructor({ content, base, participants = [], onSave }) {
    this.content = clone(content);
    this.base = base;
    this.participants = participants;
    this.onSave = onSave;
    this.dirty = false;
    this.revision = 0; // edits so far: a save's reply knows whether more came after it
    this.problems = [];
    this.live = new Map(); // path -> message found while typing
    this.edited = new Set(); // paths changed since the server last spoke: its word there is old
    this.refusal = null; // {path, message}: the server refused the last save at this field
    this.root = el('form', { class: 'form agreement-editor', 'data-testid': 'agreement-editor', novalidate: '' });
    this.root.addEventListener('submit', (event) => {
      event.preventDefault();
      this.save();
    });
    this.build();
  }

  /** The content to save: empty optional fields as null, amounts and ID numbers trimmed. */
  read() {
    const content = clone(this.content);
    for (const p of content.parties) {
      for (const key of OPTIONAL) if (p[key] === '' || p[key] === undefined) p[key] = null;
      if (p.id_number) p.id_number = p.id_number.trim().toUpperCase();
    }
    for (const o of content.obligations) {
      for (const key of TERM_OPTIONAL) if (typeof o[key] === 'string' && !o[key].trim()) o[key] = null;
      if (o.amount) o.amount = o.amount.trim();
    }
    return content;
  }

  async save() {
    this.refusal = null;
    await this.onSave(this.read(), this.base);
  }

  /** The server's problems and findings of the saved version, shown at their fields. */
  showProblems(problems) {
    this.problems = problems;
    this.live.clear();
    this.edited.clear();
    this.paint();
  }

  /** An edge refusal of a save naming a field ("content.obligations.0.amount"). */
  showRefusal(field, message) {
    this.refusal = { path: String(field).replace(/^content\./, ''), message };
    this.live.delete(this.refusal.path); // the server's word on the field, shown once
    this.paint();
  }

  change() {
    this.dirty = true;
    this.revision += 1;
  }

  // --- building ---------------------------------------------------------------------------

  build() {
    const c = this.content;
    this.root.replaceChildren();
    this.root.append(el('ul', { class: 'field-problems', 'data-problems-for': '', 'data-testid': 'agreement-general-problems' }));
    const parties = this.section('parties');
    parties.append(this.slot('parties'));
    c.parties.forEach((p, i) => parties.append(this.partyFields(p, i)));
    const add = el('button', { type: 'button', class: 'btn', 'data-testid': 'party-add' }, [t('agr.add_party')]);
    add.addEventListener('click', () => this.mutate(() => c.parties.push({
      id: nextId('p', c.parties.map((p) => p.id)), side: 'respondent', kind: 'person', name: '', address: '', id_type: 'resident_id' })));
    parties.append(add);

    const facts = this.section('facts');
    facts.append(this.text('facts', c, 'facts', 4000, 5), this.text('issues', c, 'issues', 2000, 3));
    this.section('responsibility').append(this.text('responsibility', c, 'responsibility', 2000, 3));

    const terms = this.section('terms');
    terms.append(this.slot('obligations'));
    c.obligations.forEach((o, i) => terms.append(this.termFields(o, i)));
    const addTerm = el('button', { type: 'button', class: 'btn', 'data-testid': 'term-add' }, [t('agr.add_term')]);
    addTerm.addEventListener('click', () => this.mutate(() => {
      const applicant = c.parties.find((p) => p.side === 'applicant');
      const respondent = c.parties.find((p) => p.side === 'respondent');
      c.obligations.push({ id: nextId('o', c.obligations.map((o) => o.id)), kind: 'payment',
        obligor: respondent ? respondent.id : '', obligee: applicant ? applicant.id : '' });
    }));
    terms.append(addTerm);

    const other = this.section('other_terms');
    other.append(this.text('other_terms', c, 'other_terms', 2000, 3));
    const copies = this.input('copies', 'number', c.copies, (v) => { c.copies = Number(v) || 0; }, { min: '1', max: '20', inputmode: 'numeric' });
    other.append(copies, this.slot('mediators'), this.slot('committee.name'), this.slot('personal_status'));
    const save = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'agreement-save' }, [t('agreement.save')]);
    this.root.append(save);
    this.paint();
  }

  /** Change the structure (add, remove, move) and build again from the copy. */
  mutate(fn) {
    fn();
    // The saved version's problems point at places that may have moved: shown again on save.
    this.problems = [];
    this.live.clear();
    this.change();
    this.build();
  }

  section(key) {
    const spec = SECTIONS.find((s) => s.key === key);
    const node = el('fieldset', { class: 'agreement-section', 'data-section': key }, [el('legend', {}, [t(spec.heading)])]);
    this.root.append(node);
    return node;
  }

  slot(path) {
    return el('ul', { class: 'field-problems', 'data-problems-for': path });
  }

  /** One labelled control bound to `set`, with its problems under it. */
  field(path, label, control) {
    const id = `agr-${path.replace(/\./g, '-')}`;
    control.id = id;
    control.dataset.path = path;
    return el('div', { class: 'field', 'data-field': path }, [el('label', { for: id }, [label]), control, this.slot(path)]);
  }

  input(path, type, value, set, attrs = {}) {
    const name = path.split('.').pop();
    const control = el('input', { type, ...attrs });
    control.value = value === null || value === undefined ? '' : String(value);
    control.addEventListener('input', () => {
      set(control.value);
      this.change();
      this.checkLive(path, control.value);
    });
    return this.field(path, t(`agr.f.${name}`), control);
  }

  choice(path, value, options, set, { blank = true } = {}) {
    const name = path.split('.').pop();
    const control = el('select', {});
    if (blank) control.append(el('option', { value: '' }, [t('form.choose')]));
    for (const [v, label] of options) control.append(el('option', { value: v }, [label]));
    control.value = value === null || value === undefined ? '' : String(value);
    control.addEventListener('change', () => {
      set(control.value);
      this.change();
      this.touch(path);
    });
    return this.field(path, t(`agr.f.${name}`), control);
  }

  text(path, target, key, max, rows) {
    const control = el('textarea', { rows: String(rows), maxlength: String(max) });
    control.value = target[key] || '';
    control.addEventListener('input', () => {
      target[key] = control.value;
      this.change();
      this.touch(path);
    });
    return this.field(path, t(`agr.f.${key}`), control);
  }

  partyFields(p, i) {
    const at = `parties.${i}`;
    const box = el('fieldset', { class: 'agreement-party', 'data-party': p.id, 'data-testid': `party-${i}` },
      [el('legend', {}, [partyLabel(p, i)])]);
    box.append(this.slot(at));
    // A different side or kind asks for other fields: built again (a select changes at once,
    // never on the blur of a click elsewhere, which a rebuild would swallow).
    const rebuildOnChange = (node) => {
      node.querySelector('select').addEventListener('change', () => this.build());
      return node;
    };
    const name = this.input(`${at}.name`, 'text', p.name, (v) => { p.name = v; }, { maxlength: '100', autocomplete: 'off' });
    name.querySelector('input').addEventListener('input', () => this.relabel());
    box.append(
      rebuildOnChange(this.choice(`${at}.side`, p.side, ['applicant', 'respondent'].map((s) => [s, t(`agr.side.${s}`)]), (v) => { p.side = v; }, { blank: false })),
      rebuildOnChange(this.choice(`${at}.kind`, p.kind || 'person', ['person', 'organisation'].map((k) => [k, t(`agr.kind.${k}`)]), (v) => { p.kind = v; }, { blank: false })),
      name,
    );
    if ((p.kind || 'person') === 'person') {
      const lang = currentLang();
      box.append(
        this.choice(`${at}.sex`, p.sex, [['male', t('agr.sex.male')], ['female', t('agr.sex.female')]], (v) => { p.sex = v; }),
        this.input(`${at}.date_of_birth`, 'date', p.date_of_birth, (v) => { p.date_of_birth = v; }, { max: '2100-12-31' }),
        this.choice(`${at}.ethnicity`, p.ethnicity, ETHNIC_GROUPS.map(([zh, en]) => [zh, lang === 'en' ? `${en} (${zh})` : zh]), (v) => { p.ethnicity = v; }),
        this.choice(`${at}.id_type`, p.id_type || 'resident_id', ['resident_id', 'passport', 'other'].map((k) => [k, t(`agr.id_type.${k}`)]), (v) => { p.id_type = v; }, { blank: false }),
      );
      const id = this.input(`${at}.id_number`, 'text', p.id_number, (v) => { p.id_number = v; }, { maxlength: '18', autocomplete: 'off', spellcheck: 'false' });
      // A valid resident ID gives the birth date and sex: fill them when still empty.
      id.querySelector('input').addEventListener('input', () => {
        if ((p.id_type || 'resident_id') !== 'resident_id' || residentIdProblem(p.id_number)) return;
        const facts = residentIdFacts(p.id_number);
        for (const [key, value] of [['date_of_birth', facts.birth], ['sex', facts.sex]]) {
          if (p[key]) continue;
          p[key] = value;
          const filled = box.querySelector(`[data-path="${at}.${key}"]`);
          if (filled) filled.value = value;
        }
      });
      box.append(id);
    } else {
      box.append(this.input(`${at}.legal_representative`, 'text', p.legal_representative, (v) => { p.legal_representative = v; }, { maxlength: '50' }));
    }
    box.append(
      this.input(`${at}.address`, 'text', p.address, (v) => { p.address = v; }, { maxlength: '200' }),
      this.input(`${at}.phone`, 'tel', p.phone, (v) => { p.phone = v; }, { maxlength: '20', inputmode: 'tel' }),
    );
    const invitees = this.participants.filter((x) => (x.side === p.side && x.role !== 'mediator') || x.id === p.participant_id);
    box.append(this.choice(`${at}.participant_id`, p.participant_id, invitees.map((x) => [x.id, x.name]), (v) => { p.participant_id = v || null; }));
    const remove = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': `party-remove-${i}` }, [t('agr.remove_party')]);
    remove.addEventListener('click', () => this.mutate(() => this.content.parties.splice(i, 1)));
    box.append(remove);
    return box;
  }

  termFields(o, i) {
    const c = this.content;
    const at = `obligations.${i}`;
    const box = el('fieldset', { class: 'agreement-term', 'data-term': o.id, 'data-testid': `term-${i}` },
      [el('legend', {}, [termLabel(c, o, i)])]);
    box.append(this.slot(at));
    const names = c.parties.map((p, n) => [p.id, partyLabel(p, n)]);
    const obligor = this.choice(`${at}.obligor`, o.obligor, names, (v) => { o.obligor = v; });
    obligor.querySelector('select').addEventListener('change', () => this.relabel());
    box.append(
      obligor,
      this.choice(`${at}.obligee`, o.obligee, names, (v) => { o.obligee = v; }),
      this.choice(`${at}.kind`, o.kind || 'payment', KINDS.map((k) => [k, t(`agr.okind.${k}`)]), (v) => { o.kind = v; }, { blank: false }),
    );
    const amount = this.input(`${at}.amount`, 'text', o.amount, (v) => { o.amount = v; }, { inputmode: 'decimal', maxlength: '16', autocomplete: 'off' });
    // The currency next to the number: amounts are yuan (人民币).
    amount.querySelector('input').after(el('span', { class: 'hint', 'data-testid': `term-currency-${i}` }, [t('agr.currency')]));
    const act = el('textarea', { rows: '2', maxlength: '1000' });
    act.value = o.act || '';
    act.addEventListener('input', () => {
      o.act = act.value;
      this.change();
      this.touch(`${at}.act`);
    });
    box.append(
      amount,
      this.field(`${at}.act`, t('agr.f.act'), act),
      this.input(`${at}.place`, 'text', o.place, (v) => { o.place = v; }, { maxlength: '200' }),
      this.input(`${at}.method`, 'text', o.method, (v) => { o.method = v; }, { maxlength: '200' }),
      this.input(`${at}.deadline`, 'date', o.deadline, (v) => { o.deadline = v; }),
    );
    const move = (to) => this.mutate(() => {
      const [item] = c.obligations.splice(i, 1);
      c.obligations.splice(to, 0, item);
    });
    const tools = el('div', { class: 'term-tools' });
    const up = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': `term-up-${i}`, disabled: i === 0 ? '' : undefined }, [t('agr.up')]);
    up.addEventListener('click', () => move(i - 1));
    const down = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': `term-down-${i}`,
      disabled: i === c.obligations.length - 1 ? '' : undefined }, [t('agr.down')]);
    down.addEventListener('click', () => move(i + 1));
    const remove = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': `term-remove-${i}` }, [t('agr.remove_term')]);
    remove.addEventListener('click', () => this.mutate(() => c.obligations.splice(i, 1)));
    tools.append(up, down, remove);
    box.append(tools);
    return box;
  }

  /** Names changed: the legends and the obligor/obligee choices say the new ones, in place. */
  relabel() {
    const c = this.content;
    c.parties.forEach((p, i) => {
      const legend = this.root.querySelector(`[data-testid="party-${i}"] > legend`);
      if (legend) legend.textContent = partyLabel(p, i);
      for (const option of this.root.querySelectorAll(`[data-path$=".obligor"] option[value="${CSS.escape(p.id)}"], [data-path$=".obligee"] option[value="${CSS.escape(p.id)}"]`)) {
        option.textContent = partyLabel(p, i);
      }
    });
    c.obligations.forEach((o, i) => {
      const legend = this.root.querySelector(`[data-testid="term-${i}"] > legend`);
      if (legend) legend.textContent = termLabel(c, o, i);
    });
  }

  // --- problems ---------------------------------------------------------------------------

  touch(path) {
    this.edited.add(path);
    this.paint();
  }

  checkLive(path, value) {
    const [head, index, field] = path.split('.');
    const party = head === 'parties' ? this.content.parties[Number(index)] : null;
    const message = liveProblem(field, value, party);
    this.edited.add(path);
    if (message) this.live.set(path, t('agr.named', { who: this.whoAt(path), what: message }));
    else this.live.delete(path);
    if (this.refusal && this.refusal.path === path) this.refusal = null;
    this.paint();
  }

  whoAt(path) {
    const [head, index] = path.split('.');
    const n = Number(index);
    if (head === 'parties') return partyLabel(this.content.parties[n], n);
    if (head === 'obligations') return termLabel(this.content, this.content.obligations[n], n);
    return '';
  }

  /** The slot a path's messages go to: its own field, else the nearest enclosing one. */
  slotFor(path) {
    let at = path;
    for (;;) {
      const found = this.root.querySelector(`[data-problems-for="${CSS.escape(at)}"]`);
      if (found) return found;
      if (!at.includes('.')) return this.root.querySelector('[data-problems-for=""]');
      at = at.slice(0, at.lastIndexOf('.'));
    }
  }

  /** Put every message in its one place: typing beats the saved version's word on a field. */
  paint() {
    for (const node of this.root.querySelectorAll('[data-problems-for]')) node.replaceChildren();
    for (const control of this.root.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
    const shown = new Set();
    const put = (path, text, kind, code) => {
      const key = `${path}|${text}`;
      if (shown.has(key)) return;
      shown.add(key);
      const slot = this.slotFor(path);
      slot.append(el('li', { class: kind === 'warning' ? 'field-warning' : 'field-error', 'data-kind': kind, 'data-code': code }, [text]));
      const control = this.root.querySelector(`[data-path="${CSS.escape(path)}"]`);
      if (control && kind !== 'warning') control.setAttribute('aria-invalid', 'true');
    };
    for (const [path, text] of this.live) put(path, text, 'problem', 'typed');
    if (this.refusal && !this.live.has(this.refusal.path)) put(this.refusal.path, this.refusal.message, 'problem', 'refused');
    for (const p of this.problems) {
      if (this.live.has(p.path) || this.edited.has(p.path)) continue;
      put(p.path, problemText(this.content, p), p.severity || 'problem', p.code);
    }
  }
}
