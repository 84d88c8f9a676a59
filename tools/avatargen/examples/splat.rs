//! Throwaway shape preview (not a renderer for the product): rasterises the generated scene
//! in memory with a z-buffer and Lambert shading into a PNG contact sheet. Back faces are
//! drawn magenta to catch winding mistakes.
//!
//! `cargo run -p avatargen --release --example splat -- out.png [size]`

use avatargen::mesh::Scene;

type V = [f64; 3];

struct Img {
    w: usize,
    h: usize,
    rgb: Vec<[u8; 3]>,
}

fn sub(a: V, b: V) -> V {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot(a: V, b: V) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn norm(a: V) -> V {
    let l = dot(a, a).sqrt().max(1e-12);
    [a[0] / l, a[1] / l, a[2] / l]
}

struct View {
    yaw: f64,
    pitch: f64,
    centre: V,
    half: f64,
    weights: Vec<(&'static str, f64)>,
    eye_rot: (f64, f64),
}

fn world_offsets(s: &Scene) -> Vec<V> {
    let mut off = vec![[0.0; 3]; s.nodes.len()];
    fn walk(s: &Scene, n: usize, base: V, off: &mut Vec<V>) {
        let t = s.nodes[n].translation;
        let w = [
            base[0] + t[0] as f64,
            base[1] + t[1] as f64,
            base[2] + t[2] as f64,
        ];
        off[n] = w;
        for &c in &s.nodes[n].children {
            walk(s, c, w, off);
        }
    }
    for &r in &s.roots {
        walk(s, r, [0.0; 3], &mut off);
    }
    off
}

fn render(s: &Scene, v: &View, size: usize) -> Img {
    let mut img = Img {
        w: size,
        h: size,
        rgb: vec![[40, 44, 52]; size * size],
    };
    let mut zb = vec![f64::INFINITY; size * size];
    let off = world_offsets(s);
    let (sy, cy) = v.yaw.sin_cos();
    let (sp, cp) = v.pitch.sin_cos();
    let rot = |p: V| -> V {
        let p = sub(p, v.centre);
        let x = p[0] * cy + p[2] * sy;
        let z = -p[0] * sy + p[2] * cy;
        let y = p[1] * cp - z * sp;
        let z = p[1] * sp + z * cp;
        [x, y, z]
    };
    let light = norm([-0.4, 0.5, 0.8]);
    for (ni, node) in s.nodes.iter().enumerate() {
        let Some(mi) = node.mesh else { continue };
        let skip = std::env::var("SKIP").unwrap_or_default();
        if skip.split(',').any(|k| !k.is_empty() && k == node.name) {
            continue;
        }
        let wire = std::env::var("WIRE").is_ok();
        let mesh = &s.meshes[mi];
        let is_eye = node.name.starts_with("eye_");
        for prim in &mesh.prims {
            let n = prim.positions.len();
            let mut pos: Vec<V> = prim
                .positions
                .iter()
                .map(|p| [p[0] as f64, p[1] as f64, p[2] as f64])
                .collect();
            let mut nor: Vec<V> = prim
                .normals
                .iter()
                .map(|p| [p[0] as f64, p[1] as f64, p[2] as f64])
                .collect();
            for (ti, name) in mesh.target_names.iter().enumerate() {
                let w = v
                    .weights
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|x| x.1)
                    .unwrap_or(0.0);
                if w == 0.0 {
                    continue;
                }
                let (dp, dn) = &prim.targets[ti];
                for i in 0..n {
                    for k in 0..3 {
                        pos[i][k] += w * dp[i][k] as f64;
                        nor[i][k] += w * dn[i][k] as f64;
                    }
                }
            }
            if is_eye {
                let (ey, ep) = v.eye_rot;
                for p in pos.iter_mut().chain(nor.iter_mut()) {
                    let (s1, c1) = ep.sin_cos();
                    let y = p[1] * c1 - p[2] * s1;
                    let z = p[1] * s1 + p[2] * c1;
                    let (s2, c2) = ey.sin_cos();
                    let x = p[0] * c2 + z * s2;
                    let z2 = -p[0] * s2 + z * c2;
                    *p = [x, y, z2];
                }
            }
            let o = off[ni];
            let sp: Vec<V> = pos
                .iter()
                .map(|p| {
                    let r = rot([p[0] + o[0], p[1] + o[1], p[2] + o[2]]);
                    let sx = (r[0] / v.half * 0.5 + 0.5) * size as f64;
                    let sy = (0.5 - r[1] / v.half * 0.5) * size as f64;
                    [sx, sy, -r[2]]
                })
                .collect();
            let rn: Vec<V> = nor
                .iter()
                .map(|nn| {
                    norm(rot([
                        nn[0] + v.centre[0],
                        nn[1] + v.centre[1],
                        nn[2] + v.centre[2],
                    ]))
                })
                .collect();
            let clip: Option<f64> = std::env::var("CLIP").ok().and_then(|x| x.parse().ok());
            for t in prim.indices.chunks(3) {
                let (a, b, c) = (t[0] as usize, t[1] as usize, t[2] as usize);
                if let Some(cx) = clip {
                    if (pos[a][0] + pos[b][0] + pos[c][0]) / 3.0 + o[0] > cx {
                        continue;
                    }
                }
                let (pa, pb, pc) = (sp[a], sp[b], sp[c]);
                let area = (pb[0] - pa[0]) * (pc[1] - pa[1]) - (pb[1] - pa[1]) * (pc[0] - pa[0]);
                let back = area > 0.0; // screen y is down: CCW in world -> negative area
                if area.abs() < 1e-12 {
                    continue;
                }
                let minx = pa[0].min(pb[0]).min(pc[0]).floor().max(0.0) as usize;
                let maxx = (pa[0].max(pb[0]).max(pc[0]).ceil() as isize).min(size as isize - 1);
                let miny = pa[1].min(pb[1]).min(pc[1]).floor().max(0.0) as usize;
                let maxy = (pa[1].max(pb[1]).max(pc[1]).ceil() as isize).min(size as isize - 1);
                if maxx < 0 || maxy < 0 {
                    continue;
                }
                for y in miny..=maxy as usize {
                    for x in minx..=maxx as usize {
                        let px = x as f64 + 0.5;
                        let py = y as f64 + 0.5;
                        let w0 = ((pb[0] - px) * (pc[1] - py) - (pb[1] - py) * (pc[0] - px)) / area;
                        let w1 = ((pc[0] - px) * (pa[1] - py) - (pc[1] - py) * (pa[0] - px)) / area;
                        let w2 = 1.0 - w0 - w1;
                        if w0 < 0.0 || w1 < 0.0 || w2 < 0.0 {
                            continue;
                        }
                        let z = w0 * pa[2] + w1 * pb[2] + w2 * pc[2];
                        let idx = y * size + x;
                        if z >= zb[idx] {
                            continue;
                        }
                        zb[idx] = z;
                        if back {
                            img.rgb[idx] = [255, 0, 255];
                            continue;
                        }
                        let nn = norm([
                            w0 * rn[a][0] + w1 * rn[b][0] + w2 * rn[c][0],
                            w0 * rn[a][1] + w1 * rn[b][1] + w2 * rn[c][1],
                            w0 * rn[a][2] + w1 * rn[b][2] + w2 * rn[c][2],
                        ]);
                        let col: Vec<f64> = (0..3)
                            .map(|k| {
                                (w0 * prim.colors[a][k] as f64
                                    + w1 * prim.colors[b][k] as f64
                                    + w2 * prim.colors[c][k] as f64)
                                    / 255.0
                            })
                            .collect();
                        let ndl = dot(nn, light).max(0.0);
                        let fill = dot(nn, norm([0.6, 0.1, 0.7])).max(0.0);
                        let h = norm([light[0], light[1], light[2] + 1.0]);
                        let rough = s.materials[prim.material].roughness;
                        let spec = dot(nn, h).max(0.0).powf(8.0 / (rough * rough + 0.01))
                            * (1.0 - rough)
                            * 0.6;
                        let rim = (1.0 - nn[2].abs()).powf(3.0) * 0.15;
                        let mut out = [0u8; 3];
                        if wire && w0.min(w1).min(w2) < 0.04 {
                            img.rgb[idx] = [20, 20, 20];
                            continue;
                        }
                        for k in 0..3 {
                            let lin = col[k] * (0.22 + 0.85 * ndl + 0.25 * fill + rim) + spec;
                            let srgb = if lin <= 0.0031308 {
                                lin * 12.92
                            } else {
                                1.055 * lin.powf(1.0 / 2.4) - 0.055
                            };
                            out[k] = (srgb.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
                        }
                        img.rgb[idx] = out;
                    }
                }
            }
        }
    }
    img
}

fn write_png(path: &str, w: usize, h: usize, rgb: &[[u8; 3]]) {
    let flat: Vec<u8> = rgb.iter().flatten().copied().collect();
    std::fs::write(path, avatargen::png::encode_rgb(w, h, &flat)).expect("write png");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "/tmp/splat.png".into());
    let size: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(360);
    let set = args.get(3).cloned().unwrap_or_else(|| "main".into());
    let scene = avatargen::build_scene();
    let lm = avatargen::landmarks();
    let f = |a: [f32; 3]| [a[0] as f64, a[1] as f64, a[2] as f64];
    let head_c = {
        let h = f(lm.head);
        [h[0], h[1] - 0.01, h[2] + 0.03]
    };
    let mouth_c = {
        let m = f(lm.mouth);
        [m[0], m[1] + 0.01, m[2]]
    };
    let eye_c = f(lm.eyes[0]);
    let mk = |yaw: f64, pitch: f64, centre: V, half: f64, w: Vec<(&'static str, f64)>| View {
        yaw,
        pitch,
        centre,
        half,
        weights: w,
        eye_rot: (0.0, 0.0),
    };
    let views: Vec<View> = match set.as_str() {
        "mouth" => vec![
            mk(0.0, 0.0, mouth_c, 0.05, vec![]),
            mk(0.0, 0.0, mouth_c, 0.05, vec![("jawOpen", 1.0)]),
            mk(0.0, 0.0, mouth_c, 0.05, vec![("jawOpen", 0.4)]),
            mk(
                0.0,
                0.0,
                mouth_c,
                0.05,
                vec![("mouthSmileLeft", 1.0), ("mouthSmileRight", 1.0)],
            ),
            mk(0.0, 0.0, mouth_c, 0.05, vec![("mouthPucker", 1.0)]),
            mk(
                0.0,
                0.0,
                mouth_c,
                0.05,
                vec![("mouthFunnel", 1.0), ("jawOpen", 0.2)],
            ),
            mk(
                0.0,
                0.0,
                mouth_c,
                0.05,
                vec![("jawOpen", 1.0), ("mouthClose", 1.0)],
            ),
            mk(0.6, 0.0, mouth_c, 0.05, vec![("jawOpen", 0.7)]),
            mk(
                1.57,
                0.0,
                mouth_c,
                0.06,
                vec![("jawOpen", 1.0), ("tongueOut", 1.0)],
            ),
        ],
        "dbg" => {
            let c: Vec<f64> = std::env::var("C")
                .unwrap_or("0.045,0.11,0.06".into())
                .split(',')
                .map(|x| x.parse().unwrap())
                .collect();
            let half: f64 = std::env::var("HALF")
                .ok()
                .and_then(|x| x.parse().ok())
                .unwrap_or(0.02);
            let yaw: f64 = std::env::var("YAW")
                .ok()
                .and_then(|x| x.parse().ok())
                .unwrap_or(0.5);
            let w: Vec<(&'static str, f64)> = std::env::var("W")
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, "1"));
                    (
                        &*Box::leak(k.to_string().into_boxed_str()),
                        v.parse().unwrap_or(1.0),
                    )
                })
                .collect();
            vec![mk(yaw, 0.0, [c[0], c[1], c[2]], half, w)]
        }
        "eyes" => vec![
            mk(0.0, 0.0, eye_c, 0.03, vec![]),
            mk(0.0, 0.0, eye_c, 0.03, vec![("eyeBlinkLeft", 1.0)]),
            mk(0.0, 0.0, eye_c, 0.03, vec![("eyeBlinkLeft", 0.5)]),
            mk(
                0.0,
                0.0,
                eye_c,
                0.03,
                vec![("eyeWideLeft", 1.0), ("browOuterUpLeft", 1.0)],
            ),
            mk(
                0.0,
                0.0,
                eye_c,
                0.03,
                vec![("eyeSquintLeft", 1.0), ("cheekSquintLeft", 1.0)],
            ),
            mk(0.0, 0.0, eye_c, 0.03, vec![("browDownLeft", 1.0)]),
            mk(0.0, 0.0, eye_c, 0.03, vec![("browInnerUp", 1.0)]),
            mk(0.7, 0.0, eye_c, 0.03, vec![]),
            mk(1.57, 0.0, eye_c, 0.03, vec![]),
        ],
        _ => vec![
            mk(0.0, 0.0, head_c, 0.17, vec![]),
            mk(0.6, 0.0, head_c, 0.17, vec![]),
            mk(1.57, 0.0, head_c, 0.17, vec![]),
            mk(0.0, 0.0, [0.0, 0.1, 0.0], 0.32, vec![]),
            mk(0.0, 0.0, head_c, 0.17, vec![("jawOpen", 1.0)]),
            mk(
                0.0,
                0.0,
                head_c,
                0.17,
                vec![
                    ("mouthSmileLeft", 1.0),
                    ("mouthSmileRight", 1.0),
                    ("cheekSquintLeft", 0.5),
                    ("cheekSquintRight", 0.5),
                ],
            ),
            mk(
                0.0,
                0.0,
                head_c,
                0.17,
                vec![("eyeBlinkLeft", 1.0), ("eyeBlinkRight", 1.0)],
            ),
            mk(0.0, 0.0, head_c, 0.17, vec![("mouthPucker", 1.0)]),
            mk(3.14, 0.0, head_c, 0.17, vec![]),
        ],
    };
    let cols = views.len().min(3);
    let rows = views.len().div_ceil(cols);
    let (w, h) = (cols * size, rows * size);
    let mut sheet = vec![[0u8; 3]; w * h];
    for (k, v) in views.iter().enumerate() {
        let img = render(&scene, v, size);
        let (ox, oy) = ((k % cols) * size, (k / cols) * size);
        for y in 0..img.h {
            for x in 0..img.w {
                sheet[(oy + y) * w + ox + x] = img.rgb[y * img.w + x];
            }
        }
    }
    write_png(&out, w, h, &sheet);
    println!("wrote {out}");
}
