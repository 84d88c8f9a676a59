//! PCM audio chunks.

/// A chunk of interleaved `f32` PCM (nominal range -1..1) at any rate and channel count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AudioChunk {
    /// Sample rate in Hz.
    pub rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// Interleaved samples; `samples.len()` is a multiple of `channels`.
    pub samples: Vec<f32>,
}

impl AudioChunk {
    /// A mono chunk.
    pub fn mono(rate: u32, samples: Vec<f32>) -> Self {
        AudioChunk {
            rate,
            channels: 1,
            samples,
        }
    }

    /// Frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1) as usize
    }

    /// Duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.frames() as f64 / self.rate.max(1) as f64
    }

    /// From signed 16-bit interleaved PCM.
    pub fn from_i16(rate: u32, channels: u16, pcm: &[i16]) -> Self {
        AudioChunk {
            rate,
            channels,
            samples: pcm.iter().map(|&s| s as f32 / 32768.0).collect(),
        }
    }
}
