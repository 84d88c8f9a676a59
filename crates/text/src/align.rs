//! Forced alignment: a phone sequence against per-frame class posteriors (from an acoustic model)
//! or against an energy / spectral-tilt track (fallback when no model output exists).
//!
//! The model is an explicit-duration (semi-Markov) left-to-right HMM over the phone sequence, with
//! optional `SIL` units at the ends and between words (pause probability from punctuation). Each
//! phone has a log-normal duration prior around [`Phone::typical_duration`], scaled by the
//! utterance's measured speaking rate; pauses have a flat prior and any length. Decoding is exact
//! Viterbi, unit by unit, with beam pruning: after each unit only the end frames whose score
//! (relative to the best possible emission score up to that frame) is within `beam` of the best
//! are kept, so the work per unit is proportional to the timing uncertainty, not the length.

use crate::error::TextError;
use crate::frames::TimedPhone;
use crate::g2p::{Break, Word};
use crate::phone::{Phone, PhoneKind, PHONE_COUNT};

/// A phone sequence with optional pause positions, ready for alignment.
#[derive(Clone, Debug, PartialEq)]
pub struct PhoneSeq {
    /// The phones (no `SIL`).
    pub phones: Vec<Phone>,
    /// Lexical stress per phone (0 unstressed, 1 primary, 2 secondary).
    pub stress: Vec<u8>,
    /// Pause prior per gap: `gaps[i]` is before `phones[i]`, `gaps[phones.len()]` is the end.
    /// `None`: no pause can be inserted there; `Some(p)`: an optional `SIL` with probability `p`.
    pub gaps: Vec<Option<f32>>,
}

impl PhoneSeq {
    /// From G2P words: pauses are possible between all words, likely at punctuation
    /// (`Break::None` 0.15, `Short` 0.6, `Long` 0.9) and at both ends (0.9).
    pub fn from_words(words: &[Word]) -> PhoneSeq {
        let mut s = PhoneSeq {
            phones: Vec::new(),
            stress: Vec::new(),
            gaps: vec![Some(0.9)],
        };
        let mut pending: Option<f32> = None;
        for w in words {
            for (k, &p) in w.phones.iter().enumerate() {
                if p == Phone::Sil {
                    continue;
                }
                if !s.phones.is_empty() {
                    s.gaps.push(if k == 0 { pending.take() } else { None });
                }
                s.phones.push(p);
                s.stress.push(w.stress.get(k).copied().unwrap_or(1));
            }
            pending = Some(match w.break_after {
                Break::None => 0.15,
                Break::Short => 0.6,
                Break::Long => 0.9,
            });
        }
        s.gaps.push(Some(0.9));
        s
    }

    /// From a flat phone list: every `SIL` in it becomes a likely (0.9) optional pause, the ends
    /// get optional pauses, and no other pauses are inserted. Stress is taken as 1.
    pub fn from_phones(phones: &[Phone]) -> PhoneSeq {
        let mut s = PhoneSeq {
            phones: Vec::new(),
            stress: Vec::new(),
            gaps: vec![Some(0.9)],
        };
        let mut pending: Option<f32> = None;
        for &p in phones {
            if p == Phone::Sil {
                pending = Some(0.9);
                continue;
            }
            if !s.phones.is_empty() {
                s.gaps.push(pending.take());
            } else if pending.take().is_some() {
                s.gaps[0] = Some(0.95);
            }
            s.phones.push(p);
            s.stress.push(1);
        }
        s.gaps.push(Some(0.9));
        s
    }
}

/// Phone -> acoustic class mapping for [`align`].
#[derive(Clone, Debug, PartialEq)]
pub struct ClassMap {
    /// Class index per phone ([`Phone::index`] order); [`ClassMap::NEXT`] = use the class of the
    /// following phone (for HH, which sounds like the vowel it precedes).
    pub table: [u16; PHONE_COUNT],
    /// Number of classes K in the posterior vectors.
    pub classes: usize,
}

impl ClassMap {
    /// Marker in [`ClassMap::table`]: take the class of the next phone (SIL class at the end).
    pub const NEXT: u16 = u16::MAX;

    /// Class = Oculus viseme index (15 classes, `sil` = 0); HH uses the next phone's class.
    pub fn visemes() -> ClassMap {
        let mut table = [0u16; PHONE_COUNT];
        for p in Phone::ALL {
            table[p.index()] = if p == Phone::HH {
                Self::NEXT
            } else {
                p.viseme().index() as u16
            };
        }
        ClassMap {
            table,
            classes: facecast_core::VISEME_COUNT,
        }
    }

    /// Class = phone index (40 classes, `SIL` = 0).
    pub fn phones() -> ClassMap {
        let mut table = [0u16; PHONE_COUNT];
        for (i, t) in table.iter_mut().enumerate() {
            *t = i as u16;
        }
        ClassMap {
            table,
            classes: PHONE_COUNT,
        }
    }

    /// From a function; `f` may return [`ClassMap::NEXT`] as `usize` for "next phone's class".
    /// Errors if a class is `>= classes`.
    pub fn from_fn(classes: usize, f: impl Fn(Phone) -> usize) -> Result<ClassMap, TextError> {
        let mut table = [0u16; PHONE_COUNT];
        for p in Phone::ALL {
            let c = f(p);
            if c != Self::NEXT as usize && c >= classes {
                return Err(TextError::Align(format!(
                    "class {c} of phone {p} is >= the class count {classes}"
                )));
            }
            table[p.index()] = if c == Self::NEXT as usize {
                Self::NEXT
            } else {
                c as u16
            };
        }
        if table[0] == Self::NEXT {
            return Err(TextError::Align("SIL cannot map to NEXT".into()));
        }
        Ok(ClassMap { table, classes })
    }

    /// Class of `p` (NEXT resolved to `next`'s class, or SIL's).
    pub fn class(&self, p: Phone, next: Option<Phone>) -> usize {
        let c = self.table[p.index()];
        if c != Self::NEXT {
            return c as usize;
        }
        match next {
            Some(n) if self.table[n.index()] != Self::NEXT => self.table[n.index()] as usize,
            _ => self.table[0] as usize,
        }
    }
}

/// Per-frame class posteriors: `data[t * classes + k]`.
#[derive(Copy, Clone, Debug)]
pub struct Posteriors<'a> {
    /// Row-major frames x classes.
    pub data: &'a [f32],
    /// Classes per frame (K).
    pub classes: usize,
    /// Frames per second (100 for 10 ms frames). Frame `t` covers `[t, t+1) / frame_rate`.
    pub frame_rate: f64,
    /// `true` if `data` already holds log-probabilities.
    pub log: bool,
}

/// Aligner settings. `Default` is tuned on first principles (typical English phone durations),
/// not on any test set.
#[derive(Clone, Debug, PartialEq)]
pub struct AlignConfig {
    /// Minimum phone duration, s (20 ms = 2 frames at 100 Hz).
    pub min_phone_s: f64,
    /// Maximum phone duration, s.
    pub max_phone_s: f64,
    /// Minimum pause duration, s.
    pub min_pause_s: f64,
    /// Spread of the log-normal duration prior (in natural-log units).
    pub duration_sigma: f64,
    /// Weight of the duration prior relative to the emissions.
    pub duration_weight: f64,
    /// Weight of the emission log-likelihoods.
    pub emission_weight: f64,
    /// Estimate the speaking rate from the speech/pause split and scale the duration priors.
    pub adapt_rate: bool,
    /// Beam width in log-likelihood units (nats) for pruning unit end frames; `f64::INFINITY`
    /// decodes exactly. If the beam loses every path the decoder retries without pruning.
    pub beam: f64,
}

impl Default for AlignConfig {
    fn default() -> Self {
        AlignConfig {
            min_phone_s: 0.02,
            max_phone_s: 0.6,
            min_pause_s: 0.03,
            duration_sigma: 0.45,
            duration_weight: 1.0,
            emission_weight: 1.0,
            adapt_rate: true,
            beam: 100.0,
        }
    }
}

/// One unit of the HMM chain.
struct Unit {
    phone: Phone,
    class: usize,
    /// (log P(take), log P(skip)) for optional pauses.
    optional: Option<(f64, f64)>,
    mean_frames: f64,
}

fn build_units(
    seq: &PhoneSeq,
    class_of: &dyn Fn(Phone, Option<Phone>) -> usize,
    sil_class: usize,
    fps: f64,
) -> Vec<Unit> {
    let mut units = Vec::with_capacity(seq.phones.len() * 2 + 2);
    let n = seq.phones.len();
    for i in 0..=n {
        if let Some(Some(p)) = seq.gaps.get(i) {
            let p = (*p as f64).clamp(1e-4, 1.0 - 1e-4);
            units.push(Unit {
                phone: Phone::Sil,
                class: sil_class,
                optional: Some((p.ln(), (1.0 - p).ln())),
                mean_frames: 0.0,
            });
        }
        if i < n {
            let ph = seq.phones[i];
            let next = seq.phones.get(i + 1).copied();
            let stressed = seq.stress.get(i).copied().unwrap_or(1) > 0;
            units.push(Unit {
                phone: ph,
                class: class_of(ph, next),
                optional: None,
                mean_frames: ph.typical_duration(stressed) * fps,
            });
        }
    }
    units
}

/// Decode. `em(t, c)` = weighted emission log-likelihood of class `c` at frame `t`; `speech` marks
/// frames that look like speech (for the speaking-rate estimate).
fn decode(
    units: &mut [Unit],
    frames: usize,
    classes: usize,
    em: &[f32],
    speech: &[bool],
    fps: f64,
    cfg: &AlignConfig,
) -> Result<Vec<TimedPhone>, TextError> {
    let t_len = frames;
    let mandatory = units.iter().filter(|u| u.optional.is_none()).count();
    if mandatory == 0 {
        return Ok(if t_len > 0 {
            vec![TimedPhone::new(Phone::Sil, 0.0, t_len as f64 / fps)]
        } else {
            Vec::new()
        });
    }
    let mut dmin = ((cfg.min_phone_s * fps).round() as usize).max(1);
    if mandatory * dmin > t_len {
        dmin = 1;
    }
    if mandatory > t_len {
        // Not enough frames: spread the phones evenly.
        let dur = t_len as f64 / fps;
        let ph: Vec<Phone> = units
            .iter()
            .filter(|u| u.optional.is_none())
            .map(|u| u.phone)
            .collect();
        let step = dur / ph.len() as f64;
        return Ok(ph
            .iter()
            .enumerate()
            .map(|(i, &p)| TimedPhone::new(p, i as f64 * step, (i + 1) as f64 * step))
            .collect());
    }
    // Speaking-rate adaptation.
    if cfg.adapt_rate {
        let speech_frames = speech.iter().filter(|&&s| s).count() as f64;
        let expected: f64 = units.iter().map(|u| u.mean_frames).sum();
        if speech_frames > 0.0 && expected > 0.0 {
            let rate = (speech_frames / expected).clamp(0.4, 2.5);
            for u in units.iter_mut() {
                u.mean_frames *= rate;
            }
        }
    }
    let dmax_cap = ((cfg.max_phone_s * fps).round() as usize).max(dmin + 1);
    let pmin = ((cfg.min_pause_s * fps).round() as usize).max(1);
    // Prefix sums of emissions per class: cum[c * (T+1) + t].
    let stride = t_len + 1;
    let mut cum = vec![0f64; classes * stride];
    for c in 0..classes {
        let base = c * stride;
        for t in 0..t_len {
            cum[base + t + 1] = cum[base + t] + em[t * classes + c] as f64;
        }
    }
    // Optimistic bound: best emission per frame, summed.
    let mut cumbest = vec![0f64; stride];
    for t in 0..t_len {
        let row = &em[t * classes..t * classes + classes];
        cumbest[t + 1] = cumbest[t] + row.iter().fold(f32::MIN, |a, &b| a.max(b)) as f64;
    }
    let units: &[Unit] = units;
    let run = |beam: f64| -> Option<Vec<TimedPhone>> {
        viterbi(
            units, t_len, &cum, &cumbest, stride, dmin, dmax_cap, pmin, fps, cfg, beam,
        )
    };
    run(cfg.beam)
        .or_else(|| {
            if cfg.beam.is_finite() {
                run(f64::INFINITY)
            } else {
                None
            }
        })
        .ok_or_else(|| {
            TextError::Align(format!(
                "no alignment path: {mandatory} phones in {t_len} frames"
            ))
        })
}

#[allow(clippy::too_many_arguments)]
fn viterbi(
    units: &[Unit],
    t_len: usize,
    cum: &[f64],
    cumbest: &[f64],
    stride: usize,
    dmin: usize,
    dmax_cap: usize,
    pmin: usize,
    fps: f64,
    cfg: &AlignConfig,
    beam: f64,
) -> Option<Vec<TimedPhone>> {
    const NEG: f64 = -1e30;
    let u_len = units.len();
    // done[u][t - lo[u]] = best score with units 0..=u finished exactly at frame t;
    // back[u][..] = duration of unit u on that path (0 = optional unit skipped).
    let mut done: Vec<Vec<f64>> = Vec::with_capacity(u_len);
    let mut back: Vec<Vec<u32>> = Vec::with_capacity(u_len);
    let mut lo = Vec::with_capacity(u_len);
    let sigma2 = 2.0 * cfg.duration_sigma * cfg.duration_sigma;
    let mut logdur = Vec::new();
    let start_row = [0.0f64];
    for (u, unit) in units.iter().enumerate() {
        let (pl, prow): (usize, &[f64]) = if u == 0 {
            (0, &start_row)
        } else {
            (lo[u - 1], &done[u - 1])
        };
        let ph = pl + prow.len() - 1;
        let prev = |t: usize| -> f64 {
            if t >= pl && t <= ph {
                prow[t - pl]
            } else {
                NEG
            }
        };
        let cb = unit.class * stride;
        let (l, h, mut d_u, mut b_u);
        if let Some((take, skip)) = unit.optional {
            l = pl;
            h = t_len;
            d_u = vec![NEG; h - l + 1];
            b_u = vec![0u32; h - l + 1];
            // Flat duration prior, any length >= pmin: running max over start frames s <= t - pmin.
            let mut best = NEG;
            let mut best_s = 0usize;
            let mut s_scan = pl;
            for t in l..=h {
                while s_scan + pmin <= t && s_scan <= ph {
                    let v = prow[s_scan - pl];
                    if v > NEG {
                        let cand = v - cum[cb + s_scan];
                        if cand > best {
                            best = cand;
                            best_s = s_scan;
                        }
                    }
                    s_scan += 1;
                }
                let mut v = NEG;
                let mut b = 0u32;
                if best > NEG {
                    v = best + cum[cb + t] + take;
                    b = (t - best_s) as u32;
                }
                let sk = prev(t);
                if sk > NEG && sk + skip > v {
                    v = sk + skip;
                    b = 0;
                }
                d_u[t - l] = v;
                b_u[t - l] = b;
            }
        } else {
            let mean = unit.mean_frames.max(dmin as f64);
            let dmax = dmax_cap.max((mean * 3.0) as usize).min(t_len.max(dmin));
            logdur.clear();
            for d in 0..=dmax {
                if d < dmin {
                    logdur.push(NEG);
                } else {
                    let x = (d as f64 / mean).ln();
                    logdur.push(cfg.duration_weight * (-(x * x) / sigma2 - (d as f64).ln()));
                }
            }
            l = pl + dmin;
            h = (ph + dmax).min(t_len);
            if l > h {
                return None;
            }
            d_u = vec![NEG; h - l + 1];
            b_u = vec![0u32; h - l + 1];
            for t in l..=h {
                let mut v = NEG;
                let mut b = 0u32;
                let d_lo = dmin.max(t.saturating_sub(ph));
                let d_hi = dmax.min(t - pl);
                let ct = cum[cb + t];
                for d in d_lo..=d_hi {
                    let p = prow[t - d - pl];
                    if p <= NEG {
                        continue;
                    }
                    let sc = p + logdur[d] + ct - cum[cb + t - d];
                    if sc > v {
                        v = sc;
                        b = d as u32;
                    }
                }
                d_u[t - l] = v;
                b_u[t - l] = b;
            }
        }
        // Beam pruning: keep the span of end frames whose regret is within `beam` of the best.
        let (mut kl, mut kh) = (l, h);
        if beam.is_finite() && u + 1 < u_len {
            let best = (l..=h).map(|t| d_u[t - l] - cumbest[t]).fold(NEG, f64::max);
            if best <= NEG / 2.0 {
                return None;
            }
            let keep = |t: usize| d_u[t - l] > NEG / 2.0 && d_u[t - l] - cumbest[t] >= best - beam;
            while kl < kh && !keep(kl) {
                kl += 1;
            }
            while kh > kl && !keep(kh) {
                kh -= 1;
            }
            d_u = d_u[kl - l..=kh - l].to_vec();
            b_u = b_u[kl - l..=kh - l].to_vec();
        }
        lo.push(kl);
        done.push(d_u);
        back.push(b_u);
    }
    let last = u_len - 1;
    let hl = lo[last] + done[last].len() - 1;
    if hl != t_len || done[last][t_len - lo[last]] <= NEG / 2.0 {
        return None;
    }
    let mut out = Vec::with_capacity(u_len);
    let mut t = t_len;
    for u in (0..u_len).rev() {
        if t < lo[u] || t >= lo[u] + back[u].len() {
            return None;
        }
        let d = back[u][t - lo[u]] as usize;
        if d > 0 {
            out.push(TimedPhone::new(
                units[u].phone,
                (t - d) as f64 / fps,
                t as f64 / fps,
            ));
            t -= d;
        }
    }
    if t != 0 {
        return None;
    }
    out.reverse();
    Some(out)
}

/// Align `seq` to per-frame class posteriors.
///
/// `classes` maps phones to posterior columns ([`ClassMap::visemes`] for a 15-viseme model).
/// Returns contiguous [`TimedPhone`]s covering `0 .. frames / frame_rate`, pauses as `SIL`.
pub fn align(
    seq: &PhoneSeq,
    post: &Posteriors<'_>,
    classes: &ClassMap,
    cfg: &AlignConfig,
) -> Result<Vec<TimedPhone>, TextError> {
    validate(post, classes)?;
    let (em, speech) = posterior_emissions(seq, post, classes, cfg)?;
    let frames = post.data.len() / post.classes;
    let sil = classes.class(Phone::Sil, None);
    let mut units = build_units(seq, &|p, n| classes.class(p, n), sil, post.frame_rate);
    decode(
        &mut units,
        frames,
        post.classes,
        &em,
        &speech,
        post.frame_rate,
        cfg,
    )
}

fn validate(post: &Posteriors<'_>, classes: &ClassMap) -> Result<(), TextError> {
    let k = post.classes;
    if k == 0 || !post.data.len().is_multiple_of(k) {
        return Err(TextError::Align(format!(
            "posterior length {} is not a multiple of the class count {k}",
            post.data.len()
        )));
    }
    if classes.classes != k {
        return Err(TextError::Align(format!(
            "class map has {} classes but the posteriors have {k}",
            classes.classes
        )));
    }
    if post.frame_rate.is_nan() || post.frame_rate <= 0.0 {
        return Err(TextError::Align(format!(
            "frame rate {} must be > 0",
            post.frame_rate
        )));
    }
    Ok(())
}

fn posterior_emissions(
    seq: &PhoneSeq,
    post: &Posteriors<'_>,
    classes: &ClassMap,
    cfg: &AlignConfig,
) -> Result<(Vec<f32>, Vec<bool>), TextError> {
    let k = post.classes;
    check_seq(seq)?;
    let frames = post.data.len() / k;
    let sil = classes.class(Phone::Sil, None);
    let w = cfg.emission_weight as f32;
    let em: Vec<f32> = post
        .data
        .iter()
        .map(|&x| {
            let l = if post.log { x } else { x.max(1e-6).ln() };
            w * if l.is_finite() { l.max(-14.0) } else { -14.0 }
        })
        .collect();
    let speech: Vec<bool> = (0..frames)
        .map(|t| {
            let row = &post.data[t * k..t * k + k];
            let s = row[sil];
            row.iter().enumerate().any(|(c, &x)| c != sil && x > s)
        })
        .collect();
    Ok((em, speech))
}

/// [`align`] with the energy evidence of [`align_energy`] added to the posteriors, weighted by
/// `energy_weight` (0 = plain [`align`]; 0.3-0.6 helps a weak or uncertain acoustic model). `feats`
/// must be at the posteriors' frame rate; the shorter of the two tracks is used.
pub fn align_hybrid(
    seq: &PhoneSeq,
    post: &Posteriors<'_>,
    classes: &ClassMap,
    feats: &[EnergyFrame],
    energy_weight: f64,
    cfg: &AlignConfig,
) -> Result<Vec<TimedPhone>, TextError> {
    validate(post, classes)?;
    let (pem, speech) = posterior_emissions(seq, post, classes, cfg)?;
    let (eem, _) = energy_emissions(feats, (energy_weight * cfg.emission_weight) as f32);
    let k = post.classes;
    let frames = (post.data.len() / k).min(feats.len());
    let sil = classes.class(Phone::Sil, None);
    let mut units = build_units(seq, &|p, n| classes.class(p, n), sil, post.frame_rate);
    // Composite classes: (posterior class, phone kind) pairs that occur.
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for u in units.iter_mut() {
        let pair = (u.class, kind_idx(u.phone));
        u.class = match pairs.iter().position(|&x| x == pair) {
            Some(i) => i,
            None => {
                pairs.push(pair);
                pairs.len() - 1
            }
        };
    }
    let kc = KINDS.len();
    let n = pairs.len();
    let mut em = vec![0f32; frames * n];
    for t in 0..frames {
        for (i, &(c, kd)) in pairs.iter().enumerate() {
            em[t * n + i] = pem[t * k + c] + eem[t * kc + kd];
        }
    }
    decode(
        &mut units,
        frames,
        n,
        &em,
        &speech[..frames],
        post.frame_rate,
        cfg,
    )
}

fn check_seq(seq: &PhoneSeq) -> Result<(), TextError> {
    if seq.gaps.len() != seq.phones.len() + 1 {
        return Err(TextError::Align(format!(
            "PhoneSeq has {} gaps for {} phones (need phones + 1)",
            seq.gaps.len(),
            seq.phones.len()
        )));
    }
    Ok(())
}

/// Acoustic features of one frame for the energy-only aligner.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct EnergyFrame {
    /// Frame energy, dB (full scale = 0 dB for a ±1 square wave).
    pub db: f32,
    /// Spectral tilt: energy of the first difference minus energy, dB (high for fricatives).
    pub tilt: f32,
    /// Frames per second of the track.
    pub frame_rate: f32,
}

/// Energy and spectral tilt per frame: 25 ms windows centred at `(i + 0.5) / frame_rate`,
/// `floor(duration * frame_rate)` frames. Samples are mono, any rate.
pub fn energy_features(samples: &[f32], sample_rate: u32, frame_rate: f64) -> Vec<EnergyFrame> {
    if sample_rate == 0 || frame_rate.is_nan() || frame_rate <= 0.0 {
        return Vec::new();
    }
    let sr = sample_rate as f64;
    let n = (samples.len() as f64 / sr * frame_rate) as usize;
    let half = (0.0125 * sr) as isize;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let c = ((i as f64 + 0.5) / frame_rate * sr) as isize;
        let a = (c - half).max(1) as usize;
        let b = ((c + half) as usize).min(samples.len());
        let (mut e, mut d) = (0f64, 0f64);
        for j in a..b {
            let x = samples[j] as f64;
            let y = x - samples[j - 1] as f64;
            e += x * x;
            d += y * y;
        }
        let m = (b.saturating_sub(a)).max(1) as f64;
        let db = 10.0 * (e / m + 1e-10).log10();
        let tilt = 10.0 * ((d + 1e-9) / (e + 1e-9)).log10();
        out.push(EnergyFrame {
            db: db as f32,
            tilt: tilt as f32,
            frame_rate: frame_rate as f32,
        });
    }
    out
}

/// Gaussian (mean dB re speech level, sd; mean tilt dB, sd) per phone kind (phonetic priors).
fn kind_model(k: PhoneKind) -> (f32, f32, f32, f32) {
    match k {
        // Means from a flite development set (tools/make_devset.py: voices slt, rms, kal16 on
        // sentences outside the measuring corpus), standard deviations widened by ~1.3 so other
        // voices and real speech still fit.
        PhoneKind::Silence => (-60.0, 12.0, -7.0, 8.0),
        PhoneKind::Vowel => (-4.0, 5.0, -16.0, 4.5),
        PhoneKind::Diphthong => (-3.0, 5.0, -15.0, 4.5),
        PhoneKind::Approximant => (-5.5, 7.0, -17.0, 5.0),
        PhoneKind::Nasal => (-6.0, 7.0, -21.0, 4.5),
        PhoneKind::VoicedStop => (-15.0, 12.0, -17.0, 9.0),
        PhoneKind::VoicelessStop => (-29.0, 15.0, -8.0, 11.0),
        PhoneKind::VoicedFricative => (-13.0, 11.0, -10.0, 12.0),
        PhoneKind::VoicelessFricative => (-18.0, 12.0, 0.5, 8.0),
        PhoneKind::Aspirate => (-18.0, 14.0, -11.0, 9.0),
    }
}

const KINDS: [PhoneKind; 10] = [
    PhoneKind::Silence,
    PhoneKind::Vowel,
    PhoneKind::Diphthong,
    PhoneKind::Approximant,
    PhoneKind::Nasal,
    PhoneKind::VoicedStop,
    PhoneKind::VoicelessStop,
    PhoneKind::VoicedFricative,
    PhoneKind::VoicelessFricative,
    PhoneKind::Aspirate,
];

/// Align `seq` to audio features only (no acoustic model): each phone kind (vowel, nasal, stop,
/// fricative, ...) has a Gaussian on frame energy relative to the utterance's speech level and on
/// spectral tilt; pauses are quiet frames. Combined with the duration priors this places word and
/// pause boundaries well and phone boundaries roughly. Relative to `cfg`, emissions are weighted
/// 0.6x and the duration spread is 2/3 (the features are weak evidence).
pub fn align_energy(
    seq: &PhoneSeq,
    feats: &[EnergyFrame],
    cfg: &AlignConfig,
) -> Result<Vec<TimedPhone>, TextError> {
    check_seq(seq)?;
    let fps = feats.first().map_or(100.0, |f| f.frame_rate as f64);
    if fps.is_nan() || fps <= 0.0 {
        return Err(TextError::Align(format!("frame rate {fps} must be > 0")));
    }
    let t_len = feats.len();
    let (em, speech) =
        energy_emissions(feats, (cfg.emission_weight * ENERGY_EMISSION_SCALE) as f32);
    let kc = KINDS.len();
    let mut units = build_units(seq, &|p: Phone, _| kind_idx(p), 0, fps);
    let cfg = AlignConfig {
        duration_sigma: cfg.duration_sigma * ENERGY_SIGMA_SCALE,
        beam: cfg.beam * ENERGY_BEAM_SCALE,
        ..cfg.clone()
    };
    decode(&mut units, t_len, kc, &em, &speech, fps, &cfg)
}

/// Per-frame log-likelihood of each phone kind ([`KINDS`] order), weighted by `w`, and a
/// speech/non-speech flag per frame.
fn energy_emissions(feats: &[EnergyFrame], w: f32) -> (Vec<f32>, Vec<bool>) {
    let t_len = feats.len();
    // Speech level: 95th percentile of frame energy; floor: 5th percentile.
    let mut sorted: Vec<f32> = feats.iter().map(|f| f.db).collect();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let pct = |q: f64| {
        sorted
            .get(((sorted.len().max(1) - 1) as f64 * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let peak = pct(0.95);
    let floor = pct(0.05);
    let sil_mean = (floor - peak).clamp(-70.0, -40.0).min(-45.0);
    let kc = KINDS.len();
    let mut em = vec![0f32; t_len * kc];
    let mut speech = vec![false; t_len];
    for (t, f) in feats.iter().enumerate() {
        let rel = (f.db - peak).max(-70.0);
        speech[t] = rel > -35.0;
        for (c, &k) in KINDS.iter().enumerate() {
            let (mut m, s, mt, st) = kind_model(k);
            if k == PhoneKind::Silence {
                m = sil_mean;
            }
            let z1 = (rel - m) / s;
            let z2 = (f.tilt - mt) / st;
            em[t * kc + c] = w * (-0.5 * (z1 * z1 + z2 * z2) - s.ln() - st.ln());
        }
    }
    (em, speech)
}

fn kind_idx(p: Phone) -> usize {
    KINDS.iter().position(|&k| k == p.kind()).unwrap_or(0)
}

/// The energy features say little about phone identity, so [`align_energy`] leans more on the
/// duration prior than [`align`]: emissions are scaled by this factor ...
const ENERGY_EMISSION_SCALE: f64 = 0.6;
/// ... and the duration prior is narrowed by this one (chosen on the flite/festival development
/// set of `tools/make_devset.py`, not on the measuring corpus).
const ENERGY_SIGMA_SCALE: f64 = 2.0 / 3.0;
/// Score differences are smaller with the weak energy emissions, so the beam is narrowed too.
const ENERGY_BEAM_SCALE: f64 = 0.4;

/// Convenience for text-assisted lip sync without an acoustic model: G2P `text`, measure
/// [`energy_features`] of mono `samples` at 100 Hz, [`align_energy`] with default settings, and
/// stretch the last segment to the exact audio length.
pub fn align_text_audio(
    text: &str,
    samples: &[f32],
    sample_rate: u32,
) -> Result<Vec<TimedPhone>, TextError> {
    if sample_rate == 0 {
        return Err(TextError::Align("sample rate 0".into()));
    }
    let words = crate::g2p::g2p(text);
    let feats = energy_features(samples, sample_rate, 100.0);
    let mut out = align_energy(
        &PhoneSeq::from_words(&words),
        &feats,
        &AlignConfig::default(),
    )?;
    let dur = samples.len() as f64 / sample_rate as f64;
    match out.last_mut() {
        Some(last) if dur > last.end => last.end = dur,
        None if dur > 0.0 => out.push(TimedPhone::new(Phone::Sil, 0.0, dur)),
        _ => {}
    }
    Ok(out)
}
