// Words for places in an agreement (docs/agreements.md): section headings in the law's order,
// who a party is ("申请人 张三"), which term ("第 2 项约定事项（李四）"), a problem or finding of
// server/agreements/content.py and check.py in the viewer's language naming its party or term,
// and the heading of a commented clause. Pure: content in, text out.

import { has, t } from './i18n.js';

/** The agreement's sections, as 人民调解法 Art 29 orders them; `clause` is what a comment names. */
export const SECTIONS = [
  { key: 'parties', heading: 'agr.sec.parties' },
  { key: 'facts', heading: 'agr.sec.facts' },
  { key: 'responsibility', heading: 'agr.sec.responsibility' },
  { key: 'terms', heading: 'agr.sec.terms' },
  { key: 'other_terms', heading: 'agr.sec.other' },
];

export function sideText(side) {
  return t(`agr.side.${side}`);
}

/** "申请人 张三" (or "申请人（第 1 位）" while the name is still empty). */
export function partyLabel(party, index) {
  const name = (party.name || '').trim();
  return name ? `${sideText(party.side)} ${name}` : t('agr.party_unnamed', { side: sideText(party.side), n: index + 1 });
}

export function partyName(content, id) {
  const found = (content.parties || []).find((p) => p.id === id);
  return found ? (found.name || '').trim() || sideText(found.side) : '';
}

/** "第 2 项约定事项（李四）": the term by its place and its obligor. */
export function termLabel(content, term, index) {
  const who = partyName(content, term.obligor);
  return who ? t('agr.term_of', { n: index + 1, name: who }) : t('agr.term_n', { n: index + 1 });
}

/** Whose or which part of the agreement `path` (e.g. "parties.0.id_number") is about. */
export function subjectOf(content, path) {
  const [head, index] = String(path || '').split('.');
  const n = Number(index);
  if (head === 'parties' && Number.isInteger(n) && content.parties && content.parties[n]) return partyLabel(content.parties[n], n);
  if (head === 'obligations' && Number.isInteger(n) && content.obligations && content.obligations[n]) {
    return termLabel(content, content.obligations[n], n);
  }
  const section = { facts: 'agr.f.facts', issues: 'agr.f.issues', responsibility: 'agr.f.responsibility', other_terms: 'agr.f.other_terms',
    copies: 'agr.f.copies', mediators: 'agr.f.mediators', committee: 'agr.f.committee', personal_status: 'agr.f.personal_status',
    parties: 'agr.sec.parties', obligations: 'agr.sec.terms' }[head];
  return section ? t(section) : '';
}

/** A problem or finding ({code, path, message}) in words, once, naming its party or term. */
export function problemText(content, problem) {
  const key = `agr.p.${problem.code}`;
  const what = has(key) ? t(key) : String(problem.message || problem.code).split(' / ')[0];
  const who = subjectOf(content, problem.path);
  return who ? t('agr.named', { who, what }) : what;
}

/** The heading a comment's clause names: new comments say "term.o1", older ones "obligations.0". */
export function clauseHeading(content, clause) {
  const text = String(clause || '');
  if (text.startsWith('term.')) {
    const id = text.slice(5);
    const index = (content.obligations || []).findIndex((o) => o.id === id);
    return index >= 0 ? `${t('agr.sec.terms')} · ${termLabel(content, content.obligations[index], index)}` : t('agr.term_removed');
  }
  const legacy = /^obligations\.(\d+)$/.exec(text);
  if (legacy) {
    const index = Number(legacy[1]);
    const term = (content.obligations || [])[index];
    return `${t('agr.sec.terms')} · ${term ? termLabel(content, term, index) : t('agr.term_n', { n: index + 1 })}`;
  }
  const fields = { facts: 'agr.f.facts', issues: 'agr.f.issues' };
  if (fields[text]) return `${t('agr.sec.facts')} · ${t(fields[text])}`;
  const section = SECTIONS.find((s) => s.key === text);
  return section ? t(section.heading) : text;
}

/** The clauses a party may comment on, by heading: [{clause, heading}]. */
export function clauses(content) {
  const list = [{ clause: 'parties', heading: t('agr.sec.parties') },
    { clause: 'facts', heading: clauseHeading(content, 'facts') },
    { clause: 'issues', heading: clauseHeading(content, 'issues') },
    { clause: 'responsibility', heading: t('agr.sec.responsibility') }];
  (content.obligations || []).forEach((o) => list.push({ clause: `term.${o.id}`, heading: clauseHeading(content, `term.${o.id}`) }));
  list.push({ clause: 'other_terms', heading: t('agr.sec.other') });
  return list;
}
