// Court clerk page (/court): the applications filed with the clerk's court, each package with
// its verification result, the confirmation session's record and the decision, with the
// electronic service receipts (docs/agreements.md).

import { errorText, getJSON, postJSON } from './api.js';
import { byTestId, el } from './dom.js';
import { formatWhen, has, initI18n, t } from './i18n.js';
import { identifier, shorten } from './ident.js';
import { showRawNotice, showView } from './views.js';
import { CourtSession } from './court_session.js';
import { problemText } from './agreement_labels.js';

const TOKEN_KEY = 'parley.court';
const $ = (id) => byTestId(id);
const state = { token: null, current: null, session: null, pending: null };

function remember(token) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // private mode: the page works until it is closed
  }
}

async function onLogin(event) {
  event.preventDefault();
  try {
    const reply = await postJSON('/api/login', { username: $('login-username').value.trim(), password: $('login-password').value });
    state.token = reply.token;
    remember(reply.token);
    $('staff-name').textContent = reply.user.display_name;
    $('staff-name').hidden = false;
    await list();
  } catch (err) {
    showRawNotice($('login-error'), errorText(err));
  }
}

async function list() {
  const reply = await getJSON('/api/court/applications', state.token);
  showView('court');
  $('court-name').textContent = reply.court.name || reply.court.code;
  const items = $('court-applications');
  items.replaceChildren();
  if (!reply.applications.length) items.append(el('li', {}, [t('court.empty')]));
  for (const a of reply.applications) {
    const button = el('button', { type: 'button', class: 'btn', 'data-testid': `court-open-${a.id}` }, [t('court.open')]);
    button.addEventListener('click', () => open(a.id).catch((err) => showRawNotice($('court-error'), errorText(err))));
    const who = a.parties && a.parties.length ? ` · ${a.parties.join(t('court.versus'))}` : '';
    items.append(el('li', { 'data-status': a.status, 'data-verified': String(a.verification), 'data-case-number': a.case_number || '' }, [
      `${a.case_number || shorten(a.case_id, 8, 0)}${who} · ${t(`agreement.application_${a.status}`)} · ${a.verification ? t('court.verified') : t('court.unverified')} `, button]));
  }
}

/** A dismissal ground in the viewer's language (the server's text is bilingual, "中文 / English"). */
function groundText(code, serverText = '') {
  if (!code) return '';
  if (has(`court.ground.${code}`)) return t(`court.ground.${code}`);
  return serverText || code;
}

async function open(id) {
  const view = await getJSON(`/api/court/applications/${id}`, state.token);
  const same = Boolean(state.current && state.current.application.id === view.application.id);
  state.current = view;
  const a = view.application;
  $('court-application').hidden = false;
  const number = view.dossier.record.case_number;
  $('court-application-title').replaceChildren(`${a.court.name} · `,
    number ? el('span', { 'data-testid': 'court-case-number' }, [number]) : identifier(a.id, { testid: 'court-application-id' }));
  const verification = $('court-verification');
  verification.textContent = view.verification.ok ? t('court.verified') : t('court.unverified');
  verification.dataset.ok = String(view.verification.ok);
  $('court-report').textContent = view.verification.report;
  if (a.court_deadlines) {
    $('court-deadlines').textContent = t('court.deadlines', {
      accept: formatWhen(a.court_deadlines.accept_by, 'deadline'), rule: formatWhen(a.court_deadlines.rule_by, 'deadline') });
    $('court-deadlines').dataset.deadline = a.court_deadlines.accept_by;
  }
  showDossier(view.dossier);
  // A refresh of the same application (the session recorded, the room ended: both re-read it
  // when their request returns) keeps the clerk's review step open; another application or a
  // decision made closes it. Closing it on every refresh hid the step the clerk was on.
  if (!same || a.decision) hideReview();
  const agreement = $('court-agreement');
  agreement.replaceChildren();
  // The confirmability findings in the clerk's language, naming the term they are about.
  const applied = view.agreement.version.content || {};
  for (const f of view.agreement.findings) agreement.append(el('p', { 'data-code': f.code }, [problemText(applied, f)]));
  agreement.append(el('p', {}, ['SHA-256 ', identifier(view.agreement.version.sha256, { testid: 'court-sha256' })]));
  const ground = $('decision-ground');
  if (!ground.options.length) {
    for (const [code, text] of Object.entries(view.grounds)) ground.append(el('option', { value: code }, [groundText(code, text)]));
  }
  const decision = $('court-decision');
  decision.textContent = a.decision
    ? t(`agreement.decision_${a.decision.decision}`, { ground: groundText(a.decision.ground, view.grounds[a.decision.ground]) }) : '';
  decision.dataset.decision = a.decision ? a.decision.decision : '';
  if (!state.session) state.session = new CourtSession({ token: state.token, application: () => state.current, refresh: () => open(state.current.application.id) });
  state.session.show(a);
  const receipts = $('court-receipts');
  receipts.replaceChildren();
  for (const r of a.receipts) {
    receipts.append(el('li', { 'data-delivered': String(Boolean(r.delivered_at)) }, [
      `${r.recipient_name}: ${r.delivered_at ? t('court.delivered', { at: formatWhen(r.delivered_at, 'short') }) : t('court.pending')}`]));
  }
}

const orNone = (value) => (value ? String(value) : t('court.none'));
const roleText = (role) => (has(`mrole.${role}`) ? t(`mrole.${role}`) : role);

/** The agreement as the clerk reads it before deciding (signaling/court/dossier.py). */
function showDossier(d) {
  const parties = $('court-parties');
  parties.replaceChildren();
  for (const p of d.parties) {
    const line = t('court.party_line', { role: roleText(p.side), name: p.name,
      id_type: t(`court.id_type.${p.id_type}`), id_number: orNone(p.id_number) });
    const rep = p.legal_representative ? ` · ${t('court.party_rep', { name: p.legal_representative })}` : '';
    parties.append(el('li', { 'data-party': p.id }, [line + rep]));
  }
  const facts = $('court-facts');
  facts.replaceChildren();
  for (const key of ['facts', 'issues', 'responsibility', 'other']) {
    const text = d[key === 'other' ? 'other_terms' : key];
    if (text) facts.append(el('p', {}, [t(`court.dossier_${key}`, { text })]));
  }
  const terms = $('court-terms');
  terms.replaceChildren();
  for (const o of d.terms) {
    const params = { obligor: o.obligor, obligee: o.obligee, amount: orNone(o.amount), act: orNone(o.act),
      place: orNone(o.place), way: orNone(o.method), deadline: o.deadline ? formatWhen(o.deadline, 'date') : t('court.none') };
    terms.append(el('li', { 'data-term': o.id }, [t(o.kind === 'payment' ? 'court.term_payment' : 'court.term_act', params)]));
  }
  const signatures = $('court-signatures');
  signatures.replaceChildren();
  if (!d.signatures.length) signatures.append(el('li', {}, [t('court.sig_none')]));
  for (const s of d.signatures) {
    signatures.append(el('li', { 'data-state': s.state }, [t('court.sig_line', {
      name: s.name, role: roleText(s.role), at: formatWhen(s.signed_at, 'short'), state: t(`court.sig.${s.state}`) })]));
  }
  const r = d.record;
  const when = (iso) => (iso ? formatWhen(iso, 'date') : t('court.none'));
  $('court-record').textContent = t('court.record_line', {
    committee: orNone(r.committee), mediators: r.mediators.length ? r.mediators.join('、') : t('court.none'),
    accepted: when(r.accepted_at), closed: when(r.closed_at), sessions: r.sessions, events: r.events,
    first: when(r.first_at), last: when(r.last_at) });
}

function hideReview() {
  $('decision-review').hidden = true;
  state.pending = null;
}

/** First click: say exactly what will be decided; only the second click sends it. */
function review(decision) {
  $('court-error').hidden = true;
  const reasons = $('decision-reasons').value.trim();
  if (!reasons) {
    showRawNotice($('court-error'), t('court.reasons_required'));
    $('decision-reasons').setAttribute('aria-invalid', 'true');
    $('decision-reasons').focus();
    return;
  }
  $('decision-reasons').removeAttribute('aria-invalid');
  const ground = $('decision-ground');
  const groundLabel = ground.selectedOptions.length ? ground.selectedOptions[0].textContent : '';
  $('decision-review-text').textContent = t(`court.review_${decision}`, { reasons, ground: groundLabel });
  state.pending = decision;
  $('decision-review').dataset.decision = decision;
  $('decision-review').hidden = false;
  $('decision-final').focus();
}

async function act(fn) {
  $('court-error').hidden = true;
  try {
    await fn();
  } catch (err) {
    showRawNotice($('court-error'), errorText(err));
  }
}

async function decide(decision) {
  const a = state.current.application;
  const body = { decision, reasons: $('decision-reasons').value.trim() };
  if (decision === 'dismissed') body.ground = $('decision-ground').value;
  await postJSON(`/api/court/applications/${a.id}/decision`, body, state.token);
  await open(a.id);
  await list();
}

async function session(event) {
  event.preventDefault();
  const a = state.current.application;
  const local = $('session-at').value;
  const at = local ? new Date(local).toISOString() : new Date().toISOString();
  await postJSON(`/api/court/applications/${a.id}/session`, { at, record: $('session-record').value.trim() }, state.token);
  await open(a.id);
}

async function download() {
  const a = state.current.application;
  const response = await fetch(`/api/court/applications/${a.id}/package`, { headers: { Authorization: `Bearer ${state.token}` } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const link = el('a', { href: URL.createObjectURL(await response.blob()), download: `confirmation-${a.id}.zip` });
  link.click();
}

async function main() {
  await initI18n();
  $('login-submit').closest('form').addEventListener('submit', onLogin);
  $('decision-confirm').addEventListener('click', () => review('confirmed'));
  $('decision-dismiss').addEventListener('click', () => review('dismissed'));
  $('decision-back').addEventListener('click', () => { hideReview(); $('decision-reasons').focus(); });
  $('decision-final').addEventListener('click', () => {
    const decision = state.pending;
    if (decision) act(() => decide(decision));
  });
  $('session-submit').closest('form').addEventListener('submit', (e) => act(() => session(e)));
  $('court-package').addEventListener('click', () => act(download));
  try {
    state.token = sessionStorage.getItem(TOKEN_KEY);
  } catch {
    state.token = null;
  }
  if (state.token) {
    try {
      await list();
      return;
    } catch {
      state.token = null;
    }
  }
  showView('login');
}

main();
