// The agreement as its readers see it (docs/agreements.md): the same sections as the editor, in
// the law's order, as text under headings; each section and term carries the clause a comment
// names (data-clause). The agreement's own dates are dates, with no countdown: the text must
// not change from one day to the next.

import { el } from './dom.js';
import { formatWhen, t } from './i18n.js';
import { SECTIONS, partyName, sideText, termLabel } from './agreement_labels.js';

function dateText(value) {
  return value ? formatWhen(value, 'date') || value : '';
}

/** One term as a sentence: "李四 于 2026年12月31日 前 在… 以…方式 向 张三 支付人民币 5000.00 元". */
export function termText(content, o) {
  const bits = [partyName(content, o.obligor) || o.obligor];
  if (o.deadline) bits.push(t('agreement.term_deadline', { date: dateText(o.deadline) }));
  if (o.place) bits.push(t('agreement.term_place', { place: o.place }));
  if (o.method) bits.push(t('agreement.term_method', { method: o.method }));
  bits.push(t('agreement.term_to', { name: partyName(content, o.obligee) || o.obligee }));
  if (o.amount) bits.push(t('agreement.term_amount', { amount: o.amount }));
  if (o.act) bits.push(o.act);
  return bits.join(' ');
}

function partyText(p) {
  const bits = [`${sideText(p.side)}：${p.name || ''}`];
  if (p.kind === 'organisation') {
    if (p.legal_representative) bits.push(t('agr.text.representative', { name: p.legal_representative }));
  } else {
    if (p.sex) bits.push(t(`agr.sex.${p.sex}`));
    if (p.date_of_birth) bits.push(t('agr.text.born', { date: dateText(p.date_of_birth) }));
    if (p.ethnicity) bits.push(p.ethnicity);
    if (p.id_number) bits.push(t('agr.text.id', { type: t(`agr.id_type.${p.id_type || 'resident_id'}`), number: p.id_number }));
  }
  if (p.address) bits.push(t('agr.text.address', { address: p.address }));
  if (p.phone) bits.push(t('agr.text.phone', { phone: p.phone }));
  return bits.join('，');
}

function paragraph(text, empty = true) {
  return el('p', { class: text ? 'agreement-para' : 'agreement-para hint' }, [text || (empty ? t('agr.text.empty') : '')]);
}

/** The readable agreement: <div data-testid="agreement-text"> with one <section> per heading. */
export function agreementText(content) {
  const root = el('div', { class: 'agreement-text', 'data-testid': 'agreement-text' });
  const section = (key) => {
    const spec = SECTIONS.find((s) => s.key === key);
    const node = el('section', { class: 'agreement-section', 'data-section': key, 'data-clause': key === 'terms' ? undefined : key },
      [el('h3', {}, [t(spec.heading)])]);
    root.append(node);
    return node;
  };
  const parties = section('parties');
  for (const p of content.parties || []) parties.append(el('p', { 'data-party': p.id }, [partyText(p)]));

  const facts = section('facts');
  facts.removeAttribute('data-clause');
  facts.append(
    el('h4', { 'data-clause': 'facts' }, [t('agr.f.facts')]), paragraph(content.facts),
    el('h4', { 'data-clause': 'issues' }, [t('agr.f.issues')]), paragraph(content.issues),
  );
  section('responsibility').append(paragraph(content.responsibility));

  const terms = el('ol', { class: 'agreement-terms', 'data-testid': 'agreement-terms' });
  (content.obligations || []).forEach((o, i) => terms.append(el('li', { 'data-clause': `term.${o.id}`, 'data-term': o.id }, [
    el('h4', {}, [termLabel(content, o, i)]), el('p', {}, [termText(content, o)])])));
  const termSection = section('terms');
  if (!(content.obligations || []).length) termSection.append(paragraph(''));
  termSection.append(terms);
  section('other_terms').append(paragraph(content.other_terms));
  return root;
}
