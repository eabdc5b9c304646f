// The intake catalogue (GET /api/catalogue): service types, categories, modes, regions, outcomes,
// each a list of {code, zh, en}. Loaded once per page; labels follow the language switch.

import { getJSON } from './api.js';
import { setLocalized } from './i18n.js';

let cached = null;

/** The catalogue, fetched once; a failed fetch is retried on the next call. */
export function loadCatalogue() {
  if (!cached) {
    cached = getJSON('/api/catalogue').catch((err) => {
      cached = null;
      throw err;
    });
  }
  return cached;
}

/** The entry of catalogue[list] with this code, or a stand-in showing the bare code. */
export function findEntry(catalogue, list, code) {
  const entries = (catalogue && catalogue[list]) || [];
  return entries.find((entry) => entry.code === code) || { code, zh: code, en: code };
}

/** Fill a <select> with catalogue entries after its first (placeholder) option, keeping the choice. */
export function fillSelect(select, entries) {
  const chosen = select.value;
  const placeholder = select.options[0] && select.options[0].value === '' ? select.options[0] : null;
  select.replaceChildren(...(placeholder ? [placeholder] : []));
  for (const entry of entries || []) {
    const option = document.createElement('option');
    option.value = entry.code;
    setLocalized(option, entry);
    select.append(option);
  }
  if ([...select.options].some((option) => option.value === chosen)) select.value = chosen;
}

/** Fill every <select data-catalogue="list"> under root. */
export function fillCatalogueSelects(root, catalogue) {
  for (const select of root.querySelectorAll('select[data-catalogue]')) {
    fillSelect(select, catalogue[select.dataset.catalogue]);
  }
}
