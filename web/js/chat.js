// Text chat of a room: history, live messages (deduplicated by id) and a send box.
// The server says who sent a message; the page only decides whether it was "me".

import { emit, errorText } from './api.js';
import { el } from './dom.js';
import { applyTranslations, setText, setTime } from './i18n.js';
import { showNotice, showRawNotice } from './views.js';

export class Chat {
  /**
   * @param {object} opts
   * @param {import('/static/vendor/socket.io.esm.min.js').Socket} opts.socket
   * @param {string} opts.roomId
   * @param {string} opts.selfRole  role of this page's user; messages with that sender role are "mine"
   * @param {HTMLElement} opts.container  where the chat is rendered
   */
  constructor({ socket, roomId, selfRole, container }) {
    this.socket = socket;
    this.roomId = roomId;
    this.selfRole = selfRole;
    this.seen = new Set();
    this.sending = false;
    this.render(container);
    this.onMessage = (message) => {
      if (message && message.room_id === this.roomId) this.append(message);
    };
    socket.on('chat:message', this.onMessage);
  }

  render(container) {
    const title = el('h3', { id: 'chat-title', class: 'chat-title' });
    setText(title, 'chat.title');
    this.log = el('ol', {
      class: 'chat-log',
      'data-testid': 'chat-log',
      'aria-live': 'polite',
      'aria-relevant': 'additions',
      'aria-labelledby': 'chat-title',
      tabindex: '0',
    });
    this.empty = el('p', { class: 'chat-empty', 'data-testid': 'chat-empty' });
    setText(this.empty, 'chat.empty');
    const label = el('label', { for: 'chat-input', class: 'visually-hidden' });
    setText(label, 'chat.input_label');
    this.input = el('input', {
      id: 'chat-input',
      type: 'text',
      maxlength: '2000',
      autocomplete: 'off',
      enterkeyhint: 'send',
      'data-testid': 'chat-input',
      'data-i18n-placeholder': 'chat.placeholder',
    });
    this.sendButton = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'chat-send' });
    setText(this.sendButton, 'chat.send');
    this.form = el('form', { class: 'chat-form', novalidate: '' }, [label, this.input, this.sendButton]);
    this.error = el('p', { class: 'notice', role: 'alert', 'data-testid': 'chat-error', hidden: '' });
    this.root = el('section', { class: 'chat', 'aria-labelledby': 'chat-title' }, [
      title,
      this.empty,
      this.log,
      this.form,
      this.error,
    ]);
    container.replaceChildren(this.root);
    applyTranslations(this.root);
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
  }

  /** Show earlier messages (from case:resume / agent:resume). */
  load(history = []) {
    for (const message of history) {
      if (message.room_id === undefined || message.room_id === this.roomId) this.append(message);
    }
  }

  /** Add one message unless it is already shown. */
  append(message) {
    if (!message || this.seen.has(message.id)) return;
    this.seen.add(message.id);
    const sender = message.sender || {};
    const mine = sender.role === this.selfRole;
    const who = el('span', { class: 'msg-sender' });
    if (mine) {
      setText(who, 'chat.you');
    } else {
      const role = el('span');
      setText(role, `role.${sender.role || 'unknown'}`);
      who.append(role, ` ${sender.name || ''}`);
    }
    const time = el('time', { class: 'msg-time' });
    setTime(time, message.at, 'short');
    const text = el('p', { class: 'msg-text' });
    text.textContent = message.text;
    const item = el('li', { class: mine ? 'msg msg-self' : 'msg msg-peer', 'data-id': String(message.id) }, [
      el('div', { class: 'msg-meta' }, [who, ' ', time]),
      text,
    ]);
    this.log.append(item);
    this.empty.hidden = true;
    this.log.scrollTop = this.log.scrollHeight;
  }

  async send() {
    const text = this.input.value.trim();
    if (!text || this.sending) return;
    this.sending = true;
    this.sendButton.disabled = true;
    showNotice(this.error, null);
    try {
      const ack = await emit(this.socket, 'chat:send', { room_id: this.roomId, text });
      if (ack.message) this.append(ack.message);
      this.input.value = '';
    } catch (err) {
      showRawNotice(this.error, errorText(err));
    } finally {
      this.sending = false;
      this.sendButton.disabled = false;
      this.input.focus();
    }
  }

  /** Stop listening; the DOM stays until the page replaces it. */
  destroy() {
    this.socket.off('chat:message', this.onMessage);
    this.input.disabled = true;
    this.sendButton.disabled = true;
  }
}
