// Encodes a synthetic test pattern (the same formula as `pattern` in
// crates/avatar/tests/ktx2.rs) into the KTX2/Basis Universal variants glTF files carry, and
// writes them to crates/avatar/tests/fixtures/. Run: npm ci && node make.mjs
import { encodeToKTX2 } from "ktx2-encoder";
import { writeFileSync, mkdirSync } from "node:fs";

// RGBA8, top row first: red grows to the right, green downwards, blue waves, alpha (when
// `alpha`) grows along the diagonal.
function pattern(w, h, alpha) {
  const px = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      px[o] = Math.round((255 * x) / (w - 1));
      px[o + 1] = Math.round((255 * y) / (h - 1));
      px[o + 2] = Math.round(128 + 100 * Math.sin(x / 6) * Math.cos(y / 5));
      px[o + 3] = alpha ? Math.round((255 * (x + y)) / (w + h - 2)) : 255;
    }
  }
  return px;
}

const out = new URL("../../crates/avatar/tests/fixtures/", import.meta.url);
mkdirSync(out, { recursive: true });
const variants = [
  // name, width, height, alpha, encoder options
  ["etc1s_rgb_72x40.ktx2", 72, 40, false, { isUASTC: false, qualityLevel: 255, generateMipmap: true }],
  ["uastc_zstd_rgba_72x40.ktx2", 72, 40, true, { isUASTC: true, needSupercompression: true }],
  ["uastc_rgb_30x18.ktx2", 30, 18, false, { isUASTC: true, needSupercompression: false }],
];
for (const [name, w, h, alpha, opts] of variants) {
  const px = pattern(w, h, alpha);
  const data = await encodeToKTX2(new Uint8Array(8), {
    ...opts,
    isSetKTX2SRGBTransferFunc: true,
    isPerceptual: true,
    imageDecoder: async () => ({ data: px, width: w, height: h }),
  });
  writeFileSync(new URL(name, out), data);
  console.log(`${name}: ${data.length} bytes`);
}
