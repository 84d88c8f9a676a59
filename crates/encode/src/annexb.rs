//! H.264 Annex B byte-stream helpers.

/// Iterates over the NAL units (without start codes) of an Annex B byte stream.
pub fn nal_units(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = find_start(data, 0).map(|(_, after)| after);
    std::iter::from_fn(move || {
        let start = pos?;
        match find_start(data, start) {
            Some((sc, after)) => {
                pos = Some(after);
                // trailing zero bytes before a 4-byte start code belong to the start code
                let mut end = sc;
                while end > start && data[end - 1] == 0 {
                    end -= 1;
                }
                Some(&data[start..end])
            }
            None => {
                pos = None;
                Some(&data[start..])
            }
        }
    })
}

/// Finds the next `00 00 01` at or after `from`: returns (index of the start code, index after it).
fn find_start(data: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i + 3 <= data.len() {
        if data[i + 2] > 1 {
            i += 3;
        } else if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            return Some((i, i + 3));
        } else {
            i += 1;
        }
    }
    None
}

/// The `nal_unit_type` of a NAL unit (first byte & 0x1f); 0 for an empty slice.
pub fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1f)
}

/// NAL unit types used here.
pub mod nal {
    /// Coded slice of a non-IDR picture.
    pub const SLICE: u8 = 1;
    /// Coded slice of an IDR picture.
    pub const IDR: u8 = 5;
    /// Supplemental enhancement information.
    pub const SEI: u8 = 6;
    /// Sequence parameter set.
    pub const SPS: u8 = 7;
    /// Picture parameter set.
    pub const PPS: u8 = 8;
    /// Access unit delimiter.
    pub const AUD: u8 = 9;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let s = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 0, 0, 3, 1,
        ];
        let v: Vec<&[u8]> = nal_units(&s).collect();
        assert_eq!(
            v,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 0, 0, 3, 1][..]]
        );
        assert_eq!(nal_type(v[2]), nal::IDR);
        assert_eq!(nal_units(&[1, 2, 3]).count(), 0);
    }
}
