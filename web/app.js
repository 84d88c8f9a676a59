// The facecast demo page. Uses only facecast-client.js.
import { FacecastClient } from './facecast-client.js';

const $ = id => document.getElementById(id);
const EMOTIONS = ['neutral', 'happy', 'sad', 'angry', 'surprised', 'fearful', 'disgusted', 'concerned'];
let session = null;
let statsTimer = null;

const client = () => new FacecastClient({ apiKey: $('apikey').value || localStorage.getItem('facecast-key') || '' });

function log(msg) {
  const li = document.createElement('li');
  li.textContent = typeof msg === 'string' ? msg : JSON.stringify(msg);
  $('log').prepend(li);
  while ($('log').children.length > 200) $('log').lastChild.remove();
}

function setRunning(on) {
  $('start').disabled = on;
  for (const id of ['stop', 'speak', 'say', 'mirror', 'interrupt']) $(id).disabled = !on;
  document.querySelectorAll('#emotions button').forEach(b => { b.disabled = !on; });
}

async function loadAvatars() {
  try {
    const list = await client().listAvatars();
    $('avatar').innerHTML = '';
    for (const a of list) {
      const o = document.createElement('option');
      o.value = a.name;
      o.textContent = a.name === a.model ? a.name : `${a.name} (${a.model})`;
      $('avatar').append(o);
    }
  } catch (e) {
    log(`avatars: ${e.message}`);
  }
}

async function start() {
  if ($('apikey').value) localStorage.setItem('facecast-key', $('apikey').value);
  const [w, h] = $('size').value.split('x').map(Number);
  try {
    session = await client().createSession({
      avatar: $('avatar').value || undefined, width: w, height: h,
      fps: Number($('fps').value), background: $('background').value || undefined,
    });
    session.addEventListener('message', e => {
      if (e.detail.type !== 'position') log(e.detail);
    });
    session.addEventListener('connection', e => { $('status').textContent = `session ${session.id}: ${e.detail.state}`; });
    await session.connect();
    await session.watch($('video'), { codec: $('codec').value });
    $('status').textContent = `session ${session.id}`;
    setRunning(true);
    statsTimer = setInterval(showStats, 1000);
  } catch (e) {
    log(`start: ${e.message}`);
  }
}

async function stop() {
  clearInterval(statsTimer);
  if (session) await session.close();
  session = null;
  $('video').srcObject = null;
  $('status').textContent = 'not connected';
  $('mirror').classList.remove('on');
  setRunning(false);
}

async function showStats() {
  if (!session) return;
  const s = await session.stats();
  if (!s) return;
  const f = (v, d = 0) => (v === null || v === undefined ? '–' : v.toFixed(d));
  $('stats').textContent =
    `${s.codec || ''}  ${f(s.fps)} fps\n` +
    `video ${f(s.videoBitrate / 1000)} kbit/s  audio ${f(s.audioBitrate / 1000)} kbit/s\n` +
    `rtt ${f(s.rttMs, 1)} ms  jitter buf ${f(s.jitterBufferMs, 1)} ms  decode ${f(s.decodeMs, 1)} ms\n` +
    `latency ≈ ${f(s.latencyMs, 0)} ms  dropped ${s.framesDropped}`;
}

$('start').onclick = start;
$('stop').onclick = stop;
$('speak').onclick = async () => {
  const file = $('file').files[0];
  if (!file) return log('choose an audio file first');
  try {
    const r = await session.speak(file);
    log(`queued segment ${r.segment}: ${r.duration_ms} ms`);
  } catch (e) { log(`speak: ${e.message}`); }
};
$('mirror').onclick = async () => {
  try {
    if (session.mirror) {
      await session.stopMirror();
      $('mirror').classList.remove('on');
      $('mirror').textContent = 'Mirror my microphone';
    } else {
      await session.startMirror();
      $('mirror').classList.add('on');
      $('mirror').textContent = 'Stop mirroring';
    }
  } catch (e) { log(`mirror: ${e.message}`); }
};
$('say').onclick = async () => {
  const text = $('text').value.trim();
  if (!session || !text) return;
  try {
    const r = await session.say(text);
    log(`saying segment ${r.segment} (${r.duration_ms} ms)`);
  } catch (e) { log(`say: ${e.message}`); }
};

$('interrupt').onclick = async () => {
  try { await session.interrupt(); } catch (e) { log(`interrupt: ${e.message}`); }
};
for (const name of EMOTIONS) {
  const b = document.createElement('button');
  b.textContent = name;
  b.disabled = true;
  b.onclick = async () => {
    try { await session.setEmotion(name, Number($('intensity').value)); } catch (e) { log(`emotion: ${e.message}`); }
  };
  $('emotions').append(b);
}
$('apikey').value = localStorage.getItem('facecast-key') || '';
loadAvatars();
window.facecast = { get session() { return session; } };
