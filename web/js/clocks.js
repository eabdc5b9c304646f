// A legal clock of the one window as people read it: its name, the due date (the period ends at
// 24:00 of that day in China) and how many days remain, and a note when the date is estimated.

import { formatDeadline } from './datetime.js';
import { currentLang, localName, t } from './i18n.js';

/** "审查决定期限：2026年3月9日（还有 7 天）" for a clock {code, zh, en, due, estimated}. */
export function clockText(clock) {
  const due = formatDeadline(`${clock.due}T23:59:59+08:00`, { lang: currentLang() });
  return t('apply.clock_line', { name: localName(clock), due }) +
    (clock.estimated ? t('apply.clock_estimated') : '');
}

/** "2026年3月17日（还有 15 天）" for a date alone (a material accepted outstanding, 容缺受理). */
export function dueText(due) {
  return formatDeadline(`${due}T23:59:59+08:00`, { lang: currentLang() });
}
