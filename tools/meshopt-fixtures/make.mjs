// Writes the KHR_meshopt_compression fixtures the avatar crate's tests read
// (crates/avatar/tests/fixtures/): run by hand with `npm ci && node make.mjs`.
//
// - meshopt_v1.json: attribute streams encoded by meshoptimizer's encoder (version 1, and one
//   version 0 stream for comparison), some through the COLOR filter, each with the bytes
//   meshoptimizer's own decoder and its reference decoder both produce (they must agree).
// - builtin_gltfpack_cz.glb: facecast's built-in avatar through `gltfpack -cz`, which writes
//   KHR_meshopt_compression (version 1 attributes, COLOR and OCTAHEDRAL filters).
import { MeshoptEncoder } from "meshoptimizer/encoder";
import { MeshoptDecoder } from "meshoptimizer/decoder";
// The reference decoder is not in the package exports: import it by path.
const { MeshoptDecoder: Reference } = await import(new URL("node_modules/meshoptimizer/meshopt_decoder_reference.js", import.meta.url));
import { writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

await MeshoptEncoder.ready;
await MeshoptDecoder.ready;

const out = new URL("../../crates/avatar/tests/fixtures/", import.meta.url);

// Deterministic pseudo-random bytes.
let seed = 12345;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;

function bytes(count, stride, f) {
  const b = new Uint8Array(count * stride);
  for (let i = 0; i < count; i++) f(i, b.subarray(i * stride, (i + 1) * stride));
  return b;
}

const cases = [];
function add(name, count, stride, raw, { level = 2, version = 1, filter = "NONE" } = {}) {
  const enc = MeshoptEncoder.encodeVertexBufferLevel(raw, count, stride, level, version);
  const a = new Uint8Array(count * stride);
  const b = new Uint8Array(count * stride);
  MeshoptDecoder.decodeVertexBuffer(a, count, stride, enc, filter);
  Reference.decodeVertexBuffer(b, count, stride, enc, filter);
  // The COLOR filter's last step, a scale to full range, rounds in single precision in the
  // production decoder and in double precision in the reference one: 16-bit values may differ
  // by one. Everything else must match exactly.
  let worst = 0;
  const wa = stride === 8 && filter === "COLOR" ? new Uint16Array(a.buffer) : a;
  const wb = stride === 8 && filter === "COLOR" ? new Uint16Array(b.buffer) : b;
  for (let i = 0; i < wa.length; i++) worst = Math.max(worst, Math.abs(wa[i] - wb[i]));
  if (worst > (filter === "COLOR" && stride === 8 ? 1 : 0)) throw new Error(`${name}: decoders disagree by ${worst}`);
  if (worst) console.log(`${name}: the two decoders differ by ${worst} in some values`);
  cases.push({
    name, count, stride, filter, header: enc[0],
    encoded: Buffer.from(enc).toString("base64"),
    decoded: Buffer.from(a).toString("base64"),
    tolerance: worst,
  });
  console.log(`${name}: ${count}x${stride} -> ${enc.length} bytes (header 0x${enc[0].toString(16)})`);
}

// float positions on a wavy sheet (32-bit channels: XOR deltas)
add("f32_sheet", 1000, 12, bytes(1000, 12, (i, e) => {
  const v = new Float32Array([i % 40 * 0.01, Math.sin(i * 0.05) * 0.2, Math.floor(i / 40) * 0.01]);
  e.set(new Uint8Array(v.buffer));
}), { level: 3 });
// 16-bit quantized positions (16-bit deltas)
add("u16_quantized", 700, 8, bytes(700, 8, (i, e) => {
  const v = new Uint16Array([(i * 37) & 0x3fff, 8000 + Math.round(3000 * Math.sin(i * 0.02)), i * 11, 0]);
  e.set(new Uint8Array(v.buffer));
}), { level: 3 });
// floats whose varying bits sit mid-word (32-bit XOR deltas with a rotation)
add("xor_mid_bits", 300, 8, bytes(300, 8, (i, e) => {
  const u = new Uint32Array([0x40000000 | (rnd() << 12), 0x3f800000 | ((i & 0xff) << 10)]);
  e.set(new Uint8Array(u.buffer));
}), { level: 3 });
// constant planes beside noisy ones (control modes: all zero, raw)
add("mixed_planes", 600, 16, bytes(600, 16, (i, e) => {
  for (let k = 0; k < 16; k++) e[k] = k < 4 ? 7 : k < 8 ? i & 0xff : k < 12 ? rnd() : (i >> 3) & 0xff;
}), { level: 1 });
// the widest stride (blocks of 32 elements), random
add("stride256_random", 40, 256, bytes(40, 256, (i, e) => { for (let k = 0; k < 256; k++) e[k] = rnd() & (k % 3 ? 0xff : 0x0f); }), { level: 0 });
// every level on one stream
for (const level of [0, 1, 2, 3]) {
  add(`level${level}`, 333, 20, bytes(333, 20, (i, e) => { for (let k = 0; k < 20; k++) e[k] = (i * (k + 1) + (k > 10 ? rnd() & 3 : 0)) & 0xff; }), { level });
}
// version 0 (EXT_meshopt_compression's codec) for comparison
add("v0_f32_sheet", 500, 12, bytes(500, 12, (i, e) => {
  const v = new Float32Array([i % 25 * 0.02, Math.cos(i * 0.07), i * 0.001]);
  e.set(new Uint8Array(v.buffer));
}), { version: 0 });
// COLOR filter, 8 and 16 bits per component
for (const [stride, bitsList] of [[4, [8, 6]], [8, [12, 16]]]) {
  for (const bits of bitsList) {
    const count = 400;
    const rgba = new Float32Array(count * 4);
    for (let i = 0; i < count; i++) {
      rgba.set([0.5 + 0.5 * Math.sin(i * 0.1), (i % 50) / 49, 0.2 + 0.6 * ((i * 7) % 13) / 12, i % 3 === 0 ? 1 : (i % 100) / 99], i * 4);
    }
    const filtered = MeshoptEncoder.encodeFilterColor(rgba, count, stride, bits);
    add(`color_${stride * 2}bit_store_${bits}bit`, count, stride, filtered, { filter: "COLOR" });
  }
}
writeFileSync(new URL("meshopt_v1.json", out), JSON.stringify(cases, null, 1) + "\n");

const glb = fileURLToPath(new URL("builtin_gltfpack_cz.glb", out));
const src = fileURLToPath(new URL("../../crates/avatar/assets/facecast_default.glb", import.meta.url));
execFileSync("node", ["node_modules/gltfpack/cli.js", "-i", src, "-o", glb, "-cz"], { stdio: "inherit" });
console.log(`builtin_gltfpack_cz.glb written`);
