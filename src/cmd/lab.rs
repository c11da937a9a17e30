//! `saf-net lab up | down | status | exec`.

#[cfg(not(target_os = "linux"))]
pub fn lab(_args: crate::cli::LabArgs) -> anyhow::Result<super::ExitCode> {
    anyhow::bail!("the lab needs Linux network namespaces; run saf-net lab on a Linux machine (as root)")
}

#[cfg(target_os = "linux")]
pub use linux::lab;

#[cfg(target_os = "linux")]
mod linux {
    use std::path::PathBuf;

    use anyhow::{Context, Result};

    use super::super::{EXIT_OK, ExitCode, UsageError, classified};
    use crate::cli::{LabArgs, LabCommand, LabDownArgs, LabExecArgs, LabHost, LabUpArgs};
    use crate::lab::congestion::Lists;
    use crate::lab::status::LabView;
    use crate::lab::tunnel::SecondRoute;
    use crate::lab::up::{self, UpRequest};
    use crate::lab::{DEFAULT_NAME, LabState, Role, Runner, down, exec, names, preflight, shaping, state, status};
    use crate::profile::Profile;

    fn exe() -> Result<PathBuf> {
        std::env::current_exe().context("cannot find this program's path to start the lab's server")
    }

    /// `--name X` for hints, empty for the default lab.
    fn name_flag(name: &str) -> String {
        if name == DEFAULT_NAME {
            String::new()
        } else {
            format!(" --name {name}")
        }
    }

    fn resolve_profile(spec: &str) -> Result<(Profile, String)> {
        // Every profile problem is the user's input: one line, exit code 2.
        let p = Profile::resolve(spec).map_err(|e| UsageError(e.to_string()))?;
        // The client must find the same profile from inside the lab: by name, or by absolute path.
        let reference = if spec.contains('/') || spec.ends_with(".toml") {
            std::fs::canonicalize(spec).map_or_else(|_| spec.to_string(), |p| p.display().to_string())
        } else {
            spec.to_string()
        };
        Ok((p, reference))
    }

    pub fn lab(args: LabArgs) -> Result<ExitCode> {
        match args.command {
            LabCommand::Up(a) => up(a),
            LabCommand::Down(a) => down(a),
            LabCommand::Status => status(),
            LabCommand::Exec(a) => exec(a),
        }
    }

    fn up(a: LabUpArgs) -> Result<ExitCode> {
        names::check_name(&a.name).map_err(UsageError)?;
        let (profile, profile_ref) = resolve_profile(a.profile())?;
        let req = UpRequest {
            name: a.name.clone(),
            profile,
            profile_ref,
            switch_mtu: a.switch_mtu,
            congestion: a.congestion.clone(),
            congestion_lists: Lists::read(),
            second_route: a.second_route,
        };
        if a.dry_run {
            let k = names::preferred_subnet(&a.name);
            println!(
                "# saf-net lab up {} --name {}: commands it runs as root (dry run; nothing is run)",
                a.profile(),
                a.name
            );
            up::plan(&mut Runner::print_script(Box::new(std::io::stdout())), &req, &exe()?, k).map_err(classified)?;
            return Ok(EXIT_OK);
        }
        let spec = req.spec(1).map_err(classified)?;
        preflight::require_root("up")?;
        preflight::require_tools()?;
        let st = up::up(&mut Runner::execute(), &state::base_dir(), &req, &exe()?).map_err(classified)?;
        print!("{}", describe_up(&st, spec.congestion.note.as_deref()));
        Ok(EXIT_OK)
    }

    fn mbit(bytes_per_sec: u64) -> String {
        format!("{:.2} Mbit/s", bytes_per_sec as f64 * 8.0 / 1e6)
    }

    fn describe_up(st: &LabState, congestion_note: Option<&str>) -> String {
        let flag = name_flag(&st.name);
        let server = st
            .server
            .as_ref()
            .map(|s| format!("; saf-net server on port {}, pid {}", s.port, s.pid))
            .unwrap_or_default();
        let switch_note = if st.switch_mtu < st.mtu {
            format!(
                " (below the hosts' {}: frames above it are dropped, the jumbo black hole)",
                st.mtu
            )
        } else {
            String::new()
        };
        let mut o = String::new();
        o += &format!(
            "Lab '{}' is up: profile {}, {} Mbit/s, MTU {}\n",
            st.name, st.profile, st.line_rate_mbps, st.mtu
        );
        o += &format!(
            "  near    {}/{}  in {} (eth0, MTU {})\n",
            st.near_addr, st.prefix_len, st.near_ns, st.mtu
        );
        o += &format!(
            "  far     {}/{}  in {} (eth0, MTU {}){server}\n",
            st.far_addr, st.prefix_len, st.far_ns, st.mtu
        );
        o += &format!(
            "  switch  br0 in {}, ports MTU {}{switch_note}\n",
            st.switch_ns, st.switch_mtu
        );
        o += &format!(
            "  shaping tbf on each switch port's egress (toward its host): wire {} = {} Mbit/s x {}/{}, given as {} (less burst / 3 s), \
burst {} B, limit {} B\n",
            mbit(st.tbf.wire_bytes_per_sec),
            st.line_rate_mbps,
            st.mtu + 14,
            st.mtu + 38,
            mbit(st.tbf.rate_bytes_per_sec),
            st.tbf.burst_bytes,
            st.tbf.limit_bytes
        );
        if let Some(cc) = &st.congestion_control {
            let why = congestion_note.map(|n| format!(" ({n})")).unwrap_or_default();
            o += &format!("  tcp     congestion control {cc} in both hosts{why}\n");
        }
        o += &format!(
            "  ceiling TCP goodput {:.1} Mbit/s (IPv4, timestamps on); no delay is emulated\n",
            st.ceiling_mbps
        );
        if let Some(note) = shaping::beyond_reach(st.line_rate_mbps) {
            o += &format!("  note    {note}\n");
        }
        if let Some(t) = &st.second_route {
            o += &format!("  tunnel  {}\n", describe_tunnel(t));
        }
        o += &format!("Measure: saf-net lab exec{flag} -- saf-net client {}\n", st.far_addr);
        if let Some(t) = &st.second_route {
            o += &format!(
                "Second route: saf-net lab exec{flag} -- saf-net client {} (through {}: a tunnel, not the link)\n",
                t.far_addr, t.interface
            );
        }
        o += &format!("Remove:  saf-net lab down{flag}\n");
        o
    }

    /// One line saying what the `--second-route` tunnel is.
    fn describe_tunnel(t: &SecondRoute) -> String {
        format!(
            "{} in both hosts, {} over eth0 (UDP {}), MTU {}: near {}, far {} (reachable only through it), route {}",
            t.interface,
            t.kind.to_uppercase(),
            t.udp_port,
            t.mtu,
            t.near_addr,
            t.far_addr,
            t.network()
        )
    }

    fn down(a: LabDownArgs) -> Result<ExitCode> {
        if let Some(n) = &a.name {
            names::check_name(n).map_err(UsageError)?;
        }
        preflight::require_root("down")?;
        preflight::require_tools()?;
        let base = state::base_dir();
        let removed = if a.all {
            let r = down::down_all(&mut Runner::execute(), &base)?;
            if r.is_empty() {
                println!("No lab is up; nothing to remove.");
            }
            r
        } else {
            let name = a.name.as_deref().unwrap_or(DEFAULT_NAME);
            match down::down(&mut Runner::execute(), &base, name)? {
                Some(r) => vec![r],
                None => {
                    println!("Lab '{name}' is not up; nothing to remove.");
                    return Ok(EXIT_OK);
                }
            }
        };
        for r in removed {
            let ns = if r.namespaces.is_empty() {
                "none".to_string()
            } else {
                r.namespaces.join(", ")
            };
            println!(
                "Lab '{}' is down: removed namespaces {ns}; stopped {} process{}; {}",
                r.name,
                r.processes,
                if r.processes == 1 { "" } else { "es" },
                if r.had_state {
                    "state removed"
                } else {
                    "there was no state (leftovers of a crashed run)"
                }
            );
        }
        Ok(EXIT_OK)
    }

    fn status() -> Result<ExitCode> {
        preflight::require_tools()?;
        let root = preflight::effective_uid() == Some(0);
        let views = status::status(&mut Runner::execute(), &state::base_dir(), root)?;
        if views.is_empty() {
            println!("No lab is up. Start one with: saf-net lab up 1gbe");
            return Ok(EXIT_OK);
        }
        for v in &views {
            print!("{}", describe_view(v));
        }
        if !root {
            println!("(run as root to see live addresses, MTUs and qdiscs)");
        }
        Ok(EXIT_OK)
    }

    fn describe_view(v: &LabView) -> String {
        let mut o = String::new();
        let health = if v.healthy() {
            "up".to_string()
        } else if v.state.is_none() {
            format!(
                "leftovers without state; remove with `saf-net lab down{}`",
                name_flag(&v.name)
            )
        } else {
            format!("damaged; remove with `saf-net lab down{}`", name_flag(&v.name))
        };
        match &v.state {
            Some(st) => {
                o += &format!(
                    "Lab '{}': {health}; profile {}, {} Mbit/s, MTU {}, TCP ceiling {:.1} Mbit/s, since {}\n",
                    v.name, st.profile, st.line_rate_mbps, st.mtu, st.ceiling_mbps, st.created_utc
                );
            }
            None => o += &format!("Lab '{}': {health}\n", v.name),
        }
        o += &format!(
            "  namespaces {}\n",
            if v.namespaces.is_empty() {
                "none".into()
            } else {
                v.namespaces.join(", ")
            }
        );
        for h in &v.hosts {
            let iface = match &h.iface {
                Some(i) => {
                    let addrs: Vec<String> = i.ipv4.iter().map(|(a, p)| format!("{a}/{p}")).collect();
                    let addrs = if addrs.is_empty() {
                        "(no address)".to_string()
                    } else {
                        addrs.join(" ")
                    };
                    format!("eth0 {addrs} MTU {}", i.mtu)
                }
                None => "eth0 missing".into(),
            };
            let tbf = match &h.tbf {
                Some(t) => format!(
                    "switch port tbf {} burst {} B queue {:.1} ms",
                    mbit(t.rate_bytes_per_sec),
                    t.burst_bytes,
                    t.latency_us / 1000.0
                ),
                None => "no tbf".into(),
            };
            let tunnel = match (&h.tunnel, v.state.as_ref().and_then(|s| s.second_route.as_ref())) {
                (Some(t), _) => {
                    let addrs: Vec<String> = t.ipv4.iter().map(|(a, p)| format!("{a}/{p}")).collect();
                    format!("; {} {} MTU {}", t.name, addrs.join(" "), t.mtu)
                }
                (None, Some(t)) => format!("; {} missing", t.interface),
                (None, None) => String::new(),
            };
            o += &format!("  {:<6}  {iface}, {tbf}{tunnel}\n", h.role.as_str());
        }
        if !v.switch_ports.is_empty() {
            let ports: Vec<String> = v
                .switch_ports
                .iter()
                .map(|p| format!("{} MTU {}", p.name, p.mtu))
                .collect();
            o += &format!("  switch  {}\n", ports.join(", "));
        }
        if v.hosts.is_empty()
            && let Some(st) = &v.state
        {
            o += &format!(
                "  near {} / far {}, switch ports MTU {}, tbf {}\n",
                st.near_addr,
                st.far_addr,
                st.switch_mtu,
                mbit(st.tbf.rate_bytes_per_sec)
            );
        }
        if let Some(cc) = v.state.as_ref().and_then(|s| s.congestion_control.as_ref()) {
            o += &format!("  tcp     congestion control {cc} in both hosts\n");
        }
        if let Some(t) = v.state.as_ref().and_then(|s| s.second_route.as_ref()) {
            o += &format!("  tunnel  {}\n", describe_tunnel(t));
        }
        if let Some(s) = v.state.as_ref().and_then(|s| s.server.as_ref()) {
            let far = v.state.as_ref().map(|s| s.far_addr.to_string()).unwrap_or_default();
            o += &format!(
                "  server  saf-net server on {far}:{}, pid {}, {}; log {}\n",
                s.port,
                s.pid,
                if v.server_running { "running" } else { "NOT running" },
                s.log.display()
            );
        }
        o
    }

    fn exec(a: LabExecArgs) -> Result<ExitCode> {
        names::check_name(&a.name).map_err(UsageError)?;
        preflight::require_root("exec")?;
        preflight::require_tools()?;
        let role = match a.host {
            LabHost::Near => Role::Near,
            LabHost::Far => Role::Far,
        };
        let code = exec::exec(
            &mut Runner::execute(),
            &state::base_dir(),
            &a.name,
            role,
            &a.command,
            &exe()?,
        )?;
        Ok(code)
    }
}
