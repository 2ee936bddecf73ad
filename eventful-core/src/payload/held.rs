//! [`Held`]: a payload's bytes, in line when there are few (most postcard payloads, a small
//! JSON object), else a shared slice of the encoding arena or of a store's buffer.
//!
//! In line, making a payload moves no reference count up (the arena's slice did, at every
//! event) and dropping it none down.

use bytes::Bytes;

/// Payloads of up to this many bytes are held in line: as many as fit beside the length in
/// the room a shared slice takes.
pub(super) const INLINE: usize = 22;

#[derive(Clone)]
pub(super) enum Held {
    Inline { len: u8, bytes: [u8; INLINE] },
    Shared(Bytes),
}

impl Held {
    /// `bytes` in line, if they are few enough.
    pub(super) fn inline(bytes: &[u8]) -> Option<Self> {
        let mut held = [0; INLINE];
        held.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Self::Inline {
            len: bytes.len() as u8,
            bytes: held,
        })
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Shared(bytes) => bytes,
        }
    }

    pub(super) fn into_bytes(self) -> Bytes {
        match self {
            Self::Inline { .. } => Bytes::copy_from_slice(self.as_slice()),
            Self::Shared(bytes) => bytes,
        }
    }
}

impl From<Bytes> for Held {
    fn from(bytes: Bytes) -> Self {
        Self::Shared(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_few_bytes_in_line_and_more_shared() {
        for len in [0, 1, INLINE - 1, INLINE] {
            let bytes: Vec<u8> = (0..len as u8).collect();
            let held = Held::inline(&bytes).expect("few enough");
            assert!(matches!(held, Held::Inline { .. }));
            assert_eq!(held.as_slice(), &bytes[..]);
            assert_eq!(held.into_bytes(), bytes);
        }
        assert!(Held::inline(&[0; INLINE + 1]).is_none());
        assert!(
            std::mem::size_of::<Held>() <= std::mem::size_of::<Bytes>() + 8,
            "{} bytes",
            std::mem::size_of::<Held>()
        );
    }
}
