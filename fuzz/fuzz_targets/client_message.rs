#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| saf_net_fuzz::client_message(data));
