//! Any byte string fed to the frame splitter and request decoder returns an error or a
//! request, never a panic.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use weir_protocol::frame::split_frame;
use weir_protocol::request::decode_request;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(frame)) = split_frame(&mut buf, 1 << 20) {
        let _ = decode_request(frame);
    }
});
