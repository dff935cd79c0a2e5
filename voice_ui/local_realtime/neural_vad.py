"""Neural voice activity detection for turn detection: Silero VAD v6, streamed frame by frame per session.

The model is the ONNX file faster-whisper ships (`faster_whisper/assets/silero_vad_v6.onnx`), run with the
onnxruntime faster-whisper depends on: the speech extra brings it and nothing is downloaded. It reads 32 ms
frames of 16 kHz audio (512 samples plus the previous frame's last 64) and carries an LSTM state from frame to
frame, so each session keeps its own state (the 24 kHz -> 16 kHz resampler, the context, `h`/`c`) and every
frame is read exactly once. One inference session per process is shared: `run` is thread-safe.

Same interface as the energy detector (`feed` -> `VadEvent`s, `reset`, `speaking`, `position_ms`) plus work
for a worker: a call with more than `INLINE_FRAMES` frames costs more than the event loop should spend, so
`feed` queues the audio and `take_work` hands out a `ScoreVoice` job (pure: it returns the new model state
rather than writing it); `scored` applies its result in order, and a job of a detector reset meanwhile counts
for nothing. The GA parameters mean what they mean for the service: `threshold` is the speech probability
(0.5 by default, Silero's own), `prefix_padding_ms` is audio kept before the onset, `silence_duration_ms` the
pause that ends the turn.
"""
from __future__ import annotations

import functools
import importlib.util
import pathlib
from dataclasses import dataclass, field

import numpy as np

from ..pcm import pcm16_to_float
from ..protocol import BYTES_PER_MS, SAMPLE_RATE
from .vad import VadEvent

MODEL_RATE = 16_000
FRAME_SAMPLES = 512                        # 32 ms at 16 kHz: the window Silero v6 was trained on
CONTEXT_SAMPLES = 64                       # the end of the previous frame, prepended to each window
FRAME_MS = FRAME_SAMPLES * 1000 // MODEL_RATE
INLINE_FRAMES = 16                         # up to ~512 ms per call is scored at once (~2-3 ms of CPU); more: a worker
MIN_SPEECH_MS = 64                         # two frames above the threshold start a turn: a click is not speech
HYSTERESIS = 0.15                          # inside a turn, speech ends below threshold - 0.15 (Silero's own rule)
ASSET = ('assets', 'silero_vad_v6.onnx')


def model_path() -> pathlib.Path | None:
    """Where faster-whisper keeps the model, found without importing faster-whisper (or None)."""
    spec = importlib.util.find_spec('faster_whisper')
    if spec is None or not spec.submodule_search_locations:
        return None
    path = pathlib.Path(next(iter(spec.submodule_search_locations)), *ASSET)
    return path if path.is_file() else None


@functools.cache
def unavailable_reason() -> str | None:
    """Why the neural detector cannot run here (None: it can). Checked once per process."""
    if model_path() is None:
        return 'faster-whisper (the speech extra) with its bundled Silero VAD model is not installed'
    try:
        shared_model()
    except Exception as exc:  # onnxruntime missing or broken, an unreadable model file
        return f'the Silero VAD model failed to load: {exc}'
    return None


@functools.cache
def shared_model():
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = options.intra_op_num_threads = 1  # 2 cores: one frame batch never takes both
    options.enable_cpu_mem_arena = False  # memory returns once a batch is scored
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(str(model_path()), providers=['CPUExecutionProvider'], sess_options=options)


def new_resampler():
    import av
    return av.AudioResampler(format='flt', layout='mono', rate=MODEL_RATE)


@dataclass
class ModelState:
    """What one session's stream carries from frame to frame."""
    resampler: object = field(default_factory=new_resampler)
    tail: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))   # 16 kHz samples of no whole frame
    context: np.ndarray = field(default_factory=lambda: np.zeros(CONTEXT_SAMPLES, np.float32))
    h: np.ndarray = field(default_factory=lambda: np.zeros((1, 1, 128), np.float32))
    c: np.ndarray = field(default_factory=lambda: np.zeros((1, 1, 128), np.float32))


@dataclass(frozen=True)
class ScoreVoice:
    """Work for a worker thread: speech probabilities of `pcm` (24 kHz PCM16) continuing `state`."""
    pcm: bytes
    state: ModelState

    def run(self) -> tuple[np.ndarray, ModelState]:
        return score(self.pcm, self.state)


def score(pcm: bytes, state: ModelState) -> tuple[np.ndarray, ModelState]:
    """One speech probability per whole 32 ms frame, and the state after them. The resampler is the one
    object advanced in place: only one job per detector is ever in flight, and a reset makes a new one."""
    import av
    if not pcm:
        return np.zeros(0, np.float32), state
    frame = av.AudioFrame.from_ndarray(pcm16_to_float(pcm).reshape(1, -1), format='flt', layout='mono')
    frame.sample_rate = SAMPLE_RATE
    pieces = [state.tail] + [out.to_ndarray().reshape(-1) for out in state.resampler.resample(frame)]
    samples = np.concatenate(pieces).astype(np.float32, copy=False)
    whole = len(samples) // FRAME_SAMPLES * FRAME_SAMPLES
    if not whole:
        return np.zeros(0, np.float32), ModelState(state.resampler, samples, state.context, state.h, state.c)
    frames = samples[:whole].reshape(-1, FRAME_SAMPLES)
    contexts = np.concatenate([state.context[None], frames[:-1, -CONTEXT_SAMPLES:]])
    windows = np.ascontiguousarray(np.concatenate([contexts, frames], axis=1))
    # One call for every frame: the model runs its LSTM along the first axis, so a batch equals frame-by-frame
    # calls with the state carried (exactly), at a fraction of the per-call overhead.
    probs, h, c = shared_model().run(None, {'input': windows, 'h': state.h, 'c': state.c})
    return np.asarray(probs, np.float32).reshape(-1), ModelState(
        state.resampler, samples[whole:].copy(), frames[-1, -CONTEXT_SAMPLES:].copy(), h, c)


class NeuralVad:
    kind = 'neural'

    def __init__(self, threshold: float = 0.5, prefix_padding_ms: int = 300, silence_duration_ms: int = 500,
                 origin_ms: int = 0) -> None:
        self.threshold = min(max(float(threshold), 0.0), 1.0)
        self.release = max(self.threshold - HYSTERESIS, 0.01)
        self.prefix_padding_ms = int(prefix_padding_ms)
        self.silence_duration_ms = int(silence_duration_ms)
        self.reset(origin_ms)

    def reset(self, origin_ms: int) -> None:
        """Forget any turn in progress and the stream (after a manual commit or clear); a job in flight is void."""
        self.position_ms = origin_ms   # timeline position of the next unscored frame
        self.state = ModelState()
        self.backlog = bytearray()     # appended audio not yet handed to the model
        self.in_flight: ScoreVoice | None = None
        self.speaking = False
        self._voiced_ms = self._silent_ms = self._onset_ms = 0

    @property
    def backlog_bytes(self) -> int:
        return len(self.backlog) + (len(self.in_flight.pcm) if self.in_flight else 0)

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Audio in; the turn changes it decided now. Large amounts wait for a worker (`take_work`)."""
        self.backlog += pcm
        if self.in_flight is not None or len(self.backlog) > INLINE_FRAMES * FRAME_MS * BYTES_PER_MS:
            return []
        probs, self.state = score(self._take_samples(), self.state)
        return self.decide(probs)

    def take_work(self) -> ScoreVoice | None:
        """The queued audio as one job for a worker, unless one is already out."""
        if self.in_flight is not None or len(self.backlog) < 2:
            return None
        self.in_flight = ScoreVoice(self._take_samples(), self.state)
        return self.in_flight

    def _take_samples(self) -> bytes:
        """The backlog's whole PCM16 samples (an odd byte waits for its other half)."""
        whole = len(self.backlog) - len(self.backlog) % 2
        pcm = bytes(self.backlog[:whole])
        del self.backlog[:whole]
        return pcm

    def scored(self, job: ScoreVoice, result: tuple[np.ndarray, ModelState]) -> list[VadEvent]:
        if job is not self.in_flight:
            return []  # the detector was reset or replaced while the job ran
        self.in_flight = None
        probs, self.state = result
        return self.decide(probs)

    def decide(self, probs: np.ndarray) -> list[VadEvent]:
        events = []
        for prob in probs.tolist():
            event = self._step(prob)
            if event:
                events.append(event)
        return events

    def _step(self, prob: float) -> VadEvent | None:
        frame_start = self.position_ms
        self.position_ms += FRAME_MS
        if not self.speaking:
            if prob < self.threshold:
                self._voiced_ms = 0
                return None
            if not self._voiced_ms:
                self._onset_ms = frame_start
            self._voiced_ms += FRAME_MS
            if self._voiced_ms < MIN_SPEECH_MS:
                return None
            self.speaking, self._silent_ms = True, 0
            return VadEvent('started', max(0, self._onset_ms - self.prefix_padding_ms))
        self._silent_ms = self._silent_ms + FRAME_MS if prob < self.release else 0
        if self._silent_ms < self.silence_duration_ms:
            return None
        self.speaking, self._voiced_ms = False, 0
        return VadEvent('stopped', self.position_ms)
