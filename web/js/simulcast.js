// Simulcast for the mediation page: our camera goes to the media worker as two VP8 layers on
// the one video m-line (320x240 and 640x480), and the worker forwards each receiver the layer
// its link carries (docs/media.md "Simulcast"). The layers are announced the way Chromium's
// legacy simulcast takes them, in our own offer before setLocalDescription:
// `a=ssrc-group:SIM low high`, one `a=ssrc-group:FID media rtx` per layer and their `a=ssrc`
// lines (docs/decisions.md: aiortc neither parses nor answers rid/simulcast). Chromium then
// encodes one stream per SSRC; `configureLayers` sets each one's size and bitrate.

/** Lowest first, as in the SIM group. Chromium gives 640x480 two layers at most. */
export const LAYERS = [
  { scaleResolutionDownBy: 2, maxBitrate: 150000 },
  { scaleResolutionDownBy: 1, maxBitrate: 500000 },
];

function randomSsrc(taken) {
  const values = new Uint32Array(1);
  do crypto.getRandomValues(values); while (values[0] === 0 || taken.has(values[0]));
  taken.add(values[0]);
  return values[0];
}

/**
 * `sdp` (our offer) with the first sending video m-line announcing `count` layers. Unchanged
 * when there is no such m-line or it has no SSRC (no camera).
 */
export function withSimulcast(sdp, count = LAYERS.length) {
  const sections = sdp.split(/\r\n(?=m=)/);
  const index = sections.findIndex((s) => s.startsWith('m=video') && /\r\na=(sendrecv|sendonly)\b/.test(s)
    && /\r\na=ssrc:/.test(s) && !/\r\na=ssrc-group:SIM /.test(s));
  if (index < 0 || count < 2) return sdp;
  const lines = sections[index].split('\r\n').filter((l) => l !== '');
  const fid = lines.find((l) => l.startsWith('a=ssrc-group:FID '));
  const firstSsrc = Number(lines.find((l) => l.startsWith('a=ssrc:')).slice(7).split(' ')[0]);
  const [media, rtx] = fid ? fid.split(' ').slice(1).map(Number) : [firstSsrc, null];
  // What Chromium said about its SSRC (cname, msid), said again for every new one.
  const about = lines.filter((l) => l.startsWith(`a=ssrc:${media} `)).map((l) => l.slice(`a=ssrc:${media} `.length));
  const taken = new Set([media, rtx]);
  const layers = [media];
  const repairs = [rtx];
  for (let i = 1; i < count; i += 1) {
    layers.push(randomSsrc(taken));
    repairs.push(rtx === null ? null : randomSsrc(taken));
  }
  const kept = lines.filter((l) => !l.startsWith('a=ssrc:') && !l.startsWith('a=ssrc-group:'));
  const added = [`a=ssrc-group:SIM ${layers.join(' ')}`];
  layers.forEach((ssrc, i) => {
    if (repairs[i] !== null) added.push(`a=ssrc-group:FID ${ssrc} ${repairs[i]}`);
  });
  for (const ssrc of [...layers, ...repairs.filter((s) => s !== null)]) {
    for (const attribute of about) added.push(`a=ssrc:${ssrc} ${attribute}`);
  }
  sections[index] = [...kept, ...added].join('\r\n') + (index === sections.length - 1 ? '\r\n' : '');
  return sections.join('\r\n');
}

/** After the answer: each layer's scale and bitrate (Chromium starts them all at full size). */
export async function configureLayers(sender) {
  if (!sender || !sender.track) return;
  const parameters = sender.getParameters();
  if (!parameters.encodings || parameters.encodings.length < 2) return;
  parameters.encodings.forEach((encoding, i) => Object.assign(encoding, LAYERS[Math.min(i, LAYERS.length - 1)]));
  try {
    await sender.setParameters(parameters);
  } catch (err) {
    console.warn('simulcast layers not configured', err);
  }
}
