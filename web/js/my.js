// "My cases" (/my): a citizen signs in with their phone number and a one-time code, then sees
// every case of theirs in one history — applications of every service with their state in words,
// what is missing, the next deadline with its date and days left and who is answerable, and their
// consultations with the ratings they gave. From here they acknowledge a one-time notice of
// missing materials (一次性告知), upload what is missing, and confirm a lawyer's referral draft.
// A family member or advisor named as proxy sees and acts on the cases they act for.

import { errorText, getJSON, postJSON } from './api.js';
import { clockText, dueText } from './clocks.js';
import { byTestId as $, el } from './dom.js';
import { clearFormErrors, setFieldErrorRaw } from './form.js';
import { formatWhen, initI18n, localName, onLanguageChange, t } from './i18n.js';
import { openNotice, uploadMaterial } from './material_upload.js';
import { showRawNotice, showView } from './views.js';

const PHONE_KEY = 'parley.phone'; // read by /apply too, to open a case from this list
const PHONE_PATTERN = /^1[3-9][0-9]{9}$/;
const state = { token: null, cases: null, catalogue: null };

function store(method, value) {
  try {
    return method === 'get' ? localStorage.getItem(PHONE_KEY)
      : method === 'set' ? localStorage.setItem(PHONE_KEY, value) : localStorage.removeItem(PHONE_KEY);
  } catch {
    return null; // private mode: the page works until it is closed
  }
}

function phoneValue() {
  return $('my-phone').value.replace(/[\s-]/g, '');
}

function say(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

async function start() {
  await initI18n();
  onLanguageChange(() => {
    if (state.cases) renderCases();
  });
  state.catalogue = await getJSON('/api/catalogue');
  state.token = store('get');
  if (state.token) {
    try {
      return await loadCases();
    } catch (err) {
      if (!err.isTokenError && err.status !== 403) throw err;
      store('remove');
    }
  }
  showView('signin');
}

async function sendCode() {
  clearFormErrors(document.getElementById('my-signin-form'));
  $('my-error').hidden = true;
  const phone = phoneValue();
  if (!PHONE_PATTERN.test(phone)) {
    setFieldErrorRaw($('my-phone'), t('intake.invalid.phone'));
    $('my-phone').focus();
    return;
  }
  const button = $('my-send-code');
  button.disabled = true;
  try {
    await postJSON('/api/citizen/code', { phone });
    showRawNotice($('my-code-sent'), t('my.code_sent', { phone }), 'info');
    $('my-code').focus();
  } catch (err) {
    showRawNotice($('my-error'), errorText(err));
  } finally {
    button.disabled = false;
  }
}

async function signIn(event) {
  event.preventDefault();
  clearFormErrors(document.getElementById('my-signin-form'));
  $('my-error').hidden = true;
  const phone = phoneValue();
  const code = $('my-code').value.trim();
  if (!PHONE_PATTERN.test(phone)) {
    setFieldErrorRaw($('my-phone'), t('intake.invalid.phone'));
    return;
  }
  if (!/^[0-9]{6}$/.test(code)) {
    setFieldErrorRaw($('my-code'), t('my.invalid_code'));
    $('my-code').focus();
    return;
  }
  const submit = $('my-sign-in');
  submit.disabled = true;
  try {
    const reply = await postJSON('/api/citizen/sign-in', { phone, code });
    state.token = reply.token;
    store('set', reply.token);
    $('my-code').value = '';
    await loadCases();
  } catch (err) {
    if (err.code === 'code_invalid') setFieldErrorRaw($('my-code'), errorText(err));
    else showRawNotice($('my-error'), errorText(err));
  } finally {
    submit.disabled = false;
  }
}

function signOut() {
  store('remove');
  state.token = null;
  state.cases = null;
  showView('signin');
}

async function loadCases() {
  state.cases = await getJSON('/api/my/cases', state.token);
  renderCases();
  showView('cases', { focus: false });
}

function renderCases() {
  const { phone, applications, consultations } = state.cases;
  $('my-signed-in-as').textContent = t('my.signed_in_as', { phone });
  // One history, newest first: applications of every service and consultations.
  const rows = [
    ...applications.map((a) => ({ at: a.created_at, node: applicationCard(a) })),
    ...consultations.map((c) => ({ at: c.created_at, node: consultationCard(c) })),
  ].sort((x, y) => (x.at < y.at ? 1 : x.at > y.at ? -1 : 0));
  $('my-history').replaceChildren(...rows.map((r) => r.node));
  $('my-empty').hidden = rows.length > 0;
}

function stateText(s) {
  return say(`application.state.${s}`, s);
}

function applicationCard(a) {
  const card = el('li', { class: 'panel my-case', 'data-testid': 'my-case', 'data-kind': 'application',
    'data-id': a.id, 'data-number': a.number }, [
    el('h2', {}, [`${localName(a.item)} `, el('small', { 'data-testid': 'case-number' }, [a.number])]),
    el('p', { 'data-testid': 'case-state', 'data-state': a.state },
      [`${t('apply.state')} `, el('strong', {}, [stateText(a.state)])]),
    el('p', { 'data-testid': 'case-answerable' }, [t('apply.answerable', {
      institution: localName(a.institution), person: a.answerable.person || t('apply.nobody_yet') })]),
  ]);
  if (a.next_deadline) {
    card.append(el('p', { class: 'deadline', 'data-testid': 'case-deadline',
      'data-state': a.next_deadline.state, 'data-due': a.next_deadline.due }, [clockText(a.next_deadline)]));
  }
  if (a.filed_as && a.filed_as !== 'self') {
    card.append(el('p', { 'data-testid': 'case-filed-as', 'data-filed-as': a.filed_as }, [t(`apply.filed_as.${a.filed_as}`)]));
  }
  if (a.proxy) {
    card.append(el('p', { 'data-testid': 'case-proxy' }, [t(a.as_proxy ? 'my.you_act_as_proxy' : 'my.proxy_acts', {
      name: a.as_proxy ? a.applicant.name : a.proxy.name, relationship: say(`proxy.relationship.${a.proxy.relationship}`, a.proxy.relationship) })]));
  }
  if (a.notice) card.append(noticeBlock(a));
  const missing = a.materials.filter((m) => m.status === 'missing' || m.status === 'deferred');
  if (missing.length) card.append(missingBlock(a, missing));
  // Once uploaded, the applicant says the materials are complete and the review runs again.
  if (a.actions.includes('supply_materials')) {
    card.append(el('p', {}, [actionButton(a, 'supply_materials', 'apply.action.supply_materials')]));
  }
  if (a.actions.includes('confirm')) card.append(confirmBlock(a));
  if (a.other_routes) {
    const link = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'case-other-routes' },
      [t('apply.notice_link')]);
    link.addEventListener('click', () => openNotice(a.id, state.token));
    card.append(el('p', {}, [t('apply.other_routes'), ' ', link]));
  }
  if (!a.as_proxy && a.actions.length) card.append(proxyBlock(a));
  if (a.rating) card.append(el('p', { 'data-testid': 'case-rating' }, [t('my.rated', { score: a.rating })]));
  const error = el('p', { class: 'notice', 'data-kind': 'error', 'data-testid': 'case-error', role: 'alert', hidden: '' });
  card.append(error, el('p', {}, [el('a', { href: `/apply#a=${a.id}`, 'data-testid': 'case-open' }, [t('my.open')])]));
  return card;
}

function noticeBlock(a) {
  const names = a.notice.missing.map((code) => localName(a.materials.find((m) => m.code === code) || { zh: code, en: code }));
  const block = el('div', { class: 'notice-told', 'data-testid': 'case-notice' }, [
    el('h3', {}, [t('my.notice_title')]),
    el('p', {}, [t('my.notice_told', { when: formatWhen(a.notice.told_at, 'date') })]),
    el('ul', {}, names.map((n) => el('li', {}, [n]))),
  ]);
  const print = el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'case-print-notice' },
    [t('my.print_notice')]);
  print.addEventListener('click', () => openNotice(a.id, state.token));
  if (a.notice.acknowledged_at) {
    block.append(el('p', { 'data-testid': 'case-acknowledged' },
      [t('my.acknowledged', { when: formatWhen(a.notice.acknowledged_at) })]), print);
  } else if (a.actions.includes('acknowledge_notice')) {
    block.append(actionButton(a, 'acknowledge_notice', 'my.acknowledge'), ' ', print);
  } else {
    block.append(print);
  }
  return block;
}

function missingBlock(a, missing) {
  const list = el('ul', { 'data-testid': 'case-missing' });
  for (const m of missing) {
    const id = `upload-${a.id}-${m.code}`;
    const input = el('input', { type: 'file', id, accept: 'application/pdf,image/png,image/jpeg,image/webp',
      'data-testid': `case-upload-${m.code}` });
    input.addEventListener('change', () => upload(a, m.code, input));
    const due = m.due ? el('span', { 'data-testid': `case-due-${m.code}` }, [t('my.supply_by', { due: dueText(m.due) })]) : '';
    list.append(el('li', { 'data-code': m.code }, [el('label', { for: id }, [localName(m)]), ' ', due, ' ', input]));
  }
  const block = el('div', { 'data-testid': 'case-missing-block' }, [
    el('h3', {}, [t('apply.missing_title')]), el('p', {}, [t('apply.missing_intro')]), list]);
  return block;
}

function confirmBlock(a) {
  const block = el('div', { class: 'form', 'data-testid': 'case-confirm' }, [
    el('p', {}, [t('my.confirm_intro')]), el('blockquote', {}, [a.statement])]);
  const fields = {};
  if (a.item.code === 'mediation' && !a.respondent) {
    for (const [name, type] of [['respondent_name', 'text'], ['respondent_phone', 'tel']]) {
      const id = `confirm-${a.id}-${name}`;
      fields[name] = el('input', { id, type, maxlength: name === 'respondent_name' ? '50' : '32',
        'data-testid': `case-confirm-${name}` });
      block.append(el('div', { class: 'field' }, [el('label', { for: id }, [t(`apply.${name}`)]), fields[name]]));
    }
  }
  if (a.item.code === 'legal_aid' && !a.details.hardship) {
    const id = `confirm-${a.id}-hardship`;
    fields.hardship = el('select', { id, 'data-testid': 'case-confirm-hardship' }, ['statement', 'commitment'].map(
      (v) => el('option', { value: v }, [t(`apply.hardship.${v}`)])));
    block.append(el('div', { class: 'field' }, [el('label', { for: id }, [t('apply.hardship')]), fields.hardship]));
  }
  block.append(actionButton(a, 'confirm', 'apply.action.confirm', () => {
    const extra = {};
    for (const [name, input] of Object.entries(fields)) if (input.value.trim()) extra[name] = input.value.trim();
    return extra;
  }));
  return block;
}

const RELATIONSHIPS = ['child', 'spouse', 'parent', 'relative', 'guardian', 'advisor', 'other'];

/** Name a family member or advisor to act for me (POST /api/applications/{id}/proxy). */
function proxyBlock(a) {
  const id = (name) => `proxy-${a.id}-${name}`;
  const name = el('input', { id: id('name'), maxlength: '50', 'data-testid': 'case-proxy-name' });
  const relationship = el('select', { id: id('relationship'), 'data-testid': 'case-proxy-relationship' },
    RELATIONSHIPS.map((r) => el('option', { value: r }, [t(`proxy.relationship.${r}`)])));
  const phone = el('input', { id: id('phone'), type: 'tel', inputmode: 'tel', 'data-testid': 'case-proxy-phone' });
  const submit = el('button', { type: 'button', class: 'btn', 'data-testid': 'case-name-proxy' }, [t('my.name_proxy')]);
  submit.addEventListener('click', async () => {
    submit.disabled = true;
    try {
      const body = { version: a.version, name: name.value.trim(), relationship: relationship.value };
      if (phone.value.trim()) body.phone = phone.value.trim();
      await postJSON(`/api/applications/${a.id}/proxy`, body, state.token);
      await loadCases();
    } catch (err) {
      submit.disabled = false;
      showCardError(a, err);
    }
  });
  const field = (input, key) => el('div', { class: 'field' }, [el('label', { for: input.id }, [t(key)]), input]);
  return el('details', { 'data-testid': 'case-proxy-form' }, [
    el('summary', {}, [t(a.proxy ? 'my.change_proxy' : 'my.add_proxy')]),
    field(name, 'my.proxy_name'), field(relationship, 'my.proxy_relationship'),
    field(phone, 'my.proxy_phone'), submit]);
}

function actionButton(a, action, key, extra = () => ({})) {
  const button = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': `case-action-${action}` }, [t(key)]);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const body = { version: a.version, ...extra() };
      if (action === 'supply_materials') body.materials = a.missing;
      await postJSON(`/api/applications/${a.id}/actions/${action}`, body, state.token);
      await loadCases();
    } catch (err) {
      button.disabled = false;
      showCardError(a, err);
    }
  });
  return button;
}

async function upload(a, code, input) {
  const file = input.files && input.files[0];
  if (!file) return;
  try {
    await uploadMaterial(a.id, code, file, state.token);
    await loadCases();
  } catch (err) {
    showCardError(a, err);
  }
}

function showCardError(a, err) {
  const card = document.querySelector(`[data-testid="my-case"][data-id="${a.id}"]`);
  const notice = card && $('case-error', card);
  if (notice) showRawNotice(notice, errorText(err));
}

function consultationCard(c) {
  const category = state.catalogue.categories.find((x) => x.code === c.category);
  const outcome = c.outcome && state.catalogue.outcomes.find((x) => x.code === c.outcome);
  const card = el('li', { class: 'panel my-case', 'data-testid': 'my-case', 'data-kind': 'consultation', 'data-id': c.id }, [
    el('h2', {}, [t('my.consultation'), category ? ` · ${localName(category)}` : '']),
    el('p', {}, [formatWhen(c.created_at)]),
    el('p', { 'data-testid': 'case-state', 'data-state': c.state },
      [`${t('apply.state')} `, el('strong', {}, [say(`consultation.state.${c.state}`, c.state)])]),
  ]);
  if (outcome) card.append(el('p', { 'data-testid': 'case-outcome' }, [t('my.outcome', { outcome: localName(outcome) })]));
  card.append(el('p', { 'data-testid': 'case-rating' },
    [c.rating ? t('my.rated', { score: c.rating }) : t('my.not_rated')]));
  return card;
}

$('my-send-code').addEventListener('click', () => sendCode());
document.getElementById('my-signin-form').addEventListener('submit', signIn);
$('my-sign-out').addEventListener('click', signOut);
start().catch((err) => {
  showView('signin');
  showRawNotice($('my-error'), errorText(err));
});
