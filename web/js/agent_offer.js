// The lawyer's incoming-case offer (offer:new): a summary, a visible countdown, accept or decline.
// While an offer waits, the tab title flashes so a lawyer in another tab notices; nothing plays.

import { emit, errorText } from './api.js';
import { findEntry } from './catalogue.js';
import { byTestId } from './dom.js';
import { has, setLocalized, setText, t } from './i18n.js';
import { showNotice, showRawNotice } from './views.js';

// Used when an offer carries neither timeout_s nor a usable deadline_ms.
const DEFAULT_OFFER_S = 20;
const TICK_MS = 250;
const FLASH_MS = 1000;

const $ = (id) => byTestId(id);

/** Show a case's priority badge (data-priority for styling) and its callback badge. */
export function renderBadges(priorityEl, callbackEl, caseView) {
  const priority = caseView.priority || 'normal';
  priorityEl.dataset.priority = priority;
  const key = `priority.${priority}`;
  if (has(key)) setText(priorityEl, key);
  else priorityEl.textContent = priority;
  callbackEl.hidden = !caseView.callback;
}

/** Show a case's language or dialect (Mandarin when absent). */
export function renderLanguage(el, catalogue, code) {
  setLocalized(el, findEntry(catalogue, 'languages', code || 'zh'));
}

export class OfferPanel {
  /**
   * @param {object} opts
   * @param {() => object} opts.socket  the current socket
   * @param {() => object} opts.catalogue  the catalogue (or null)
   * @param {(caseView: object, room: object) => void} opts.onAccepted  start the consultation
   * @param {() => void} opts.onChange  an offer appeared or went (take-next follows it)
   * @param {HTMLElement} opts.notice  where outcomes are reported once the panel is gone
   */
  constructor({ socket, catalogue, onAccepted, onChange, notice }) {
    this.socket = socket;
    this.catalogue = catalogue;
    this.onAccepted = onAccepted;
    this.onChange = onChange;
    this.notice = notice;
    this.panel = $('offer-panel');
    // {caseView, deadline, answering, timer, flashTimer} while an offer waits, else null.
    this.offer = null;
    $('offer-accept').addEventListener('click', () => this.answer('accept'));
    $('offer-decline').addEventListener('click', () => this.answer('decline'));
  }

  /** Whether an offer waits for an answer. */
  get pending() {
    return this.offer !== null;
  }

  /** The id of the case on offer, or null. */
  get caseId() {
    return this.offer ? this.offer.caseView.id : null;
  }

  /** offer:new {case, deadline_ms, timeout_s} (also the `offer` of an agent:resume ack). */
  show({ case: caseView, deadline_ms: deadlineMs, timeout_s: timeoutS } = {}) {
    if (!caseView) return;
    // The same offer again (resume after a reconnect): keep the panel and its clock.
    if (this.offer && this.offer.caseView.id === caseView.id) return;
    this.hide();
    // deadline_ms is the server's clock: trusted when it agrees with ours (it then also covers an
    // offer re-sent in agent:resume after a reload); otherwise count timeout_s from arrival.
    const now = Date.now();
    const fullMs = (Number(timeoutS) > 0 ? Number(timeoutS) : DEFAULT_OFFER_S) * 1000;
    const plausible = Number.isFinite(deadlineMs) && deadlineMs > now && deadlineMs - now <= fullMs + 2000;
    const deadline = plausible ? deadlineMs : now + fullMs;
    const offer = { caseView, deadline, answering: false, timer: null, flashTimer: null };
    this.offer = offer;

    const catalogue = this.catalogue();
    renderBadges($('offer-priority'), $('offer-callback'), caseView);
    setLocalized($('offer-category'), findEntry(catalogue, 'categories', caseView.category));
    setLocalized($('offer-mode'), findEntry(catalogue, 'modes', caseView.mode));
    setLocalized($('offer-region'), findEntry(catalogue, 'regions', caseView.region));
    renderLanguage($('offer-language'), catalogue, caseView.language);
    showNotice($('offer-error'), null);
    this.setButtons(true);
    this.panel.hidden = false;
    this.onChange();

    const tick = () => {
      const seconds = Math.max(0, Math.ceil((offer.deadline - Date.now()) / 1000));
      setText($('offer-countdown'), 'agent.offer.countdown', { n: seconds });
      // An answer in flight decides the outcome, not the clock.
      if (seconds === 0 && !offer.answering) this.missed();
    };
    tick();
    offer.timer = setInterval(tick, TICK_MS);
    let flash = true;
    document.title = t('agent.offer.flash_title');
    offer.flashTimer = setInterval(() => {
      flash = !flash;
      document.title = flash ? t('agent.offer.flash_title') : t('agent.page_title');
    }, FLASH_MS);
    $('offer-accept').focus();
  }

  /** Take the panel down and stop its timers (no notice). */
  hide() {
    const offer = this.offer;
    if (!offer) return;
    clearInterval(offer.timer);
    clearInterval(offer.flashTimer);
    this.offer = null;
    document.title = t('agent.page_title');
    const hadFocus = this.panel.contains(document.activeElement);
    this.panel.hidden = true;
    this.onChange();
    if (hadFocus) $('take-next').focus();
  }

  /** offer:expired, or the countdown ran out: the case went to the next lawyer. */
  missed(caseId) {
    if (!this.offer || (caseId && caseId !== this.offer.caseView.id)) return;
    this.hide();
    showNotice(this.notice, 'agent.offer.missed', undefined, 'error');
  }

  setButtons(enabled) {
    $('offer-accept').disabled = !enabled;
    $('offer-decline').disabled = !enabled;
  }

  /** offer:accept (its ack is like queue:take_next's) or offer:decline. */
  async answer(event) {
    const offer = this.offer;
    if (!offer || offer.answering) return;
    offer.answering = true;
    this.setButtons(false);
    showNotice($('offer-error'), null);
    showNotice(this.notice, null);
    try {
      const ack = await emit(this.socket(), `offer:${event}`, { case_id: offer.caseView.id });
      if (this.offer === offer) this.hide();
      if (event === 'accept') this.onAccepted(ack.case, ack.room);
      else showNotice(this.notice, 'agent.offer.declined');
    } catch (err) {
      if (err.code === 'offer_gone' || this.offer !== offer) {
        if (this.offer === offer) this.hide();
        showRawNotice(this.notice, errorText(err));
        return;
      }
      offer.answering = false;
      this.setButtons(true);
      showRawNotice($('offer-error'), errorText(err));
      // The deadline may have passed while we waited for the reply.
      if (Date.now() >= offer.deadline) this.missed();
    }
  }
}
