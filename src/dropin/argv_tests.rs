use super::*;

fn argv(line: &str) -> Vec<String> {
    line.split_whitespace().map(String::from).collect()
}

/// saf-net's argv for an iperf3 line, and its options.
fn run(line: &str) -> (Vec<String>, Options) {
    match translate(&argv(line)) {
        Ok(Request::Run { argv, options, .. }) => (argv, options),
        other => panic!("{line}: {other:?}"),
    }
}

fn words(line: &str) -> Vec<String> {
    argv(line)
}

fn err(line: &str) -> String {
    match translate(&argv(line)) {
        Err(e) => e.to_string(),
        ok => panic!("{line} was taken: {ok:?}"),
    }
}

#[test]
fn the_exporters_order_is_a_client_run() {
    let (a, o) = run("iperf3 -J -t 5 -c 10.0.0.2 -p 5301");
    assert_eq!(
        a,
        words("saf-net client 10.0.0.2 -p 5301 --no-history -t 5 -l 128K -J --iperf3")
    );
    assert!(o.json && !o.verbose && o.logfile.is_none());
}

#[test]
fn order_does_not_matter() {
    let a = run("iperf3 -c h -t 5 -P 4 -R").0;
    let b = run("iperf3 -R -P 4 -t 5 -c h").0;
    let c = run("iperf3 -P4 -Rc h -t5").0;
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(
        a,
        words("saf-net client h -p 5201 --no-history -t 5 -P 4 -R -l 128K --iperf3")
    );
}

#[test]
fn long_options_take_values_every_way_getopt_does() {
    let a = run("iperf3 --client h --time 3 --parallel=2 --len 64K --bidir").0;
    assert_eq!(
        a,
        words("saf-net client h -p 5201 --no-history -t 3 -l 64K -P 2 --bidir --iperf3")
    );
    assert_eq!(run("iperf3 --bandwidth 10M -c h").0, run("iperf3 -b 10M -c h").0);
}

#[test]
fn the_defaults_are_iperf3s() {
    let a = run("iperf3 -c h").0;
    assert_eq!(a, words("saf-net client h -p 5201 --no-history -l 128K --iperf3"));
    let udp = run("iperf3 -c h -u -b 100M").0;
    assert!(
        !udp.contains(&"-l".to_string()),
        "UDP keeps saf-net's path-MTU datagram: {udp:?}"
    );
}

#[test]
fn connect_timeout_is_milliseconds() {
    let a = run("iperf3 -c h --connect-timeout 1500").0;
    assert!(a.windows(2).any(|w| w == ["--connect-timeout", "1.5"]), "{a:?}");
    assert!(err("iperf3 -c h --connect-timeout soon").contains("--connect-timeout soon: not a valid number"));
}

#[test]
fn blockcount_becomes_bytes() {
    let a = run("iperf3 -c h -k 10").0;
    assert!(a.windows(2).any(|w| w == ["-n", "1310720"]), "{a:?}");
    let a = run("iperf3 -c h -k 4 -l 1K").0;
    assert!(a.windows(2).any(|w| w == ["-n", "4096"]), "{a:?}");
    let u = run("iperf3 -c h -u -k 100").0;
    assert!(
        u.windows(2).any(|w| w == ["-l", "1460"]) && u.windows(2).any(|w| w == ["-n", "146000"]),
        "{u:?}"
    );
}

#[test]
fn output_options_are_the_drop_ins() {
    let (a, o) = run("iperf3 -c h -V --logfile /tmp/x.log --forceflush");
    assert!(o.verbose && o.forceflush);
    assert_eq!(o.logfile.as_deref(), Some("/tmp/x.log"));
    assert!(!a.iter().any(|w| w.contains("log") || w == "-V"), "{a:?}");
}

#[test]
fn zerocopy_is_said_not_ignored() {
    let (a, o) = run("iperf3 -c h -Z");
    assert_eq!(o.notes.len(), 1);
    assert!(
        o.notes[0].contains("-Z") && o.notes[0].contains("zero copy"),
        "{:?}",
        o.notes
    );
    assert!(!a.contains(&"-Z".to_string()));
}

#[test]
fn the_server_takes_iperf3s_server_options() {
    let (a, o) = run("iperf3 -s -1 -B 127.0.0.1 -p 5999 -V --logfile s.log");
    assert_eq!(a, words("saf-net server -p 5999 -1 -B 127.0.0.1 -v"));
    assert_eq!(o.logfile.as_deref(), Some("s.log"));
    assert_eq!(run("iperf3 -s -4").0, words("saf-net server -p 5201 -B 0.0.0.0"));
    assert_eq!(run("iperf3 -s").0, words("saf-net server -p 5201"));
    assert!(matches!(
        translate(&argv("iperf3 -s")),
        Ok(Request::Run { server: true, .. })
    ));
}

#[test]
fn the_server_names_what_it_does_not_take() {
    assert!(
        err("iperf3 -s -D").starts_with("iperf3: parameter error - -D is not supported"),
        "{}",
        err("iperf3 -s -D")
    );
    assert!(err("iperf3 -s -D").contains("saf-net service install"));
    assert!(
        err("iperf3 -s -t 5").contains("-t with -s"),
        "{}",
        err("iperf3 -s -t 5")
    );
    assert!(err("iperf3 -s -J").contains("-J with -s"));
}

#[test]
fn version_and_help() {
    assert_eq!(translate(&argv("iperf3 -v")), Ok(Request::Version));
    assert_eq!(translate(&argv("iperf3 -c h -h")), Ok(Request::Help));
    assert_eq!(translate(&argv("iperf3 --help")), Ok(Request::Help));
}

#[test]
fn bind_on_the_client_is_passed_through() {
    let a = run("iperf3 -c h -B 10.0.0.1").0;
    assert_eq!(&a[2..5], &words("h -B 10.0.0.1")[..], "{a:?}");
}

#[test]
fn unsupported_and_unknown_options_are_one_line_naming_them() {
    for (line, flag) in [
        ("iperf3 -c h -S 4", "-S"),
        ("iperf3 -c h --tos 4", "--tos"),
        ("iperf3 -c h -N", "-N"),
        ("iperf3 -c h -f m", "-f"),
        ("iperf3 -c h --dont-fragment", "--dont-fragment"),
        ("iperf3 -c h -b 10M/100", "-b with /burst"),
    ] {
        let e = err(line);
        assert!(
            e.starts_with(&format!("iperf3: parameter error - {flag} is not supported")),
            "{line}: {e}"
        );
        assert_eq!(e.lines().count(), 1);
    }
    assert_eq!(
        err("iperf3 -c h -x"),
        "iperf3: unrecognized option '-x' (see iperf3 -h)"
    );
    assert_eq!(
        err("iperf3 -c h --frobnicate"),
        "iperf3: unrecognized option '--frobnicate' (see iperf3 -h)"
    );
    assert_eq!(
        err("iperf3 -c h --b 1"),
        "iperf3: unrecognized option '--b' (see iperf3 -h)",
        "ambiguous prefix"
    );
    assert_eq!(err("iperf3 -c h -t"), "iperf3: option '-t' requires an argument");
    assert_eq!(
        err("iperf3 -c h --json=yes"),
        "iperf3: parameter error - --json takes no value"
    );
}

#[test]
fn client_or_server_exactly_once() {
    assert_eq!(
        err("iperf3 -t 5"),
        "iperf3: parameter error - must either be a client (-c) or server (-s)"
    );
    assert!(err("iperf3 -s -c h").contains("both server and client"));
    assert!(err("iperf3 -c h -1").contains("-1 is a server option"));
    assert_eq!(run("iperf3 -c a -c b").0[2], "b", "the last -c wins");
}

#[test]
fn speaking_iperf3_is_one_switch() {
    let a = run("iperf3 -c h").0;
    assert_eq!(a.contains(&"--iperf3".to_string()), SPEAK_IPERF3);
}

#[test]
fn every_supported_flag_is_translated_or_handled() {
    let handled = [
        "client",
        "server",
        "help",
        "version",
        "json",
        "verbose",
        "logfile",
        "forceflush",
        "port",
        "one-off",
        "bind",
        "connect-timeout",
        "blockcount",
        "zerocopy",
        "bandwidth",
    ];
    for f in super::super::flags::supported() {
        let known = handled.contains(&f.long)
            || SAME_VALUE.iter().any(|(l, _)| *l == f.long)
            || SAME_SWITCH.iter().any(|(l, _)| *l == f.long);
        assert!(known, "--{} is listed as supported but nothing translates it", f.long);
    }
}
