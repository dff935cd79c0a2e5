// Barge-in (PROTOCOL.md §4): the person starts talking while the agent is still answering. Stop local playback,
// cancel the reply if the server is still producing it, and truncate the assistant item to what was actually
// heard, so the model's memory of the conversation matches the person's.
import { ClientEvent, SAMPLE_RATE } from './protocol.js';

const framesToMs = (frames) => Math.floor((frames * 1000) / SAMPLE_RATE);

// reply: {id, itemId, frames (received), done (response.done seen)}; returns the milliseconds heard.
export async function interruptReply(reply, player, socket) {
  const counters = await player.flush();
  const heardMs = Math.min(framesToMs(counters.framesPlayed || 0), framesToMs(reply.frames));
  if (!reply.done) socket.send({ type: ClientEvent.RESPONSE_CANCEL });
  if (reply.itemId) {
    socket.send({ type: ClientEvent.ITEM_TRUNCATE, item_id: reply.itemId, content_index: 0, audio_end_ms: heardMs });
  }
  return heardMs;
}
