// Headless Chromium against a real `facecast serve`:
//   * create a session, play it through WHEP (the shipped web/facecast-client.js);
//   * count presented video frames (requestVideoFrameCallback) -> >= 95 % of the session fps;
//   * send speech bursts separated by known silence; measure the mouth region (lower middle of the
//     frame) against the resting face: it must move during speech and rest in silence;
//   * audio must arrive (getStats bytesReceived, and an AnalyserNode on the received track);
//   * the mouth must not trail the received audio by a frame or more;
//   * end-to-end latency: speech POSTed -> first painted frame with the mouth moving (p50/p95).
//
// Usage (from the repo root):
//   cargo build --release -p facecast-cli            # or: cargo build --release -p facecast-server --example serve
//   (cd tests/browser && npm ci && node run.mjs)
// Environment:
//   FACECAST_BIN   server binary (default: target/release/facecast, else target/release/examples/serve)
//   CHROMIUM       browser (default /usr/bin/chromium)
//   FACECAST_BURSTS number of speech bursts (default 8)
//   FACECAST_CODEC  h264 (default) or vp8
//   FACECAST_LOW_DELAY 0 to leave the receivers' jitter-buffer target at the browser default
//   FACECAST_TRACE_LATENCY 1: the server prints a per-clip latency breakdown to stderr

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const FPS = 25;
const BURSTS = Number(process.env.FACECAST_BURSTS || 8);
const CODEC = process.env.FACECAST_CODEC || 'h264';

function pickBinary() {
  if (process.env.FACECAST_BIN) return process.env.FACECAST_BIN;
  for (const p of ['target/release/facecast', 'target/release/examples/serve', 'target/debug/facecast', 'target/debug/examples/serve']) {
    const full = join(process.env.CARGO_TARGET_DIR || join(root, 'target'), p.replace(/^target\//, ''));
    if (existsSync(full)) return full;
  }
  throw new Error('no server binary: build it (see the header of this file) or set FACECAST_BIN');
}

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
    s.on('error', rej);
  });
}

async function waitHealthy(base, proc, ms = 30000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    try { if ((await fetch(`${base}/healthz`)).ok) return; } catch (_) { /* not yet */ }
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error('server did not become healthy');
}

const pc = x => `${(100 * x).toFixed(2)} %`;
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; };

async function main() {
  const bin = pickBinary();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const args = basename(bin) === 'serve' ? ['--addr', `127.0.0.1:${port}`] : ['serve', '--addr', `127.0.0.1:${port}`];
  console.log(`server: ${bin} ${args.join(' ')}`);
  const env = { ...process.env };
  delete env.FACECAST_API_KEY;
  const server = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
  const profile = mkdtempSync(join(tmpdir(), 'facecast-chromium-'));
  let browser;
  let failed = false;
  try {
    await waitHealthy(base, server);
    // launchPersistentContext passes --user-data-dir=<profile> (a fresh temporary directory).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--autoplay-policy=no-user-gesture-required'],
    });
    const page = browser.pages()[0] || await browser.newPage();
    page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') console.log(`[page ${m.type()}] ${m.text()}`); });
    await page.goto(`${base}/`);
    // the demo page itself: its module loads and lists the server's avatars
    const demoOk = await page.waitForFunction(() => document.querySelector('#avatar')?.options.length > 0, null, { timeout: 10000 })
      .then(() => true, () => false);
    const r = await page.evaluate(measure, { fps: FPS, bursts: BURSTS, codec: CODEC, lowDelay: process.env.FACECAST_LOW_DELAY !== '0' });
    console.log(JSON.stringify(r.summary, null, 2));
    const checks = [
      ['demo page loads and lists avatars', demoOk],
      [`video plays: ${r.summary.fpsMeasured.toFixed(2)} fps presented >= 95 % of ${FPS}`, r.summary.fpsMeasured >= 0.95 * FPS],
      [`audio arrives: ${r.summary.audioBytes} bytes, analyser peak RMS ${r.summary.audioPeakRms.toFixed(4)}`, r.summary.audioBytes > 10000 && r.summary.audioPeakRms > 0.01],
      // "Changed": a pixel of the mouth region whose luma is more than 24 levels from the resting
      // face. Codec noise stays far below that (0 such pixels in silence here), an open mouth is
      // about 1 % of the region; the mean abs diff is printed beside it.
      [`mouth moves in speech: ${pc(r.summary.movedSpeech)} of the mouth region changed vs ${pc(r.summary.movedSilence)} in silence (mean abs diff ${r.summary.mouthSpeech.toFixed(2)} vs ${r.summary.mouthSilence.toFixed(2)}; windows timed from the mouth's onset)`,
        r.summary.movedSpeech > Math.max(0.004, 4 * r.summary.movedSilence)],
      [`mouth rests in silence: ${pc(r.summary.movedSilence)} changed < 0.30 %, mean abs diff ${r.summary.mouthSilence.toFixed(2)} < 1.5`,
        r.summary.movedSilence < 0.003 && r.summary.mouthSilence < 1.5],
      [`every burst moved the mouth: ${r.summary.latencies.length}/${BURSTS}`, r.summary.latencies.length >= BURSTS - 1],
      [`mouth trails audio by less than one frame: median ${r.summary.avOffsetMedianMs?.toFixed(1)} ms (mouth onset - audio onset)`,
        r.summary.avOffsetMedianMs !== null && r.summary.avOffsetMedianMs < 1000 / FPS],
    ];
    for (const [what, ok] of checks) {
      console.log(`${ok ? 'PASS' : 'FAIL'}  ${what}`);
      if (!ok) failed = true;
    }
    const l = r.summary.latencies;
    if (l.length) console.log(`end-to-end latency (speak POST -> mouth change painted): p50 ${pct(l, 50).toFixed(0)} ms, p95 ${pct(l, 95).toFixed(0)} ms (n=${l.length})`);
    const al = r.summary.audioLatencies;
    if (al.length) {
      console.log(`received audio onset after the POST: p50 ${pct(al, 50).toFixed(0)} ms, min ${Math.min(...al).toFixed(0)} ms, max ${Math.max(...al).toFixed(0)} ms (n=${al.length})`);
      if (Math.max(...al) - Math.min(...al) > 300) {
        console.log('note: the browser\'s audio output drifted by more than 300 ms during the run (seen once on a slow CI host; the cause is not known); the mouth checks are timed from the picture, not the audio');
      }
    }
  } catch (e) {
    console.error(e);
    failed = true;
  } finally {
    if (browser) await browser.close();
    server.kill('SIGINT');
    await new Promise(r => setTimeout(r, 300));
    if (server.exitCode === null) server.kill('SIGKILL');
    rmSync(profile, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

// Runs in the page.
async function measure({ fps, bursts, codec, lowDelay }) {
  const { createSession } = await import('/facecast-client.js');
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const session = await createSession({ width: 512, height: 512, fps, head_motion: 0 });
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  document.body.append(video);
  const stream = await session.watch(video, { codec, lowDelay });
  await new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error('video did not start within 15 s')), 15000);
    video.addEventListener('playing', () => { clearTimeout(t); res(); }, { once: true });
  });
  await video.play().catch(() => {});

  // --- audio analyser on the received track
  const actx = new AudioContext();
  await actx.resume();
  const an = actx.createAnalyser();
  an.fftSize = 512;
  actx.createMediaStreamSource(new MediaStream(stream.getAudioTracks())).connect(an);
  const abuf = new Float32Array(an.fftSize);
  const audio = []; // [t, rms]
  const audioTimer = setInterval(() => {
    an.getFloatTimeDomainData(abuf);
    let s = 0;
    for (const x of abuf) s += x * x;
    audio.push([performance.now(), Math.sqrt(s / abuf.length)]);
  }, 5);

  // --- per-frame mouth-region measurement
  const W = 512, H = 512;
  const canvas = document.createElement('canvas');
  canvas.width = W; canvas.height = H;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  const roi = { x: Math.round(W * 0.3), y: Math.round(H * 0.45), w: Math.round(W * 0.4), h: Math.round(H * 0.4) };
  let rest = null;
  const frames = []; // [t painted, diff from rest, presentedFrames]
  let running = true;
  const onFrame = (now, meta) => {
    g.drawImage(video, 0, 0, W, H);
    const d = g.getImageData(roi.x, roi.y, roi.w, roi.h).data;
    const luma = new Float32Array(roi.w * roi.h);
    for (let i = 0; i < luma.length; i++) luma[i] = 0.299 * d[4 * i] + 0.587 * d[4 * i + 1] + 0.114 * d[4 * i + 2];
    let diff = 0;
    let moved = 0;
    if (rest) {
      for (let i = 0; i < luma.length; i++) {
        const e = Math.abs(luma[i] - rest[i]);
        diff += e;
        if (e > 24) moved++;
      }
      diff /= luma.length;
      moved /= luma.length;
    }
    frames.push([meta.expectedDisplayTime || now, diff, meta.presentedFrames, luma, moved]);
    if (running) video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);

  // settle, then take the resting face as the median of 10 quiet frames' luma
  await sleep(2500);
  {
    const last = frames.slice(-10).map(f => f[3]);
    rest = new Float32Array(last[0].length);
    for (let i = 0; i < rest.length; i++) { const v = last.map(l => l[i]).sort((a, b) => a - b); rest[i] = v[5]; }
  }
  for (const f of frames) f[3] = null;

  // pacing window
  const pace0 = frames.length ? frames[frames.length - 1] : null;
  const tPace0 = performance.now();

  // speech: a voiced burst (glottal-pulse-like harmonics, syllable envelope) between known silences
  const rate = 16000;
  const makeBurst = ms => {
    const n = Math.round(rate * ms / 1000);
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const t = i / rate;
      const env = Math.min(1, i / (0.01 * rate), (n - i) / (0.01 * rate)) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 4 * t));
      let s = 0;
      for (let h = 1; h <= 12; h++) s += Math.sin(2 * Math.PI * 120 * h * t) / h * (h === 6 || h === 7 ? 2.5 : 1);
      pcm[i] = Math.max(-32767, Math.min(32767, s * 6000 * env));
    }
    return pcm;
  };
  const wav = pcm => {
    const b = new ArrayBuffer(44 + pcm.length * 2);
    const v = new DataView(b);
    const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
    str(0, 'RIFF'); v.setUint32(4, 36 + pcm.length * 2, true); str(8, 'WAVEfmt ');
    v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
    v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
    str(36, 'data'); v.setUint32(40, pcm.length * 2, true);
    for (let i = 0; i < pcm.length; i++) v.setInt16(44 + 2 * i, pcm[i], true);
    return new Blob([b], { type: 'audio/wav' });
  };
  const burstMs = 600, gapMs = 1400;
  const clip = wav(makeBurst(burstMs));
  const posts = [];
  for (let k = 0; k < bursts; k++) {
    const t = performance.now();
    await session.speak(clip);
    posts.push(t);
    await sleep(burstMs + gapMs);
  }
  await sleep(500);
  running = false;
  clearInterval(audioTimer);
  const tEnd = performance.now();
  const stats = await session.stats();

  // --- analysis
  const fpsMeasured = pace0 ? (frames[frames.length - 1][2] - pace0[2]) / ((frames[frames.length - 1][0] - pace0[0]) / 1000) : 0;
  const noiseFloor = (() => {
    const q = audio.filter(([t]) => t < posts[0]).map(a => a[1]).sort((a, b) => a - b);
    return q.length ? q[Math.floor(q.length * 0.9)] : 0;
  })();
  const audioThresh = Math.max(0.01, noiseFloor * 4);
  const latencies = [], avOffsets = [], audioLatencies = [], traces = [];
  const inSpeech = [], inSilence = [], movedSpeech = [], movedSilence = [];
  for (let k = 0; k < posts.length; k++) {
    const t0 = posts[k], t1 = k + 1 < posts.length ? posts[k + 1] : tEnd;
    const fr = frames.filter(f => f[0] >= t0 && f[0] < t1);
    const au = audio.filter(a => a[0] >= t0 && a[0] < t1);
    const aOn = au.find(a => a[1] > audioThresh);
    // mouth onset: first frame clearly away from rest
    const mOn = fr.find(f => f[1] > 2.0);
    if (mOn) latencies.push(mOn[0] - t0);
    if (aOn) audioLatencies.push(aOn[0] - t0);
    // breakdown aid: the first painted frames after the POST, [ms after POST, mouth diff]
    traces.push(fr.slice(0, 8).map(f => [Math.round(f[0] - t0), Math.round(f[1] * 100) / 100]));
    if (mOn && aOn) avOffsets.push(mOn[0] - aOn[0]);
    // The speech and silence windows are timed from the mouth's own onset (else the audio's,
    // else the POST): this check is about the picture, and the browser's audio output can fall
    // behind (in one CI run the received audio fell from 0.1 s to 1.1 s behind the mouth over
    // 16 s; not reproduced under local CPU load), which would slide an audio-timed window off
    // the speech. Audio/picture alignment has its own check below.
    const anchor = mOn ? mOn[0] : aOn ? aOn[0] : t0;
    for (const f of fr) {
      const dt = f[0] - anchor;
      if (dt > 100 && dt < burstMs - 100) { inSpeech.push(f[1]); movedSpeech.push(f[4]); }
      if (dt > burstMs + 400 && dt < burstMs + gapMs - 200) { inSilence.push(f[1]); movedSilence.push(f[4]); }
    }
  }
  const mean = xs => xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
  const med = xs => { if (!xs.length) return null; const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  await session.close();
  return {
    summary: {
      codec: stats && stats.codec,
      framesSeen: frames.length,
      fpsMeasured,
      pacingWindowS: (tEnd - tPace0) / 1000,
      audioBytes: stats ? stats.audioBytes : 0,
      audioPeakRms: Math.max(0, ...audio.map(a => a[1])),
      audioThreshold: audioThresh,
      mouthSpeech: mean(inSpeech),
      mouthSilence: mean(inSilence),
      movedSpeech: mean(movedSpeech),
      movedSilence: mean(movedSilence),
      latencies,
      audioLatencies,
      traces,
      avOffsetsMs: avOffsets,
      avOffsetMedianMs: med(avOffsets),
      rttMs: stats && stats.rttMs,
      jitterBufferMs: stats && stats.jitterBufferMs,
      audioJitterBufferMs: stats && stats.audioJitterBufferMs,
      audioJitterTargetMs: stats && stats.audioJitterTargetMs,
      audioJitterMs: stats && stats.audioJitterMs,
    },
  };
}

main();
