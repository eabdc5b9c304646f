// Words and numbers for the supervisor page: durations, shares, ratings and alerts
// (docs/protocol.md, "Routing": Figures, Stats, Alert). A null figure (nothing to measure) is "—".

import { findEntry } from './catalogue.js';
import { has, localName, t } from './i18n.js';

export const NONE = '—';

const isNumber = (value) => typeof value === 'number' && Number.isFinite(value);

/** Seconds as "45秒", "2分钟", "3分12秒", "1小时5分" (English: "45 s", "2 min", "3 min 12 s"). */
export function formatDuration(seconds) {
  if (!isNumber(seconds)) return NONE;
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return t('dur.seconds', { s: total });
  if (total < 3600) {
    const m = Math.floor(total / 60);
    const s = total % 60;
    return s ? t('dur.minutes_seconds', { m, s }) : t('dur.minutes', { m });
  }
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  return m ? t('dur.hours_minutes', { h, m }) : t('dur.hours', { h });
}

/** A share (0..1) as a whole percentage, "62%". */
export function formatShare(share) {
  return isNumber(share) ? `${Math.round(share * 100)}%` : NONE;
}

/** An average rating (1..5) with one decimal, "4.3". */
export function formatRating(rating) {
  return isNumber(rating) ? rating.toFixed(1) : NONE;
}

/** A count, or "—". */
export function formatCount(count) {
  return isNumber(count) ? String(count) : NONE;
}

/** The label of a catalogue code in the current language (the bare code if unknown). */
export function label(catalogue, list, code) {
  return localName(findEntry(catalogue, list, code));
}

/** An agent state in words ("可接待", "整理中", ...). */
export function stateText(state) {
  const key = `agent.status.${state}`;
  return has(key) ? t(key) : String(state || NONE);
}

/** The category of an alert scope "queue:<category>", or null for "all". */
export function scopeCategory(scope) {
  return typeof scope === 'string' && scope.startsWith('queue:') ? scope.slice('queue:'.length) : null;
}

/** A stable identity for an alert: one per kind and scope. */
export function alertKey(alert) {
  return `${alert.kind}|${alert.scope}`;
}

/** An alert in words: "劳动争议队列服务水平 62%，低于 80%", "最长等待 3分12秒，超过 2分钟". */
export function alertText(alert, catalogue) {
  const category = scopeCategory(alert.scope);
  const where = category ? 'queue' : 'all';
  const params = { queue: category ? label(catalogue, 'categories', category) : '' };
  if (alert.kind === 'service_level') {
    params.value = formatShare(alert.value);
    params.threshold = formatShare(alert.threshold);
  } else if (alert.kind === 'longest_wait') {
    params.value = formatDuration(alert.value);
    params.threshold = formatDuration(alert.threshold);
  } else {
    return `${alert.kind} ${alert.scope}: ${alert.value} / ${alert.threshold}`;
  }
  return t(`sup.alert.${alert.kind}_${where}`, params);
}
