// Pure helpers of the playback page (no DOM): the recording's one clock, segments on it, mm:ss.
// Every segment's start_ms/end_ms and every timeline event's at_ms are milliseconds since the
// recording started (docs/protocol.md, "Recording"), so one global time t_ms places every player.

/** "mm:ss" of a millisecond offset (minutes keep counting past 59: "75:03"); "--:--" if unknown. */
export function formatClock(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '--:--';
  const total = Math.floor(ms / 1000);
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
}

/** The participant's segments, well-formed and in time order. */
export function sortedSegments(segments) {
  return (Array.isArray(segments) ? segments : [])
    .filter((s) => s && typeof s.url === 'string' && Number.isFinite(s.start_ms) && Number.isFinite(s.end_ms))
    .filter((s) => s.end_ms > s.start_ms)
    .sort((a, b) => a.start_ms - b.start_ms);
}

/**
 * The index of the segment containing t (start_ms <= t < end_ms), or -1 for a gap. Segments are
 * consecutive files; where two touch, the later one wins at the boundary.
 */
export function segmentIndexAt(segments, t) {
  for (let i = segments.length - 1; i >= 0; i -= 1) {
    const s = segments[i];
    if (t >= s.start_ms && t < s.end_ms) return i;
  }
  return -1;
}

/** Where the player of a segment should be at global time t, in seconds of its file. */
export function localSeconds(segment, t) {
  return Math.max(0, (t - segment.start_ms) / 1000);
}

/** The recording's length: the longest of duration_ms, the last segment end and ended - started. */
export function durationMs(data) {
  const recording = (data && data.recording) || {};
  let ms = Number.isFinite(recording.duration_ms) ? recording.duration_ms : 0;
  for (const p of (data && data.participants) || []) {
    for (const s of sortedSegments(p.segments)) ms = Math.max(ms, s.end_ms);
  }
  if (!ms && recording.started_at && recording.ended_at) {
    const span = Date.parse(recording.ended_at) - Date.parse(recording.started_at);
    if (Number.isFinite(span) && span > 0) ms = span;
  }
  return ms;
}

/**
 * A timeline event's offset: its at_ms, else its wall-clock `at` minus the recording's start;
 * null when neither is usable.
 */
export function eventOffsetMs(event, startedAt) {
  if (event && Number.isFinite(event.at_ms)) return Math.max(0, event.at_ms);
  const at = event && Date.parse(event.at);
  const start = Date.parse(startedAt);
  if (Number.isFinite(at) && Number.isFinite(start)) return Math.max(0, at - start);
  return null;
}
