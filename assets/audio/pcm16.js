// PCM16 (little-endian, as every browser platform is) to float samples, and base64 for the JSON wire.
// (Float to PCM16 happens in the capture worklet, where the samples are.)

export function pcm16ToFloat(int16) {
  const out = new Float32Array(int16.length);
  for (let i = 0; i < int16.length; i++) out[i] = int16[i] / 0x8000;
  return out;
}

// String.fromCharCode.apply has an argument limit: convert in slices.
export function bytesToBase64(bytes) {
  let binary = '';
  const SLICE = 0x8000;
  for (let i = 0; i < bytes.length; i += SLICE) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + SLICE));
  }
  return btoa(binary);
}

export function base64ToBytes(base64) {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function pcm16ToBase64(int16) {
  return bytesToBase64(new Uint8Array(int16.buffer, int16.byteOffset, int16.byteLength));
}

export function base64ToPcm16(base64) {
  const bytes = base64ToBytes(base64);
  return new Int16Array(bytes.buffer, 0, bytes.length >> 1);
}
