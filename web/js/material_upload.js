// Uploading one material of an application (the raw file as the body; the server checks its
// type by its first bytes and caps its size), shared by /apply and /my.

import { ApiError } from './api.js';

/** POST the file; resolves to the stored material, or throws the server's ApiError. */
export async function uploadMaterial(applicationId, code, file, token) {
  const response = await fetch(
    `/api/applications/${applicationId}/materials/${code}?filename=${encodeURIComponent(file.name)}`,
    { method: 'POST', body: file, headers: { Authorization: `Bearer ${token}` } });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = body && body.error ? body.error : { code: 'internal' };
    throw new ApiError(error.code, error.message, error.field, response.status);
  }
  return body;
}

/** Open the printable notice in a new window: it needs the token, so it is fetched first. */
export async function openNotice(applicationId, token) {
  const response = await fetch(`/api/applications/${applicationId}/notice`,
    { headers: { Authorization: `Bearer ${token}` } });
  const page = await response.text();
  const url = URL.createObjectURL(new Blob([page], { type: 'text/html' }));
  window.open(url, '_blank', 'noopener');
}
