// Every date and time the UI shows (docs/ui.md, "Dates and times"): in the viewer's language, in
// China's time zone unless the viewer's settings say otherwise. A date always (a bare "09:21"
// read as "today" is how a 30-day deadline gets missed); a time where it matters; 今天/明天 only
// as an addition to the date; a legal deadline with how many days remain.
// Pure: no DOM, `now` can be given, so the same code answers the page and the tests.

export const DEFAULT_ZONE = 'Asia/Shanghai';
const DAY_MS = 86400000;

const WORDS = {
  'zh-CN': { today: '今天', tomorrow: '明天', yesterday: '昨天', left: (n) => `还有 ${n} 天`, lastDay: '今天截止', passedToday: '今天已截止', over: (n) => `已过期 ${n} 天` },
  en: { today: 'today', tomorrow: 'tomorrow', yesterday: 'yesterday', left: (n) => (n === 1 ? '1 day left' : `${n} days left`), lastDay: 'last day today', passedToday: 'passed today', over: (n) => (n === 1 ? '1 day overdue' : `${n} days overdue`) },
};

function words(lang) {
  return WORDS[lang] || WORDS['zh-CN'];
}

function parse(value) {
  if (value === null || value === undefined || value === '') return null;
  // A bare calendar date ("2026-12-31", an agreement's term) is a day in China: its end.
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) value = `${value}T23:59:59+08:00`;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The calendar day (y, m, d) of `date` in `zone`, as a number of days since 1970-01-01. */
function dayNumber(date, zone) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(date);
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  return Math.round(Date.UTC(get('year'), get('month') - 1, get('day')) / DAY_MS);
}

/** The calendar day of `value` in `zone` as "2026-12-04" (what <input type="date"> holds). */
export function isoDay(value = new Date(), { zone = DEFAULT_ZONE } = {}) {
  const date = parse(value);
  return date ? new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(date) : '';
}

/** Calendar days from `now`'s day to `value`'s day in `zone` (0: the same day, -1: yesterday). */
export function daysBetween(value, { now = new Date(), zone = DEFAULT_ZONE } = {}) {
  const date = parse(value);
  if (!date) return null;
  return dayNumber(date, zone) - dayNumber(parse(now), zone);
}

function relativeWord(days, lang) {
  const w = words(lang);
  if (days === 0) return w.today;
  if (days === 1) return w.tomorrow;
  if (days === -1) return w.yesterday;
  return '';
}

function addition(text, lang) {
  if (!text) return '';
  return lang === 'en' ? ` (${text})` : `（${text}）`;
}

/**
 * The date, e.g. "2026年12月3日" / "3 Dec 2026"; `short` drops the year when it is this year's.
 * With `relative`, "（今天）"/"（明天）" is added after it.
 */
export function formatDate(value, { lang = 'zh-CN', zone = DEFAULT_ZONE, now = new Date(), short = false, relative = false } = {}) {
  const date = parse(value);
  if (!date) return '';
  const sameYear = new Intl.DateTimeFormat('en', { timeZone: zone, year: 'numeric' }).format(date)
    === new Intl.DateTimeFormat('en', { timeZone: zone, year: 'numeric' }).format(parse(now));
  const options = { timeZone: zone, month: lang === 'en' ? 'short' : 'long', day: 'numeric' };
  if (!(short && sameYear)) options.year = 'numeric';
  const text = new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'zh-CN', options).format(date);
  return relative ? text + addition(relativeWord(daysBetween(date, { now, zone }), lang), lang) : text;
}

/** The clock time, "09:21" (24-hour in both languages); `seconds` adds ":05". */
export function formatClock(value, { lang = 'zh-CN', zone = DEFAULT_ZONE, seconds = false } = {}) {
  const date = parse(value);
  if (!date) return '';
  const options = { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  if (seconds) options.second = '2-digit';
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'zh-CN', options).format(date);
}

/** Date and time: "2026年12月3日（今天）09:21" / "3 Dec 2026 (today) 09:21". */
export function formatDateTime(value, opts = {}) {
  const date = parse(value);
  if (!date) return '';
  const day = formatDate(date, { relative: true, ...opts });
  return day + (day.endsWith('）') ? '' : ' ') + formatClock(date, opts);
}

/**
 * A legal deadline: its date (and time, with `time`) and how many days remain:
 * "2027年1月2日（还有 30 天）" / "2 Jan 2027 (30 days left)"; "今天截止", "已过期 3 天".
 */
export function formatDeadline(value, { lang = 'zh-CN', zone = DEFAULT_ZONE, now = new Date(), time = false } = {}) {
  const date = parse(value);
  if (!date) return '';
  const days = daysBetween(date, { now, zone });
  const w = words(lang);
  let remaining;
  if (date.getTime() < parse(now).getTime()) remaining = days === 0 ? w.passedToday : w.over(-days);
  else if (days === 0) remaining = w.lastDay;
  else remaining = w.left(days);
  const when = formatDate(date, { lang, zone, now }) + (time ? ` ${formatClock(date, { lang, zone })}` : '');
  return when + addition(remaining, lang);
}
