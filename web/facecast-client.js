// facecast-client.js: a small, dependency-free ES module client for a facecast server.
//
//   import { createSession } from '/facecast-client.js';
//   const s = await createSession({ avatar: 'default', fps: 25 });
//   await s.watch(document.querySelector('video'));      // WHEP, H.264 by default
//   s.addEventListener('segment_finished', e => console.log(e.detail));
//   await s.speak(fileOrBlob);                            // audio/wav, mpeg, flac, ogg
//   await s.setEmotion('happy', 0.8);
//   await s.interrupt();
//   await s.startMirror();                                // microphone -> binary WebSocket frames
//   await s.close();
//
// Events (dispatched on the session as CustomEvent, detail = the JSON message): every server
// event type ("segment_started", "segment_finished", "position", "emotion_changed", "error",
// "hello", "speak_started", ...) plus "message" for all of them.

const MAGIC = [0x46, 0x43, 0x41, 0x55]; // "FCAU"
export const PROTOCOL_VERSION = 1;
export const FRAME_AUDIO = 1;
export const FRAME_END = 2;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE), as crc32fast / zlib compute it. */
export function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Build one binary audio frame (see docs/PROTOCOL.md). `pcm` is an Int16Array. */
export function encodeFrame(type, sequence, timestamp, sampleRate, channels, pcm) {
  const payload = pcm ? pcm.length * 2 : 0;
  const buf = new ArrayBuffer(28 + payload + 4);
  const v = new DataView(buf);
  const u8 = new Uint8Array(buf);
  u8.set(MAGIC, 0);
  v.setUint8(4, PROTOCOL_VERSION);
  v.setUint8(5, type);
  v.setUint32(6, sequence >>> 0, true);
  v.setBigUint64(10, BigInt(Math.max(0, Math.floor(timestamp))), true);
  v.setUint32(18, sampleRate, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, payload, true);
  for (let i = 0; i < (pcm ? pcm.length : 0); i++) v.setInt16(28 + i * 2, pcm[i], true);
  v.setUint32(28 + payload, crc32(u8.subarray(0, 28 + payload)), true);
  return buf;
}

/** Float32 samples (-1..1) to Int16Array. */
export function floatToInt16(f32) {
  const out = new Int16Array(f32.length);
  for (let i = 0; i < f32.length; i++) {
    const s = Math.max(-1, Math.min(1, f32[i]));
    out[i] = s < 0 ? s * 32768 : s * 32767;
  }
  return out;
}

export class FacecastError extends Error {
  constructor(status, code, message) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

export class FacecastClient {
  /** @param {{baseUrl?: string, apiKey?: string}} opts */
  constructor(opts = {}) {
    this.baseUrl = (opts.baseUrl || '').replace(/\/$/, '');
    this.apiKey = opts.apiKey || '';
  }

  headers(extra = {}) {
    const h = { ...extra };
    if (this.apiKey) h.Authorization = `Bearer ${this.apiKey}`;
    return h;
  }

  async request(method, path, { body, contentType, expect = [200] } = {}) {
    const headers = this.headers(contentType ? { 'Content-Type': contentType } : {});
    const res = await fetch(this.baseUrl + path, { method, headers, body });
    if (!expect.includes(res.status)) {
      let code = 'http_error', message = res.statusText;
      try {
        const j = await res.json();
        code = j.error.code;
        message = j.error.message;
      } catch (_) { /* not JSON */ }
      throw new FacecastError(res.status, code, message);
    }
    return res;
  }

  async listAvatars() {
    return (await (await this.request('GET', '/v1/avatars')).json()).avatars;
  }

  async listSessions() {
    return (await (await this.request('GET', '/v1/sessions')).json()).sessions;
  }

  /** @param {{avatar?: string, width?: number, height?: number, fps?: number, emotion?: string, background?: string}} opts */
  async createSession(opts = {}) {
    const res = await this.request('POST', '/v1/sessions', {
      body: JSON.stringify(opts), contentType: 'application/json', expect: [201],
    });
    const { id } = await res.json();
    return new FacecastSession(this, id);
  }

  /** Attach to an existing session id. */
  session(id) {
    return new FacecastSession(this, id);
  }
}

export class FacecastSession extends EventTarget {
  constructor(client, id) {
    super();
    this.client = client;
    this.id = id;
    this.pc = null;
    this.ws = null;
    this.viewerUrl = null;
    this.mirror = null;
    this._seq = 0;
    this._lastStats = null;
  }

  get path() {
    return `/v1/sessions/${this.id}`;
  }

  _emit(msg) {
    this.dispatchEvent(new CustomEvent('message', { detail: msg }));
    if (msg && msg.type) this.dispatchEvent(new CustomEvent(msg.type, { detail: msg }));
  }

  async info() {
    return (await this.client.request('GET', this.path)).json();
  }

  /**
   * Watch over WHEP into a <video> element. Resolves when the answer is applied.
   * @param {HTMLVideoElement} videoEl
   * @param {{codec?: 'h264'|'vp8', lowDelay?: boolean}} opts  preferred video codec (default h264);
   *   lowDelay (default true) sets the receivers' jitter-buffer target to 0 (smallest playout delay)
   */
  async watch(videoEl, opts = {}) {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    const stream = new MediaStream();
    const vt = pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const want = (opts.codec || 'h264').toLowerCase();
    if (RTCRtpReceiver.getCapabilities && vt.setCodecPreferences) {
      const caps = RTCRtpReceiver.getCapabilities('video').codecs;
      const rank = c => {
        const m = c.mimeType.toLowerCase();
        if (want === 'h264' && m === 'video/h264') {
          const f = c.sdpFmtpLine || '';
          return f.includes('42e01f') && f.includes('packetization-mode=1') ? 0 : 1;
        }
        if (want === 'vp8' && m === 'video/vp8') return 0;
        if (m === 'video/vp8' || m === 'video/h264') return 2;
        return 3;
      };
      vt.setCodecPreferences([...caps].sort((a, b) => rank(a) - rank(b)));
    }
    const dc = pc.createDataChannel('events');
    dc.onmessage = ev => {
      try { this._emit({ ...JSON.parse(ev.data), via: 'datachannel' }); } catch (_) { /* ignore */ }
    };
    pc.ontrack = ev => {
      // Live avatar: ask for the smallest jitter buffer (the default adds tens of ms on a clean
      // link). `jitterBufferTarget` (ms) is the standard name, `playoutDelayHint` (s) Chrome's older one.
      const lowDelay = opts.lowDelay !== false;
      if (lowDelay && ev.receiver) {
        try { if ('jitterBufferTarget' in ev.receiver) ev.receiver.jitterBufferTarget = 0; } catch (_) { /* unsupported */ }
        try { if ('playoutDelayHint' in ev.receiver) ev.receiver.playoutDelayHint = 0; } catch (_) { /* unsupported */ }
      }
      stream.addTrack(ev.track);
      if (videoEl && videoEl.srcObject !== stream) videoEl.srcObject = stream;
    };
    pc.onconnectionstatechange = () => this._emit({ type: 'connection', state: pc.connectionState });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    // The server's host candidate is in its answer; ours are learnt from connectivity checks,
    // so there is no need to wait for ICE gathering.
    const res = await this.client.request('POST', `${this.path}/whep`, {
      body: pc.localDescription.sdp, contentType: 'application/sdp', expect: [201],
    });
    const loc = res.headers.get('Location');
    this.viewerUrl = loc ? new URL(loc, this.client.baseUrl || location.href).pathname : null;
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    return stream;
  }

  /** Stop watching (WHEP DELETE). */
  async unwatch() {
    if (this.viewerUrl) {
      try { await this.client.request('DELETE', this.viewerUrl, { expect: [200, 404] }); } catch (_) { /* gone */ }
      this.viewerUrl = null;
    }
    if (this.pc) { this.pc.close(); this.pc = null; }
  }

  /** Queue an audio file (Blob/File/ArrayBuffer). Resolves to {segment, duration_ms, queued_ms}. */
  async speak(blob, contentType) {
    const type = contentType || (blob && blob.type) || 'application/octet-stream';
    const res = await this.client.request('POST', `${this.path}/speak`, { body: blob, contentType: type, expect: [202] });
    return res.json();
  }

  /** Speak text through the server's speech engine (`facecast serve --tts`; espeak-ng when
   * installed). Without one the server answers 501 and this throws a FacecastError. */
  async say(text) {
    const res = await this.client.request('POST', `${this.path}/speak`, {
      body: JSON.stringify({ text }), contentType: 'application/json', expect: [202],
    });
    return res.json();
  }

  async setEmotion(emotion, intensity = 1) {
    const res = await this.client.request('POST', `${this.path}/emotion`, {
      body: JSON.stringify({ emotion, intensity }), contentType: 'application/json',
    });
    return res.json();
  }

  async interrupt() {
    return (await this.client.request('POST', `${this.path}/interrupt`)).json();
  }

  /** Open the session WebSocket (events in; audio/control out). Resolves when open. */
  connect() {
    if (this.ws && this.ws.readyState <= 1) return Promise.resolve(this.ws);
    const base = new URL(this.client.baseUrl || location.href);
    const proto = base.protocol === 'https:' ? 'wss:' : 'ws:';
    let url = `${proto}//${base.host}${this.path}/ws`;
    if (this.client.apiKey) url += `?token=${encodeURIComponent(this.client.apiKey)}`;
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = ev => {
      if (typeof ev.data === 'string') {
        try { this._emit({ ...JSON.parse(ev.data), via: 'websocket' }); } catch (_) { /* ignore */ }
      }
    };
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(ws);
      ws.onerror = () => reject(new Error('WebSocket failed'));
    });
  }

  /** Send a JSON control message over the WebSocket. */
  async send(msg) {
    const ws = await this.connect();
    ws.send(JSON.stringify(msg));
  }

  /** Send PCM (Int16Array) as one binary frame. `timestamp` in samples. */
  async sendPcm(pcm, sampleRate, channels = 1, timestamp = 0) {
    const ws = await this.connect();
    ws.send(encodeFrame(FRAME_AUDIO, this._seq++, timestamp, sampleRate, channels, pcm));
  }

  /** Send an end-of-segment frame. */
  async endSegment() {
    const ws = await this.connect();
    ws.send(encodeFrame(FRAME_END, this._seq++, 0, 48000, 1, null));
  }

  /**
   * Mirror mode: stream the microphone as 20 ms binary frames so the avatar lip-syncs you.
   * @param {MediaStream} [stream]  an audio stream (default: getUserMedia({audio:true}))
   */
  async startMirror(stream) {
    if (this.mirror) return;
    await this.connect();
    const media = stream || await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    const ctx = new AudioContext();
    const src = ctx.createMediaStreamSource(media);
    const code = `class C extends AudioWorkletProcessor { process(i) { if (i[0] && i[0][0]) this.port.postMessage(i[0][0].slice(0)); return true; } }
                  registerProcessor('fc-capture', C);`;
    const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
    await ctx.audioWorklet.addModule(url);
    const node = new AudioWorkletNode(ctx, 'fc-capture');
    const rate = ctx.sampleRate;
    const block = Math.round(rate / 50); // 20 ms
    let acc = new Float32Array(block), fill = 0, ts = 0;
    node.port.onmessage = ev => {
      const x = ev.data;
      let off = 0;
      while (off < x.length) {
        const n = Math.min(block - fill, x.length - off);
        acc.set(x.subarray(off, off + n), fill);
        fill += n; off += n;
        if (fill === block) {
          if (this.ws && this.ws.readyState === 1) {
            this.ws.send(encodeFrame(FRAME_AUDIO, this._seq++, ts, rate, 1, floatToInt16(acc)));
          }
          ts += block; fill = 0;
        }
      }
    };
    src.connect(node);
    await this.send({ type: 'speak_start' });
    this.mirror = { ctx, media, node, ownStream: !stream };
  }

  async stopMirror() {
    if (!this.mirror) return;
    const m = this.mirror;
    this.mirror = null;
    m.node.disconnect();
    if (m.ownStream) m.media.getTracks().forEach(t => t.stop());
    await m.ctx.close();
    await this.send({ type: 'segment_end' });
  }

  /**
   * Receiver statistics from getStats: fps, video/audio bitrate (bit/s), round-trip time (ms),
   * jitter-buffer delay (ms), decode time (ms), an estimated network+buffer latency (ms), and for
   * audio the mean jitter-buffer delay and target (ms) and the RFC 3550 inter-arrival jitter (ms).
   */
  async stats() {
    if (!this.pc) return null;
    const r = await this.pc.getStats();
    const now = performance.now();
    const s = { fps: 0, videoBitrate: 0, audioBitrate: 0, rttMs: null, jitterBufferMs: null, decodeMs: null, latencyMs: null, codec: null, audioJitterBufferMs: null, audioJitterTargetMs: null, audioJitterMs: null,
                framesDecoded: 0, framesDropped: 0, audioBytes: 0, videoBytes: 0 };
    const codecs = {};
    r.forEach(x => { if (x.type === 'codec') codecs[x.id] = x.mimeType; });
    r.forEach(x => {
      if (x.type === 'inbound-rtp' && x.kind === 'video') {
        s.fps = x.framesPerSecond || 0;
        s.videoBytes = x.bytesReceived || 0;
        s.framesDecoded = x.framesDecoded || 0;
        s.framesDropped = x.framesDropped || 0;
        s.codec = codecs[x.codecId] || null;
        if (x.jitterBufferEmittedCount) s.jitterBufferMs = 1000 * x.jitterBufferDelay / x.jitterBufferEmittedCount;
        if (x.framesDecoded) s.decodeMs = 1000 * x.totalDecodeTime / x.framesDecoded;
      }
      if (x.type === 'inbound-rtp' && x.kind === 'audio') {
        s.audioBytes = x.bytesReceived || 0;
        if (x.jitterBufferEmittedCount) {
          s.audioJitterBufferMs = 1000 * x.jitterBufferDelay / x.jitterBufferEmittedCount;
          if (x.jitterBufferTargetDelay !== undefined) s.audioJitterTargetMs = 1000 * x.jitterBufferTargetDelay / x.jitterBufferEmittedCount;
        }
        // RFC 3550 inter-arrival jitter of the audio packets (what sizes the jitter buffer)
        if (x.jitter !== undefined) s.audioJitterMs = 1000 * x.jitter;
      }
      if (x.type === 'candidate-pair' && x.nominated && x.currentRoundTripTime !== undefined) s.rttMs = 1000 * x.currentRoundTripTime;
    });
    if (this._lastStats) {
      const dt = (now - this._lastStats.t) / 1000;
      if (dt > 0) {
        s.videoBitrate = 8 * (s.videoBytes - this._lastStats.videoBytes) / dt;
        s.audioBitrate = 8 * (s.audioBytes - this._lastStats.audioBytes) / dt;
      }
    }
    this._lastStats = { t: now, videoBytes: s.videoBytes, audioBytes: s.audioBytes };
    if (s.jitterBufferMs !== null) s.latencyMs = (s.rttMs || 0) / 2 + s.jitterBufferMs + (s.decodeMs || 0);
    return s;
  }

  /** Stop everything and delete the session on the server. */
  async close({ deleteSession = true } = {}) {
    await this.stopMirror().catch(() => {});
    await this.unwatch();
    if (this.ws) { this.ws.close(); this.ws = null; }
    if (deleteSession) {
      try { await this.client.request('DELETE', this.path, { expect: [204, 404] }); } catch (_) { /* gone */ }
    }
  }
}

/** Convenience: a session on the server this page came from. */
export async function createSession(opts = {}, clientOpts = {}) {
  return new FacecastClient(clientOpts).createSession(opts);
}
