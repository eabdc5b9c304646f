// The work queue of an institution of the one window (/desk): legal-aid centres, mediation
// committees, notary offices, arbitration commissions and justice bureaus each see their own
// applications, soonest deadline first, and take the steps the law gives them.

import { errorText, getJSON, postJSON } from './api.js';
import { clockText } from './clocks.js';
import { byTestId as $, el } from './dom.js';
import { setFieldErrorRaw, clearFormErrors } from './form.js';
import { formatWhen, initI18n, localName, onLanguageChange, t } from './i18n.js';
import { submitLogin } from './staff_session.js';
import { showRawNotice, showView } from './views.js';

const TOKEN_KEY = 'parley.desk';
const state = { token: null, services: null, queue: [], current: null, lawyers: [], assigned: false };
// Steps that choose a receiving institution, a lawyer, or what is missing.
const NEEDS_INSTITUTION = new Set(['transfer', 'pass_on']);

function remember(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // private mode: the page works until it is closed
  }
}

function stored() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function stateText(s) {
  const key = `application.state.${s}`;
  const text = t(key);
  return text === key ? s : text;
}

function deadlineText(c) {
  return c ? clockText(c) : t('desk.no_deadline');
}

async function start() {
  await initI18n();
  onLanguageChange(() => {
    if (state.token) renderQueue();
    if (state.current) renderDetail(state.current);
  });
  state.services = await getJSON('/api/services');
  state.token = stored();
  if (state.token) {
    try {
      return await loadQueue();
    } catch (err) {
      if (!err.isTokenError) throw err;
      remember(null);
    }
  }
  showView('login');
}

async function onLogin(event) {
  event.preventDefault();
  const reply = await submitLogin();
  if (!reply) return;
  state.token = reply.token;
  remember(reply.token);
  $('staff-name').textContent = reply.user.display_name;
  $('staff-name').hidden = false;
  $('sign-out').hidden = false;
  await loadQueue();
}

async function loadQueue() {
  // A legal-aid lawyer has no institution's queue: their own is what was assigned to them.
  let reply;
  try {
    reply = await getJSON(state.assigned ? '/api/work-queue/assigned' : '/api/work-queue', state.token);
  } catch (err) {
    if (err.code !== 'forbidden' || state.assigned) throw err;
    state.assigned = true;
    reply = await getJSON('/api/work-queue/assigned', state.token);
  }
  state.queue = reply.applications;
  renderQueue();
  showView('queue', { focus: false });
  if (state.current) {
    const again = state.queue.find((a) => a.id === state.current.id);
    if (again) renderDetail(again);
  }
}

function renderQueue() {
  $('desk-count').textContent = t('desk.count', { n: state.queue.length });
  const body = $('desk-queue').querySelector('tbody');
  body.replaceChildren();
  for (const a of state.queue) {
    const open = el('button', { type: 'button', class: 'btn btn-small link-button', 'data-testid': `desk-open-${a.id}` },
      [a.number]);
    open.addEventListener('click', () => renderDetail(a));
    const deadline = a.next_deadline;
    body.append(el('tr', { 'data-id': a.id, 'data-state': a.state }, [
      el('td', {}, [open]),
      el('td', {}, [localName(a.item), a.urgent ? ` · ${t('desk.urgent')}` : '']),
      el('td', {}, [a.applicant.name]),
      el('td', {}, [stateText(a.state)]),
      el('td', { 'data-clock': deadline ? deadline.state : 'none' }, [deadlineText(deadline)]),
    ]));
  }
}

async function renderDetail(a) {
  state.current = a;
  $('desk-detail').hidden = false;
  $('desk-detail-number').textContent = a.number;
  $('desk-detail-item').textContent = localName(a.item);
  $('desk-detail-state').textContent = stateText(a.state);
  $('desk-detail-state').dataset.state = a.state;
  const facts = [
    ['desk.fact.applicant', `${a.applicant.name} · ${a.applicant.phone}${a.applicant.id_number ? ` · ${a.applicant.id_number}` : ''}`],
    ...(a.respondent ? [['desk.fact.respondent', `${a.respondent.name}${a.respondent.phone ? ` · ${a.respondent.phone}` : ''}`]] : []),
    ['desk.fact.region', localName(a.region)],
    ['desk.fact.statement', a.statement],
    ['desk.fact.request', a.details.request || '—'],
    ['desk.fact.filed_as', t(`desk.filed_as.${a.filed_as}`)],
    ...(a.proxy ? [['desk.fact.proxy', `${a.proxy.name} · ${t(`proxy.relationship.${a.proxy.relationship}`)}` +
      (a.proxy.phone ? ` · ${a.proxy.phone}` : '')]] : []),
  ];
  $('desk-detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, [t(k)]), el('dd', {}, [v])]));
  $('desk-detail-clocks').replaceChildren(...a.clocks.map((c) =>
    el('li', { 'data-code': c.code, 'data-state': c.state, 'data-due': c.due },
      [`${deadlineText(c)} · ${t(`clock.state.${c.state}`)}${c.basis ? ` （${c.basis}）` : ''}`])));
  $('desk-detail-materials').replaceChildren(...a.materials.map((m) => {
    const item = el('li', { 'data-code': m.code, 'data-status': m.status },
      [`${localName(m)} · ${t(`apply.material.${m.status}`)}`]);
    if (m.file_id) {
      const link = el('button', { type: 'button', class: 'btn btn-small' }, [t('desk.download')]);
      link.addEventListener('click', () => download(a, m));
      item.append(' ', link);
    }
    return item;
  }));
  $('desk-detail-timeline').replaceChildren(...a.timeline.map((e) =>
    el('li', { 'data-kind': e.kind }, [`${formatWhen(e.at)} · ${t(`application.event.${e.kind}`)}` +
      (e.data.by_proxy ? ` · ${t('apply.by_proxy', { relationship: t(`proxy.relationship.${e.data.by_proxy}`) })}` : '') +
      (e.data.reason ? `：${e.data.reason}` : '')])));
  await renderActions(a);
}

async function download(a, m) {
  const response = await fetch(`/api/applications/${a.id}/files/${m.file_id}`,
    { headers: { Authorization: `Bearer ${state.token}` } });
  const url = URL.createObjectURL(await response.blob());
  window.open(url, '_blank', 'noopener');
}

async function renderActions(a) {
  const missingField = $('desk-missing-field');
  missingField.hidden = !a.actions.includes('request_materials');
  $('desk-missing-choices').replaceChildren(...a.materials.map((m) => el('div', { class: 'field field-check' }, [
    el('input', { type: 'checkbox', id: `missing-${m.code}`, value: m.code, 'data-testid': `desk-missing-${m.code}` }),
    el('label', { for: `missing-${m.code}` }, [localName(m)]),
  ])));
  const moving = a.actions.some((x) => NEEDS_INSTITUTION.has(x));
  $('desk-institution-field').hidden = !moving;
  if (moving) {
    const kind = state.services.institutions.find((i) => i.code === a.institution.code)?.kind;
    const others = state.services.institutions.filter((i) => i.kind === kind && i.code !== a.institution.code);
    $('desk-institution').replaceChildren(...others.map((i) => el('option', { value: i.code }, [localName(i)])));
  }
  // The mediation case invites both parties by phone: one filed without it is recorded here.
  $('desk-respondent-phone-field').hidden = !(a.actions.includes('respondent_agree') && !(a.respondent && a.respondent.phone));
  const assigning = a.actions.includes('assign');
  $('desk-lawyer-field').hidden = !assigning;
  if (assigning) {
    const reply = await getJSON(`/api/work-queue/lawyers?category=${encodeURIComponent(a.category)}`, state.token);
    $('desk-lawyer').replaceChildren(...reply.lawyers.map((l) => el('option', { value: String(l.id) },
      [t('desk.lawyer_option', { name: l.name, region: l.region_zh || '—', open: l.open })])));
  }
  const buttons = $('desk-buttons');
  buttons.replaceChildren();
  for (const action of a.actions) {
    const danger = ['refuse', 'decline', 'respondent_refuse', 'reject_objection', 'fail'].includes(action);
    const button = el('button', { type: 'button', class: danger ? 'btn btn-danger' : 'btn btn-primary',
      'data-testid': `desk-action-${action}` }, [t(`desk.action.${action}`)]);
    button.addEventListener('click', () => act(action).catch((err) => {
      if (err.field === 'reason') setFieldErrorRaw(document.getElementById('desk-reason'), errorText(err));
      else if (err.field === 'respondent_phone') setFieldErrorRaw(document.getElementById('desk-respondent-phone'), errorText(err));
      else showRawNotice($('desk-error'), errorText(err));
    }));
    buttons.append(button);
  }
}

async function act(action) {
  const a = state.current;
  clearFormErrors(document.getElementById('desk-actions'));
  $('desk-error').hidden = true;
  const body = { version: a.version };
  const reason = document.getElementById('desk-reason').value.trim();
  if (reason) body.reason = reason;
  if (action === 'request_materials') {
    body.materials = [...document.querySelectorAll('[data-testid="desk-missing-choices"] input:checked')].map((i) => i.value);
  }
  if (NEEDS_INSTITUTION.has(action)) body.to_institution = $('desk-institution').value;
  if (action === 'assign') body.lawyer_id = Number($('desk-lawyer').value);
  const respondentPhone = document.getElementById('desk-respondent-phone').value.trim();
  if (action === 'respondent_agree' && respondentPhone) body.respondent_phone = respondentPhone;
  if (['refuse', 'decline', 'reject_objection'].includes(action) && !window.confirm(t('desk.confirm_final'))) return;
  const reply = await postJSON(`/api/applications/${a.id}/actions/${action}`, body, state.token);
  document.getElementById('desk-reason').value = '';
  state.current = reply.application;
  await loadQueue();
  renderDetail(reply.application);
}

document.getElementById('login-form').addEventListener('submit', (e) => onLogin(e).catch((err) =>
  showRawNotice($('login-error'), errorText(err))));
$('sign-out').addEventListener('click', () => {
  remember(null);
  window.location.reload();
});
start().catch((err) => {
  showView('loading');
  showRawNotice($('loading-error'), errorText(err));
});
