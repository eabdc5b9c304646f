// The printable monthly report: the month's figures, the citizens' criticism by reason and
// region, each service, region and committee, and the legal clocks per institution, all from
// GET /api/reports?range=month (the daily aggregates). The supervisor page's sign-in is reused.

import { getJSON } from './api.js';
import { loadCatalogue } from './catalogue.js';
import { byTestId, el } from './dom.js';
import { formatWhen, initI18n, onLanguageChange, t } from './i18n.js';
import { shanghaiToday } from './reports.js';
import { formatCount, formatDuration, formatRating, formatShare, label } from './supervisor_format.js';

const TOKEN_KEY = 'parley.supervisor';
const MEASURES = [
  ['offered', formatCount], ['answered', formatCount], ['abandoned', formatCount],
  ['service_level', formatShare], ['asa_s', formatDuration], ['p90_wait_s', formatDuration],
  ['abandonment_rate', formatShare], ['aht_s', formatDuration], ['transfers', formatCount],
  ['callbacks_kept', formatCount], ['ratings', formatCount], ['avg_rating', formatRating],
  ['low_ratings', formatCount], ['complaints', formatCount], ['reviews', formatCount],
  ['review_score', formatShare],
];
const SHORT = ['offered', 'answered', 'service_level', 'p90_wait_s', 'avg_rating', 'low_ratings', 'complaints'];

const $ = (id) => byTestId(id);
const state = { report: null, catalogue: null };

function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function fill(table, head, rows) {
  table.tHead && table.tHead.replaceChildren(el('tr', {}, head.map((h) => el('th', { scope: 'col' }, [h]))));
  table.tBodies[0].replaceChildren(...rows.map((cells) => el('tr', {}, cells.map((c, i) => (
    i === 0 ? el('th', { scope: 'row' }, [c]) : el('td', {}, [c]))))));
  if (!rows.length) {
    table.tBodies[0].replaceChildren(el('tr', {}, [
      el('td', { colspan: String(head.length), class: 'empty' }, [t('rep.monthly.none')])]));
  }
}

function byKey(dim, list) {
  const table = $(`report-${dim}`);
  const rows = state.report.breakdown[dim].filter((r) => r.offered || r.ratings);
  const name = (key) => (list ? label(state.catalogue, list, key) : key);
  fill(table, [t('rep.monthly.key'), ...SHORT.map((m) => t(`rep.m.${m}`))],
    rows.map((r) => [name(r.key), ...SHORT.map((m) => MEASURES.find(([n]) => n === m)[1](r[m]))]));
}

function render() {
  const report = state.report;
  if (!report) return;
  const month = report.from.slice(0, 7);
  $('report-title').textContent = t('rep.monthly.title', { month });
  document.title = $('report-title').textContent;
  $('report-generated').textContent = t('rep.monthly.generated', {
    updated: report.updated_at ? formatWhen(report.updated_at, 'seconds') : '—' });
  const summary = $('report-summary');
  summary.tBodies[0].replaceChildren(...MEASURES.map(([name, format]) => el('tr', { 'data-measure': name }, [
    el('th', { scope: 'row' }, [t(`rep.m.${name}`)]), el('td', {}, [format(report.totals[name])])])));
  const reasons = Object.entries(report.criticism.reasons);
  fill($('report-reasons'), [t('rep.monthly.reason'), t('rep.monthly.count')],
    reasons.map(([code, n]) => [t(`rating.reason.${code}`), formatCount(n)]));
  const codes = reasons.map(([code]) => code);
  fill($('report-criticism'), [t('intake.region'), t('rep.m.ratings'), t('rep.m.low_ratings'),
    t('rep.m.complaints'), ...codes.map((c) => t(`rating.reason.${c}`))],
  report.criticism.regions.map((r) => [label(state.catalogue, 'regions', r.region), formatCount(r.ratings),
    formatCount(r.low_ratings), formatCount(r.complaints), ...codes.map((c) => formatCount(r.reasons[c] || 0))]));
  byKey('service', 'service_types');
  byKey('region', 'regions');
  byKey('committee', null);
  fill($('report-clocks'), [t('rep.institution'), t('rep.kept'), t('rep.missed'), t('rep.kept_rate')],
    report.clocks.map((c) => [c.institution, formatCount(c.kept), formatCount(c.missed), formatShare(c.kept_rate)]));
}

async function load(month) {
  const notice = $('report-error');
  notice.hidden = true;
  const bearer = token();
  if (!bearer) {
    notice.textContent = t('rep.monthly.sign_in');
    notice.hidden = false;
    return;
  }
  try {
    state.report = await getJSON(`/api/reports?range=month&date=${month}-01`, bearer);
  } catch (err) {
    notice.textContent = err.code === 'forbidden' || err.isTokenError ? t('rep.monthly.sign_in') : err.message;
    notice.hidden = false;
    return;
  }
  document.body.dataset.reportReady = month;
  render();
}

async function main() {
  await initI18n();
  const wanted = new URLSearchParams(location.search).get('month');
  const month = /^\d{4}-\d{2}$/.test(wanted || '') ? wanted : shanghaiToday().slice(0, 7);
  $('report-month').value = month;
  $('report-controls').addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = $('report-month').value;
    if (!chosen) return;
    history.replaceState(null, '', `?month=${chosen}`);
    load(chosen);
  });
  $('report-print').addEventListener('click', () => window.print());
  onLanguageChange(render);
  loadCatalogue().then((catalogue) => {
    state.catalogue = catalogue;
    render();
  }).catch(() => {});
  await load(month);
}

main().catch((err) => console.error(err));
