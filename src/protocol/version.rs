//! Which protocol version two peers speak: the client offers its highest, the server answers the one it will
//! speak, and a refusal names the server's version so a newer client can retry once with it.

/// The newest version this build speaks; a hello carries it as the client's offer.
pub const PROTOCOL_VERSION: u32 = 3;

/// The oldest version this build still speaks (v2 clients and servers keep working).
pub const MIN_PROTOCOL: u32 = 2;

/// The first version with `facts`, `echo` (and, to come, the relay and group sessions).
pub const V3: u32 = 3;

/// The version a server whose newest is `max` speaks with a client that offers `offered`; None when the
/// client is too old. A server held to v2 (`max` 2) speaks exactly v2, as a v2 server does.
pub fn negotiate(offered: u32, max: u32) -> Option<u32> {
    if max <= MIN_PROTOCOL {
        return (offered == max).then_some(max);
    }
    (offered >= MIN_PROTOCOL).then(|| offered.min(max))
}

/// The refusal both sides print when the versions do not meet. Its wording is part of the protocol: a v2
/// server sends exactly this, and [`server_version_in`] reads the server's version back out of it.
pub fn mismatch_text(client_protocol: u32, client_software: &str, server_protocol: u32) -> String {
    format!(
        "protocol version mismatch: the client speaks saf-net protocol {client_protocol} (saf-net {client_software}), \
         this server speaks protocol {server_protocol} (saf-net {}); run the same saf-net release on both hosts",
        env!("CARGO_PKG_VERSION")
    )
}

/// The server's protocol and software from a mismatch refusal (ours or a v2 server's), if it names them.
pub fn server_version_in(reason: &str) -> Option<(u32, String)> {
    let rest = reason.split("this server speaks protocol ").nth(1)?;
    let (number, rest) = rest.split_once(' ')?;
    let software = rest.strip_prefix("(saf-net ")?.split_once(')')?.0;
    Some((number.parse().ok()?, software.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_speaks_the_lower_of_the_two() {
        assert_eq!(negotiate(3, 3), Some(3));
        assert_eq!(negotiate(2, 3), Some(2), "a v2 client is served as v2");
        assert_eq!(negotiate(7, 3), Some(3), "a newer client is offered ours");
        assert_eq!(negotiate(1, 3), None);
        assert_eq!(negotiate(0, 3), None);
        assert_eq!(negotiate(2, 2), Some(2));
        assert_eq!(negotiate(3, 2), None, "a server held to v2 refuses like a v2 server");
    }

    #[test]
    fn a_v2_servers_refusal_names_its_version() {
        // The exact text saf-net 0.2.0 (protocol 2) sends.
        let v2 = "protocol version mismatch: the client speaks saf-net protocol 3 (saf-net 0.3.0), this server \
                  speaks protocol 2 (saf-net 0.2.0); run the same saf-net release on both hosts";
        assert_eq!(server_version_in(v2), Some((2, "0.2.0".to_string())));
        let ours = mismatch_text(1, "0.0.9", 3);
        assert_eq!(
            server_version_in(&ours),
            Some((3, env!("CARGO_PKG_VERSION").to_string()))
        );
        assert_eq!(server_version_in("server busy"), None);
        assert_eq!(server_version_in("this server speaks protocol x (saf-net 1)"), None);
    }
}
