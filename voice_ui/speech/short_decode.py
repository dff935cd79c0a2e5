"""Whisper on a short turn without the 30-second window: the encoder reads the turn plus a second of silence
(at least 10 s) instead of a padded 30 s.

faster-whisper pads every input to Whisper's 30 s window, so a 2 s turn costs the encoder a full 30 s
(~1.2 s of CPU for tiny.en int8 on this 2-core machine, most of a turn's cost). CTranslate2's encoder accepts
fewer frames (as whisper.cpp's `audio_ctx` does): 10 s cost ~0.3 s of CPU for the whole decode and give the
same text as the full window on the test recordings and on speech cut mid-word (tests/speech). Shorter contexts
(3-5 s) or zero-padded features made the decoder repeat the sentence or drop a word on some cuts, hence the
floor and the real silence.
It is one greedy decode without timestamps; faster-whisper's rules decide what counts as no speech, and a
result that fails its quality checks (log probability, compression ratio) or ends by repeating itself returns
None, so the caller decodes the usual way.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000
FRAMES_PER_S = 100          # Whisper's mel frames per second
MAX_SHORT_S = 20.0          # longer turns take faster-whisper's path (windows, seeking, fallbacks)
HEADROOM_S = 1              # silence frames after the audio: Whisper expects to hear the end of speech
MIN_FRAMES = 1000           # at least 10 s: with 3-5 s the decoder repeated or dropped words on test cuts
TOKENS_PER_S = 12           # speech runs at ~3-5 tokens a second
NO_SPEECH_THRESHOLD, LOG_PROB_THRESHOLD, COMPRESSION_RATIO_THRESHOLD = 0.6, -1.0, 2.4  # faster-whisper's


def can_decode_short(model: Any, audio: np.ndarray, language: str | None) -> bool:
    """A real faster-whisper model, a turn short enough, and a known language (or an English-only model)."""
    inner = getattr(model, 'model', None)
    return (audio.size <= MAX_SHORT_S * SAMPLE_RATE and hasattr(model, 'feature_extractor')
            and hasattr(model, 'hf_tokenizer') and inner is not None
            and (bool(language) or not getattr(inner, 'is_multilingual', True)))


def decode_short(model: Any, audio: np.ndarray, language: str | None, prompt: str | None) -> str | None:
    """The transcript of `audio` (16 kHz float32), '' for no speech, or None when the short decode is unsure."""
    import ctranslate2
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

    # Real silence after the turn (in the audio, so its log-mel is silence's, not zeros): without it a turn cut
    # right after its last word can set the decoder repeating the sentence.
    features = model.feature_extractor(np.concatenate([audio, np.zeros(HEADROOM_S * SAMPLE_RATE, np.float32)]))
    frames = max(MIN_FRAMES, math.ceil(features.shape[-1] / FRAMES_PER_S) * FRAMES_PER_S)
    padded = np.zeros((1, features.shape[0], frames), np.float32)
    padded[0, :, :features.shape[-1]] = features[:, :frames]
    encoded = model.model.encode(ctranslate2.StorageView.from_array(padded))
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task='transcribe',
                          language=language or 'en')
    tokens = list(tokenizer.sot_sequence) + [tokenizer.no_timestamps]
    if prompt and prompt.strip():
        tokens = [tokenizer.sot_prev] + tokenizer.encode(' ' + prompt.strip())[-(model.max_length // 2 - 1):] + tokens
    # A turn says a few tokens a second: a generous cap keeps a decoder that loops from running to 448 tokens.
    most = min(model.max_length, len(tokens) + int(TOKENS_PER_S * audio.size / SAMPLE_RATE) + 16)
    result = model.model.generate(encoded, [tokens], beam_size=1, max_length=most,
                                  suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
                                  return_scores=True, return_no_speech_prob=True)[0]
    ids = result.sequences_ids[0]
    text = tokenizer.decode(ids).strip()
    avg_log_prob = result.scores[0]  # length-normalised cumulative log probability
    if not any(char.isalnum() for char in text):
        return ''  # nothing or only punctuation (" . . ."): how Whisper transcribes silence on some CPUs' kernels
    if result.no_speech_prob > NO_SPEECH_THRESHOLD and avg_log_prob < LOG_PROB_THRESHOLD:
        return ''  # faster-whisper skips such a segment: silence or noise
    if avg_log_prob < LOG_PROB_THRESHOLD or (text and get_compression_ratio(text) > COMPRESSION_RATIO_THRESHOLD):
        return None  # unsure or repeating itself: faster-whisper's temperature fallback does better
    return None if repeats(text) else text


def repeats(text: str) -> bool:
    """Whether `text` ends by saying its last three or more words twice: a decoder looping, not a person."""
    words = [word.strip('.,!?;:').lower() for word in text.split()]
    return any(words[-2 * k:-k] == words[-k:] for k in range(3, len(words) // 2 + 1))
