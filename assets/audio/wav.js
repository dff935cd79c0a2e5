// A WAV file (RIFF, PCM 16-bit little-endian) in one ArrayBuffer, and saving bytes as a download from the browser.
// The header is the canonical 44 bytes; the samples are written straight into the same buffer (no copy of a
// conversation's worth of audio).

const HEADER_BYTES = 44;

// An empty WAV of `frames` frames: write interleaved samples into `samples`, then hand `buffer` on.
export function wavBuffer(frames, channels, sampleRate) {
  const dataBytes = frames * channels * 2;
  const buffer = new ArrayBuffer(HEADER_BYTES + dataBytes);
  const view = new DataView(buffer);
  const ascii = (offset, text) => { for (let i = 0; i < text.length; i++) view.setUint8(offset + i, text.charCodeAt(i)); };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);                          // fmt chunk size
  view.setUint16(20, 1, true);                           // PCM
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * 2, true);   // byte rate
  view.setUint16(32, channels * 2, true);                // block align
  view.setUint16(34, 16, true);                          // bits per sample
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  return { buffer, samples: new Int16Array(buffer, HEADER_BYTES, frames * channels) };
}

// The file is made here and saved by the browser (Blob + object URL): nothing goes to a server.
export function saveDownload(bytes, filename, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.style.display = 'none';
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);  // revoking at once can cancel a download still starting
}

// voice-ui-audio-YYYYMMDD-HHMMSS.wav (UTC), like the transcript's voice-ui-transcript-... names.
export function audioFilename(date = new Date()) {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `voice-ui-audio-${stamp}.wav`;
}
