// What the staff pages (console, supervisor) share: the sign-in form's submission, and the
// socket start with the loading view, a sign-in prompt when the token is refused and a retry
// button on any other failure.
import { connectSocket, errorText, postJSON } from './api.js';
import { byTestId as $ } from './dom.js';
import { clearFormErrors, setFieldError } from './form.js';
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

/**
 * Read and check the sign-in form, then POST /api/login. Field and server errors are shown in
 * the form; the reply ({token, user}) is returned on success, null otherwise.
 * @returns {Promise<{token: string, user: object}|null>}
 */
export async function submitLogin() {
  clearFormErrors(document.getElementById('login-form'));
  showNotice($('login-error'), null);
  const username = $('login-username').value.trim();
  const password = $('login-password').value;
  const missing = [];
  if (!username) missing.push($('login-username'));
  if (!password) missing.push($('login-password'));
  for (const field of missing) setFieldError(field, 'login.required');
  if (missing.length) {
    missing[0].focus();
    return null;
  }
  const submit = $('login-submit');
  submit.disabled = true;
  try {
    const reply = await postJSON('/api/login', { username, password });
    $('login-password').value = '';
    return reply;
  } catch (err) {
    showRawNotice($('login-error'), errorText(err));
    return null;
  } finally {
    submit.disabled = false;
  }
}
