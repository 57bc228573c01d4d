//! Length-prefixed frames: a big-endian `i32` size followed by that many bytes.

use bytes::{Buf, Bytes, BytesMut};

use crate::ProtocolError;

/// Cuts the next complete frame out of `buf`, or returns `Ok(None)` when more bytes are needed.
///
/// `max_size` is `socket.request.max.bytes`: a larger size prefix is an error before any of the
/// body is buffered, so a hostile peer cannot make the broker allocate it.
pub fn split_frame(buf: &mut BytesMut, max_size: usize) -> Result<Option<Bytes>, ProtocolError> {
    let Some(prefix) = buf.get(..4) else {
        return Ok(None);
    };
    let size = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    let size = usize::try_from(size).map_err(|_| ProtocolError::NegativeFrameSize { size })?;
    if size > max_size {
        return Err(ProtocolError::FrameTooLarge {
            size,
            max: max_size,
        });
    }
    if buf.len() < 4 + size {
        buf.reserve(4 + size - buf.len());
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(size).freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_whole_frame_then_splits_it() {
        let mut buf = BytesMut::from(&[0u8, 0, 0, 3, 1, 2][..]);
        assert!(split_frame(&mut buf, 100).unwrap().is_none());
        buf.extend_from_slice(&[3, 0, 0]);
        let frame = split_frame(&mut buf, 100).unwrap().unwrap();
        assert_eq!(&frame[..], &[1, 2, 3]);
        assert_eq!(&buf[..], &[0, 0]);
    }

    #[test]
    fn rejects_oversized_and_negative_sizes() {
        let mut buf = BytesMut::from(&[0u8, 0, 1, 0][..]);
        assert!(matches!(
            split_frame(&mut buf, 100),
            Err(ProtocolError::FrameTooLarge {
                size: 256,
                max: 100
            })
        ));
        let mut buf = BytesMut::from(&[0xffu8, 0xff, 0xff, 0xff][..]);
        assert!(matches!(
            split_frame(&mut buf, 100),
            Err(ProtocolError::NegativeFrameSize { size: -1 })
        ));
    }
}
