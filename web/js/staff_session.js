// The staff pages' socket start (console, supervisor): the loading view while connecting, a
// sign-in prompt when the token is refused, a retry button on any other failure.
import { connectSocket, errorText } from './api.js';
import { byTestId as $ } from './dom.js';
import { showNotice, showRawNotice, showView } from './views.js';

/**
 * @param {string} token
 * @param {() => void} onTokenRefused  e.g. drop the session and show the sign-in form
 * @returns {Promise<object|null>} the connected socket, or null after showing the failure
 */
export async function connectStaff(token, onTokenRefused) {
  showView('loading');
  showNotice($('loading-error'), null);
  $('loading-retry').hidden = true;
  try {
    return await connectSocket(token, {
      onWaiting: () => showNotice($('conn-status'), 'conn.connecting', undefined, 'info'),
    });
  } catch (err) {
    if (err.isTokenError) {
      onTokenRefused();
    } else {
      showRawNotice($('loading-error'), errorText(err));
      $('loading-retry').hidden = false;
    }
    return null;
  }
}
