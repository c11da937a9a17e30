#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| saf_net_fuzz::iperf3_server_start(data));
