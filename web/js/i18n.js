// Translations: every visible string comes from /static/i18n/<lang>.json.
//
// Markup names its strings with attributes, so a language switch re-applies everything on the
// page, including text that scripts rendered later:
//   data-i18n="key"              -> textContent
//   data-i18n-args='{"n": 3}'    -> {n} placeholders for data-i18n
//   data-i18n-aria-label="key"   -> aria-label
//   data-i18n-placeholder="key"  -> placeholder
//   data-i18n-title="key"        -> title
//   data-text-zh / data-text-en  -> textContent from catalogue entries ({code, zh, en})
//   data-time="ISO 8601"         -> textContent as a date and time (datetime.js), in the form
//   data-time-form names: "datetime" (default), "short" (no year when it is this year's),
//   "date", "deadline" (date, time and days left), "seconds" (date and hh:mm:ss)

import { formatDate, formatDateTime, formatDeadline } from './datetime.js';

const STORAGE_KEY = 'parley.lang';
const DEFAULT_LANG = 'zh-CN';
export const LANGUAGES = ['zh-CN', 'en'];

// Marker attribute -> the attribute it fills.
const ATTRIBUTE_KEYS = [
  ['data-i18n-aria-label', 'aria-label'],
  ['data-i18n-placeholder', 'placeholder'],
  ['data-i18n-title', 'title'],
];

let lang = DEFAULT_LANG;
let dict = {};
const listeners = new Set();

function storedLang() {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return LANGUAGES.includes(value) ? value : DEFAULT_LANG;
  } catch {
    return DEFAULT_LANG;
  }
}

async function loadDict(code) {
  const response = await fetch(`/static/i18n/${code}.json`, { cache: 'no-cache' });
  if (!response.ok) throw new Error(`i18n ${code}: HTTP ${response.status}`);
  return response.json();
}

/** The current language code ("zh-CN" or "en"). */
export function currentLang() {
  return lang;
}

/** Whether a translation exists for key. */
export function has(key) {
  return Object.prototype.hasOwnProperty.call(dict, key);
}

/** The translation of key with {name} placeholders filled from params; the key itself if missing. */
export function t(key, params = {}) {
  const template = has(key) ? dict[key] : key;
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

/** The label of a catalogue entry {code, zh, en} in the current language. */
export function localName(entry) {
  if (!entry) return '';
  return (lang === 'en' ? entry.en : entry.zh) || entry.zh || entry.en || entry.code;
}

/**
 * A timestamp in the current language and China's time zone (datetime.js): `form` is
 * "datetime" (date and time), "short" (without this year's year), "date", "deadline" (date, time
 * and how many days remain) or "seconds" (date and time to the second).
 */
export function formatWhen(iso, form = 'datetime') {
  const opts = { lang };
  if (form === 'date') return formatDate(iso, opts);
  if (form === 'deadline') return formatDeadline(iso, { ...opts, time: true });
  if (form === 'short') return formatDateTime(iso, { ...opts, short: true });
  if (form === 'seconds') return formatDateTime(iso, { ...opts, seconds: true });
  return formatDateTime(iso, opts);
}

/** Set el's text to a translation and remember the key so a language switch re-renders it. */
export function setText(el, key, params) {
  el.dataset.i18n = key;
  if (params && Object.keys(params).length) el.dataset.i18nArgs = JSON.stringify(params);
  else delete el.dataset.i18nArgs;
  el.textContent = t(key, params);
}

/** Set el's text to a catalogue entry's label, kept in both languages. */
export function setLocalized(el, entry) {
  delete el.dataset.i18n;
  el.dataset.textZh = entry.zh || entry.code;
  el.dataset.textEn = entry.en || entry.code;
  el.textContent = localName(entry);
}

/** Show a timestamp (see formatWhen for `form`), re-rendered on a language switch. */
export function setTime(el, iso, form = 'datetime') {
  el.dataset.time = iso;
  if (form === 'datetime') delete el.dataset.timeForm;
  else el.dataset.timeForm = form;
  if ('dateTime' in el) el.dateTime = iso;
  el.textContent = formatWhen(iso, form);
}

/** Apply translations to every marked element under root. */
export function applyTranslations(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    const args = el.dataset.i18nArgs ? JSON.parse(el.dataset.i18nArgs) : undefined;
    el.textContent = t(el.dataset.i18n, args);
  }
  for (const [marker, attribute] of ATTRIBUTE_KEYS) {
    for (const el of root.querySelectorAll(`[${marker}]`)) {
      el.setAttribute(attribute, t(el.getAttribute(marker)));
    }
  }
  for (const el of root.querySelectorAll('[data-text-zh]')) {
    el.textContent = lang === 'en' ? el.dataset.textEn : el.dataset.textZh;
  }
  for (const el of root.querySelectorAll('[data-time]')) el.textContent = formatWhen(el.dataset.time, el.dataset.timeForm);
}

/** Call fn(lang) after every language switch (to re-render what attributes cannot express). */
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Switch language, persist the choice and re-render the page. */
export async function setLanguage(code) {
  if (!LANGUAGES.includes(code)) return;
  dict = await loadDict(code);
  lang = code;
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // Private mode without storage: the switch still works for this page.
  }
  document.documentElement.lang = code;
  applyTranslations(document);
  for (const el of document.querySelectorAll('[data-testid="lang-switch"]')) el.value = code;
  for (const fn of listeners) fn(code);
}

/** Load the stored (or default) language, translate the page and wire the language switch. */
export async function initI18n() {
  const wanted = storedLang();
  try {
    dict = await loadDict(wanted);
    lang = wanted;
  } catch (err) {
    if (wanted === DEFAULT_LANG) throw err;
    dict = await loadDict(DEFAULT_LANG);
    lang = DEFAULT_LANG;
  }
  document.documentElement.lang = lang;
  applyTranslations(document);
  for (const select of document.querySelectorAll('[data-testid="lang-switch"]')) {
    select.value = lang;
    select.addEventListener('change', () => {
      setLanguage(select.value).catch((err) => console.error('language switch failed', err));
    });
  }
}
