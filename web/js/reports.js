// The supervisor's reports over time (docs/reports.md): a day, week, month or custom range
// from the daily aggregates (GET /api/reports), its CSV/XLSX export, and charts drawn with
// Apache ECharts (installed by `make install` from the npm registry, served from /static/vendor):
// the trend by day, the wait distribution, the reasons of criticism, the regional view, and the
// live queue fed by the page's `sup:figures`, each updated in place with setOption.

import { ApiError, getJSON } from './api.js';
import { loadCatalogue } from './catalogue.js';
import { byTestId, el } from './dom.js';
import { formatWhen, onLanguageChange, t } from './i18n.js';
import { formatCount, formatDuration, formatRating, formatShare, label } from './supervisor_format.js';

const ECHARTS_URL = '/static/vendor/echarts.esm.min.js';
// The live chart keeps the last five minutes of figures (they come every 2 s).
const LIVE_POINTS = 150;
const DIM_LISTS = { service: 'service_types', region: 'regions', channel: 'modes' };
const TOTALS = [
  ['offered', formatCount], ['answered', formatCount], ['abandoned', formatCount],
  ['service_level', formatShare], ['asa_s', formatDuration], ['p90_wait_s', formatDuration],
  ['abandonment_rate', formatShare], ['aht_s', formatDuration], ['transfers', formatCount],
  ['callbacks_kept', formatCount], ['avg_rating', formatRating], ['low_ratings', formatCount],
  ['complaints', formatCount], ['review_score', formatShare],
];

const $ = (id) => byTestId(id);

const state = {
  token: null,
  echarts: null,
  charts: {},
  report: null,
  catalogue: null,
  live: [],
  resize: null,
  unsubscribe: null,
};

/** Today in Asia/Shanghai as YYYY-MM-DD (report days are Shanghai days). */
export function shanghaiToday(now = new Date()) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(now);
}

function nameOf(dim, key) {
  if (dim === 'agent') return (state.report && state.report.names[key]) || key;
  const list = DIM_LISTS[dim];
  return list ? label(state.catalogue, list, key) : key;
}

function query(extra = {}) {
  const params = new URLSearchParams({ range: $('rep-range').value });
  const day = $('rep-date').value;
  if (params.get('range') === 'custom') {
    params.set('from', $('rep-from').value);
    params.set('to', $('rep-to').value);
  } else if (day) {
    params.set('date', day);
  }
  const dim = $('rep-dim').value;
  if (dim !== 'all' && $('rep-key').value) {
    params.set('dim', dim);
    params.set('key', $('rep-key').value);
  }
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  return params.toString();
}

// ---- loading --------------------------------------------------------------------------------

async function loadECharts() {
  if (!state.echarts) state.echarts = await import(ECHARTS_URL);
  return state.echarts;
}

async function refresh() {
  const notice = $('rep-error');
  notice.hidden = true;
  try {
    state.report = await getJSON(`/api/reports?${query()}`, state.token);
  } catch (err) {
    notice.textContent = err instanceof ApiError && err.field
      ? t('rep.bad_field', { field: t(`rep.field.${err.field}`) })
      : (err.message || String(err));
    notice.hidden = false;
    return;
  }
  render();
}

async function download(format) {
  const notice = $('rep-error');
  notice.hidden = true;
  const response = await fetch(`/api/reports/export?${query({ format })}`, {
    headers: { Authorization: `Bearer ${state.token}` },
  });
  if (!response.ok) {
    notice.textContent = t('rep.export_failed');
    notice.hidden = false;
    return;
  }
  const name = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') || '');
  const link = el('a', { href: URL.createObjectURL(await response.blob()),
    download: name ? name[1] : `report.${format}` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

// ---- rendering ------------------------------------------------------------------------------

function render() {
  const report = state.report;
  if (!report) return;
  $('rep-updated').textContent = t('rep.range', {
    from: report.from, to: report.to,
    updated: report.updated_at ? formatWhen(report.updated_at, 'seconds') : '—',
  });
  $('rep-totals').replaceChildren(...TOTALS.map(([name, format]) => el('div', { class: 'stat' }, [
    el('dt', {}, [t(`rep.m.${name}`)]),
    el('dd', { 'data-measure': name }, [format(report.totals[name])]),
  ])));
  fillKeys();
  renderCriticism(report.criticism);
  renderClocks(report.clocks);
  const month = report.from.slice(0, 7);
  $('rep-print').href = `/reports/monthly?month=${month}`;
  drawReportCharts();
}

function fillKeys() {
  const dim = $('rep-dim').value;
  const select = $('rep-key');
  const chosen = select.value;
  select.closest('label').hidden = dim === 'all';
  if (dim === 'all') return;
  const keys = (state.report.breakdown[dim] || []).map((row) => row.key);
  if (chosen && !keys.includes(chosen)) keys.unshift(chosen);
  select.replaceChildren(el('option', { value: '' }, [t('rep.all_keys')]),
    ...keys.map((key) => el('option', { value: key }, [nameOf(dim, key)])));
  select.value = chosen;
}

function renderCriticism(criticism) {
  const reasons = Object.keys(criticism.reasons);
  const head = el('tr', {}, [el('th', { scope: 'col' }, [t('intake.region')]),
    el('th', { scope: 'col' }, [t('rep.m.ratings')]), el('th', { scope: 'col' }, [t('rep.m.low_ratings')]),
    el('th', { scope: 'col' }, [t('rep.m.complaints')]),
    ...reasons.map((r) => el('th', { scope: 'col' }, [t(`rating.reason.${r}`)]))]);
  const rows = criticism.regions.map((row) => el('tr', { 'data-region': row.region }, [
    el('th', { scope: 'row' }, [nameOf('region', row.region)]),
    el('td', {}, [formatCount(row.ratings)]), el('td', {}, [formatCount(row.low_ratings)]),
    el('td', {}, [formatCount(row.complaints)]),
    ...reasons.map((r) => el('td', {}, [formatCount(row.reasons[r] || 0)]))]));
  const table = $('rep-criticism');
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...(rows.length ? rows
    : [el('tr', {}, [el('td', { colspan: String(4 + reasons.length), class: 'empty' }, [t('rep.no_ratings')])])]));
}

function renderClocks(clocks) {
  const rows = clocks.map((c) => el('tr', { 'data-institution': c.institution }, [
    el('th', { scope: 'row' }, [c.institution]), el('td', {}, [formatCount(c.kept)]),
    el('td', {}, [formatCount(c.missed)]), el('td', {}, [formatShare(c.kept_rate)])]));
  $('rep-clocks').tBodies[0].replaceChildren(...(rows.length ? rows
    : [el('tr', {}, [el('td', { colspan: '4', class: 'empty' }, [t('rep.no_clocks')])])]));
}

// ---- charts ---------------------------------------------------------------------------------

function chart(id) {
  if (!state.echarts) return null;
  if (!state.charts[id]) {
    const node = $(id);
    state.charts[id] = state.echarts.init(node, null, { renderer: 'canvas' });
    node.dataset.chart = 'ready';
  }
  return state.charts[id];
}

// Tooltips as rich text on the canvas: the page's CSP allows no inline styles.
const TOOLTIP = { trigger: 'axis', renderMode: 'richText', confine: true };
const GRID = { left: 48, right: 48, top: 36, bottom: 48, containLabel: false };
const LEGEND = { top: 0, type: 'scroll' };

function bandName(band) {
  return band.upto_s === null ? t('rep.band_over', { s: formatDuration(600) })
    : t('rep.band_upto', { s: formatDuration(band.upto_s) });
}

async function drawReportCharts() {
  try {
    await loadECharts();
  } catch (err) {
    console.warn('charts unavailable', err);
    $('rep-charts-error').hidden = false;
    return;
  }
  const report = state.report;
  const days = report.series.map((d) => d.day.slice(5));
  chart('chart-trend').setOption({
    tooltip: TOOLTIP, legend: LEGEND, grid: GRID,
    xAxis: { type: 'category', data: days },
    yAxis: [{ type: 'value', minInterval: 1 }, { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } }],
    series: [
      { id: 'offered', name: t('rep.m.offered'), type: 'bar', data: report.series.map((d) => d.offered) },
      { id: 'abandoned', name: t('rep.m.abandoned'), type: 'bar', data: report.series.map((d) => d.abandoned) },
      { id: 'service_level', name: t('rep.m.service_level'), type: 'line', yAxisIndex: 1, connectNulls: true,
        data: report.series.map((d) => (d.service_level === null ? null : Math.round(d.service_level * 100))) },
    ],
  }, { replaceMerge: ['series'] });
  chart('chart-waits').setOption({
    tooltip: TOOLTIP, grid: GRID,
    xAxis: { type: 'category', data: report.waits.map(bandName), axisLabel: { interval: 0, rotate: 30 } },
    yAxis: { type: 'value', minInterval: 1 },
    series: [{ id: 'waits', name: t('rep.m.answered'), type: 'bar', data: report.waits.map((b) => b.count) }],
  }, { replaceMerge: ['series'] });
  const reasons = Object.entries(report.criticism.reasons);
  chart('chart-reasons').setOption({
    tooltip: { trigger: 'item', renderMode: 'richText', confine: true }, legend: { ...LEGEND, show: false },
    series: [{ id: 'reasons', name: t('rep.criticism_title'), type: 'pie', radius: ['35%', '65%'],
      data: reasons.map(([code, value]) => ({ name: t(`rating.reason.${code}`), value, code })) }],
  }, { replaceMerge: ['series'] });
  const regions = report.breakdown.region.filter((r) => r.offered > 0);
  chart('chart-regions').setOption({
    tooltip: TOOLTIP, grid: { ...GRID, left: 96, top: 56 }, legend: LEGEND,
    // The regional view: each region's bar coloured by its service level (no map tiles to fetch).
    visualMap: { show: false, dimension: 0, seriesIndex: 1, min: 0, max: 100, inRange: { color: ['#c0392b', '#f1c40f', '#1e8449'] } },
    // Contacts on the bottom axis, the service level on its own 0-100 % axis at the top.
    xAxis: [{ type: 'value', minInterval: 1 },
      { type: 'value', min: 0, max: 100, position: 'top', axisLabel: { formatter: '{value}%' } }],
    yAxis: { type: 'category', data: regions.map((r) => nameOf('region', r.key)) },
    series: [
      { id: 'region_offered', name: t('rep.m.offered'), type: 'bar', data: regions.map((r) => r.offered) },
      { id: 'region_sl', name: t('rep.m.service_level'), type: 'bar', xAxisIndex: 1,
        data: regions.map((r) => (r.service_level === null ? 0 : Math.round(r.service_level * 100))) },
    ],
  }, { replaceMerge: ['series'] });
}

/** The page's live figures (sup:figures): the live chart moves in place, nothing is redrawn. */
export function onFigures(figures) {
  if (!figures || !figures.totals) return;
  state.live.push([figures.at, figures.totals.waiting || 0, Math.round(figures.totals.longest_wait_s || 0)]);
  if (state.live.length > LIVE_POINTS) state.live.shift();
  drawLive();
}

function drawLive() {
  const live = chart('chart-live');
  if (!live) return;
  live.setOption({
    tooltip: TOOLTIP, legend: LEGEND, grid: GRID, animation: false,
    xAxis: { type: 'time' },
    yAxis: [{ type: 'value', minInterval: 1 }, { type: 'value', minInterval: 1 }],
    series: [
      { id: 'waiting', name: t('sup.waiting'), type: 'line', step: 'end', showSymbol: false,
        data: state.live.map(([at, waiting]) => [at, waiting]) },
      { id: 'longest', name: t('sup.longest_wait'), type: 'line', yAxisIndex: 1, showSymbol: false,
        data: state.live.map(([at, , longest]) => [at, longest]) },
    ],
  });
}

// ---- wiring ---------------------------------------------------------------------------------

function showCustom() {
  const custom = $('rep-range').value === 'custom';
  for (const id of ['rep-from', 'rep-to']) $(id).closest('label').hidden = !custom;
  $('rep-date').closest('label').hidden = custom;
}

/** Start the reports section with the supervisor's token; returns a function that stops it. */
export function startReports(token) {
  state.token = token;
  const today = shanghaiToday();
  if (!$('rep-date').value) $('rep-date').value = today;
  if (!$('rep-from').value) $('rep-from').value = `${today.slice(0, 8)}01`;
  if (!$('rep-to').value) $('rep-to').value = today;
  const form = $('rep-form');
  const submit = (event) => {
    event.preventDefault();
    refresh();
  };
  const changeRange = () => showCustom();
  const changeDim = () => {
    $('rep-key').value = '';
    $('rep-key').closest('label').hidden = $('rep-dim').value === 'all';
    if (state.report) fillKeys();
  };
  const csv = () => download('csv');
  const xlsx = () => download('xlsx');
  form.addEventListener('submit', submit);
  $('rep-range').addEventListener('change', changeRange);
  $('rep-dim').addEventListener('change', changeDim);
  $('rep-csv').addEventListener('click', csv);
  $('rep-xlsx').addEventListener('click', xlsx);
  showCustom();
  state.resize = new ResizeObserver(() => Object.values(state.charts).forEach((c) => c.resize()));
  state.resize.observe($('reports'));
  state.unsubscribe = onLanguageChange(() => {
    render();
    drawLive();
  });
  loadCatalogue().then((catalogue) => {
    state.catalogue = catalogue;
    render();
  }).catch(() => {});
  loadECharts().then(drawLive).catch(() => {});
  refresh();
  return () => {
    form.removeEventListener('submit', submit);
    $('rep-range').removeEventListener('change', changeRange);
    $('rep-dim').removeEventListener('change', changeDim);
    $('rep-csv').removeEventListener('click', csv);
    $('rep-xlsx').removeEventListener('click', xlsx);
    if (state.resize) state.resize.disconnect();
    if (state.unsubscribe) state.unsubscribe();
    for (const instance of Object.values(state.charts)) instance.dispose();
    Object.assign(state, { token: null, charts: {}, report: null, live: [], resize: null, unsubscribe: null });
  };
}
