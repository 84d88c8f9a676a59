//! Camera: automatic head-and-shoulders framing or an override.

use facecast_core::model::{Avatar, Mat4};

use crate::math::*;
use crate::scene::{Geometry, Scene};
use crate::CameraOverride;

/// Default vertical field of view of the automatic framing, degrees.
pub const AUTO_FOV_DEG: f32 = 24.0;

pub struct Camera {
    pub view: Mat4,
    pub proj: Mat4,
    pub eye: V3,
    pub target: V3,
    pub fov_y_deg: f32,
    pub near: f32,
}

#[derive(Copy, Clone, Debug)]
struct Bounds {
    min: V3,
    max: V3,
}

impl Bounds {
    fn empty() -> Bounds {
        Bounds {
            min: [f32::INFINITY; 3],
            max: [f32::NEG_INFINITY; 3],
        }
    }
    fn add(&mut self, p: V3) {
        if p.iter().all(|v| v.is_finite()) {
            for k in 0..3 {
                self.min[k] = self.min[k].min(p[k]);
                self.max[k] = self.max[k].max(p[k]);
            }
        }
    }
    fn valid(&self) -> bool {
        self.min[0] <= self.max[0]
    }
    fn size(&self) -> V3 {
        sub(self.max, self.min)
    }
    fn center(&self) -> V3 {
        scale(add(self.min, self.max), 0.5)
    }
    fn union(&self, o: &Bounds) -> Bounds {
        let mut b = *self;
        if o.valid() {
            b.add(o.min);
            b.add(o.max);
        }
        b
    }
}

impl Camera {
    fn build(eye: V3, target: V3, fov_y_deg: f32, near: f32, far: f32, w: u32, h: u32) -> Camera {
        let (view, _) = look_at(eye, target);
        let proj = perspective(fov_y_deg.to_radians(), w as f32 / h as f32, near, far);
        Camera {
            view,
            proj,
            eye,
            target,
            fov_y_deg,
            near,
        }
    }

    pub fn from_override(o: &CameraOverride, w: u32, h: u32) -> Camera {
        let d = length(sub(o.eye, o.target)).max(1e-3);
        Camera::build(o.eye, o.target, o.fov_y_deg, d * 0.01, d * 100.0, w, h)
    }

    pub fn as_override(&self) -> CameraOverride {
        CameraOverride {
            eye: self.eye,
            target: self.target,
            fov_y_deg: self.fov_y_deg,
        }
    }

    /// Frame head and shoulders (or the model) from the rest pose.
    pub fn auto(av: &Avatar, scene: &Scene, geo: &Geometry, rest: &[V3], w: u32, h: u32) -> Camera {
        let mut all = Bounds::empty();
        for p in rest {
            all.add(*p);
        }
        if !all.valid() {
            return Camera::build([0.0, 0.0, 3.0], [0.0; 3], AUTO_FOV_DEG, 0.05, 100.0, w, h);
        }
        // Face: vertices moved by channels the face rig drives.
        let mut face_ch = vec![false; av.channels.len()];
        for binds in av.rig.arkit.iter().chain(av.rig.visemes.iter()) {
            for &(c, _) in binds {
                if let Some(f) = face_ch.get_mut(c as usize) {
                    *f = true;
                }
            }
        }
        let morph_tmp = crate::scene::MorphState::new(av);
        let mut face = Bounds::empty();
        for (mi, pi, mask) in morph_tmp.touched_by_channels(av, &face_ch) {
            for d in geo
                .draws
                .iter()
                .filter(|d| d.mesh as usize == mi && d.prim as usize == pi)
            {
                for (i, &m) in mask.iter().enumerate() {
                    if m {
                        face.add(rest[d.vbase as usize + i]);
                    }
                }
            }
        }
        // Head: vertices mostly weighted to the head joint (and its descendants).
        let head = av.humanoid.head.filter(|&h| (h as usize) < av.nodes.len());
        let mut head_b = Bounds::empty();
        if let Some(hn) = head {
            let under_head = |mut n: u32| {
                for _ in 0..64 {
                    if n == hn {
                        return true;
                    }
                    match av.nodes.get(n as usize).and_then(|x| x.parent) {
                        Some(p) => n = p,
                        None => return false,
                    }
                }
                false
            };
            for d in &geo.draws {
                let p = &av.meshes[d.mesh as usize].primitives[d.prim as usize];
                match d.skin {
                    Some(s) => {
                        let joints = &av.skins[s as usize].joints;
                        let flags: Vec<bool> = joints.iter().map(|&j| under_head(j)).collect();
                        for (i, (jj, ww)) in p.joints.iter().zip(&p.weights).enumerate() {
                            let wsum: f32 = (0..4)
                                .filter(|&k| flags.get(jj[k] as usize).copied().unwrap_or(false))
                                .map(|k| ww[k])
                                .sum();
                            if wsum > 0.5 {
                                head_b.add(rest[d.vbase as usize + i]);
                            }
                        }
                    }
                    None => {
                        if under_head(d.node) {
                            for i in 0..p.positions.len() {
                                head_b.add(rest[d.vbase as usize + i]);
                            }
                        }
                    }
                }
            }
        }
        let head_pos = head.map(|h| {
            let m = &scene.world[h as usize];
            [m[12], m[13], m[14]]
        });
        let size = all.size();
        let (region, is_head) = if face.valid() || head_b.valid() {
            let mut r = head_b.union(&face);
            if !head_b.valid() {
                // Only the face: extend up for forehead/hair and a little down.
                let fh = r.size()[1];
                r.max[1] += 0.25 * fh;
                r.min[1] -= 0.05 * fh;
            }
            (r, true)
        } else if let Some(hp) = head_pos {
            let hh = (size[1] * 0.13).max(1e-3);
            let mut r = Bounds::empty();
            r.add([hp[0] - hh * 0.4, hp[1] - hh * 0.1, hp[2] - hh * 0.4]);
            r.add([hp[0] + hh * 0.4, hp[1] + hh * 0.9, hp[2] + hh * 0.4]);
            (r, true)
        } else if size[1] > 2.5 * size[0].max(size[2]) && rest.len() > 1000 {
            // A standing figure without a head node: its top part.
            let mut r = all;
            r.min[1] = all.max[1] - size[1] * 0.16;
            (r, true)
        } else {
            (all, false)
        };
        // Facing direction along Z.
        let fwd = {
            let eyes: Vec<V3> = [av.humanoid.left_eye, av.humanoid.right_eye]
                .iter()
                .flatten()
                .filter(|&&e| (e as usize) < av.nodes.len())
                .map(|&e| {
                    let m = &scene.world[e as usize];
                    [m[12], m[13], m[14]]
                })
                .collect();
            let fz = if face.valid() {
                Some(face.center()[2])
            } else {
                None
            };
            let hz = head_b
                .valid()
                .then(|| head_b.center()[2])
                .or(head_pos.map(|p| p[2]));
            let ez = (!eyes.is_empty())
                .then(|| eyes.iter().map(|e| e[2]).sum::<f32>() / eyes.len() as f32);
            let sz = region.size()[1].max(1e-3);
            let sign = |a: f32, b: f32| {
                if (a - b).abs() > 0.02 * sz {
                    Some(if a > b { 1.0 } else { -1.0 })
                } else {
                    None
                }
            };
            ez.zip(hz)
                .and_then(|(e, hz)| sign(e, hz))
                .or(fz.zip(hz).and_then(|(f, hz)| sign(f, hz)))
                .unwrap_or(if av.info.vrm_version.as_deref() == Some("0.x") {
                    -1.0
                } else {
                    1.0
                })
        };
        let aspect = w as f32 / h as f32;
        let fov = AUTO_FOV_DEG.to_radians();
        let rs = region.size();
        let c = region.center();
        let (vis_h, center_y) = if is_head {
            let hh = rs[1].max(1e-4);
            let hw = rs[0].max(rs[2] * 0.8).max(1e-4);
            // Is there a body (neck, shoulders) below the head?
            let body = all.min[1] < region.min[1] - 0.3 * hh;
            if body {
                let v = (hh * 2.2).max(hw * 1.7 / aspect);
                (v, c[1] - 0.15 * v)
            } else {
                let v = (hh * 1.45).max(hw * 1.45 / aspect);
                (v, c[1] - 0.04 * v)
            }
        } else {
            let v = (rs[1] * 1.15).max(rs[0] * 1.15 / aspect).max(1e-4);
            (v, c[1])
        };
        let dist = vis_h * 0.5 / (fov * 0.5).tan() + rs[2] * 0.5;
        let target = [c[0], center_y, c[2]];
        let eye = [c[0], center_y, c[2] + fwd * dist];
        let far = dist + size[0].max(size[1]).max(size[2]) * 4.0;
        Camera::build(eye, target, AUTO_FOV_DEG, dist * 0.02, far, w, h)
    }
}
