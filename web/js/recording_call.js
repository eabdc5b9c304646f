// Recording in the consultation call, for the citizen page and the lawyer console alike
// (docs/protocol.md, "Recording"): the consent dialog and the indicator in the call header.
//
// One controller per page. The page tells it about each RoomView (`case:matched`, a resume ack,
// take-next, an accepted offer) with update(room), mounts the indicator into each new call with
// mount(callRoot), and reset()s it when the consultation is over. The socket pushes
// `recording:notice` and `recording:state`; the notice may come before or after the RoomView, so
// what is known is kept per room id.

import { emit, errorText } from './api.js';
import { ConsentDialog } from './consent.js';
import { el } from './dom.js';
import { applyTranslations, setText } from './i18n.js';

const STATES = new Set(['pending', 'recording', 'off', 'stopped']);

export class CallRecording {
  /**
   * @param {object} opts
   * @param {"citizen" | "lawyer"} opts.role
   * @param {(info: {roomId: string, self: boolean}) => void} [opts.onRefusedRequired]  a required
   *   recording was refused (by this side: self true): the case goes back to the queue
   */
  constructor({ role, onRefusedRequired = () => {} }) {
    this.role = role;
    this.onRefusedRequired = onRefusedRequired;
    this.socket = null;
    this.roomId = null;
    // room_id -> {state, required, notice, decision, reason}
    this.rooms = new Map();
    this.dialog = new ConsentDialog({
      role,
      onDecide: (decision) => this.send(decision),
      onClose: () => this.render(),
    });
    this.dialogRoom = null;
    this.buildIndicator();
    this.onNotice = (event) => this.handleNotice(event);
    this.onState = (event) => this.handleState(event);
  }

  /** Listen on a (new) socket; the previous one, if any, is let go. */
  bind(socket) {
    if (this.socket === socket) return;
    if (this.socket) {
      this.socket.off('recording:notice', this.onNotice);
      this.socket.off('recording:state', this.onState);
    }
    this.socket = socket;
    if (socket) {
      socket.on('recording:notice', this.onNotice);
      socket.on('recording:state', this.onState);
    }
  }

  buildIndicator() {
    this.dot = el('span', { class: 'rec-dot', 'aria-hidden': 'true' }, ['●']);
    this.label = el('span', { class: 'rec-label' });
    this.reopen = el('button', { type: 'button', class: 'btn btn-small rec-reopen', 'data-testid': 'recording-consent-open', hidden: '' });
    setText(this.reopen, 'recording.consent.reopen');
    this.reopen.addEventListener('click', () => this.openDialog(this.roomId));
    this.status = el('span', { class: 'rec-status', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' }, [this.dot, ' ', this.label]);
    this.indicator = el('div', { class: 'rec-indicator', 'data-testid': 'recording-indicator', hidden: '' }, [this.status, this.reopen]);
    applyTranslations(this.indicator);
  }

  /** Put the indicator at the top of a freshly rendered call. */
  mount(callRoot) {
    if (!callRoot) return;
    const header = callRoot.querySelector('.call-header');
    if (header) header.after(this.indicator);
    else callRoot.prepend(this.indicator);
    this.render();
  }

  info(roomId) {
    if (!this.rooms.has(roomId)) {
      this.rooms.set(roomId, { state: null, required: false, notice: null, decision: null, sending: null, reason: null });
    }
    return this.rooms.get(roomId);
  }

  /** A RoomView arrived (match, resume, take-next, offer accepted). */
  update(room) {
    if (!room || !room.room_id) return;
    if (this.roomId !== room.room_id) this.closeDialog();
    this.roomId = room.room_id;
    const rec = room.recording;
    const info = this.info(room.room_id);
    if (rec && typeof rec === 'object') {
      if (STATES.has(rec.state)) info.state = rec.state;
      info.required = Boolean(rec.required);
      if (rec.notice) info.notice = rec.notice;
      info.decision = rec.decision || null;
      if (rec.reason) info.reason = rec.reason;
    }
    this.render();
    if (info.state === 'pending' && !info.decision && info.notice) this.openDialog(room.room_id);
    else if (info.decision || (info.state && info.state !== 'pending')) this.closeDialog(room.room_id);
  }

  handleNotice(event) {
    if (!event || !event.room_id) return;
    const info = this.info(event.room_id);
    info.required = Boolean(event.required);
    if (event.notice) info.notice = event.notice;
    if (!info.state) info.state = 'pending';
    // The notice is pushed on match, possibly before the page has the RoomView: adopt its room.
    if (!this.roomId) this.roomId = event.room_id;
    if (event.room_id !== this.roomId) return;
    this.render();
    if (!info.decision && info.notice) this.openDialog(event.room_id);
  }

  handleState(event) {
    if (!event || !event.room_id || !STATES.has(event.state)) return;
    const info = this.info(event.room_id);
    info.state = event.state;
    info.reason = event.reason || null;
    if (event.room_id !== this.roomId) return;
    this.render();
    if (event.state !== 'pending') this.closeDialog(event.room_id);
    if (event.reason === 'refused' && info.required) this.refusedRequired(event.room_id, info);
  }

  openDialog(roomId) {
    const info = roomId && this.rooms.get(roomId);
    if (!info || !info.notice || info.decision) return;
    this.dialogRoom = roomId;
    this.dialog.open({ notice: info.notice, required: info.required });
    this.render();
  }

  closeDialog(roomId) {
    if (roomId && this.dialogRoom !== roomId) return;
    this.dialogRoom = null;
    this.dialog.close();
  }

  /** recording:consent; throws (with userText) to keep the dialog open with a message. */
  async send(decision) {
    const roomId = this.dialogRoom;
    const info = roomId && this.rooms.get(roomId);
    if (!info || !this.socket) return;
    const version = info.notice ? info.notice.version : undefined;
    // Known at once: the server's reaction (case:requeued, case:ended) may come before the ack.
    info.sending = decision;
    try {
      const ack = await emit(this.socket, 'recording:consent', { room_id: roomId, decision, version });
      info.decision = decision;
      const rec = ack.recording;
      if (rec && typeof rec === 'object') {
        if (STATES.has(rec.state)) info.state = rec.state;
        if ('required' in rec) info.required = Boolean(rec.required);
        if (rec.notice) info.notice = rec.notice;
        if (rec.decision) info.decision = rec.decision;
        if (rec.reason) info.reason = rec.reason;
      }
    } catch (err) {
      info.sending = null;
      // Already decided (another tab, a resumed session) or the room is gone: nothing to ask.
      if (['invalid_state', 'room_closed', 'not_in_room'].includes(err.code)) {
        if (err.code === 'invalid_state' && !info.decision) info.decision = decision;
        this.render();
        return;
      }
      err.userText = errorText(err);
      throw err;
    }
    this.render();
    // A refusal where recording is required sends the case back to the queue. The citizen is
    // told by `case:requeued`; the lawyer has no such event, so the console is told here.
    if (decision === 'refused' && info.required) this.refusedRequired(roomId, info);
  }

  refusedRequired(roomId, info) {
    if (info.requeued) return;
    info.requeued = true;
    this.onRefusedRequired({ roomId, self: info.decision === 'refused' });
  }

  /** This participant's own decision in the current room (granted, refused or null). */
  get decision() {
    const info = this.roomId ? this.rooms.get(this.roomId) : null;
    return info ? info.decision || info.sending || null : null;
  }

  render() {
    const info = this.roomId ? this.rooms.get(this.roomId) : null;
    if (!info || !info.state) {
      this.indicator.hidden = true;
      this.reopen.hidden = true;
      return;
    }
    this.indicator.hidden = false;
    this.indicator.dataset.state = info.state;
    let key = `recording.indicator.${info.state}`;
    if (info.state === 'off' && info.reason === 'refused') {
      key = info.decision === 'refused' ? 'recording.indicator.off_self_refused' : 'recording.indicator.off_refused';
    } else if (info.state === 'pending' && info.decision === 'granted') {
      key = 'recording.indicator.pending_granted';
    }
    setText(this.label, key);
    this.dot.hidden = info.state !== 'recording';
    this.reopen.hidden = !(info.state === 'pending' && !info.decision && info.notice && !this.dialog.isOpen);
  }

  /** The consultation is over (ended, transferred, requeued, signed out): forget the room. */
  reset() {
    this.closeDialog();
    this.roomId = null;
    this.rooms.clear();
    this.render();
  }
}
