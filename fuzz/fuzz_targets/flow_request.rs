//! The Flow request decoder (`serve`'s) on arbitrary bytes: no panic, and an
//! error that names the request and says what to send.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = runtime::fuzzing::decode_request(data) {
        let msg = e.to_string();
        assert!(msg.contains("request 1 on stdin"), "{msg}");
    }
});
