// The one window for citizens (/apply): choose a service, apply once (mediation, legal aid,
// notarisation, arbitration), then follow the application: its state, what is missing, every
// deadline with its date and days left, who is answerable, and the steps the citizen may take.
// The other party of a mediation application arrives here by the link sent to their phone.
//
// Tokens: the applicant's token is kept per application in localStorage; a link may carry one
// (#t=...), and a consultation the lawyer referred is opened with the consultation's own token.

import { ApiError, errorText, getJSON, postJSON } from './api.js';
import { openNotice, uploadMaterial } from './material_upload.js';
import { clockText, dueText } from './clocks.js';
import { byTestId as $, el } from './dom.js';
import { clearFormErrors, setFieldErrorRaw } from './form.js';
import { currentLang, formatWhen, initI18n, localName, onLanguageChange, t } from './i18n.js';
import { submitLogin } from './staff_session.js';
import { showRawNotice, showView } from './views.js';
import { mountRating } from './rate_case.js';

// staff: a service window's or village advisor's sign-in when filing for a citizen (?for=citizen).
const state = { services: null, item: null, application: null, token: null, staff: null };
const STAFF_KEY = 'parley.window';
const APPLICATION_KEY = (id) => `parley.application.${id}`;
const CONSULTATION_KEY = 'parley.citizen';
// The token of a phone sign-in (/my): every application of that number, or that it acts for.
const PHONE_KEY = 'parley.phone';
// Server field -> the input that shows its error.
const FIELD_INPUTS = {
  applicant_name: 'apply-name', applicant_phone: 'apply-phone', applicant_id_number: 'apply-id-number',
  respondent_name: 'apply-respondent-name', respondent_phone: 'apply-respondent-phone',
  region: 'apply-region', statement: 'apply-statement', exempt_group: 'apply-exempt-group',
  phone: 'apply-proxy-phone',
};
// Steps that need a written reason from the citizen.
const REASON_ACTIONS = new Set(['object', 'respondent_refuse']);

function store(method, key, value) {
  try {
    return localStorage[method](key, value);
  } catch {
    return null; // private mode: the page works until it is closed
  }
}

/** The claims of a token (not verified here: the server does that on every call). */
function claimsOf(token) {
  try {
    const body = token.split('.')[0].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(body), (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}

function staffSession(value) {
  try {
    if (value === undefined) return JSON.parse(sessionStorage.getItem(STAFF_KEY) || 'null');
    if (value) sessionStorage.setItem(STAFF_KEY, JSON.stringify(value));
    else sessionStorage.removeItem(STAFF_KEY);
  } catch {
    // private mode: the page works until it is closed
  }
  return null;
}

function forCitizen() {
  return new URLSearchParams(window.location.search).get('for') === 'citizen';
}

async function onStaffLogin(event) {
  event.preventDefault();
  const reply = await submitLogin();
  if (!reply) return;
  state.staff = { token: reply.token, name: reply.user.display_name, role: reply.user.role };
  staffSession(state.staff);
  chooseService();
}

function hashParams() {
  return new URLSearchParams(window.location.hash.replace(/^#/, ''));
}

async function start() {
  await initI18n();
  onLanguageChange(() => {
    if (state.application) renderStatus(state.application);
  });
  state.services = await getJSON('/api/services');
  if (forCitizen()) {
    // Service-window staff and village advisors file for a citizen under their own sign-in.
    state.staff = staffSession();
    if (!state.staff) return showView('login');
  }
  const params = hashParams();
  const linked = params.get('t');
  if (linked) {
    const claims = claimsOf(linked);
    if (claims && claims.case) {
      store('setItem', APPLICATION_KEY(claims.case), linked);
      window.history.replaceState(null, '', `/apply#a=${claims.case}`);
      return openApplication(claims.case, linked);
    }
  }
  const id = params.get('a');
  if (id) {
    const token = state.staff ? state.staff.token : store('getItem', APPLICATION_KEY(id)) ||
      store('getItem', PHONE_KEY) || store('getItem', CONSULTATION_KEY);
    if (token) return openApplication(id, token);
  }
  const item = new URLSearchParams(window.location.search).get('item');
  const wanted = state.services.items.find((i) => i.code === item && i.mode === 'application');
  if (wanted) return openForm(wanted);
  return chooseService();
}

function chooseService() {
  const banner = $('apply-filing-as');
  banner.hidden = !state.staff;
  if (state.staff) banner.textContent = t('apply.filing_as', { name: state.staff.name });
  const list = $('apply-services');
  list.replaceChildren();
  for (const item of state.services.items.filter((i) => i.mode === 'application')) {
    const button = el('button', { type: 'button', class: 'btn btn-block', 'data-testid': `apply-item-${item.code}` },
      [localName(item)]);
    button.addEventListener('click', () => openForm(item));
    list.append(el('li', {}, [button]));
  }
  showView('choose');
}

function fillSelect(select, entries) {
  select.replaceChildren(...entries.map((e) => el('option', { value: e.code }, [localName(e)])));
}

async function openForm(item) {
  state.item = item;
  $('apply-form-title').textContent = localName(item);
  $('apply-steps').replaceChildren(...(currentLang() === 'en' ? item.steps_en : item.steps_zh)
    .map((s) => el('li', {}, [s])));
  fillSelect($('apply-region'), state.services.regions);
  const catalogue = await getJSON('/api/catalogue');
  fillSelect($('apply-category'), catalogue.categories);
  $('apply-respondent').hidden = item.handler !== 'mediation_committee';
  $('apply-hardship').hidden = item.code !== 'legal_aid';
  // A citizen may file for a family member (a proxy, relationship recorded); staff file under
  // their own name, and a village advisor names the village they serve.
  $('apply-proxy').hidden = Boolean(state.staff);
  $('apply-village-field').hidden = !state.staff;
  if (state.staff) {
    $('apply-village').replaceChildren(el('option', { value: '' }, [t('apply.village_none')]),
      ...state.services.villages.map((v) => el('option', { value: v.code }, [localName(v)])));
  }
  const materials = $('apply-materials');
  materials.replaceChildren();
  for (const m of item.materials) {
    const id = `material-${m.code}`;
    const select = el('select', { id, 'data-testid': `apply-material-${m.code}`, 'data-code': m.code }, [
      el('option', { value: 'provided' }, [t('apply.material.provided')]),
      el('option', { value: 'missing' }, [t('apply.material.missing')]),
      ...(m.later ? [el('option', { value: 'deferred' }, [t('apply.material.deferred')])] : []),
      ...(m.commitment ? [el('option', { value: 'commitment' }, [t('apply.material.commitment')])] : []),
    ]);
    const label = el('label', { for: id }, [`${localName(m)}${m.required ? '' : t('apply.optional')}`]);
    materials.append(el('div', { class: 'field' }, [label, select]));
  }
  showView('form');
}

function formBody() {
  const value = (id) => document.getElementById(id).value.trim();
  const body = {
    item: state.item.code, region: value('apply-region'), category: value('apply-category'),
    applicant_name: value('apply-name'), applicant_phone: value('apply-phone'),
    statement: value('apply-statement'), request: value('apply-request'),
    urgent: document.getElementById('apply-urgent').checked,
    materials: [...document.querySelectorAll('[data-testid="apply-materials"] select')].map((s) => {
      const entry = { code: s.dataset.code, status: s.value };
      if (s.value === 'commitment') entry.commitment_text = t('apply.commitment_text');
      return entry;
    }),
  };
  if (value('apply-id-number')) body.applicant_id_number = value('apply-id-number');
  if (!$('apply-respondent').hidden) {
    body.respondent_name = value('apply-respondent-name');
    if (value('apply-respondent-phone')) body.respondent_phone = value('apply-respondent-phone');
  }
  if (state.staff && value('apply-village')) body.village = value('apply-village');
  if (!state.staff && document.getElementById('apply-for-other').checked) {
    body.proxy = { name: value('apply-proxy-name'), relationship: value('apply-proxy-relationship') };
    if (value('apply-proxy-phone')) body.proxy.phone = value('apply-proxy-phone');
  }
  if (!$('apply-hardship').hidden) {
    body.hardship = value('apply-hardship');
    if (body.hardship === 'exempt') body.exempt_group = value('apply-exempt-group');
  }
  return body;
}

function showError(err, notice) {
  const input = err instanceof ApiError && err.field && document.getElementById(FIELD_INPUTS[err.field] || '');
  if (input) {
    setFieldErrorRaw(input, errorText(err));
    input.focus();
  } else {
    showRawNotice(notice, errorText(err));
  }
}

async function submitForm(event) {
  event.preventDefault();
  const form = document.getElementById('apply-form');
  clearFormErrors(form);
  $('apply-error').hidden = true;
  const submit = $('apply-submit');
  submit.disabled = true;
  try {
    const reply = await postJSON('/api/applications', formBody(), state.staff ? state.staff.token : undefined);
    if (reply.token) store('setItem', APPLICATION_KEY(reply.application.id), reply.token);
    window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}#a=${reply.application.id}`);
    state.token = reply.token || state.staff.token;
    renderStatus(reply.application);
  } catch (err) {
    showError(err, $('apply-error'));
  } finally {
    submit.disabled = false;
  }
}

async function openApplication(id, token) {
  state.token = token;
  try {
    renderStatus(await getJSON(`/api/applications/${id}`, token));
  } catch (err) {
    showView('choose');
    chooseService();
    showRawNotice($('apply-error'), errorText(err));
  }
}

function stateText(a) {
  const key = `application.state.${a.state}`;
  const text = t(key);
  return text === key ? a.state : text;
}

function renderStatus(a) {
  state.application = a;
  $('status-item').textContent = localName(a.item);
  $('status-number').textContent = a.number;
  const shownState = $('status-state');
  shownState.textContent = stateText(a);
  shownState.dataset.state = a.state;
  $('status-answerable').textContent = t('apply.answerable', {
    institution: localName(a.institution), person: a.answerable.person || t('apply.nobody_yet') });
  const deadline = $('status-deadline');
  deadline.hidden = !a.next_deadline;
  if (a.next_deadline) {
    deadline.textContent = clockText(a.next_deadline);
    deadline.dataset.state = a.next_deadline.state;
    deadline.dataset.due = a.next_deadline.due;
  }
  renderMissing(a);
  $('status-other-routes').hidden = !a.other_routes;
  $('status-notice').href = `/api/applications/${a.id}/notice`;
  $('status-notice').addEventListener('click', showNoticePage, { once: true });
  renderActions(a);
  // Closed: the applicant rates it, and later sees whether it was followed up.
  if (a.final && state.token) mountRating($('status-rating'), { kind: 'application', subjectId: a.id, token: state.token });
  $('status-clocks').replaceChildren(...a.clocks.map((c) =>
    el('li', { 'data-code': c.code, 'data-state': c.state, 'data-due': c.due },
      [`${clockText(c)} · ${t(`clock.state.${c.state}`)}`])));
  $('status-timeline').replaceChildren(...a.timeline.map((e) =>
    el('li', { 'data-kind': e.kind }, [`${formatWhen(e.at)} · ${t(`application.event.${e.kind}`)}` +
      byWhom(e) + (e.data.reason ? `：${e.data.reason}` : '')])));
  showView('status', { focus: false });
}

/** Who took a step for the applicant: a window, an advisor, a lawyer, a proxy (recorded so). */
function byWhom(e) {
  const filedAs = e.kind === 'filed' ? e.data.filed_as : null;
  if (filedAs && filedAs !== 'self') return `（${t(`apply.filed_as.${filedAs}`)}）`;
  if (e.data.by_proxy) return `（${t('apply.by_proxy', { relationship: t(`proxy.relationship.${e.data.by_proxy}`) })}）`;
  return '';
}

function renderMissing(a) {
  const list = $('status-missing');
  const rows = a.materials.filter((m) => m.status === 'missing' || m.status === 'deferred');
  $('status-missing-panel').hidden = rows.length === 0;
  list.replaceChildren();
  for (const m of rows) {
    const input = el('input', { type: 'file', accept: 'application/pdf,image/png,image/jpeg,image/webp',
      id: `upload-${m.code}`, 'data-testid': `upload-${m.code}` });
    const label = el('label', { for: `upload-${m.code}` }, [localName(m)]);
    input.addEventListener('change', () => upload(m.code, input).catch((err) => showError(err, $('status-error'))));
    const due = m.due ? el('span', { 'data-testid': `status-due-${m.code}` }, [t('my.supply_by', { due: dueText(m.due) })]) : '';
    list.append(el('li', { 'data-code': m.code }, [label, ' ', due, ' ', input]));
  }
}

async function upload(code, input) {
  const file = input.files && input.files[0];
  if (!file) return;
  const a = state.application;
  await uploadMaterial(a.id, code, file, state.token);
  input.closest('li').dataset.uploaded = 'true';
  renderStatus(await getJSON(`/api/applications/${a.id}`, state.token));
}

async function showNoticePage(event) {
  event.preventDefault();
  await openNotice(state.application.id, state.token);
  $('status-notice').addEventListener('click', showNoticePage, { once: true });
}

function renderActions(a) {
  const buttons = $('status-buttons');
  buttons.replaceChildren();
  $('status-confirm-fields').hidden = !(a.actions.includes('confirm') && a.item.code === 'mediation' && !a.respondent);
  $('status-confirm-hardship').hidden = !(a.actions.includes('confirm') && a.item.code === 'legal_aid' && !a.details.hardship);
  $('status-reason-field').hidden = !a.actions.some((x) => REASON_ACTIONS.has(x));
  for (const action of a.actions) {
    const kind = ['withdraw', 'respondent_refuse'].includes(action) ? 'btn' : 'btn btn-primary';
    const button = el('button', { type: 'button', class: kind, 'data-testid': `action-${action}` },
      [t(`apply.action.${action}`)]);
    button.addEventListener('click', () => act(action).catch((err) => showError(err, $('status-error'))));
    buttons.append(button);
  }
}

async function act(action) {
  const a = state.application;
  $('status-error').hidden = true;
  if (action === 'withdraw' && !window.confirm(t('apply.confirm_withdraw'))) return;
  const body = { version: a.version };
  const reason = document.getElementById('status-reason').value.trim();
  if (reason) body.reason = reason;
  if (action === 'supply_materials') body.materials = a.missing;
  if (action === 'confirm' && !$('status-confirm-fields').hidden) {
    body.respondent_name = document.getElementById('confirm-respondent-name').value.trim() || undefined;
    body.respondent_phone = document.getElementById('confirm-respondent-phone').value.trim() || undefined;
  }
  if (action === 'confirm' && !$('status-confirm-hardship').hidden) {
    body.hardship = document.getElementById('confirm-hardship').value;
  }
  const reply = await postJSON(`/api/applications/${a.id}/actions/${action}`, body, state.token);
  document.getElementById('status-reason').value = '';
  renderStatus(reply.application);
}

document.getElementById('apply-form').addEventListener('submit', submitForm);
document.getElementById('login-form').addEventListener('submit', (e) => onStaffLogin(e).catch(() => {}));
document.getElementById('apply-for-other').addEventListener('change', (e) => {
  $('apply-proxy-fields').hidden = !e.target.checked;
});
$('apply-back').addEventListener('click', chooseService);
$('apply-hardship-select').addEventListener('change', (e) => {
  $('apply-exempt').hidden = e.target.value !== 'exempt';
});
start().catch((err) => {
  showView('choose');
  showRawNotice($('apply-error'), errorText(err));
});
