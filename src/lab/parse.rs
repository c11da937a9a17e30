//! Parsers for what `ip`, `tc`, `ethtool` and `/proc` print, tested against recorded outputs.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Deserialize;

/// Namespace names from `ip netns list` ("name" or "name (id: 3)" per line).
pub fn netns_list(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect()
}

/// Process ids from `ip netns pids NS`.
pub fn pids(text: &str) -> Vec<u32> {
    text.split_whitespace().filter_map(|w| w.parse().ok()).collect()
}

#[derive(Debug, Deserialize)]
struct IpLink {
    ifname: String,
    mtu: u32,
    #[serde(default)]
    master: Option<String>,
    #[serde(default)]
    operstate: Option<String>,
    #[serde(default)]
    addr_info: Vec<AddrInfo>,
}

#[derive(Debug, Deserialize)]
struct AddrInfo {
    family: String,
    local: String,
    prefixlen: u8,
}

/// One interface as `ip -j addr show` / `ip -j link show` describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub mtu: u32,
    pub master: Option<String>,
    pub up: bool,
    /// IPv4 addresses with prefix length.
    pub ipv4: Vec<(Ipv4Addr, u8)>,
}

/// Interfaces from `ip -j addr show` or `ip -j link show`.
pub fn interfaces(json: &str) -> Result<Vec<Interface>, serde_json::Error> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let links: Vec<IpLink> = serde_json::from_str(json)?;
    Ok(links
        .into_iter()
        .map(|l| Interface {
            up: l.operstate.as_deref() != Some("DOWN"),
            ipv4: l
                .addr_info
                .iter()
                .filter(|a| a.family == "inet")
                .filter_map(|a| Some((a.local.parse().ok()?, a.prefixlen)))
                .collect(),
            name: l.ifname,
            mtu: l.mtu,
            master: l.master,
        })
        .collect())
}

#[derive(Debug, Deserialize)]
struct Qdisc {
    kind: String,
    #[serde(default)]
    options: Option<TbfOptions>,
}

#[derive(Debug, Deserialize)]
struct TbfOptions {
    rate: Option<u64>,
    burst: Option<u64>,
    lat: Option<f64>,
}

/// A tbf qdisc as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TbfSeen {
    pub rate_bytes_per_sec: u64,
    pub burst_bytes: u64,
    /// Longest wait in the queue, microseconds (how tc reports the limit).
    pub latency_us: f64,
}

/// The tbf qdisc in `tc -j qdisc show dev IF`, if there is one.
pub fn tbf(json: &str) -> Result<Option<TbfSeen>, serde_json::Error> {
    if json.trim().is_empty() {
        return Ok(None);
    }
    let qdiscs: Vec<Qdisc> = serde_json::from_str(json)?;
    Ok(qdiscs
        .into_iter()
        .find(|q| q.kind == "tbf")
        .and_then(|q| q.options)
        .map(|o| TbfSeen {
            rate_bytes_per_sec: o.rate.unwrap_or(0),
            burst_bytes: o.burst.unwrap_or(0),
            latency_us: o.lat.unwrap_or(0.0),
        }))
}

/// Feature states from `ethtool -k IF`: "tcp-segmentation-offload: off" → ("tcp-segmentation-offload", false).
pub fn ethtool_features(text: &str) -> BTreeMap<String, bool> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(": ")?;
            let on = match v.split_whitespace().next()? {
                "on" => true,
                "off" => false,
                _ => return None,
            };
            Some((k.to_string(), on))
        })
        .collect()
}

/// Effective uid from `/proc/self/status` ("Uid:\treal\teffective\tsaved\tfs").
pub fn effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|w| w.parse().ok())
}

/// Whether `/proc/PID/net/tcp` or `tcp6` text has a socket listening on `port`.
pub fn has_listener(proc_net_tcp: &str, port: u16) -> bool {
    proc_net_tcp.lines().skip(1).any(|l| {
        let mut f = l.split_whitespace();
        let local = f.nth(1).unwrap_or_default();
        let state = f.nth(1).unwrap_or_default();
        let p = local.rsplit(':').next().and_then(|h| u16::from_str_radix(h, 16).ok());
        state == "0A" && p == Some(port)
    })
}

/// The start time (clock ticks since boot) from `/proc/PID/stat`, which tells a process from a
/// later one that reused its pid.
pub fn start_ticks(stat: &str) -> Option<u64> {
    // The command name is in parentheses and may hold spaces; fields after it are space-separated.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recorded from iproute2 6.1 on Linux 6.18.
    const ADDR: &str = r#"[{"ifindex":2,"link_index":3,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":9000,"qdisc":"tbf","operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"0e:f5:63:18:d0:7f","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0,"addr_info":[{"family":"inet","local":"10.77.200.1","prefixlen":24,"scope":"global","label":"eth0","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fe80::cf5:63ff:fe18:d07f","prefixlen":64,"scope":"link","valid_life_time":4294967295,"preferred_life_time":4294967295}]}]"#;
    const LINKS: &str = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK"],"mtu":65536,"qdisc":"noop","operstate":"DOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00"},{"ifindex":2,"ifname":"br0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":9000,"qdisc":"noqueue","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"3a:7f:53:48:29:50","broadcast":"ff:ff:ff:ff:ff:ff"},{"ifindex":3,"link_index":2,"ifname":"near","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","master":"br0","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"fa:9c:f9:47:27:6e","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0}]"#;
    const QDISC: &str = r#"[{"kind":"tbf","handle":"8001:","root":true,"refcnt":3,"options":{"rate":123049414,"burst":15135,"lat":8003}}]"#;
    const ETHTOOL: &str = "Features for eth0:\nrx-checksumming: on\ntcp-segmentation-offload: off\n\ttx-tcp-segmentation: off\ngeneric-segmentation-offload: off\ngeneric-receive-offload: on\ntx-fcoe-segmentation: off [fixed]\n";

    #[test]
    fn ip_outputs_parse() {
        let a = interfaces(ADDR).unwrap();
        assert_eq!(a[0].name, "eth0");
        assert_eq!(a[0].mtu, 9000);
        assert_eq!(a[0].ipv4, vec![("10.77.200.1".parse().unwrap(), 24)]);
        let l = interfaces(LINKS).unwrap();
        assert_eq!(l.len(), 3);
        assert!(!l[0].up);
        assert_eq!(l[2].master.as_deref(), Some("br0"));
        assert_eq!(l[2].mtu, 1500);
        assert!(interfaces("").unwrap().is_empty());
        assert!(interfaces("garbage").is_err());
        assert_eq!(netns_list("safnet-a-far (id: 1)\nother\n"), ["safnet-a-far", "other"]);
        assert_eq!(pids("12\n345\n"), [12, 345]);
    }

    #[test]
    fn tc_and_ethtool_outputs_parse() {
        let t = tbf(QDISC).unwrap().unwrap();
        assert_eq!((t.rate_bytes_per_sec, t.burst_bytes), (123_049_414, 15_135));
        assert_eq!(t.latency_us, 8003.0);
        assert_eq!(tbf(r#"[{"kind":"noqueue","handle":"0:","root":true}]"#).unwrap(), None);
        let f = ethtool_features(ETHTOOL);
        assert!(!f["tcp-segmentation-offload"]);
        assert!(f["generic-receive-offload"]);
        assert!(!f["tx-fcoe-segmentation"]);
        assert!(!f.contains_key("Features for eth0"));
    }

    #[test]
    fn proc_files_parse() {
        assert_eq!(effective_uid("Name:\tx\nUid:\t1000\t0\t0\t0\n"), Some(0));
        assert_eq!(effective_uid("Name:\tx\n"), None);
        let tcp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000000000000000000000000000:14B5 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n";
        assert!(has_listener(tcp6, 5301));
        assert!(!has_listener(tcp6, 5201));
        let stat = "4242 (saf net (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 987654 1000 200";
        assert_eq!(start_ticks(stat), Some(987_654));
    }
}
