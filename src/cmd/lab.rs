//! `saf-net lab up | down | status | exec`: the arguments become a request for `lab::workflow`, which does the
//! work; this file picks the runner, prints the result through `lab::text` and exits.

#[cfg(not(target_os = "linux"))]
pub fn lab(_args: crate::cli::LabArgs) -> anyhow::Result<super::ExitCode> {
    anyhow::bail!("the lab needs Linux network namespaces; run saf-net lab on a Linux machine (as root)")
}

#[cfg(target_os = "linux")]
pub use linux::lab;

#[cfg(target_os = "linux")]
mod linux {
    use anyhow::Result;

    use super::super::{EXIT_OK, ExitCode, classified};
    use crate::cli::{LabArgs, LabCommand, LabDownArgs, LabExecArgs, LabStatusArgs, LabUpArgs};
    use crate::lab::hosts::HostsInput;
    use crate::lab::workflow::{self, UpInput};
    use crate::lab::{Runner, json, text};

    pub fn lab(args: LabArgs) -> Result<ExitCode> {
        match args.command {
            LabCommand::Up(a) => up(a),
            LabCommand::Down(a) => down(a),
            LabCommand::Status(a) => status(a),
            LabCommand::Exec(a) => exec(a),
        }
    }

    fn up(a: LabUpArgs) -> Result<ExitCode> {
        let input = UpInput {
            name: a.name.clone(),
            profile: a.profile().to_string(),
            switch_mtu: a.switch_mtu,
            congestion: a.congestion.clone(),
            second_route: a.second_route,
            hosts: HostsInput {
                count: a.hosts,
                rates: a.host_rate.clone(),
                mtus: a.host_mtu.clone(),
            },
        };
        let req = workflow::up_request(input).map_err(classified)?;
        if a.dry_run {
            print!("{}", text::dry_run_header(a.profile(), &a.name));
            let mut script = Runner::print_script(Box::new(std::io::stdout()));
            workflow::plan_up(&req, &mut script).map_err(classified)?;
            return Ok(EXIT_OK);
        }
        let built = workflow::up(&req, &mut Runner::execute()).map_err(classified)?;
        print!("{}", text::up(&built.state, built.congestion_note.as_deref()));
        Ok(EXIT_OK)
    }

    fn down(a: LabDownArgs) -> Result<ExitCode> {
        let d = workflow::down(&mut Runner::execute(), a.name.as_deref(), a.all).map_err(classified)?;
        print!("{}", text::down(&d));
        Ok(EXIT_OK)
    }

    fn status(a: LabStatusArgs) -> Result<ExitCode> {
        let s = workflow::status(&mut Runner::execute()).map_err(classified)?;
        print!("{}", if a.json { json::status(&s) } else { text::status(&s) });
        Ok(EXIT_OK)
    }

    fn exec(a: LabExecArgs) -> Result<ExitCode> {
        let code = workflow::exec(&mut Runner::execute(), &a.name, a.host.0, &a.command).map_err(classified)?;
        Ok(code)
    }
}
