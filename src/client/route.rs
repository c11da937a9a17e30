//! Before a test: which interface the traffic to the server leaves by, and whether it is the profile's.

use std::net::SocketAddr;

use super::{Event, Observer};
use crate::diagnose::wrong_interface as verdict;
use crate::diagnose::{Diagnosis, PathReport};
use crate::profile::Medium;
use crate::route::{self, Destination};
use crate::tune::BackendKind;

/// Looks up the route to `server` with this host's tools; a lookup that fails leaves the route unknown
/// (never an error). Under a profile, a route that certainly leaves by another medium is reported to
/// `obs` now and returned as the `wrong_interface` diagnosis.
pub(crate) async fn egress(
    server: SocketAddr,
    medium: Option<Medium>,
    path: &mut PathReport,
    obs: &mut dyn Observer,
) -> Option<Diagnosis> {
    let dest = Destination::of(server);
    let found = tokio::task::spawn_blocking(move || route::find_native(&dest)).await;
    match found {
        Ok(Ok(f)) => path.route = Some(f),
        Ok(Err(e)) => path.route_error = Some(e.to_string()),
        Err(e) => path.route_error = Some(format!("the route lookup failed: {e}")),
    }
    let warning = verdict::check(path.route.as_ref()?, medium?, BackendKind::native())?;
    obs.on(Event::Warning { diagnosis: &warning });
    Some(warning)
}
